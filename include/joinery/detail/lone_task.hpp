// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_LONE_TASK_HPP
#define JOINERY_DETAIL_LONE_TASK_HPP

// A task with no group: joinery::spawn's, owned by a join_handle.
//
// A join_handle waits on exactly one task, so it needs no group: no ready
// list, queue, deadline heap or timer. Its task reports to its own key slot
// (task_header::key_wait), the place a join_map's keyed join waits in, under
// the task's own lock (task_header::wait_lock) instead of a group's. The
// join_handle holds the task's index reference; the running reference,
// handed over when the task reports, is held for the outcome until a wait
// takes it (mark_outcome_taken) or the handle is destroyed. The wait's
// transitions are a join's (waiters.hpp); join_op.hpp's handle_wait_op
// drives them.

#include <joinery/detail/task.hpp>
#include <joinery/detail/waiters.hpp>

#include <cstdint>
#include <mutex>

namespace joinery::detail::lone_task {

// What a wait's completion delivers.
struct resolution {
  bool aborted = false;         // cancelled, or the handle is gone
  bool not_found = false;       // the outcome was delivered already
  task_header* task = nullptr;  // the finished task, with the running reference
  bool parked = false;          // nothing yet: the wait waits on
};

namespace detail_ {
// Caller holds the task's lock. Whether `w` has something to complete with.
inline bool news_for(const task_header* t, const waiter* w) noexcept {
  return w->cancel_requested() || t->orphaned() || t->reported();
}

// Posts the claimed `w`; out of memory, it waits again.
inline void post(task_header* t, waiter* w) noexcept {
  if (!w)
    return;
  try {
    w->post();
  } catch (...) {
    std::lock_guard lock(t->wait_lock());
    t->key_wait().requeue(w);
  }
}
}  // namespace detail_

// The task's last act (task_header::deliver), with its running reference,
// on any thread: kept for a wait (and the pending wait woken), or dropped
// when the handle is gone.
inline void take_finished(task_header* t) noexcept {
  waiter* wake = nullptr;
  bool keep;
  {
    std::lock_guard lock(t->wait_lock());
    keep = !t->orphaned();
    if (keep) {
      t->mark_reported();
      wake = t->key_wait().claim();
    }
  }
  detail_::post(t, wake);
  if (!keep) {
    t->drop_outcome();
    t->release();
  }
}

// The handle is gone (owner's thread): the task runs on and reports to
// nobody; a pending wait completes with operation_aborted; an outcome not
// yet taken is freed now.
inline void detach(task_header* t) noexcept {
  waiter* wake;
  bool drop;
  {
    std::lock_guard lock(t->wait_lock());
    t->orphan();
    wake = t->key_wait().claim();
    drop = t->reported() && !t->outcome_taken();
    if (drop)
      t->mark_outcome_taken();
  }
  detail_::post(t, wake);
  if (drop) {
    t->drop_outcome();
    t->release();  // the running reference, held for the outcome
  }
}

// --- The wait (owner's thread, but cancel: any thread) -------------------------

// Starts the wait `w` named `seq`. True when it must complete at once (the
// task has finished, or its outcome was taken): it is then claimed.
inline bool begin(task_header* t, waiter* w, std::uint64_t seq) noexcept {
  std::lock_guard lock(t->wait_lock());
  t->key_wait().begin(w, seq);
  const bool now = detail_::news_for(t, w);
  if (now)
    t->key_wait().claim_now(w);
  return now;
}

// Parks `w`; true when news arrived meanwhile (it is then claimed).
inline bool park(task_header* t, waiter* w) noexcept {
  std::lock_guard lock(t->wait_lock());
  if (detail_::news_for(t, w)) {
    t->key_wait().claim_now(w);
    return true;
  }
  t->key_wait().park(w);
  return false;
}

// The completion of the claimed `w`: aborted, not found or the task (then
// the wait is over), or parked again (`may_park`; otherwise the caller
// prepares to wait and calls again).
inline resolution resolve(task_header* t, waiter* w, bool may_park) noexcept {
  resolution r;
  std::lock_guard lock(t->wait_lock());
  if (w->cancel_requested() || t->orphaned()) {
    r.aborted = true;
  } else if (t->outcome_taken()) {
    r.not_found = true;
  } else if (t->reported()) {
    t->mark_outcome_taken();
    r.task = t;
  } else {
    if (may_park)
      t->key_wait().park(w);
    r.parked = true;
    return r;
  }
  t->key_wait().end(w);
  return r;
}

// The cancellation handler of the wait named `seq`.
inline void cancel(task_header* t, std::uint64_t seq) noexcept {
  waiter* wake;
  {
    std::lock_guard lock(t->wait_lock());
    wake = t->key_wait().cancel(seq);
  }
  detail_::post(t, wake);
}

// `w` ends without completing (destroyed unrun, or its initiation failed).
inline void end(task_header* t, waiter* w) noexcept {
  std::lock_guard lock(t->wait_lock());
  t->key_wait().end(w);
}

// The context of the parked `w` shut down: true if it was parked (then it
// is unregistered, and the caller destroys it).
inline bool abandon(task_header* t, waiter* w) noexcept {
  std::lock_guard lock(t->wait_lock());
  return t->key_wait().abandon(w);
}

}  // namespace joinery::detail::lone_task

#endif  // JOINERY_DETAIL_LONE_TASK_HPP
