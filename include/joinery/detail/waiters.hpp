// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_WAITERS_HPP
#define JOINERY_DETAIL_WAITERS_HPP

// The waiter protocol: a pending asynchronous wait on a group (a join) and
// the place it waits in.
//
// A wait is set up by the owner's thread, then woken by whoever has news for
// it: a task finishing on any thread, its own cancellation (any thread), the
// owner changing the group. Exactly one of them may post its completion, and
// the completion, run on the owner's side, decides what the wait delivers.
// A wait goes through these phases; every transition is a member of
// wait_slot, called with the group's lock held:
//
//   begin ──▶ starting ──park──▶ parked ──claim / cancel──▶ claimed ──end──▶ (free)
//                │                  ▲                          │
//                └──claim_now───────┼──────────▶ claimed ──────┤ requeue (its post
//                                   └──────────────────────────┘  failed: wait again)
//   parked ──abandon──▶ (free)    its context shut down; it is destroyed unrun
//
// A cancellation only marks the wait (cancel_requested) and claims it when
// parked; a claimed wait sees the mark when its completion runs and gives
// up without taking anything: that is what makes joins cancel-safe.
// Waits are named by a sequence number as well as by address, because a
// cancellation may arrive after its wait is gone and another wait lives at
// the same address.
//
// A wait_slot holds at most one wait (the group's next-join place). It is a
// single pointer, so that other places (a key's join, a slot's queue) can
// hold waits the same way.

#include <joinery/detail/intrusive_list.hpp>

#include <atomic>
#include <cstdint>

namespace joinery::detail {

class join_service;
class task_header;

// The protocol's part of a pending wait. The operation that derives from it
// (join_op.hpp) supplies how to post its completion and how to be destroyed
// unrun.
class waiter {
 public:
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;

  // Posts the completion to the handler's executor. May throw (allocation);
  // the caller then requeues the wait.
  void post() { ops_->post(this); }

  // The handler's execution context shuts down (join_service.hpp): if the
  // wait is parked, it leaves its slot and is destroyed without invoking
  // its handler (true); otherwise its completion is already queued in the
  // context and is destroyed with it (false).
  bool abandon() noexcept { return ops_->abandon(this); }

  std::uint64_t seq() const noexcept { return seq_; }

  // Guarded by the group's lock.
  bool cancel_requested() const noexcept { return cancel_requested_; }

  // While the wait is parked, it is also linked into the join_service of its
  // handler's execution context (join_service.hpp), under that service's
  // mutex. service_ is atomic because the wait reads it to find the service.
  std::atomic<join_service*> service_{nullptr};
  list_hook<waiter> service_hook_;

  // Chains the waits a group claims under its lock and posts after it;
  // guarded by that lock while the wait is claimed.
  waiter* batch_next_ = nullptr;
  task_header* batch_key_ = nullptr;

  // A wait in a wait_queue (an async_spawn waiting for a slot): its place
  // in the queue, and whether it was woken for a free slot that it holds
  // until its completion runs. Guarded by the group's lock.
  list_hook<waiter> queue_hook_;
  bool reserved_ = false;

 protected:
  struct operations {
    void (*post)(waiter*);
    bool (*abandon)(waiter*) noexcept;
  };
  explicit waiter(const operations* ops) noexcept : ops_(ops) {}
  ~waiter() = default;

 private:
  friend class wait_slot;
  friend class wait_queue;
  enum class phase : unsigned char { starting, parked, claimed };

  const operations* ops_;
  std::uint64_t seq_ = 0;
  phase phase_ = phase::starting;
  bool cancel_requested_ = false;
};

// A place holding at most one wait. Every member but busy() is called with
// the group's lock held.
class wait_slot {
 public:
  // Whether a wait is in progress here. Only the owner's thread starts
  // waits, so when it reads "no", no wait is in progress; it may read a
  // stale "yes" while another thread ends one (a context shutting down).
  bool busy() const noexcept { return current_.load(std::memory_order_acquire) != nullptr; }

  // Whether `w` is the wait in progress here.
  bool holds(const waiter* w) const noexcept {
    return current_.load(std::memory_order_relaxed) == w;
  }

  // The owner starts `w`, named `seq`.
  void begin(waiter* w, std::uint64_t seq) noexcept {
    w->seq_ = seq;
    w->phase_ = waiter::phase::starting;
    w->cancel_requested_ = false;
    current_.store(w, std::memory_order_relaxed);
  }

  // `w` waits for news.
  void park(waiter* w) noexcept { w->phase_ = waiter::phase::parked; }

