// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_CONTEXT_SERVICE_HPP
#define JOINERY_DETAIL_CONTEXT_SERVICE_HPP

// context_service: what joinery attaches to an execution context, and the
// one timer joinery arms (context_timer).
//
// Asio destroys the operations queued in a context when it shuts down (an
// io_context being destroyed). Three things of joinery's live on a context
// without being such an operation, and the service takes care of them at
// shutdown:
//   - waits parked in a group (a join, an async_spawn waiting for a slot):
//     destroyed unrun. Without that, a coroutine suspended in
//     async_join_next would outlive its io_context (and, if it owns the map,
//     leak in a cycle with it);
//   - timers (a group's deadline timer, async_shutdown's grace period): an
//     Asio timer must not outlive its context, but a group may (joins on a
//     map after its io_context was destroyed deliver what the tasks left),
//     so the timer object is destroyed here and its owner finds it gone;
//   - posts to the context from a thread that does not run it (a blocking
//     task's pool thread delivering to a parked join, or starting a queued
//     coroutine task as it leaves): Asio's scheduler enqueues a post under
//     its lock and signals its condition variable after unlocking, so the
//     context's own thread may run what was posted, see run() return and
//     destroy the context (its condition variable) while the posting thread
//     has yet to signal. The user cannot wait for that thread, so the
//     service does: such posts are counted (post_scope) from before they
//     enqueue, and shutdown() waits for the count to drop to zero.
//
// Locking: the service's mutex_ guards its two lists. At shutdown the
// entries are moved out under it and acted on after it is released (a
// parked wait takes its group's lock when abandoned, destroying a timer may
// run anything): the service's mutex is never held while another joinery
// lock is taken. A context_timer's own mutex serializes the operations on
// its timer and its destruction here; it is taken before a group's lock
// when both are needed. posts_mutex_ is a leaf.

#include <joinery/detail/config.hpp>
#include <joinery/detail/intrusive_list.hpp>
#include <joinery/detail/waiters.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace joinery::detail {

class context_service;

// An Asio steady_timer on an execution context, destroyed when that context
// shuts down, whoever owns it: a group's deadline timer, async_shutdown's
// grace timer. Its operations are serialized by its mutex (with(f)), so the
// owner arming it and its handler re-arming it may run on two threads.
class context_timer {
 public:
  explicit context_timer(const net::any_io_executor& ex);
  ~context_timer();
  context_timer(const context_timer&) = delete;
  context_timer& operator=(const context_timer&) = delete;

  // Calls f(timer) under the timer's mutex and returns true; false (f not
  // called) once the timer's context shut down.
  template <class F>
  bool with(F&& f) {
    std::lock_guard lock(mutex_);
    if (!timer_)
      return false;
    f(*timer_);
    return true;
  }

 private:
  friend class context_service;
  std::mutex mutex_;
  std::optional<net::steady_timer> timer_;  // empty once the context shut down
  std::atomic<context_service*> service_{nullptr};
  list_hook<context_timer> hook_;
};

class context_service final : public net::execution_context::service {
 public:
  // The service's identity for use_service (Asio's public way of defining
  // a service: a static execution_context::id member named `id`).
  static inline net::execution_context::id id;

  explicit context_service(net::execution_context& ctx) : net::execution_context::service(ctx) {}

  // --- Parked waits ----------------------------------------------------------

  // Links a parking wait. Does nothing once the context shut down.
  void link(waiter* w) {
    std::lock_guard lock(mutex_);
    if (shut_down_)
      return;
    waits_.push_back(w);
    w->service_.store(this, std::memory_order_release);
  }

  // Unlinks `w` if it is linked. Called by the wait itself when it completes
  // or is discarded. That never overlaps the service's shutdown and
  // destruction: both happen while nothing runs the context, and the wait
  // completes on that context (or is discarded by its shutdown, which comes
  // after this service's, and then service_ is already null).
  static void unlink(waiter* w) noexcept {
    context_service* svc = w->service();
    if (!svc)
      return;
    std::lock_guard lock(svc->mutex_);
    if (w->service_.load(std::memory_order_relaxed) != svc)
      return;
    svc->waits_.erase(w);
    w->service_.store(nullptr, std::memory_order_relaxed);
  }

  // --- Timers ----------------------------------------------------------------

  // Links `t`, whose Asio timer exists; destroys that timer at once if the
  // context shut down already (no deadline fires any more).
  void link(context_timer* t) {
    std::lock_guard lock(mutex_);
    if (shut_down_) {
      std::lock_guard timer_lock(t->mutex_);
      t->timer_.reset();
      return;
    }
    timers_.push_back(t);
    t->service_.store(this, std::memory_order_release);
  }

  // Called by the timer's destructor, which never overlaps the context's
  // shutdown unless the context is destroyed while objects on it are still
  // in use elsewhere.
  static void unlink(context_timer* t) noexcept {
    context_service* svc = t->service_.load(std::memory_order_acquire);
    if (!svc)
      return;
    std::lock_guard lock(svc->mutex_);
    if (t->service_.load(std::memory_order_relaxed) != svc)
      return;
    svc->timers_.erase(t);
    t->service_.store(nullptr, std::memory_order_relaxed);
  }

