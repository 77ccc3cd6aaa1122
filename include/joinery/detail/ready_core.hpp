// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_READY_CORE_HPP
#define JOINERY_DETAIL_READY_CORE_HPP

// ready_core: where a group's finished tasks wait for a join, under the
// group's one lock, and which waiting join each of them wakes.
//
// A task finishes on its own executor, which may be another thread. It must
// not touch the group's indexes (they belong to the owner's thread), so it
// only appends itself to the ready list here and wakes the join waiting for
// it (waiters.hpp), whose completion then takes the result on the owner's
// side (join_op.hpp). Joins wait in one of two places:
//   - the next-join slot (async_join_next, async_wait): any finished task
//     but those a keyed join waits for;
//   - a task's own key slot (join_map::async_join): that task only. A task
//     with a keyed join stays on the ready list in completion order but is
//     reserved for its keyed join, which every other join skips.
// The owner orphans tasks (replaced, detached) and closes the group here.
// Finishing tasks also give back their concurrency slot and leave the
// deadline heap here, so the queue of tasks waiting for a slot
// (admission.hpp) and the deadlines (deadlines.hpp) live under the same
// lock: admit() registers a new task with both, promote() starts queued
// tasks and wakes async_spawn waiters as slots free, on_deadline() times
// tasks out.
// How a join begins, parks and resolves is group_core's (group_core.hpp),
// which derives from this class and alone shares its fields.
//
// The core is reference counted (task_sink): the owning container, every
// task that has not reported yet, every pending join and every cancellation
// handler installed for one hold a reference. So a task finishing after its
// map was destroyed, or a join cancelled late, still finds it alive; it is
// merely closed.
//
// Locking: the core's lock is taken with no other lock held but a
// join_service's (join_service.hpp) or a task's run lock (a finishing
// task), and nothing else is locked under it.

#include <joinery/detail/admission.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/deadlines.hpp>
#include <joinery/detail/intrusive_list.hpp>
#include <joinery/detail/spin_lock.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/detail/waiters.hpp>

#include <boost/system/error_code.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace joinery::detail {

class ready_core : public task_sink {
 public:
  // --- Tasks (any thread) ------------------------------------------------

  // A task's last act: queue it for a join and wake the join waiting for it,
  // or drop it when its group no longer wants it (orphaned or closed).
  void take_finished(task_header* t) noexcept override {
    waiter* wake = nullptr;
    task_header* key = nullptr;
    bool keep, freed, disarm = false;
    {
      std::lock_guard lock(mutex_);
      freed = adm_.give_back(t);
      if (t->deadline_pos_)
        disarm = leave_deadlines(t);
      keep = !closed_ && !t->orphaned_;
      if (keep) {
        t->reported_ = true;
        ready_.push_back(t);
        if (t->key_wait_.busy())
          wake = t->key_wait_.claim(), key = t;  // reserved: only its keyed join is woken
        else
          wake = next_.claim();
      }
    }
    if (wake)
      post_or_requeue(wake, key);
    if (freed)
      promote();
    if (disarm)
      sync_timer();
    if (!keep)
      drop(t);
  }

  // The queued task `t` was aborted (task.hpp): out of the queue, if it is
  // still there.
  bool dequeue_aborted(task_header* t) noexcept override {
    std::lock_guard lock(mutex_);
    return adm_.dequeue(t);
  }

  // --- Admission and deadlines (the owner, its thread) ---------------------

  // Whether spawns must go through admit(): a limit was set once.
  bool counting() const noexcept { return adm_.counting; }

  // Admits the task `t`, created unstarted (its running reference held by
  // the caller): registers its deadline, if any, then starts it (taking a
  // slot when counting) or queues it. On success the running reference
  // belongs to the runner or to the queue; if this throws, nothing changed
  // and it is still the caller's.
  void admit(task_header* t, const deadline_clock::time_point* deadline);

  // Sets the limit (0: none). Raising it starts queued tasks (their first
  // step posted) before it returns, and wakes async_spawn waiters for what
  // is left. The first limit makes the group count the tasks running now
  // (visit(f) calls f(task_header*) for every task the owner holds).
  template <class Visit>
  void set_limit(std::size_t n, Visit&& visit);

