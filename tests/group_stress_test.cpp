// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Stress and soak (docs/spec.md R3-R8, R10). Each scenario runs with a
// small count in the default suite and a large one under the [soak] tag
// (`ctest -L soak`, or `joinery-tests "[soak]"`); both print their figures.

#include <joinery/join_map.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <atomic>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <unistd.h>

namespace {

using namespace joinery::test;
namespace net = joinery::asio;
using net::awaitable;

using int_map = joinery::join_map<int, int>;

// Runs `body` (a coroutine) on a strand of a context run by `threads`
// threads, waits for it, rethrows what it threw.
template <class F>
void on_strand(int threads, F&& body) {
  net::io_context io;
  std::atomic<bool> done{false};
  std::exception_ptr error;
  {
    threads_running running(io, threads);
    net::co_spawn(net::make_strand(io), std::forward<F>(body), [&](std::exception_ptr e) {
      error = e;
      done = true;
    });
    REQUIRE(eventually([&] { return done.load(); }, 1800s));
  }
  if (error)
    std::rethrow_exception(error);
}

// --- R3/R4: random lifecycles with R3's op mix (docs/spec.md) -----------------

struct lifecycle_figures {
  long spawned = 0, replaced = 0, delivered = 0, duplicates = 0, for_replaced = 0, values = 0,
       cancelled = 0, failed = 0;
};

// 40% spawn, 10% spawn on an existing key, 15% abort(key), 5% abort_matching,
// 1% abort_all, 29% join; keys 1..1000. Checks: delivered == spawned -
// replaced, no generation twice, none for a replaced generation, keys()
// equal to the model, and nothing alive at the end.
awaitable<void> lifecycles(long count, std::uint32_t seed, lifecycle_figures& f) {
  std::mt19937 rng(seed);
  int_map map(co_await net::this_coro::executor);
  std::unordered_map<int, int> current;  // key -> generation in the map
  std::unordered_set<int> replaced_gens, delivered_gens;
  int next_gen = 0;
  auto deliver = [&](std::optional<int_map::value_type>& next) {
    REQUIRE(next);
    const int key = next->first;
    auto it = current.find(key);
    REQUIRE(it != current.end());
    const int gen = it->second;
    if (replaced_gens.count(gen))
      ++f.for_replaced;
    if (!delivered_gens.insert(gen).second)
      ++f.duplicates;
    auto& r = next->second;
    if (r) {
      ++f.values;
      if (r.value() != gen)
        ++f.for_replaced;  // the value names the generation
    } else if (r.error().is_cancelled()) {
      ++f.cancelled;
    } else {
      ++f.failed;
    }
    current.erase(it);
    ++f.delivered;
  };
  auto spawn = [&](int key) {
    const int gen = next_gen++;
    const int yields = static_cast<int>(rng() % 3);
    const bool fails = rng() % 16 == 0;
    auto it = current.find(key);
    if (it != current.end()) {
      replaced_gens.insert(it->second);
      ++f.replaced;
    }
    map.spawn(key, [yields, fails, c = counted(gen)]() -> awaitable<int> {
      for (int i = 0; i < yields; ++i)
        co_await yield();
      if (fails)
        throw std::runtime_error("scripted");
      co_return c.value;
    });
    current[key] = gen;
    ++f.spawned;
  };
  // `count` task lifecycles: spawn until that many were spawned, then drain.
  const long first = f.spawned;
  for (long op = 0; f.spawned - first < count || !current.empty(); ++op) {
    const unsigned roll = f.spawned - first < count ? rng() % 100 : 99;
    if (roll < 40) {
      spawn(1 + static_cast<int>(rng() % 1000));
    } else if (roll < 50) {
      if (current.empty())
        spawn(1 + static_cast<int>(rng() % 1000));
      else
        spawn(std::next(current.begin(), rng() % current.size())->first);
    } else if (roll < 65) {
      const int key = 1 + static_cast<int>(rng() % 1000);
      REQUIRE(map.abort(key) == (current.count(key) != 0));
    } else if (roll < 70) {
      const int m = 7 + static_cast<int>(rng() % 20);
      map.abort_matching([m](int k) { return k % m == 0; });
    } else if (roll < 71) {
      map.abort_all();
    } else if (!current.empty()) {
      auto next = co_await map.async_join_next();
      deliver(next);
    }
    if (op % 997 == 0) {
      REQUIRE(map.size() == current.size());
      for (int k : map.keys())
        REQUIRE(current.count(k));
    }
  }
  REQUIRE(map.empty());
  auto joined = co_await map.async_join_next();
  REQUIRE_FALSE(joined);
}

void run_lifecycles(long count, int threads, int seeds) {
  const int before = counted::live;
  lifecycle_figures f;
  for (int s = 0; s < seeds; ++s)
    on_strand(threads, [&]() { return lifecycles(count / seeds, 1000 + s, f); });
  REQUIRE(eventually([&] { return counted::live == before; }));
  std::printf(
      "lifecycles: %ld spawned on %d threads (%d seeds), %ld replaced, %ld delivered "
      "(%ld values, %ld failed, %ld cancelled), %ld duplicates, %ld for replaced tasks\n",
      f.spawned, threads, seeds, f.replaced, f.delivered, f.values, f.failed, f.cancelled,
      f.duplicates, f.for_replaced);
  CHECK(f.delivered == f.spawned - f.replaced);
  CHECK(f.duplicates == 0);
  CHECK(f.for_replaced == 0);
  CHECK(f.cancelled > 0);
  CHECK(f.replaced > 0);
}

// --- R5: destroying a map mid-flight --------------------------------------------

void run_destroy_races(int rounds) {
  const int before = counted::live;
  net::io_context io;
  std::mt19937 rng(42);
  {
    threads_running running(io, 4);
    for (int round = 0; round < rounds; ++round) {
      {
        int_map map(io.get_executor());
        for (int i = 0; i < 64; ++i) {
          switch (rng() % 3) {
            case 0:
              map.spawn(i, [c = counted(i)]() -> awaitable<int> {
                co_await forever();
                co_return c.value;
              });
              break;
            case 1:
              map.spawn(i, [c = counted(i)]() -> awaitable<int> { co_return c.value; });
              break;
            default:
              map.spawn(i, [c = counted(i)]() -> awaitable<int> {
                co_await yield();
                co_return c.value;
              });
          }
        }
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 100));
      }
      // 64 of 64 task states destroyed, every round.
      REQUIRE(eventually([&] { return counted::live == before; }));
    }
  }
  std::printf("destroy races: %d rounds of 64 tasks on 4 threads, all task states destroyed\n",
              rounds);
}

