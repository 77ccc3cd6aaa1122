// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_TASK_ID_HPP
#define JOINERY_TASK_ID_HPP

// task_id: the identity of one spawned task.
//
// Every task spawned through joinery (join_map, join_set, spawn,
// spawn_blocking) gets an id from a process-wide 64-bit counter. Ids are never
// reused for the life of the process, so an id can be kept as a key or logged
// and will never be confused with a later task (tokio documents its ids as
// unique only among running tasks; tokio#7553 shows what that costs).
//
// A default-constructed task_id (value 0) names no task.

#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <utility>

namespace joinery {

class task_id {
 public:
  // The id that names no task.
  constexpr task_id() noexcept = default;

  // An id with the given value; joinery mints its own with next().
  constexpr explicit task_id(std::uint64_t value) noexcept : value_(value) {}

  // The numeric value, > 0 for every id minted by joinery.
  constexpr std::uint64_t value() const noexcept { return value_; }

  // A fresh id, never returned before in this process. Thread-safe.
  static task_id next() noexcept {
    // Relaxed is enough: only uniqueness matters, which the atomic RMW's
    // total modification order gives; no other memory is published with it.
    static std::atomic<std::uint64_t> counter{0};
    return task_id(counter.fetch_add(1, std::memory_order_relaxed) + 1);
  }

  friend constexpr bool operator==(task_id, task_id) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(task_id, task_id) noexcept = default;

  template <class H>
  friend H AbslHashValue(H h, task_id id) {
    return H::combine(std::move(h), id.value_);
  }

  // Prints `#<value>`, the form used in joinery's messages.
  friend std::ostream& operator<<(std::ostream& os, task_id id) { return os << '#' << id.value_; }

 private:
  std::uint64_t value_ = 0;
};

}  // namespace joinery

template <>
struct std::hash<joinery::task_id> {
  std::size_t operator()(joinery::task_id id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value());
  }
};

#endif  // JOINERY_TASK_ID_HPP
