// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_RANGES_HPP
#define JOINERY_DETAIL_RANGES_HPP

// What joinery uses of the ranges library: std::ranges::subrange (join_map's
// keys()) and the range concepts (join_set's spawn of a range). <ranges>
// itself brings every view and adaptor too, a third of a second of every
// translation unit that includes joinery (docs/performance.md). libstdc++
// (11 and later) declares subrange and the concepts in <bits/ranges_util.h>,
// which its <algorithm> includes in C++20: there, <algorithm> is enough.
// Other standard libraries get <ranges>. The static_assert below is the
// shape check: it fails to compile, naming this header, if a libstdc++ ever
// stops declaring subrange through <algorithm>.

#if defined(_GLIBCXX_RELEASE) && _GLIBCXX_RELEASE >= 11 && __has_include(<bits/ranges_util.h>)
#include <algorithm>
#else
#include <ranges>
#endif

namespace joinery::detail {
static_assert(std::ranges::input_range<std::ranges::subrange<const int*>>,
              "joinery/detail/ranges.hpp: std::ranges::subrange is not declared; include <ranges>");
}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_RANGES_HPP