// --- R6: the io_context destroyed with tasks suspended ---------------------------

void run_executor_gone(int rounds) {
  const int before = counted::live;
  std::mt19937 rng(7);
  long cancelled = 0;
  for (int round = 0; round < rounds; ++round) {
    const int n = 1 + static_cast<int>(rng() % 64);
    std::optional<net::io_context> io(std::in_place);
    int_map map(io->get_executor());
    for (int i = 0; i < n; ++i) {
      map.spawn(i, [c = counted(i)]() -> awaitable<int> {
        co_await forever();
        co_return c.value;
      });
    }
    io->poll();
    io.reset();
    int seen = 0;
    while (auto next = map.try_join_next()) {
      REQUIRE(next->second.has_error());
      REQUIRE(next->second.error().is_cancelled());
      ++seen;
    }
    REQUIRE(seen == n);
    cancelled += seen;
    REQUIRE(counted::live == before);
  }
  std::printf("executor gone: %d io_contexts destroyed, %ld suspended tasks reported cancelled\n",
              rounds, cancelled);
}

// --- R7: cancelled waits lose nothing ------------------------------------------------

awaitable<void> cancelled_waits(long waits, long& joined, long& aborted_waits, long& spawned) {
  auto ex = co_await net::this_coro::executor;
  std::mt19937 rng(99);
  int_map map(ex);
  int key = 0;
  for (long w = 0; w < waits; ++w) {
    while (map.size() < 8) {
      map.spawn(key++, [y = static_cast<int>(rng() % 3)]() -> awaitable<int> {
        for (int i = 0; i < y; ++i)
          co_await yield();
        co_return 1;
      });
      ++spawned;
    }
    // Start a wait and cancel it after 0-3 other handlers ran.
    net::cancellation_signal sig;
    std::optional<std::pair<joinery::error_code, std::optional<int_map::value_type>>> got;
    map.async_join_next(net::bind_cancellation_slot(
        sig.slot(), [&](joinery::error_code ec, std::optional<int_map::value_type> n) {
          got.emplace(ec, std::move(n));
        }));
    for (int s = static_cast<int>(rng() % 4); s > 0; --s)
      co_await yield();
    if (!got)
      sig.emit(net::cancellation_type::terminal);
    while (!got)
      co_await yield();
    if (got->first == net::error::operation_aborted) {
      REQUIRE_FALSE(got->second);
      ++aborted_waits;
    } else {
      REQUIRE(got->second);
      ++joined;
    }
    if (rng() % 4 == 0) {  // a non-blocking join in between
      if (map.try_join_next())
        ++joined;
    }
  }
  // Everything that completed is still there to be joined.
  while (auto next = co_await map.async_join_next())
    ++joined;
}

