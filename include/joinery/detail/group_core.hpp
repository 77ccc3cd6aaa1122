// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_GROUP_CORE_HPP
#define JOINERY_DETAIL_GROUP_CORE_HPP

// group_core: the part of a task group that finishing tasks touch.
//
// A task finishes on its own executor, which may be another thread. It must
// not touch the group's indexes (they belong to the thread that calls the
// group's members), so it only appends itself to the ready list here, under
// a mutex, and wakes the one pending join operation, if any, by posting that
// operation's completion to the handler's executor. The woken operation then
// takes the result on the owner's side (see join_op.hpp).
//
// The core is reference counted: the owning container, every task that has
// not reported yet, every pending join operation and every cancellation
// handler installed for one hold a reference. So a task finishing after its
// map was destroyed, or a join cancelled late, still finds it alive; it is
// merely `closed_`.

#include <joinery/detail/task.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

namespace joinery::detail {

// The group's lock. Its critical sections are a few pointer moves (link a
// finished task, claim the waiter), taken once or twice per task, mostly
// uncontended: a spin lock costs a fraction of a pthread mutex there. Under
// contention it spins briefly, then yields (several task threads may share
// few cores).
class spin_mutex {
 public:
  void lock() noexcept {
    // acquire/release: the lock orders the critical sections (the usual
    // mutex semantics).
    if (!flag_.exchange(true, std::memory_order_acquire))
      return;
    lock_slow();
  }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  void lock_slow() noexcept {
    for (unsigned spins = 0;; ++spins) {
      if (!flag_.load(std::memory_order_relaxed) &&
          !flag_.exchange(true, std::memory_order_acquire))
        return;
      if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      } else {
        std::this_thread::yield();
      }
    }
  }

  std::atomic<bool> flag_{false};
};

class join_service;

// A pending async_join_next (or async_wait). See join_op.hpp.
class join_op_base {
 public:
  // Posts the operation's completion to its handler's executor. May throw
  // (allocation); the caller then re-registers the operation.
  void post() { post_(this); }

  // Destroys the operation without invoking its handler; it must no longer
  // be registered with its group. Used when the handler's execution context
  // shuts down while the operation waits.
  void abandon() noexcept { abandon_(this); }

  group_core* core() const noexcept { return core_; }

  // While the operation waits, it is linked into the join_service of its
  // handler's execution context, so that the context's shutdown can destroy
  // it as Asio destroys its own pending operations. Guarded by that
  // service's mutex; service_ is atomic because the operation reads it to
  // find the service (see join_service).
  std::atomic<join_service*> service_{nullptr};
  join_op_base* svc_prev_ = nullptr;
  join_op_base* svc_next_ = nullptr;

 protected:
  using op_fn = void (*)(join_op_base*);
  join_op_base(group_core* core, std::uint64_t seq, op_fn post_fn, op_fn abandon_fn) noexcept
      : core_(core), seq_(seq), post_(post_fn), abandon_(abandon_fn) {}
  ~join_op_base() = default;

  group_core* core_;  // a reference is held
  std::uint64_t seq_;

 private:
  op_fn post_;
  op_fn abandon_;
};

