// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_GROUP_CORE_HPP
#define JOINERY_DETAIL_GROUP_CORE_HPP

// group_core: the part of a task group that finishing tasks and pending
// joins touch, under one lock.
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
#include <cstdint>
#include <mutex>
#include <utility>

namespace joinery::detail {

class group_core : public task_sink {
 public:
  // What a next-join considers an empty group: `size` tasks in the owner's
  // index, and whether it waits while empty (wait_if_empty). A keyed join
  // passes nothing.
  struct join_need {
    std::size_t size = 0;
    bool wait_if_empty = false;
  };

  // What a join's completion delivers (resolve_join).
  struct resolution {
    bool aborted = false;         // cancelled, or the group closed
    bool not_found = false;       // a keyed join's task left the group unfinished
    task_header* task = nullptr;  // a finished task (with the ready list's reference)
    bool parked = false;          // nothing yet: the join waits on
  };

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

  // --- The join protocol (join_op.hpp) --------------------------------------
  // `key` is the task a keyed join waits for; null for a next-join.

  // Owner's thread, without the lock: whether a join is in progress there.
  bool join_in_progress(const task_header* key) const noexcept { return slot(key).busy(); }

  // Owner's thread: the name of the next join (its cancellation handler is
  // installed with it before the join begins).
  std::uint64_t next_join_seq() noexcept { return ++seq_; }

  // Starts the join `w` named `seq`. True when it must complete at once (a
  // task to deliver, an empty or closed group, a keyed join's task gone):
  // it is then claimed, for the caller to post. Otherwise it is
  // registered, not yet parked. (A keyed join passes the index's size too.)
  bool begin_join(waiter* w, std::uint64_t seq, task_header* key, join_need need) noexcept {
    waiter* kicked = nullptr;
    bool now;
    {
      std::lock_guard lock(mutex_);
      slot(key).begin(w, seq);
      if (key && keyed_joins_.fetch_add(1, std::memory_order_relaxed) + 1 >= need.size)
        kicked = next_.claim();  // it may have just lost the last task it could deliver
      now = news_for(w, key, need);
      if (now)
        slot(key).claim_now(w);
    }
    if (kicked)
      post_or_requeue(kicked, nullptr);
    return now;
  }

  // Parks the join `w` (after begin_join, or again from its completion).
  // True when news arrived meanwhile: it is then claimed, to be posted.
  bool park_join(waiter* w, task_header* key, join_need need) noexcept {
    std::lock_guard lock(mutex_);
    if (news_for(w, key, need)) {
      slot(key).claim_now(w);
      return true;
    }
    slot(key).park(w);
    return false;
  }

  // The completion of the claimed join `w`, on the owner's side: aborted,
  // not found, or a task, and then it is over; or nothing, and then it is
  // over when a next-join finds its group empty, and parked again otherwise
  // (another join, e.g. try_join_next, took the task it was woken for).
  // `may_park` false means the caller must first prepare to wait (link into
  // its join_service); then nothing is decided and it calls again.
  resolution resolve_join(waiter* w, task_header* key, join_need need, bool may_park) noexcept {
    resolution r;
    {
      std::lock_guard lock(mutex_);
      if (closed_ || w->cancel_requested()) {
        r.aborted = true;
      } else if (key && gone(key)) {
        r.not_found = true;
      } else if ((r.task = key ? (ready_.contains(key) ? key : nullptr) : first_unreserved())) {
        ready_.erase(r.task);
      } else if (key || !next_empty(need)) {
        if (may_park)
          slot(key).park(w);
        r.parked = true;
        return r;
      }
      end_locked(w, key);
    }
    if (key && !r.task)
      kick();  // a keyed join let its task go: a next-join may deliver it now
    return r;
  }

  // The cancellation handler of the join named `seq`.
  void cancel_join(std::uint64_t seq, task_header* key) noexcept {
    waiter* wake;
    {
      std::lock_guard lock(mutex_);
      wake = slot(key).cancel(seq);
    }
    if (wake)
      post_or_requeue(wake, key);
  }

  // The join `w` ends without completing: its completion was destroyed
  // unrun, or its initiation failed.
  void end_join(waiter* w, task_header* key) noexcept {
    {
      std::lock_guard lock(mutex_);
      end_locked(w, key);
    }
    if (key)
      kick();
  }

  // The context of the parked join `w` shut down: true if it was parked
  // (it is then unregistered, and the caller destroys it).
  bool abandon_join(waiter* w, task_header* key) noexcept {
    {
      std::lock_guard lock(mutex_);
      if (!slot(key).abandon(w))
        return false;
      if (key && !key->orphaned_)
        keyed_joins_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (key)
      kick();
    return true;
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
  group_core() noexcept = default;
  ~group_core() override {
    // Reports after close() drop their task, so nothing can be queued here.
    while (task_header* t = ready_.pop_front())
      t->release();
  }

 private:
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
    void post(group_core& core) noexcept {
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

  // Caller holds mutex_. Whether a next-join finds nothing it could ever
  // deliver: no task, or only tasks keyed joins wait for.
  bool next_empty(join_need need) const noexcept {
    return !need.wait_if_empty && need.size <= keyed_joins_.load(std::memory_order_relaxed);
  }

  // Caller holds mutex_. Whether `w` has something to complete with now.
  bool news_for(const waiter* w, const task_header* key, join_need need) const noexcept {
    if (closed_ || w->cancel_requested())
      return true;
    if (key)
      return gone(key) || ready_.contains(key);
    return first_unreserved() != nullptr || next_empty(need);
  }

  // Caller holds mutex_. Whether the task a keyed join waits for left the
  // group without the join: replaced, detached, or already taken by
  // another join.
  bool gone(const task_header* key) const noexcept {
    return key->orphaned_ || (key->reported_ && !ready_.contains(key));
  }

  // Caller holds mutex_.
  void end_locked(waiter* w, task_header* key) noexcept {
    if (key && key->key_wait_.holds(w) && !key->orphaned_)
      keyed_joins_.fetch_sub(1, std::memory_order_relaxed);
    slot(key).end(w);
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
  // --- Owner's thread only. ------------------------------------------------
  std::uint64_t seq_ = 0;  // the last join's name
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_GROUP_CORE_HPP
