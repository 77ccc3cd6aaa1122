// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_JOIN_SERVICE_HPP
#define JOINERY_DETAIL_JOIN_SERVICE_HPP

// join_service: the waits parked on one execution context.
//
// When a context shuts down (an io_context being destroyed), Asio destroys
// the operations queued in it; a wait parked in a joinery group is not
// among them, so this service destroys those instead. Without it, a
// coroutine suspended in async_join_next would outlive its io_context (and,
// if it owns the map, leak in a cycle with it).
//
// It also keeps the context's destruction from overtaking a post to it from
// a thread that does not run it: a blocking task's pool thread delivering to
// a parked join, or starting a queued coroutine task as it leaves. Asio's
// scheduler enqueues a post under its lock and signals its condition
// variable after unlocking: the context's own thread may run what was
// posted, see run() return and destroy the context (its condition variable)
// while the posting thread has yet to signal. The user cannot wait for that
// thread, so the service does: such posts are counted (post_scope), and
// shutdown() waits for the count to drop to zero. A post is counted from
// before it enqueues, so the count is up before what it posts can run; a
// context destroyed while a post still races to it otherwise (not by run()
// running out of work) is a use of a destroyed context, as with any Asio
// post.
//
// Locking: this service's mutex, then a group's lock (inside
// waiter::abandon), never the reverse. Waits link and unlink themselves
// without holding a group's lock. posts_mutex_ is a leaf.

#include <joinery/detail/config.hpp>
#include <joinery/detail/intrusive_list.hpp>
#include <joinery/detail/waiters.hpp>

#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace joinery::detail {

class join_service final : public net::execution_context::service {
 public:
  // The service's identity for use_service (Asio's public way of defining
  // a service: a static execution_context::id member named `id`).
  static inline net::execution_context::id id;

  explicit join_service(net::execution_context& ctx) : net::execution_context::service(ctx) {}

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
    join_service* svc = w->service_.load(std::memory_order_acquire);
    if (!svc)
      return;
    std::lock_guard lock(svc->mutex_);
    if (w->service_.load(std::memory_order_relaxed) != svc)
      return;
    svc->waits_.erase(w);
    w->service_.store(nullptr, std::memory_order_relaxed);
  }

  // Counts one post in flight to the context of `svc`: a parked wait's
  // completion, or a task's start from a pool thread. `svc` may be null (a
  // wait that never linked): then nothing is counted.
  class post_scope {
   public:
    explicit post_scope(join_service* svc) noexcept : svc_(svc) {
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
    join_service* svc_;
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
  // woken are in the context's queues and die with them. Then waits for
  // posts in flight to this context (post_scope) to leave Asio's post.
  void shutdown() override {
    intrusive_list<waiter, &waiter::service_hook_> doomed;
    {
      std::lock_guard lock(mutex_);
      shut_down_ = true;
      while (waiter* w = waits_.pop_front()) {
        w->service_.store(nullptr, std::memory_order_relaxed);
        doomed.push_back(w);
      }
    }
    // Outside the lock: destroying a handler may destroy a coroutine frame,
    // and with it a map whose destructor locks its group.
    while (waiter* w = doomed.pop_front())
      w->abandon();
    wait_for_posts();
  }

  std::mutex mutex_;
  intrusive_list<waiter, &waiter::service_hook_> waits_;
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

// The join_service of the context `ex` runs on, for a post_scope; null when
// it cannot be had (out of memory): that post then goes uncounted.
template <class Executor>
join_service* join_service_of(const Executor& ex) noexcept {
  try {
    return &net::use_service<join_service>(context_of(ex));
  } catch (...) {
    return nullptr;
  }
}

// True while this thread is a blocking task's pool thread finishing its task
// (blocking_task.hpp). A coroutine task it starts then (a queued task
// admitted as the blocking one leaves) is posted to a context this thread
// does not run, and that post is counted (post_scope) as a join's is.
JOINERY_NOINLINE inline bool& finishing_on_pool() noexcept {
  static thread_local bool on = false;
  JOINERY_COMPILER_BARRIER();
  return on;
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_JOIN_SERVICE_HPP