  std::size_t limit() const noexcept {
    std::lock_guard lock(mutex_);
    return adm_.limit;
  }

  // spawn and try_spawn: may a new task start without queueing now?
  bool can_start_now() const noexcept {
    if (!adm_.counting)
      return true;
    std::lock_guard lock(mutex_);
    return adm_.can_start_now();
  }

  std::size_t queued_count() const noexcept {
    std::lock_guard lock(mutex_);
    return adm_.queue.size();
  }

  // Makes sure the group has its deadline timer, on `ex`, before the first
  // deadline is admitted.
  void enable_deadlines(const net::any_io_executor& ex);

  // Starts queued tasks while slots are free, then wakes async_spawn
  // waiters for the slots left. Any thread. One thread promotes at a time:
  // a start that finishes its task at once (a shut-down executor) reports
  // it and calls this again, which returns, and the promoting thread looks
  // again after each start, so a freed slot is never missed.
  void promote() noexcept;

  // --- The owner (its thread) --------------------------------------------

  // Takes the oldest finished task no keyed join waits for off the ready
  // list; the caller receives the list's reference. Null when none.
  task_header* pop_ready() noexcept {
    std::lock_guard lock(mutex_);
    task_header* t = first_unreserved();
    if (t)
      ready_.erase(t);
    return t;
  }

  // How many tasks have finished and await joining (keyed ones included).
  std::size_t ready_count() const noexcept {
    std::lock_guard lock(mutex_);
    return ready_.size();
  }

  // How many keyed joins are pending (a snapshot).
  std::size_t keyed_joins() const noexcept { return keyed_joins_.load(std::memory_order_relaxed); }

  // Whether `t` (in the owner's index) has finished and awaits joining.
  bool is_ready(const task_header* t) const noexcept {
    std::lock_guard lock(mutex_);
    return on_ready_list(t);
  }

  // The group changed (it became empty, or a keyed join let a task go):
  // wakes the pending next-join so that it looks again.
  void kick() noexcept {
    waiter* wake;
    {
      std::lock_guard lock(mutex_);
      wake = next_.claim();
    }
    if (wake)
      post_or_requeue(wake, nullptr);
  }

  // Marks the tasks that for_each(f) visits as no longer owned by this group:
  // their outcomes go to nobody, finished ones leave the ready list now (so
  // an unjoined replaced or detached task does not keep its memory), and a
  // keyed join waiting for one is woken (it completes with not_found). They
  // give back their concurrency slot and leave the deadline heap. A queued
  // one leaves the queue: with `start_queued` (detached) it starts at once,
  // outside the group; otherwise (replaced) it is aborted and never runs.
  template <class ForEach>
  void orphan(ForEach&& for_each, bool start_queued) noexcept;

  // Closes the group: later reports are dropped, finished tasks are freed,
  // queued tasks are aborted (they never run), deadlines are forgotten, and
  // the pending waits (the next-join, the keyed joins of the tasks
  // for_each(f) visits, the async_spawn waiters) complete with
  // operation_aborted.
  template <class ForEach>
  void close(ForEach&& for_each) noexcept;

  // Posts the claimed wait `w`; out of memory, leaves it registered so that
  // the next news wakes it again, instead of losing it.
  void post_or_requeue(waiter* w, task_header* key) noexcept {
    try {
      w->post();
    } catch (...) {
      std::lock_guard lock(mutex_);
      slot(key).requeue(w);
    }
  }

  // As post_or_requeue, for an async_spawn waiter: out of memory, it gives
  // back the slot it was woken for and waits again.
  void post_or_requeue_spawner(waiter* w) noexcept {
    try {
      w->post();
    } catch (...) {
      std::lock_guard lock(mutex_);
      adm_.spawners.requeue(w);
      if (std::exchange(w->reserved_, false))
        --adm_.reserved;
    }
  }

 protected:
  ready_core() noexcept = default;
  ~ready_core() override {
    // Reports after close() drop their task, so nothing can be queued here.
    while (task_header* t = ready_.pop_front())
      t->release();
  }

 private:
  friend class group_core;

