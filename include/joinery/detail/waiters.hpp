// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_WAITERS_HPP
#define JOINERY_DETAIL_WAITERS_HPP

// The waiter protocol: a pending asynchronous wait on a group (a join, an
// async_spawn waiting for a slot) and the places it waits in.
//
// A wait is set up by the owner's thread, then woken by whoever has news for
// it: a task finishing on any thread, its own cancellation (any thread), the
// owner changing the group. Exactly one of them may post its completion, and
// the completion, run on the owner's side, decides what the wait delivers.
// A wait goes through these phases; every transition is a member of
// wait_slot or wait_queue, called with the group's lock held:
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

#include <joinery/detail/intrusive_list.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace joinery::detail {

class context_service;
class task_header;

// The protocol's part of a pending wait. The operation that derives from it
// (pending_op.hpp) supplies how to post its completion and how to be
// destroyed unrun.
class waiter {
 public:
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;

  // Posts the completion to the handler's executor. May throw (allocation);
  // the caller then requeues the wait.
  void post() { ops_->post(this); }

  // The handler's execution context shuts down (context_service.hpp): if the
  // wait is parked, it leaves its place and is destroyed without invoking
  // its handler (true); otherwise its completion is already queued in the
  // context and is destroyed with it (false).
  bool abandon() noexcept { return ops_->abandon(this); }

  std::uint64_t seq() const noexcept { return seq_; }

  // Guarded by the group's lock.
  bool cancel_requested() const noexcept { return cancel_requested_; }

  // The context_service the wait is linked into while parked (null when not
  // linked). acquire: pairs with the service's release when it links the
  // wait, so the service is seen constructed.
  context_service* service() const noexcept { return service_.load(std::memory_order_acquire); }

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
  friend class wake_list;
  friend class context_service;
  enum class phase : unsigned char { starting, parked, claimed };

  const operations* ops_;
  std::uint64_t seq_ = 0;
  phase phase_ = phase::starting;
  bool cancel_requested_ = false;  // the group's lock
  bool reserved_ = false;          // wait_queue: holds a reserved slot (the group's lock)
  // Linked into its handler's context_service while parked, under that
  // service's mutex; atomic because the wait reads it to find the service.
  std::atomic<context_service*> service_{nullptr};
  list_hook<waiter> service_hook_;
  list_hook<waiter> queue_hook_;     // wait_queue (the group's lock)
  waiter* wake_next_ = nullptr;      // wake_list (the group's lock while claimed)
  task_header* wake_key_ = nullptr;  // wake_list: the keyed join's task, if any
};

// A place holding at most one wait: the group's next-join place, or one
// task's keyed-join place. Every member but busy() is called with the
// group's lock held.
class wait_slot {
 public:
  // Whether a wait is in progress here. Only the owner's thread starts
  // waits, so when it reads "no", no wait is in progress; it may read a
  // stale "yes" while another thread ends one (a context shutting down).
  // acquire: pairs with the release of begin().
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
    current_.store(w, std::memory_order_release);
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

// Waits served in order (async_spawn calls waiting for a concurrency
// slot): the phases of a wait_slot for any number of waits, and the slots
// reserved for them. A wait woken for a free slot holds it (reserved) from
// its claim until its completion resolves, so that a plain spawn in between
// cannot take it; the reservation is counted here and nowhere else. Every
// member is called with the group's lock held.
class wait_queue {
 public:
  bool empty() const noexcept { return waits_.empty(); }

  // Slots held by woken waits whose completion has not resolved yet.
  std::size_t reserved() const noexcept { return reserved_; }

  // The owner starts `w`, named `seq`, at the back of the queue.
  void begin(waiter* w, std::uint64_t seq) noexcept {
    w->seq_ = seq;
    w->phase_ = waiter::phase::starting;
    w->cancel_requested_ = false;
    w->reserved_ = false;
    waits_.push_back(w);
  }

