// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// join_map with tasks on several threads: stress, destruction races,
// aborts from other threads. Run under ThreadSanitizer in CI.

#include <joinery/join_map.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <atomic>
#include <random>
#include <thread>
#include <vector>

namespace {

using namespace joinery::test;
namespace net = joinery::asio;
using net::awaitable;

using int_map = joinery::join_map<int, int>;

// An io_context together with the threads running it.
class threaded_context {
 public:
  explicit threaded_context(int n) : running_(ioc_, n) {}
  void stop() { running_.stop(); }
  net::io_context& ctx() { return ioc_; }

 private:
  net::io_context ioc_;
  threads_running running_;
};

struct stress_result {
  std::vector<int> reported;  // times each key was reported
  int values = 0;
  int cancelled = 0;
  int wrong = 0;
  std::size_t left = 0;
  bool done = false;
};

// Spawns `n` tasks from a driver coroutine on a strand (the map's thread),
// keeping at most `window` in flight; every third task waits forever and is
// aborted by key some spawns later. Tasks run on per-task strands over the
// multi-threaded context.
awaitable<void> stress_driver(int n, int window, stress_result& r) {
  int_map map(co_await net::this_coro::executor);
  r.reported.assign(n, 0);
  auto record = [&](std::optional<int_map::value_type>& next) {
    const int k = next->first;
    ++r.reported[k];
    if (k % 3 == 0) {
      if (next->second.has_error() && next->second.error().is_cancelled())
        ++r.cancelled;
      else
        ++r.wrong;
    } else if (next->second.has_value() && next->second.value() == k) {
      ++r.values;
    } else {
      ++r.wrong;
    }
  };
  constexpr int abort_lag = 48;
  for (int i = 0; i < n; ++i) {
    if (i % 3 == 0) {
      map.spawn(i, [c = counted(i)]() -> awaitable<int> {
        co_await forever();
        co_return c.value;
      });
    } else {
      map.spawn(i, [c = counted(i), i]() -> awaitable<int> {
        if (i % 2)
          co_await yield();
        co_return c.value;
      });
    }
    if (i >= abort_lag && (i - abort_lag) % 3 == 0)
      map.abort(i - abort_lag);
    while (map.size() > static_cast<std::size_t>(window)) {
      auto next = co_await map.async_join_next();
      record(next);
    }
  }
  map.abort_matching([](int k) { return k % 3 == 0; });
  while (auto next = co_await map.async_join_next())
    record(next);
  r.left = map.size();
  r.done = true;
}

void run_stress(int n, int threads) {
  const int before = counted::live;
  stress_result r;
  {
    threaded_context tc(threads);
    auto strand = net::make_strand(tc.ctx());
    std::atomic<bool> finished{false};
    std::exception_ptr error;
    net::co_spawn(strand, stress_driver(n, 256, r), [&](std::exception_ptr e) {
      error = e;
      finished = true;
    });
    REQUIRE(eventually([&] { return finished.load(); }, 300s));
    if (error)
      std::rethrow_exception(error);
    REQUIRE(eventually([&] { return counted::live == before; }));
  }
  REQUIRE(r.done);
  int once = 0;
  for (int c : r.reported)
    once += (c == 1);
  CHECK(once == n);
  CHECK(r.wrong == 0);
  CHECK(r.cancelled == (n + 2) / 3);
  CHECK(r.values == n - (n + 2) / 3);
  CHECK(r.left == 0);
  CHECK(counted::live == before);
}

}  // namespace

TEST_CASE(
    "join_map: stress, 100000 tasks on 4 threads, a third aborted, each key reported "
    "exactly once",
    "[join_map][threads]") {
  run_stress(100000, 4);
}

TEST_CASE("join_map: soak, 1000000 tasks on 4 threads", "[join_map][threads][soak]") {
  run_stress(1000000, 4);
}