  // Waits claimed under the lock, posted after it (at most one per task).
  class waiter_batch {
   public:
    void add(waiter* w, task_header* key) noexcept {
      if (!w)
        return;
      w->batch_next_ = head_;
      w->batch_key_ = key;
      head_ = w;
    }
    void add_spawner(waiter* w) noexcept {
      w->batch_next_ = spawners_;
      spawners_ = w;
    }
    void post(ready_core& core) noexcept {
      while (waiter* w = head_) {
        head_ = std::exchange(w->batch_next_, nullptr);
        core.post_or_requeue(w, std::exchange(w->batch_key_, nullptr));
      }
      while (waiter* w = spawners_) {
        spawners_ = std::exchange(w->batch_next_, nullptr);
        core.post_or_requeue_spawner(w);
      }
    }

   private:
    waiter* head_ = nullptr;
    waiter* spawners_ = nullptr;
  };

  wait_slot& slot(task_header* key) noexcept { return key ? key->key_wait_ : next_; }
  const wait_slot& slot(const task_header* key) const noexcept {
    return key ? key->key_wait_ : next_;
  }

  // Caller holds mutex_. The oldest finished task no keyed join waits for.
  task_header* first_unreserved() const noexcept {
    task_header* t = ready_.front();
    while (t && t->key_wait_.busy())
      t = ready_.next(t);
    return t;
  }

  // A task whose outcome goes to nobody: free its value now, and its
  // reference (outside the lock: a value's destructor may do anything).
  static void drop(task_header* t) noexcept {
    t->drop_outcome();
    t->release();
  }

  // Caller holds mutex_. Whether `t` finished and is on the ready list (a
  // queued task uses the same hook, but has never reported).
  bool on_ready_list(const task_header* t) const noexcept {
    return t->reported_ && ready_.contains(t);
  }

  // Caller holds mutex_. Wakes async_spawn waiters, in order, one per slot
  // they may take now; each holds its slot (reserved) until its completion
  // runs.
  void claim_spawners(waiter_batch& wake) noexcept;

  // Starts the task `t`, taken out of the queue (with the queue's running
  // reference and its reference on this core). If it cannot be posted, it
  // is reported with the exception (std::bad_alloc) as its outcome.
  void start_queued(task_header* t) noexcept;

  // Caller holds mutex_. `t` (in the heap) leaves it; true when the heap is
  // now empty and the timer must be disarmed.
  bool leave_deadlines(task_header* t) noexcept;

  // The handler of the group's timer; holds a reference on the core.
  struct deadline_handler {
    counted_ref<ready_core> core;
    void operator()(boost::system::error_code ec) const noexcept { core->on_deadline(ec); }
  };

  // Brings the timer in line with `armed_`: waits for it, or is cancelled
  // when nothing is due. Any thread, without the lock. Out of memory, the
  // timer stays as it was and a deadline may fire late (at the next arming).
  void sync_timer() noexcept;

  // The timer fired (or was cancelled: ec): times out every task due, then
  // arms for the next deadline.
  void on_deadline(boost::system::error_code ec) noexcept;

  mutable spin_mutex mutex_;
  // --- Guarded by mutex_. --------------------------------------------------
  // Finished tasks whose outcome the owner has not taken, oldest first. Each
  // holds the reference its runner handed over.
  intrusive_list<task_header, &task_header::ready_hook_> ready_;
  wait_slot next_;  // the pending async_join_next (or async_wait)
  // Tasks still in the group (not orphaned) whose key slot holds a join.
  // Written under mutex_; atomic so the owner may read a snapshot without it.
  std::atomic<std::size_t> keyed_joins_{0};
  bool closed_ = false;     // the owner is gone
  bool promoting_ = false;  // a thread is in promote()'s loop
  admission adm_;           // the concurrency limit, its queue and waiters
  deadline_heap deadlines_;
  std::optional<deadline_clock::time_point> armed_;  // what the timer should wait for
  // --- Created by the owner before the first deadline, then constant. -----
  std::unique_ptr<deadline_timer> timer_;
};

}  // namespace joinery::detail

// Members defined in headers of their own: admission and deadlines; the
// owner orphaning tasks and closing the group.
#include <joinery/detail/ready_core_admission.hpp>
#include <joinery/detail/ready_core_owner.hpp>

#endif  // JOINERY_DETAIL_READY_CORE_HPP