class group_core {
 public:
  group_core(const group_core&) = delete;
  group_core& operator=(const group_core&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }  // see task_header

  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete this;
  }

  // A task's last act: append it to the ready list and wake the pending
  // join, or drop it when its group no longer wants it (orphaned or closed).
  // Consumes the task's running reference. Thread-safe; never throws.
  void report(task_header* t) noexcept {
    join_op_base* wake = nullptr;
    bool keep;
    {
      std::lock_guard lock(mutex_);
      keep = !closed_ && !t->orphaned_;
      if (keep) {
        push_ready(t);
        wake = claim_waiter();
      }
    }
    if (wake)
      post_or_requeue(wake);
    if (!keep) {
      t->drop_outcome();
      t->release();
    }
  }

  // Wakes the pending join, if any, so that it re-evaluates: used when the
  // group became empty (it then completes with "empty") or was closed.
  void kick() noexcept {
    join_op_base* wake;
    {
      std::lock_guard lock(mutex_);
      wake = claim_waiter();
    }
    if (wake)
      post_or_requeue(wake);
  }

  // Takes the oldest finished task off the ready list; the caller receives
  // the list's reference. Null when nothing has finished.
  task_header* pop_ready() noexcept {
    std::lock_guard lock(mutex_);
    return pop_ready_locked();
  }

  // Marks `t` as no longer owned by this group: its outcome will be reported
  // to nobody, and if it already finished it leaves the ready list now (so an
  // unjoined replaced or detached task does not keep its memory).
  void orphan(task_header* t) noexcept {
    task_header* drop;
    {
      std::lock_guard lock(mutex_);
      drop = orphan_locked(t);
    }
    if (drop) {
      drop->drop_outcome();
      drop->release();
    }
  }

  // Closes the group: later reports are dropped, finished tasks are freed and
  // the pending join (if any) completes with operation_aborted.
  void close() noexcept {
    task_header* ready;
    join_op_base* wake;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      ready = ready_head_;
      for (task_header* t = ready; t; t = t->next_)
        t->queued_ = false;
      ready_head_ = ready_tail_ = nullptr;
      wake = claim_waiter();
    }
    if (wake)
      post_or_requeue(wake);
    while (ready) {
      task_header* next = ready->next_;
      ready->drop_outcome();
      ready->release();
      ready = next;
    }
  }

  bool is_closed() const noexcept {
    std::lock_guard lock(mutex_);
    return closed_;
  }

  // Caller holds mutex_.
  task_header* pop_ready_locked() noexcept {
    task_header* t = ready_head_;
    if (!t)
      return nullptr;
    unlink(t);
    return t;
  }

  // Caller holds mutex_. Moves the registered waiter to in-flight.
  join_op_base* claim_waiter() noexcept {
    join_op_base* w = waiter_;
    if (w) {
      waiter_ = nullptr;
      inflight_ = w;
    }
    return w;
  }

  void post_or_requeue(join_op_base* op) noexcept {
    try {
      op->post();
    } catch (...) {
      // Out of memory while posting: leave the operation registered so the
      // next report or kick wakes it again, instead of losing it.
      std::lock_guard lock(mutex_);
      if (inflight_ == op) {
        inflight_ = nullptr;
        waiter_ = op;
      }
    }
  }

 protected:
  group_core() noexcept = default;
  virtual ~group_core() {
    // Reports after close() drop their task, so nothing can be queued here.
    for (task_header* t = ready_head_; t;) {
      task_header* next = t->next_;
      t->release();
      t = next;
    }
  }

  // Caller holds mutex_. Returns the task whose list reference the caller
  // must release (outside the lock), or null.
  task_header* orphan_locked(task_header* t) noexcept {
    t->orphaned_ = true;
    if (!t->queued_)
      return nullptr;
    unlink(t);
    return t;
  }

 private:
  void push_ready(task_header* t) noexcept {
    t->queued_ = true;
    t->next_ = nullptr;
    t->prev_ = ready_tail_;
    if (ready_tail_)
      ready_tail_->next_ = t;
    else
      ready_head_ = t;
    ready_tail_ = t;
  }

  void unlink(task_header* t) noexcept {
    (t->prev_ ? t->prev_->next_ : ready_head_) = t->next_;
    (t->next_ ? t->next_->prev_ : ready_tail_) = t->prev_;
    t->prev_ = t->next_ = nullptr;
    t->queued_ = false;
  }

  std::atomic<std::uint32_t> refs_{1};

 public:
  // The members below are shared with join_op.hpp (a detail of the same
  // protocol); nothing outside detail/ touches them.
  mutable spin_mutex mutex_;

  // --- Guarded by mutex_. --------------------------------------------------
  // Finished tasks whose outcome the owner has not taken, oldest first. Each
  // holds one reference (the one its runner handed over).
  task_header* ready_head_ = nullptr;
  task_header* ready_tail_ = nullptr;
  // The one join operation in progress: registered and waiting (waiter_), or
  // claimed with its completion posted (inflight_), or neither while the
  // initiating thread sets it up. op_seq_ names it (0: none) so that a late
  // cancellation aimed at an earlier operation is ignored.
  join_op_base* waiter_ = nullptr;
  join_op_base* inflight_ = nullptr;
  // Written under mutex_; atomic so that the owner may read it without the
  // lock to refuse a second join (only the owner sets it non-zero).
  std::atomic<std::uint64_t> op_seq_{0};
  bool cancel_requested_ = false;  // the current operation's wait was cancelled
  bool closed_ = false;            // the owner is gone

  // --- Owner-only. ---------------------------------------------------------
  std::uint64_t next_seq_ = 0;
};

inline void task_header::deliver() noexcept {
  group_core* core = core_;
  core->report(this);
  core->release();
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_GROUP_CORE_HPP