void run_cancelled_waits(long waits) {
  long joined = 0, aborted_waits = 0, spawned = 0;
  net::io_context io(1);
  bool done = false;
  net::co_spawn(io, cancelled_waits(waits, joined, aborted_waits, spawned),
                [&](std::exception_ptr e) {
                  done = true;
                  if (e)
                    std::rethrow_exception(e);
                });
  io.run();
  REQUIRE(done);
  std::printf("cancelled waits: %ld waits, %ld cancelled, %ld results joined of %ld spawned\n",
              waits, aborted_waits, joined, spawned);
  CHECK(joined == spawned);  // no result lost to a cancelled wait
  CHECK(aborted_waits > 0);
}

// --- R8: abort racing completion -----------------------------------------------------

void run_abort_races(int trials) {
  int values = 0, cancelled = 0;
  net::io_context io;
  threads_running running(io, 2);
  std::mt19937 rng(5);
  for (int t = 0; t < trials; ++t) {
    int_map map(io.get_executor());
    std::atomic<bool> go{false};
    auto h = map.spawn(1, [y = static_cast<int>(rng() % 2)]() -> awaitable<int> {
      for (int i = 0; i < y; ++i)
        co_await yield();
      co_return 1;
    });
    const int spin = static_cast<int>(rng() % 2000);
    std::thread aborter([&, spin] {
      while (!go) {
      }
      std::atomic<int> sink{0};
      for (int i = 0; i < spin; ++i)
        sink.fetch_add(1, std::memory_order_relaxed);
      h.abort();
    });
    go = true;
    aborter.join();
    // Exactly one outcome.
    auto next = map.async_join_next(net::use_future).get();
    REQUIRE(next);
    if (next->second)
      ++values;
    else if (next->second.error().is_cancelled())
      ++cancelled;
    REQUIRE(map.async_join_next(net::use_future).get() == std::nullopt);
  }
  std::printf("abort races: %d trials, %d completed first, %d cancelled first\n", trials, values,
              cancelled);
  CHECK(values + cancelled == trials);
  CHECK(values > 0);  // both outcomes happen (loom's abort_all_during_completion)
  CHECK(cancelled > 0);
}

// --- R10: memory stays flat ------------------------------------------------------------

long rss_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

