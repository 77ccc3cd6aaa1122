// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_ADMISSION_HPP
#define JOINERY_DETAIL_ADMISSION_HPP

// admission: a group's concurrency limit, the tasks queued for a slot, and
// the async_spawn callers waiting for one.
//
// Plain data with the decisions over it; the group's core (ready_core.hpp)
// holds it under its lock and acts on the decisions outside the lock
// (starting a task is a post). A slot is held by a task that started under
// counting and has not finished (task_header::counted_): finishing, being
// detached or replaced gives it back. Counting begins with the first
// set_concurrency_limit and never stops, so that a group which never sets
// a limit pays nothing (its spawns do not even take the lock).
//
// Order of service when a slot frees: queued tasks first (oldest first),
// then async_spawn waiters, in order, one per free slot. A waiter woken for
// a slot holds it (`reserved`) until its completion runs on the owner's
// side and spawns.

#include <joinery/detail/intrusive_list.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/detail/waiters.hpp>

#include <cstddef>
#include <limits>

namespace joinery::detail {

struct admission {
  std::size_t limit = 0;     // 0: no limit
  std::size_t running = 0;   // tasks holding a slot (counted_)
  std::size_t reserved = 0;  // woken spawn waiters whose completion has not run
  bool counting = false;     // a limit was set once: every start is counted
  // Tasks created unstarted, waiting for a slot, oldest first (queued_bit).
  // Each holds its running reference and a reference on the core.
  intrusive_list<task_header, &task_header::ready_hook_> queue;
  wait_queue spawners;  // async_spawn callers waiting for a slot

  bool has_free_slot() const noexcept { return limit == 0 || running < limit; }

  // spawn and try_spawn: may a new task start without queueing?
  bool can_start_now() const noexcept { return queue.empty() && has_free_slot(); }

  // How many more spawn waiters may be woken for a slot now.
  std::size_t free_for_spawners() const noexcept {
    if (!queue.empty())
      return 0;
    if (limit == 0)
      return std::numeric_limits<std::size_t>::max();
    return running + reserved < limit ? limit - running - reserved : 0;
  }

  // Takes the task `t` into a slot (it is about to start).
  void take_slot(task_header* t) noexcept {
    if (counting) {
      ++running;
      t->counted_ = true;
    }
  }

  // `t` finished or left the group: its slot, if any, is free. True when
  // that may let a queued task or a waiter in.
  bool give_back(task_header* t) noexcept {
    if (!t->counted_)
      return false;
    t->counted_ = false;
    --running;
    return !queue.empty() || !spawners.empty();
  }

  // Queues `t`, created unstarted.
  void enqueue(task_header* t) noexcept {
    queue.push_back(t);
    t->state_.fetch_or(queued_bit, std::memory_order_acq_rel);
  }

  // Takes `t` out of the queue if it is there.
  bool dequeue(task_header* t) noexcept {
    if ((t->state_.load(std::memory_order_relaxed) & queued_bit) == 0)
      return false;
    queue.erase(t);
    t->state_.fetch_and(~queued_bit, std::memory_order_acq_rel);
    return true;
  }

  // The oldest queued task, out of the queue and into a slot, if one is
  // free; null otherwise.
  task_header* next_to_start() noexcept {
    if (queue.empty() || !has_free_slot())
      return nullptr;
    task_header* t = queue.front();
    dequeue(t);
    take_slot(t);
    return t;
  }
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_ADMISSION_HPP
