// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_TESTS_FUZZ_JOIN_MAP_FUZZ_HPP
#define JOINERY_TESTS_FUZZ_JOIN_MAP_FUZZ_HPP

// What the differential fuzzer (join_map_fuzz.cpp) offers its drivers: the
// libFuzzer entry point, and the outcomes of aborted tasks it has seen.

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace join_map_fuzz {

// Outcomes of tasks that were aborted, across all inputs: the two sides of
// the abort/completion race (AC-21) that the enumeration must both reach.
struct abort_outcomes {
  long value_kept = 0;  // aborted after it finished: its value is delivered
  long cancelled = 0;   // aborted before it finished: cancelled
};
extern abort_outcomes aborted_outcomes;

}  // namespace join_map_fuzz

#endif  // JOINERY_TESTS_FUZZ_JOIN_MAP_FUZZ_HPP