awaitable<void> churn(long cycles, long& growth_kib) {
  int_map map(co_await net::this_coro::executor);
  long rss_after_warmup = 0;
  for (long i = 0; i < cycles; ++i) {
    map.spawn(static_cast<int>(i % 1000), [i]() -> awaitable<int> {
      co_await yield();
      co_return static_cast<int>(i);
    });
    if (map.size() >= 100)
      co_await map.async_join_next();
    if (i == cycles / 10)
      rss_after_warmup = rss_kib();
  }
  while (co_await map.async_join_next()) {
  }
  REQUIRE(map.empty());
  growth_kib = rss_kib() - rss_after_warmup;
}

void run_memory(long cycles) {
  long growth = 0;
  net::io_context io(1);
  net::co_spawn(io, churn(cycles, growth), [](std::exception_ptr e) {
    if (e)
      std::rethrow_exception(e);
  });
  io.run();
  std::printf(
      "memory: %ld spawn+join cycles (<= 100 in flight), RSS growth after warm-up %ld KiB\n",
      cycles, growth);
  CHECK(growth <= 1024);
}

}  // namespace

// The default counts keep CI short; [soak] runs the figures of docs/spec.md's regimen.

TEST_CASE("stress: 20000 random lifecycles on 4 threads, delivered == spawned - replaced (R3)",
          "[stress][threads]") {
  run_lifecycles(20000, 4, 2);
}

TEST_CASE("stress: 20000 random lifecycles on 8 threads (R4)", "[stress][threads]") {
  run_lifecycles(20000, 8, 2);
}

TEST_CASE("soak: 1000000 random lifecycles on 4 threads (R3)", "[stress][soak]") {
  run_lifecycles(1000000, 4, 20);
}

TEST_CASE("soak: 200000 random lifecycles on 4 and 8 threads (R4)", "[stress][soak]") {
  run_lifecycles(200000, 4, 10);
  run_lifecycles(200000, 8, 10);
}

TEST_CASE("stress: destroying a map mid-flight on 4 threads, 500 rounds (R5, AC-26, AC-28)",
          "[stress][threads][lifetime]") {
  run_destroy_races(500);
}

TEST_CASE("soak: destroying a map mid-flight, 10000 rounds (R5)", "[stress][soak]") {
  run_destroy_races(10000);
}

TEST_CASE("stress: destroying the io_context with suspended tasks, 200 rounds (R6, AC-30)",
          "[stress][lifetime][valgrind]") {
  run_executor_gone(200);
}

TEST_CASE("soak: destroying the io_context with suspended tasks, 1000 rounds (R6)",
          "[stress][soak]") {
  run_executor_gone(1000);
}

TEST_CASE("stress: 10000 cancelled waits lose no result (R7, AC-38)", "[stress][cancel]") {
  run_cancelled_waits(10000);
}

TEST_CASE("soak: 100000 cancelled waits lose no result (R7)", "[stress][soak]") {
  run_cancelled_waits(100000);
}

TEST_CASE("stress: abort racing completion, both outcomes seen, one delivered (R8, AC-21)",
          "[stress][threads][abort]") {
  run_abort_races(2000);
}

TEST_CASE("soak: abort racing completion, 10000 trials (R8)", "[stress][soak]") {
  run_abort_races(10000);
}

// [memory]: not run in the sanitizer builds (sanitizers keep freed memory in
// quarantine); tests/CMakeLists.txt leaves the tag out there.
TEST_CASE("stress: memory stays flat over 200000 spawn+join cycles (R10, B-T7)",
          "[stress][memory]") {
  run_memory(200000);
}

TEST_CASE("soak: memory stays flat over 1000000 spawn+join cycles (R10)",
          "[stress][soak][memory]") {
  run_memory(1000000);
}

TEST_CASE("stress: 10000 random lifecycles, the reduced run valgrind checks (R13)",
          "[stress][valgrind]") {
  run_lifecycles(10000, 4, 1);
}
