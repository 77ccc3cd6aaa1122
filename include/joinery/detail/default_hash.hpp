// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_DEFAULT_HASH_HPP
#define JOINERY_DETAIL_DEFAULT_HASH_HPP

// The default Hash and KeyEqual of join_map.
//
// For every key type but strings this is absl::Hash<K> and std::equal_to<K>
// (abseil's public hash; what absl::flat_hash_map<K, V> uses for such keys). For string keys
// joinery needs lookups by std::string_view and by string literal. Abseil's
// own string hash is transparent over absl::string_view, which Debian's
// abseil (built with ABSL_OPTION_USE_STD_STRING_VIEW 0) makes a type of its
// own, so `contains(std::string_view)` would not compile there. joinery's
// string hash takes std::string_view and hashes it as absl::string_view: the
// same bytes, the same hash, on either kind of abseil build.
//
// What the default hash promises: absl::Hash is seeded per process (from an
// address, so it varies between runs where ASLR is on), which makes keys
// crafted offline to collide unlikely to collide in a running process. It
// is not a keyed cryptographic hash and abseil makes no promise against an
// attacker who can observe the process. A user-supplied Hash can reopen
// collision attacks (as tokio warns for JoinMap::with_hasher); a join_map
// stays correct with any Hash, even a constant one, only slower.

#include <absl/hash/hash.h>
#include <absl/strings/string_view.h>

#include <concepts>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

namespace joinery::detail {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
  }
};

struct string_equal {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

template <class K>
struct default_hash_eq {
  using hash = absl::Hash<K>;
  using eq = std::equal_to<K>;
};

template <>
struct default_hash_eq<std::string> {
  using hash = string_hash;
  using eq = string_equal;
};

template <>
struct default_hash_eq<std::string_view> {
  using hash = string_hash;
  using eq = string_equal;
};

template <class K>
using default_hash_t = typename default_hash_eq<K>::hash;

template <class K>
using default_key_equal_t = typename default_hash_eq<K>::eq;

// Whether KeyEqual can compare two K. std::equal_to<K> declares its call
// operator for every K, so for it the check is K's own operator==.
template <class KeyEqual, class K>
inline constexpr bool can_compare_keys_v =
    std::is_invocable_r_v<bool, const KeyEqual&, const K&, const K&>;
template <class K>
inline constexpr bool can_compare_keys_v<std::equal_to<K>, K> = requires(const K& a, const K& b) {
  { a == b } -> std::convertible_to<bool>;
};

// Stands in for a Hash or KeyEqual that cannot take K, so that the
// static_asserts of join_map saying how to fix K are the only errors a user
// sees (instead of hundreds from inside the hash table).
struct unusable_key_function {
  template <class... A>
  std::size_t operator()(const A&...) const noexcept {
    return 0;
  }
};

template <class K, class Hash>
inline constexpr bool can_hash_keys_v = std::is_invocable_r_v<std::size_t, const Hash&, const K&>;

template <class K, class Hash>
using hash_for_t = std::conditional_t<can_hash_keys_v<K, Hash>, Hash, unusable_key_function>;

template <class K, class KeyEqual>
using key_equal_for_t =
    std::conditional_t<can_compare_keys_v<KeyEqual, K>, KeyEqual, unusable_key_function>;

// Whether lookups may use a type other than the key type itself.
template <class Hash, class KeyEqual>
concept transparent_lookup = requires {
  typename Hash::is_transparent;
  typename KeyEqual::is_transparent;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_DEFAULT_HASH_HPP