  void park(waiter* w) noexcept { w->phase_ = waiter::phase::parked; }

  // `w`, starting or parked, now claimed (a cancellation seen as it parks,
  // or the group closing).
  waiter* claim(waiter* w) noexcept {
    w->phase_ = waiter::phase::claimed;
    return w;
  }

  // Claims up to `n` parked waits, oldest first, each reserving a slot,
  // and hands each to f(w).
  template <class F>
  void reserve_first(std::size_t n, F&& f) noexcept {
    for (waiter* w = waits_.front(); w && n > 0; w = waits_.next(w)) {
      if (w->phase_ != waiter::phase::parked)
        continue;
      w->phase_ = waiter::phase::claimed;
      w->reserved_ = true;
      ++reserved_;
      --n;
      f(w);
    }
  }

  // Claims every parked wait (the group closes) into f(w).
  template <class F>
  void claim_all(F&& f) noexcept {
    for (waiter* w = waits_.front(); w; w = waits_.next(w)) {
      if (w->phase_ == waiter::phase::parked) {
        w->phase_ = waiter::phase::claimed;
        f(w);
      }
    }
  }

  // Posting the claimed `w` failed: it waits again, and gives back the slot
  // it was woken for.
  void requeue(waiter* w) noexcept {
    unreserve(w);
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

  // The completion of `w` runs: it gives back the slot it held, if any
  // (true); it then either ends or parks again.
  bool unreserve(waiter* w) noexcept {
    if (!std::exchange(w->reserved_, false))
      return false;
    --reserved_;
    return true;
  }

  // `w` leaves the queue (it completes, or was destroyed unrun), giving back
  // a slot it held (true).
  bool end(waiter* w) noexcept {
    const bool had = unreserve(w);
    if (waits_.contains(w))
      waits_.erase(w);
    return had;
  }

  // The context of `w` shut down: true (and `w` out of the queue) if it was
  // parked, so the caller may destroy it.
  bool abandon(waiter* w) noexcept {
    if (!waits_.contains(w) || w->phase_ != waiter::phase::parked)
      return false;
    waits_.erase(w);
    return true;
  }

 private:
  intrusive_list<waiter, &waiter::queue_hook_> waits_;
  std::size_t reserved_ = 0;
};

// Waits claimed under a group's lock, to be posted after it is released
// (a post may run anything). Each wait is in at most one list.
class wake_list {
 public:
  wake_list() = default;
  wake_list(const wake_list&) = delete;
  wake_list& operator=(const wake_list&) = delete;

  // A claimed join (`key`: the task a keyed join waits for, else null);
  // null `w` is ignored.
  void add(waiter* w, task_header* key = nullptr) noexcept {
    if (!w)
      return;
    w->wake_next_ = joins_;
    w->wake_key_ = key;
    joins_ = w;
  }

  bool empty() const noexcept { return !joins_ && !spawners_; }

  // A claimed async_spawn wait.
  void add_spawner(waiter* w) noexcept {
    w->wake_next_ = spawners_;
    spawners_ = w;
  }

  // Posts every wait. A post that fails (out of memory) is handed to
  // join_failed(w, key) or spawner_failed(w), which requeue it.
  template <class JoinFailed, class SpawnerFailed>
  void post_all(JoinFailed&& join_failed, SpawnerFailed&& spawner_failed) noexcept {
    while (waiter* w = joins_) {
      joins_ = std::exchange(w->wake_next_, nullptr);
      task_header* key = std::exchange(w->wake_key_, nullptr);
      try {
        w->post();
      } catch (...) {
        join_failed(w, key);
      }
    }
    while (waiter* w = spawners_) {
      spawners_ = std::exchange(w->wake_next_, nullptr);
      try {
        w->post();
      } catch (...) {
        spawner_failed(w);
      }
    }
  }

 private:
  waiter* joins_ = nullptr;
  waiter* spawners_ = nullptr;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_WAITERS_HPP
