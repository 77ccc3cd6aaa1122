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

#include <joinery/detail/intrusive_list.hpp>
#include <joinery/detail/spin_lock.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/detail/waiters.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>
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
    bool keep;
    {
      std::lock_guard lock(mutex_);
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
    if (!keep)
      drop(t);
  }

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
    return ready_.contains(t);
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
  // keyed join waiting for one is woken (it completes with not_found).
  template <class ForEach>
  void orphan(ForEach&& for_each) noexcept {
    task_header* drop_list = nullptr;
    waiter_batch wake;
    {
      std::lock_guard lock(mutex_);
      for_each([&](task_header* t) {
        if (t->orphaned_)
          return;
        t->orphaned_ = true;
        // A keyed join waiting for it no longer holds a task of the group,
        // though its completion is still to run: count it out now, or a
        // next-join would take the group for empty (the replacing task is
        // nobody's to wait for).
        if (t->key_wait_.busy())
          keyed_joins_.fetch_sub(1, std::memory_order_relaxed);
        wake.add(t->key_wait_.claim(), t);
        if (ready_.contains(t)) {
          ready_.erase(t);
          t->ready_hook_.next = drop_list;  // unlinked: the hook may chain the drop list
          drop_list = t;
        }
      });
    }
    wake.post(*this);
    while (task_header* t = drop_list) {
      drop_list = std::exchange(t->ready_hook_.next, nullptr);
      drop(t);
    }
  }

  // Closes the group: later reports are dropped, finished tasks are freed,
  // and the pending joins (the next-join, and the keyed joins of the tasks
  // for_each(f) visits) complete with operation_aborted.
  template <class ForEach>
  void close(ForEach&& for_each) noexcept {
    task_header* ready;
    waiter_batch wake;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      ready = ready_.release_all();
      wake.add(next_.claim(), nullptr);
      for_each([&](task_header* t) { wake.add(t->key_wait_.claim(), t); });
    }
    wake.post(*this);
    while (task_header* t = ready) {
      ready = std::exchange(t->ready_hook_.next, nullptr);
      t->ready_hook_.prev = nullptr;
      drop(t);
    }
  }

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
    void post(ready_core& core) noexcept {
      while (waiter* w = head_) {
        head_ = std::exchange(w->batch_next_, nullptr);
        core.post_or_requeue(w, std::exchange(w->batch_key_, nullptr));
      }
    }

   private:
    waiter* head_ = nullptr;
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

  mutable spin_mutex mutex_;
  // --- Guarded by mutex_. --------------------------------------------------
  // Finished tasks whose outcome the owner has not taken, oldest first. Each
  // holds the reference its runner handed over.
  intrusive_list<task_header, &task_header::ready_hook_> ready_;
  wait_slot next_;  // the pending async_join_next (or async_wait)
  // Tasks still in the group (not orphaned) whose key slot holds a join.
  // Written under mutex_; atomic so the owner may read a snapshot without it.
  std::atomic<std::size_t> keyed_joins_{0};
  bool closed_ = false;  // the owner is gone
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_READY_CORE_HPP
