// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_TASK_INFO_HPP
#define JOINERY_TASK_INFO_HPP

// A look inside a group: task_state, task_info (one task, as
// join_map::info(key) and the groups' snapshot() report it) and group_stats
// (the counters a group keeps from its construction, stats()).
//
//   for (auto& [key, info] : sessions.snapshot())
//     std::cout << key << ": " << info << "\n";  // "task #12 running for 1.2 s, ..."
//   std::cout << sessions.stats() << "\n";       // "spawned 40, succeeded 31, ..."
//
// A snapshot is taken on the group's thread, like every member of a group,
// and is a copy: it does not change as the tasks go on.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>

#include <joinery/task_id.hpp>

namespace joinery {

// Where a task of a group is in its life.
enum class task_state {
  queued,    // in the group, not started: waiting for a concurrency slot
  running,   // spawned and not finished (its first step may still be posted;
             // a blocking task included)
  finished,  // its outcome is fixed; it awaits joining
};

// One task, as the group sees it at the moment of the call.
struct task_info {
  task_id id;
  task_state state = task_state::running;
  // abort() (or a deadline, or the group's destruction) asked it to stop;
  // a task that still runs after that is `running` with this set.
  bool abort_requested = false;
  // When it was spawned (the call to spawn, queueing included).
  std::chrono::steady_clock::time_point spawned_at;
  // Its deadline, if it was spawned with one that is still pending: not
  // once it finished, and not once the deadline aborted it (then
  // abort_requested says so, and its outcome will be timed out).
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// What a group has seen since its construction. Every task's outcome is
// counted once, when the task ends, joined or not: succeeded (a value),
// failed (an exception), cancelled (aborted before it finished, replaced
// by a spawn on its key before it finished, or aborted while queued),
// timed_out (its deadline aborted it). A task replaced after it finished
// keeps the outcome it was counted with. A detached task is counted in
// `detached` when it is detached, and its outcome is counted again when it
// ends. peak_queued counts a queued task and its queued replacement both
// for the instant the spawn replacing it takes (the new task is queued
// before the old one leaves), so it can exceed every queued_count().
struct group_stats {
  std::uint64_t spawned = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t detached = 0;
  std::size_t peak_size = 0;    // the most tasks the group held at once
  std::size_t peak_queued = 0;  // the most tasks queued for a slot at once

  friend bool operator==(const group_stats&, const group_stats&) = default;
};

namespace detail {

// A duration as people read it: "850 us", "300 ms", "1.2 s", "2 min 5 s".
inline void print_duration(std::ostream& os, std::chrono::steady_clock::duration d) {
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(d).count();
  if (us < 1000)
    os << us << " us";
  else if (us < 1000 * 1000)
    os << us / 1000 << " ms";
  else if (us < 60 * 1000 * 1000)
    os << us / 1000000 << '.' << (us / 100000) % 10 << " s";
  else
    os << us / 60000000 << " min " << (us / 1000000) % 60 << " s";
}

}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, task_state s) {
  switch (s) {
    case task_state::queued:
      return os << "queued";
    case task_state::running:
      return os << "running";
    case task_state::finished:
      return os << "finished";
  }
  return os;
}

// "task #12 running for 1.2 s, deadline in 300 ms, abort requested";
// durations are measured against steady_clock::now() when printed.
inline std::ostream& operator<<(std::ostream& os, const task_info& i) {
  const auto now = std::chrono::steady_clock::now();
  os << "task " << i.id << ' ' << i.state;
  if (i.state == task_state::finished) {
    os << ", spawned ";
    detail::print_duration(os, now - i.spawned_at);
    os << " ago";
  } else {
    os << " for ";
    detail::print_duration(os, now - i.spawned_at);
  }
  if (i.deadline) {
    if (*i.deadline >= now) {
      os << ", deadline in ";
      detail::print_duration(os, *i.deadline - now);
    } else {
      os << ", deadline passed ";
      detail::print_duration(os, now - *i.deadline);
      os << " ago";
    }
  }
  if (i.abort_requested)
    os << ", abort requested";
  return os;
}

// "spawned 40, succeeded 31, failed 2, cancelled 4, timed out 1, detached 0,
// peak size 12, peak queued 3"
inline std::ostream& operator<<(std::ostream& os, const group_stats& s) {
  return os << "spawned " << s.spawned << ", succeeded " << s.succeeded << ", failed " << s.failed
            << ", cancelled " << s.cancelled << ", timed out " << s.timed_out << ", detached "
            << s.detached << ", peak size " << s.peak_size << ", peak queued " << s.peak_queued;
}

}  // namespace joinery

#endif  // JOINERY_TASK_INFO_HPP