  // `w` (starting, or running its completion) will complete at once.
  void claim_now(waiter* w) noexcept { w->phase_ = waiter::phase::claimed; }

  // News arrived: the parked wait, now claimed, for the caller to post
  // (outside the lock); null when no wait is parked.
  waiter* claim() noexcept {
    waiter* w = current_.load(std::memory_order_relaxed);
    if (!w || w->phase_ != waiter::phase::parked)
      return nullptr;
    w->phase_ = waiter::phase::claimed;
    return w;
  }

  // Posting the claimed `w` failed (out of memory): it waits again, so that
  // the next news retries instead of losing it.
  void requeue(waiter* w) noexcept {
    if (current_.load(std::memory_order_relaxed) == w && w->phase_ == waiter::phase::claimed)
      w->phase_ = waiter::phase::parked;
  }

  // The cancellation handler of wait `seq`: marks the wait (it will complete
  // with operation_aborted) and returns it claimed if it was parked.
  waiter* cancel(std::uint64_t seq) noexcept {
    waiter* w = current_.load(std::memory_order_relaxed);
    if (!w || w->seq_ != seq)
      return nullptr;  // a late cancellation of a wait that is over
    w->cancel_requested_ = true;
    return claim();
  }

  // `w` completes, or its completion was destroyed unrun: the slot is free.
  void end(waiter* w) noexcept {
    if (current_.load(std::memory_order_relaxed) == w)
      current_.store(nullptr, std::memory_order_relaxed);
  }

  // The context of `w` shut down: true (and the slot free) if `w` was
  // parked here, so the caller may destroy it.
  bool abandon(waiter* w) noexcept {
    if (current_.load(std::memory_order_relaxed) != w || w->phase_ != waiter::phase::parked)
      return false;
    current_.store(nullptr, std::memory_order_relaxed);
    return true;
  }

 private:
  // Written under the group's lock; atomic for busy().
  std::atomic<waiter*> current_{nullptr};
};

// Waits served in order (spawners waiting for a concurrency slot): the same
// phases as a wait_slot's, for any number of waits. Every member is called
// with the group's lock held.
class wait_queue {
 public:
  bool empty() const noexcept { return waits_.empty(); }

  // The owner starts `w`, named `seq`, at the back of the queue.
  void begin(waiter* w, std::uint64_t seq) noexcept {
    w->seq_ = seq;
    w->phase_ = waiter::phase::starting;
    w->cancel_requested_ = false;
    w->reserved_ = false;
    waits_.push_back(w);
  }

  void park(waiter* w) noexcept { w->phase_ = waiter::phase::parked; }

  // `w`, parked, now claimed.
  waiter* claim(waiter* w) noexcept {
    w->phase_ = waiter::phase::claimed;
    return w;
  }

  // The first parked wait, now claimed; null when none is parked.
  waiter* claim_first() noexcept {
    for (waiter* w = waits_.front(); w; w = waits_.next(w)) {
      if (w->phase_ == waiter::phase::parked) {
        w->phase_ = waiter::phase::claimed;
        return w;
      }
    }
    return nullptr;
  }

  // Posting the claimed `w` failed: it waits again.
  void requeue(waiter* w) noexcept {
    if (waits_.contains(w) && w->phase_ == waiter::phase::claimed)
      w->phase_ = waiter::phase::parked;
  }

  // The cancellation handler of wait `seq`: marks it and returns it claimed
  // if it was parked.
  waiter* cancel(std::uint64_t seq) noexcept {
    for (waiter* w = waits_.front(); w; w = waits_.next(w)) {
      if (w->seq_ != seq)
        continue;
      w->cancel_requested_ = true;
      if (w->phase_ != waiter::phase::parked)
        return nullptr;
      w->phase_ = waiter::phase::claimed;
      return w;
    }
    return nullptr;  // a late cancellation of a wait that is over
  }

  // `w` leaves the queue (it completes, or was destroyed unrun).
  void end(waiter* w) noexcept {
    if (waits_.contains(w))
      waits_.erase(w);
  }

  // The context of `w` shut down: true (and `w` out of the queue) if it was
  // parked, so the caller may destroy it.
  bool abandon(waiter* w) noexcept {
    if (!waits_.contains(w) || w->phase_ != waiter::phase::parked)
      return false;
    waits_.erase(w);
    return true;
  }

  // Claims every parked wait (the group closes) into `f(w)`.
  template <class F>
  void claim_all(F&& f) noexcept {
    while (waiter* w = claim_first())
      f(w);
  }

 private:
  intrusive_list<waiter, &waiter::queue_hook_> waits_;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_WAITERS_HPP