  // --- Posts from other threads ----------------------------------------------

  // Counts one post in flight to the context of `svc`: a parked wait's
  // completion, or a task's start from a pool thread. `svc` may be null (a
  // wait that never linked): then nothing is counted.
  class post_scope {
   public:
    explicit post_scope(context_service* svc) noexcept : svc_(svc) {
      if (svc_)
        svc_->posts_.fetch_add(post_unit, std::memory_order_acq_rel);
    }
    post_scope(const post_scope&) = delete;
    post_scope& operator=(const post_scope&) = delete;
    ~post_scope() {
      if (svc_)
        svc_->end_post();
    }

   private:
    context_service* svc_;
  };

 private:
  // posts_: the count of posts in flight (in units of post_unit) and
  // shutdown_waiting, set once shutdown() waits for them. Without the flag a
  // post ends by one compare-exchange and never touches the service again
  // (it may be destroyed at once); with it, under posts_mutex_, so that
  // shutdown() cannot miss the last one or return before it is done.
  static constexpr std::uint32_t shutdown_waiting = 1;
  static constexpr std::uint32_t post_unit = 2;

  void end_post() noexcept {
    std::uint32_t cur = posts_.load(std::memory_order_acquire);
    while (!(cur & shutdown_waiting)) {
      if (posts_.compare_exchange_weak(cur, cur - post_unit, std::memory_order_acq_rel))
        return;
    }
    std::lock_guard lock(posts_mutex_);
    if (posts_.fetch_sub(post_unit, std::memory_order_acq_rel) - post_unit == shutdown_waiting)
      posts_done_.notify_all();  // under the lock: shutdown() wakes after we let go
  }

  void wait_for_posts() noexcept {
    if (posts_.fetch_or(shutdown_waiting, std::memory_order_acq_rel) == 0)
      return;
    std::unique_lock lock(posts_mutex_);
    posts_done_.wait(lock,
                     [this] { return posts_.load(std::memory_order_acquire) == shutdown_waiting; });
  }

  // Destroys (without invoking) every wait still parked; waits already
  // woken are in the context's queues and die with them. Destroys every
  // timer. Then waits for posts in flight to this context (post_scope) to
  // leave Asio's post.
  void shutdown() override {
    intrusive_list<waiter, &waiter::service_hook_> doomed;
    std::vector<net::steady_timer> doomed_timers;
    {
      std::lock_guard lock(mutex_);
      shut_down_ = true;
      while (waiter* w = waits_.pop_front()) {
        w->service_.store(nullptr, std::memory_order_relaxed);
        doomed.push_back(w);
      }
      while (context_timer* t = timers_.pop_front()) {
        t->service_.store(nullptr, std::memory_order_relaxed);
        std::lock_guard timer_lock(t->mutex_);
        if (t->timer_) {
          try {
            doomed_timers.push_back(std::move(*t->timer_));
          } catch (...) {
            // Out of memory: destroyed here, under the locks, instead.
          }
          t->timer_.reset();
        }
      }
    }
    // Outside the lock: destroying a handler may destroy a coroutine frame,
    // and with it a map whose destructor locks its group (or whose last
    // reference destroys a context_timer, which unlinks itself).
    while (waiter* w = doomed.pop_front())
      w->abandon();
    doomed_timers.clear();
    wait_for_posts();
  }

  std::mutex mutex_;
  intrusive_list<waiter, &waiter::service_hook_> waits_;
  intrusive_list<context_timer, &context_timer::hook_> timers_;
  bool shut_down_ = false;

  std::atomic<std::uint32_t> posts_{0};
  std::mutex posts_mutex_;
  std::condition_variable posts_done_;
};

// The execution context of an executor of either Asio model.
template <class Executor>
net::execution_context& context_of(const Executor& ex) {
  if constexpr (net::execution::is_executor<Executor>::value)
    return net::query(ex, net::execution::context);
  else
    return ex.context();
}

// The context_service of the context `ex` runs on, for a post_scope; null
// when it cannot be had (out of memory): that post then goes uncounted.
template <class Executor>
context_service* context_service_of(const Executor& ex) noexcept {
  try {
    return &net::use_service<context_service>(context_of(ex));
  } catch (...) {
    return nullptr;
  }
}

// True while this thread is a blocking task's pool thread finishing its task
// (blocking_task.hpp). A coroutine task it starts then (a queued task
// admitted as the blocking one leaves) is posted to a context this thread
// does not run, and that post is counted (post_scope) as a join's is.
// Reached out of line, like the other thread_locals (handover.hpp).
JOINERY_NOINLINE inline bool& finishing_on_pool() noexcept {
  static thread_local bool on = false;
  JOINERY_COMPILER_BARRIER();
  return on;
}

inline context_timer::context_timer(const net::any_io_executor& ex) {
  // The service first: it is then registered before the timer's own
  // services (unless they exist already), so those are still there when it
  // destroys the timer.
  context_service& svc = net::use_service<context_service>(context_of(ex));
  timer_.emplace(ex);
  svc.link(this);
}

inline context_timer::~context_timer() {
  context_service::unlink(this);
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_CONTEXT_SERVICE_HPP
