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
// Locking: this service's mutex, then a group's lock (inside
// waiter::abandon), never the reverse. Waits link and unlink themselves
// without holding a group's lock.

#include <joinery/detail/config.hpp>
#include <joinery/detail/intrusive_list.hpp>
#include <joinery/detail/waiters.hpp>

#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>

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

 private:
  // Destroys (without invoking) every wait still parked; waits already
  // woken are in the context's queues and die with them.
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
  }

  std::mutex mutex_;
  intrusive_list<waiter, &waiter::service_hook_> waits_;
  bool shut_down_ = false;
};

// The execution context of an executor of either Asio model.
template <class Executor>
net::execution_context& context_of(const Executor& ex) {
  if constexpr (net::execution::is_executor<Executor>::value)
    return net::query(ex, net::execution::context);
  else
    return ex.context();
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_JOIN_SERVICE_HPP
