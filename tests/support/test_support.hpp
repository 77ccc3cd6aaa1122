// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_TESTS_SUPPORT_TEST_SUPPORT_HPP
#define JOINERY_TESTS_SUPPORT_TEST_SUPPORT_HPP

// Fixtures shared by the tests: a bounded coroutine runner (so a bug fails
// instead of hanging CI), gates that scripted tasks wait on, counted objects
// for "nothing left alive" checks, and a tracking allocator.

#include "catch.hpp"

#include "asio.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace joinery::test {

namespace net = joinery::asio;
using namespace std::chrono_literals;

// Runs the coroutine `f()` on `ioc` until it finishes or `limit` passes;
// rethrows what it threw (so REQUIRE works inside it) and fails if it did
// not finish. Keeps running the context afterwards until it is idle (or the
// limit), so tasks' own cleanup is done when it returns.
template <class F>
void co_run(net::io_context& ioc, F&& f, std::chrono::milliseconds limit = 20s) {
  std::exception_ptr error;
  bool done = false;
  net::co_spawn(ioc, std::forward<F>(f), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    if (ioc.run_one_until(deadline) == 0)
      break;
  }
  if (error)
    std::rethrow_exception(error);
  REQUIRE(done);
  ioc.restart();
  ioc.poll();
}

// Sleeps on the current coroutine's executor.
inline net::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  net::steady_timer t(co_await net::this_coro::executor, d);
  co_await t.async_wait(net::use_awaitable);
}

// Yields once: lets every other ready handler run.
inline net::awaitable<void> yield() {
  co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
}

// A one-shot gate for single-threaded tests: wait() suspends until open().
// Opening before the task first waits is remembered (a timer cancel with no
// wait pending would be lost). wait() is a cancellable suspension point.
class gate {
 public:
  explicit gate(net::any_io_executor ex)
      : timer_(std::make_shared<net::steady_timer>(ex, net::steady_timer::time_point::max())),
        open_(std::make_shared<bool>(false)) {}

  void open() {
    *open_ = true;
    timer_->cancel();
  }
  bool is_open() const { return *open_; }

  net::awaitable<void> wait() const {
    auto timer = timer_;
    auto open = open_;
    // open() cancels the timer: that error is the signal, not a failure. An
    // abort of the waiting task makes the next async_wait throw instead
    // (throw_if_cancelled), so the wait stays cancellable.
    while (!*open) {
      auto [ec] = co_await timer->async_wait(net::as_tuple(net::use_awaitable));
      (void)ec;
    }
  }

 private:
  std::shared_ptr<net::steady_timer> timer_;
  std::shared_ptr<bool> open_;
};

// A task that returns `v` at once, and one that returns it after `d`.
inline net::awaitable<int> value_now(int v) {
  co_return v;
}

inline net::awaitable<int> value_after(std::chrono::milliseconds d, int v) {
  co_await sleep_for(d);
  co_return v;
}

// An io_context run by `n` threads while the object lives.
class threads_running {
 public:
  threads_running(net::io_context& io, int n) : guard_(net::make_work_guard(io)) {
    for (int i = 0; i < n; ++i)
      threads_.emplace_back([&io] { io.run(); });
  }
  threads_running(const threads_running&) = delete;
  ~threads_running() { stop(); }
  // Lets the context run out of work, and waits for the threads.
  void stop() {
    guard_.reset();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

 private:
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

// Waits (bounded, polling) until pred() holds; false if it never did.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 120s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// Waits forever (until cancelled).
inline net::awaitable<void> forever() {
  net::steady_timer t(co_await net::this_coro::executor, net::steady_timer::time_point::max());
  co_await t.async_wait(net::use_awaitable);
}

// Runs every ready handler, restarting the context if it had run out of work.
inline void pump(net::io_context& ioc) {
  ioc.restart();
  ioc.poll();
}

// An int task that never finishes on its own (until aborted).
inline net::awaitable<int> never() {
  co_await forever();
  co_return -1;
}

// A callback handler for `void(error_code, T)` that records its completion:
// how many times it ran, and with what.
template <class T>
struct recorder {
  int calls = 0;
  joinery::error_code ec;
  std::optional<T> value;
  auto handler() {
    return [this](joinery::error_code e, T v) {
      ++calls;
      ec = e;
      value.emplace(std::move(v));
    };
  }
};

// Counts live instances, to prove captured state and values are destroyed.
struct counted {
  static inline std::atomic<int> live{0};
  int value = 0;
  counted() noexcept { ++live; }
  explicit counted(int v) noexcept : value(v) { ++live; }
  counted(const counted& o) noexcept : value(o.value) { ++live; }
  counted(counted&& o) noexcept : value(o.value) { ++live; }
  counted& operator=(const counted&) = default;
  counted& operator=(counted&&) = default;
  ~counted() { --live; }
};

// An allocator that counts what it hands out and takes back.
struct alloc_counts {
  std::atomic<int> allocations{0};
  std::atomic<int> deallocations{0};
};

template <class T>
struct tracking_allocator {
  using value_type = T;
  alloc_counts* counts;
  explicit tracking_allocator(alloc_counts* c) noexcept : counts(c) {}
  template <class U>
  tracking_allocator(const tracking_allocator<U>& o) noexcept : counts(o.counts) {}
  T* allocate(std::size_t n) {
    ++counts->allocations;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    ++counts->deallocations;
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  friend bool operator==(const tracking_allocator& a, const tracking_allocator<U>& b) noexcept {
    return a.counts == b.counts;
  }
};

}  // namespace joinery::test

#endif  // JOINERY_TESTS_SUPPORT_TEST_SUPPORT_HPP
