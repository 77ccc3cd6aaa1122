// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_CONCURRENCY_LIMIT_HPP
#define JOINERY_DETAIL_CONCURRENCY_LIMIT_HPP

// concurrency_limit: a group's limit on running tasks, the tasks queued for
// a slot, and the async_spawn calls waiting for one; every decision over
// them. The group's core (group_core.hpp) holds it under its lock and acts
// on the decisions outside the lock (starting a task is a post): admit()
// starts or queues a new task, promote() starts queued tasks and wakes
// spawners as slots free.
//
// A slot is held by a task that started while the group counts and has not
// finished (task_header::holds_slot): finishing, being detached or replaced
// gives it back. Counting begins with the first non-zero limit and never
// stops, so that a group which never sets a limit pays nothing (its spawns
// do not even take the group's lock).
//
// Order of service when a slot frees: queued tasks first (oldest first),
// then async_spawn waiters, in order, one per free slot. A waiter woken for
// a slot holds it until its completion runs on the owner's side and spawns
// (the reservation is wait_queue's).
//
// Every member is called with the group's lock held, except counting(),
// which the owner's thread (the only writer) may read without it.

#include <joinery/detail/task.hpp>
#include <joinery/detail/waiters.hpp>

#include <cstddef>
#include <limits>

namespace joinery::detail {

class concurrency_limit {
 public:
  // A limit was set once: every start takes a slot, and spawns go through
  // the group's admission.
  bool counting() const noexcept { return counting_; }

  // The limit; 0: none.
  std::size_t limit() const noexcept { return limit_; }

  // Tasks waiting in the queue.
  std::size_t queued() const noexcept { return queue_.size(); }

  // Sets the limit. The first non-zero one starts counting: visit(f) calls
  // f(task) for every task of the group, and each that is running (started,
  // or about to be: nothing was queued before counting) takes a slot.
  template <class Visit>
  void set(std::size_t n, Visit&& visit) noexcept {
    if (!counting_ && n != 0) {
      counting_ = true;
      visit([this](task_header* t) {
        if (!t->reported() && !t->orphaned() && !t->holds_slot())
          start(t);
      });
    }
    limit_ = n;
  }

  // spawn and try_spawn: may a new task start without queueing?
  bool can_start_now() const noexcept { return queue_.empty() && has_free_slot(); }

  // Takes the task `t` into a slot (it is about to start).
  void start(task_header* t) noexcept {
    if (counting_) {
      ++running_;
      t->take_slot();
    }
  }

  // `t` finished or left the group: its slot, if any, is free. True when
  // that may let a queued task or a waiter in (then the group promotes).
  bool release(task_header* t) noexcept {
    if (!t->give_back_slot())
      return false;
    --running_;
    return !queue_.empty() || !spawners_.empty();
  }

  // Queues `t`, created unstarted. The queue holds its running reference
  // and its reference on the group until it leaves.
  void enqueue(task_header* t) noexcept {
    queue_.push_back(t);
    t->mark_queued();
  }

  // Takes `t` out of the queue if it is there (aborted, replaced, detached).
  bool dequeue(task_header* t) noexcept {
    if (!t->is_queued())
      return false;
    queue_.erase(t);
    t->clear_queued();
    return true;
  }

  // The oldest queued task, out of the queue and into a slot, if one is
  // free; null otherwise.
  task_header* next_to_start() noexcept {
    if (queue_.empty() || !has_free_slot())
      return nullptr;
    task_header* t = queue_.front();
    dequeue(t);
    start(t);
    return t;
  }

  // The group closes: empties the queue and returns it as a chain
  // (task_header::list::chain_pop takes its tasks one by one), for the
  // caller to finish unstarted.
  task_header* take_queue() noexcept {
    for (task_header* t = queue_.front(); t; t = queue_.next(t))
      t->clear_queued();
    return queue_.release_all();
  }

  // --- The async_spawn waiters ----------------------------------------------

  wait_queue& spawners() noexcept { return spawners_; }

  // May an async_spawn spawn at once (nobody waits before it, and a slot is
  // free for it)?
  bool spawner_may_start_now() const noexcept {
    return spawners_.empty() && free_for_spawners() > 0;
  }

  // May a woken async_spawn, its reservation given back, spawn now?
  bool spawner_may_spawn() const noexcept { return free_for_spawners() > 0; }

  // Wakes async_spawn waiters, in order, one per slot they may take now;
  // each holds its slot until its completion runs.
  template <class F>
  void wake_spawners(F&& f) noexcept {
    spawners_.reserve_first(free_for_spawners(), f);
  }

 private:
  bool has_free_slot() const noexcept { return limit_ == 0 || running_ < limit_; }

  // How many more spawn waiters may hold a slot now: none while tasks are
  // queued (they come first).
  std::size_t free_for_spawners() const noexcept {
    if (!queue_.empty())
      return 0;
    if (limit_ == 0)
      return std::numeric_limits<std::size_t>::max();
    const std::size_t taken = running_ + spawners_.reserved();
    return taken < limit_ ? limit_ - taken : 0;
  }

  std::size_t limit_ = 0;    // 0: no limit
  std::size_t running_ = 0;  // tasks holding a slot
  bool counting_ = false;
  task_header::list queue_;  // created unstarted, waiting for a slot, oldest first
  wait_queue spawners_;      // async_spawn calls waiting for a slot
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_CONCURRENCY_LIMIT_HPP
