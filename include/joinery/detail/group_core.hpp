// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_GROUP_CORE_HPP
#define JOINERY_DETAIL_GROUP_CORE_HPP

// group_core: the part of a task group that finishing tasks and pending
// joins touch, under one lock.
//
// A task finishes on its own executor, which may be another thread. It must
// not touch the group's indexes (they belong to the owner's thread), so it
// only appends itself to the ready list here and wakes the pending join, if
// any (waiters.hpp), whose completion then takes the result on the owner's
// side (join_op.hpp).
//
// The core is reference counted (task_sink): the owning container, every
// task that has not reported yet, every pending join and every cancellation
// handler installed for one hold a reference. So a task finishing after its
// map was destroyed, or a join cancelled late, still finds it alive; it is
// merely closed.
//
// Locking: the core's lock is taken with no other lock held but a
// join_service's (join_service.hpp), and nothing else is locked under it.

#include <joinery/detail/intrusive_list.hpp>
#include <joinery/detail/spin_lock.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/detail/waiters.hpp>

#include <cstdint>
#include <mutex>
#include <utility>

namespace joinery::detail {

class group_core : public task_sink {
 public:
  // --- Tasks (any thread) ------------------------------------------------

  // A task's last act: queue it for a join and wake the pending join, or
  // drop it when its group no longer wants it (orphaned or closed).
  void take_finished(task_header* t) noexcept override {
    waiter* wake = nullptr;
    bool keep;
    {
      std::lock_guard lock(mutex_);
      keep = !closed_ && !t->orphaned_;
      if (keep) {
        ready_.push_back(t);
        wake = next_.claim();
      }
    }
    if (wake)
      post_or_requeue(wake);
    if (!keep)
      drop(t);
  }

  // --- The owner (its thread) --------------------------------------------

  // Takes the oldest finished task off the ready list; the caller receives
  // the list's reference. Null when nothing has finished.
  task_header* pop_ready() noexcept {
    std::lock_guard lock(mutex_);
    return ready_.pop_front();
  }

  // The group changed (it became empty, or gained a task a waiting join may
  // deliver): wakes the pending join so that it looks again.
  void kick() noexcept {
    waiter* wake;
    {
      std::lock_guard lock(mutex_);
      wake = next_.claim();
    }
    if (wake)
      post_or_requeue(wake);
  }

  // Marks the tasks that for_each(f) visits as no longer owned by this group:
  // their outcomes go to nobody, and finished ones leave the ready list now
  // (so an unjoined replaced or detached task does not keep its memory).
  template <class ForEach>
  void orphan(ForEach&& for_each) noexcept {
    task_header* drop_list = nullptr;
    {
      std::lock_guard lock(mutex_);
      for_each([&](task_header* t) {
        t->orphaned_ = true;
        if (ready_.contains(t)) {
          ready_.erase(t);
          t->ready_hook_.next = drop_list;  // unlinked: the hook may chain the drop list
          drop_list = t;
        }
      });
    }
    while (task_header* t = drop_list) {
      drop_list = std::exchange(t->ready_hook_.next, nullptr);
      drop(t);
    }
  }

  // Closes the group: later reports are dropped, finished tasks are freed
  // and the pending join (if any) completes with operation_aborted.
  void close() noexcept {
    task_header* ready;
    waiter* wake;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      ready = ready_.release_all();
      wake = next_.claim();
    }
    if (wake)
      post_or_requeue(wake);
    while (task_header* t = ready) {
      ready = std::exchange(t->ready_hook_.next, nullptr);
      t->ready_hook_.prev = nullptr;
      drop(t);
    }
  }

  // --- The join protocol (join_op.hpp) -------------------------------------

  // What a join's completion delivers (resolve_join).
  struct resolution {
    bool aborted = false;         // cancelled, or the group closed
    task_header* task = nullptr;  // a finished task (with the list's reference)
    bool parked = false;          // nothing yet: the join waits on
  };

  // Owner's thread, without the lock: whether a join is in progress.
  bool join_in_progress() const noexcept { return next_.busy(); }

  // Owner's thread: the name of the next join (its cancellation handler is
  // installed with it before the join begins).
  std::uint64_t next_join_seq() noexcept { return ++seq_; }

  // Starts the join `w` named `seq`. True when it must complete at once (a
  // finished task, an empty group, a closed group): it is then claimed, for
  // the caller to post. Otherwise it is registered, not yet parked.
  bool begin_join(waiter* w, std::uint64_t seq, bool group_empty) noexcept {
    std::lock_guard lock(mutex_);
    next_.begin(w, seq);
    if (closed_ || !ready_.empty() || group_empty) {
      next_.claim_now(w);
      return true;
    }
    return false;
  }

  // Parks the join `w` (after begin_join, or again from its completion).
  // True when news arrived meanwhile: it is then claimed, to be posted.
  bool park_join(waiter* w, bool group_empty) noexcept {
    std::lock_guard lock(mutex_);
    if (closed_ || w->cancel_requested() || !ready_.empty() || group_empty) {
      next_.claim_now(w);
      return true;
    }
    next_.park(w);
    return false;
  }

  // The completion of the claimed join `w`, on the owner's side: aborted
  // (and over), a task (and over), or nothing: then it is over when the
  // group is empty, and parked again otherwise (another join, e.g.
  // try_join_next, took the task it was woken for). `may_park` false means
  // the caller must first prepare to wait (link into its join_service);
  // then nothing is decided and resolve_join is called again.
  resolution resolve_join(waiter* w, bool group_empty, bool may_park) noexcept {
    resolution r;
    std::lock_guard lock(mutex_);
    if (closed_ || w->cancel_requested()) {
      r.aborted = true;
    } else if ((r.task = ready_.pop_front()) == nullptr && !group_empty) {
      if (may_park)
        next_.park(w);
      r.parked = true;
      return r;
    }
    next_.end(w);
    return r;
  }

  // The cancellation handler of the join named `seq`.
  void cancel_join(std::uint64_t seq) noexcept {
    waiter* wake;
    {
      std::lock_guard lock(mutex_);
      wake = next_.cancel(seq);
    }
    if (wake)
      post_or_requeue(wake);
  }

  // The join `w` ends without completing: its completion was destroyed
  // unrun, or its initiation failed.
  void end_join(waiter* w) noexcept {
    std::lock_guard lock(mutex_);
    next_.end(w);
  }

  // The context of the parked join `w` shut down: true if it was parked
  // here (it is then unregistered, and the caller destroys it).
  bool abandon_join(waiter* w) noexcept {
    std::lock_guard lock(mutex_);
    return next_.abandon(w);
  }

  // Posts the claimed wait `w`; out of memory, leaves it registered so that
  // the next news wakes it again, instead of losing it.
  void post_or_requeue(waiter* w) noexcept {
    try {
      w->post();
    } catch (...) {
      std::lock_guard lock(mutex_);
      next_.requeue(w);
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
  wait_slot next_;       // the pending async_join_next (or async_wait)
  bool closed_ = false;  // the owner is gone
  // --- Owner's thread only. ------------------------------------------------
  std::uint64_t seq_ = 0;  // the last join's name
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_GROUP_CORE_HPP
