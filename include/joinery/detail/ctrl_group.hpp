// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_CTRL_GROUP_HPP
#define JOINERY_DETAIL_CTRL_GROUP_HPP

// The control bytes of the key table (key_table.hpp), 8 at a time.
//
// Each slot of the table has a control byte: `empty` (0x80), `deleted`
// (0xFE), or, for a live slot, 7 bits of its key's mixed hash (high bit
// clear). A group of 8 bytes is read as one 64-bit word and matched with
// portable bit tricks (SWAR, as abseil does without SSE2): each function
// returns a word with the high bit set in every matching byte, lowest byte
// first.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace joinery::detail {

namespace ctrl {
inline constexpr std::uint8_t empty = 0x80;
inline constexpr std::uint8_t deleted = 0xFE;
inline constexpr std::uint64_t lsbs = 0x0101010101010101ull;
inline constexpr std::uint64_t msbs = 0x8080808080808080ull;

// The 8 control bytes at p, byte i in bits 8i..8i+7.
inline std::uint64_t load(const std::uint8_t* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  if constexpr (std::endian::native == std::endian::big) {
    w = 0;
    for (int i = 7; i >= 0; --i)
      w = (w << 8) | p[i];
  }
  return w;
}
// One high bit per byte equal to h2 (may also flag a full byte right after a
// match: callers compare keys anyway).
inline std::uint64_t match(std::uint64_t w, std::uint8_t h2) noexcept {
  const std::uint64_t x = w ^ (lsbs * h2);
  return (x - lsbs) & ~x & msbs;
}
// Empty bytes only (deleted ones have bit 1 set).
inline std::uint64_t match_empty(std::uint64_t w) noexcept {
  return w & ~(w << 6) & msbs;
}
// Empty or deleted bytes (bit 7 set, bit 0 clear).
inline std::uint64_t match_free(std::uint64_t w) noexcept {
  return w & ~(w << 7) & msbs;
}
// The index of the lowest flagged byte.
inline std::size_t first_byte(std::uint64_t bits) noexcept {
  return static_cast<std::size_t>(std::countr_zero(bits)) / 8;
}
}  // namespace ctrl

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_CTRL_GROUP_HPP