TEST_CASE(
    "join_map: destroying a map while its tasks run on 4 threads leaks nothing and "
    "touches nothing",
    "[join_map][threads][lifetime]") {
  const int before = counted::live;
  threaded_context tc(4);
  std::mt19937 rng(12345);
  std::vector<joinery::abort_handle> handles;
  for (int round = 0; round < 200; ++round) {
    {
      int_map map(tc.ctx().get_executor());
      for (int i = 0; i < 64; ++i) {
        switch (i % 4) {
          case 0:
            handles.push_back(map.spawn(i, [c = counted(i)]() -> awaitable<int> {
              co_await forever();
              co_return c.value;
            }));
            break;
          case 1:
            map.spawn(i, [c = counted(i)]() -> awaitable<int> { co_return c.value; });
            break;
          case 2:
            map.spawn(i, [c = counted(i)]() -> awaitable<int> {
              for (int k = 0; k < 3; ++k)
                co_await yield();
              co_return c.value;
            });
            break;
          default:
            map.spawn_blocking(i, [c = counted(i)] { return c.value; });
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
    }
    if (handles.size() > 256)
      handles.clear();
  }
  CHECK(eventually([&] { return counted::live == before; }));
  for (auto& h : handles)
    CHECK(eventually([&] { return h.is_finished(); }));
}

TEST_CASE("join_map: abort_handles may abort from any thread while tasks run",
          "[join_map][threads][abort]") {
  threaded_context tc(4);
  auto strand = net::make_strand(tc.ctx());
  std::vector<joinery::abort_handle> handles;
  std::atomic<int> cancelled{0}, total{0};
  std::atomic<bool> spawned{false}, done{false};
  net::co_spawn(
      strand,
      [&]() -> awaitable<void> {
        int_map map(co_await net::this_coro::executor);
        for (int i = 0; i < 200; ++i)
          handles.push_back(map.spawn(i, []() -> awaitable<int> {
            co_await forever();
            co_return 0;
          }));
        spawned = true;
        while (auto next = co_await map.async_join_next()) {
          ++total;
          if (next->second.has_error() && next->second.error().is_cancelled())
            ++cancelled;
        }
        done = true;
      },
      net::detached);
  REQUIRE(eventually([&] { return spawned.load(); }));
  std::vector<std::thread> aborters;
  for (int t = 0; t < 4; ++t) {
    aborters.emplace_back([&, t] {
      for (std::size_t i = t; i < handles.size(); i += 4)
        handles[i].abort();
    });
  }
  for (auto& a : aborters)
    a.join();
  REQUIRE(eventually([&] { return done.load(); }));
  CHECK(total == 200);
  CHECK(cancelled == 200);
}

TEST_CASE("join_map: a map typed on a strand serializes its tasks with itself on 4 threads",
          "[join_map][threads][executor]") {
  using strand_t = net::strand<net::io_context::executor_type>;
  using strand_map = joinery::join_map_on<int, int, strand_t>;
  threaded_context tc(4);
  strand_t strand = net::make_strand(tc.ctx().get_executor());
  std::atomic<int> sum{-1};
  net::co_spawn(
      strand,
      [&]() -> net::awaitable<void, strand_t> {
        strand_map map(co_await net::this_coro::executor);
        int unshared = 0;  // touched by every task: safe only if they are serialized
        for (int i = 0; i < 500; ++i) {
          map.spawn(i, [&unshared, i]() -> net::awaitable<int, strand_t> {
            ++unshared;
            co_await net::post(co_await net::this_coro::executor, net::use_awaitable_t<strand_t>());
            co_return i;
          });
        }
        map.abort(0);
        int s = 0;
        while (auto next = co_await map.async_join_next(net::use_awaitable_t<strand_t>()))
          if (next->second)
            s += next->second.value();
        sum = s + (unshared > 0 ? 0 : -1);
      },
      net::detached);
  REQUIRE(eventually([&] { return sum.load() != -1; }));
  CHECK(sum == 499 * 500 / 2);
}
