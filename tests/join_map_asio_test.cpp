// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// join_map and Asio: completion tokens, associated executors and allocators,
// executors tasks run on, blocking tasks.

#include <joinery/join_map.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <atomic>
#include <future>
#include <latch>
#include <map>
#include <thread>

namespace {

using namespace joinery::test;
namespace net = joinery::asio;
using net::awaitable;

using int_map = joinery::join_map<int, int>;

}  // namespace

TEST_CASE("join_map: async_join_next works with use_awaitable and as_tuple", "[join_map][tokens]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    map.spawn(1, value_now(1));
    map.spawn(2, value_now(2));
    auto a = co_await map.async_join_next(net::use_awaitable);
    REQUIRE(a);
    auto [ec, b] = co_await map.async_join_next(net::as_tuple(net::use_awaitable));
    CHECK_FALSE(ec);
    REQUIRE(b);
    CHECK(a->first + b->first == 3);
    auto [ec2, none] = co_await map.async_join_next(net::as_tuple(net::deferred));
    CHECK_FALSE(ec2);
    CHECK_FALSE(none);
  });
}

TEST_CASE("join_map: async_join_next works with use_future", "[join_map][tokens]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  map.spawn(4, value_after(2ms, 4));
  std::future<std::optional<int_map::value_type>> f = map.async_join_next(net::use_future);
  std::thread runner([&] { ioc.run(); });
  auto next = f.get();
  runner.join();
  REQUIRE(next);
  CHECK(next->first == 4);
  CHECK(next->second.value() == 4);
}

TEST_CASE("join_map: a deferred join started later sees tasks spawned meanwhile",
          "[join_map][tokens]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    auto op = map.async_join_next(net::deferred);
    map.spawn(9, value_now(9));
    auto next = co_await std::move(op);
    REQUIRE(next);
    CHECK(next->first == 9);
  });
}

TEST_CASE("join_map: async_shutdown works with a callback", "[join_map][tokens]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  map.spawn(1, value_after(1h, 1));
  int calls = 0;
  joinery::error_code result = net::error::fault;
  map.async_shutdown([&](joinery::error_code ec) {
    ++calls;
    result = ec;
  });
  CHECK(calls == 0);
  ioc.run_for(1s);
  CHECK(calls == 1);
  CHECK_FALSE(result);
  CHECK(map.empty());
}

TEST_CASE("join_map: the join handler runs on its associated executor", "[join_map][executor]") {
  net::io_context ioc;
  auto strand = net::make_strand(ioc);
  int_map map(ioc.get_executor());
  map.spawn(1, value_after(1ms, 1));
  bool on_strand = false;
  int calls = 0;
  map.async_join_next(net::bind_executor(strand, [&](joinery::error_code, auto next) {
    ++calls;
    on_strand = strand.running_in_this_thread();
    CHECK(next);
  }));
  ioc.run_for(1s);
  CHECK(calls == 1);
  CHECK(on_strand);
}

TEST_CASE("join_map: without an associated executor the handler runs on the map's executor",
          "[join_map][executor]") {
  net::io_context ioc;
  auto strand = net::make_strand(ioc);
  int_map map(strand);
  map.spawn(1, value_now(1));
  bool on_strand = false;
  map.async_join_next(
      [&](joinery::error_code, auto) { on_strand = strand.running_in_this_thread(); });
  ioc.run_for(1s);
  CHECK(on_strand);
}

TEST_CASE("join_map: the join uses and frees the handler's associated allocator",
          "[join_map][allocator]") {
  net::io_context ioc;
  alloc_counts counts;
  int_map map(ioc.get_executor());
  map.spawn(1, value_after(1ms, 1));
  int calls = 0;
  map.async_join_next(
      net::bind_allocator(tracking_allocator<void>(&counts), [&](joinery::error_code, auto next) {
        ++calls;
        CHECK(next);
      }));
  ioc.run_for(1s);
  CHECK(calls == 1);
  CHECK(counts.allocations > 0);
  CHECK(counts.allocations == counts.deallocations);
}

TEST_CASE(
    "join_map: tasks get a serializing executor of their own on a multi-threaded context, "
    "none on a single-threaded one",
    "[join_map][executor]") {
  // Returns whether the task ran on an executor of its own (not the bare
  // io_context executor), and whether that executor runs in this thread
  // while the task runs.
  auto task_executor = [](net::io_context& ioc) {
    bool own = false, running_here = false;
    int_map map(ioc.get_executor());
    map.spawn(1, [&]() -> awaitable<int> {
      auto ex = co_await net::this_coro::executor;
      own = ex.target<net::io_context::executor_type>() == nullptr;
      net::dispatch(ex,
                    [&] { running_here = true; });  // runs inline only on the task's own executor
      co_return 1;
    });
    ioc.run_for(1s);
    return std::pair(own, running_here);
  };
  net::io_context any_threads;
  CHECK(task_executor(any_threads) == std::pair(true, true));
  net::io_context one_thread(1);
  CHECK(task_executor(one_thread).first == false);
  // A map on a strand runs its tasks on that strand.
  net::io_context ioc;
  auto strand = net::make_strand(ioc);
  int_map map(strand);
  bool on_map_strand = false;
  map.spawn(1, [&]() -> awaitable<int> {
    on_map_strand = strand.running_in_this_thread();
    co_return 1;
  });
  ioc.run_for(1s);
  CHECK(on_map_strand);
}

TEST_CASE("join_map: spawn_on runs the task on another context", "[join_map][executor]") {
  net::io_context ioc;
  net::io_context other;
  auto guard = net::make_work_guard(other);
  std::thread other_thread([&] { other.run(); });
  std::atomic<std::thread::id> ran_on{};
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    map.spawn_on(1, other.get_executor(), [&]() -> awaitable<int> {
      ran_on = std::this_thread::get_id();
      co_await sleep_for(1ms);
      co_return 7;
    });
    map.spawn_on(2, other.get_executor(), value_after(1h, 8));
    map.abort(2);
    int n = 0;
    while (auto next = co_await map.async_join_next()) {
      ++n;
      if (next->first == 1)
        CHECK(next->second.value() == 7);
      if (next->first == 2)
        CHECK(next->second.error().is_cancelled());
    }
    CHECK(n == 2);
  });
  const auto other_id = other_thread.get_id();
  guard.reset();
  other_thread.join();
  CHECK(ran_on.load() == other_id);
}

TEST_CASE("join_map: spawn_blocking runs on the blocking pool and reports its value",
          "[join_map][blocking]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    const auto io_thread = std::this_thread::get_id();
    std::atomic<bool> other_thread{false};
    map.spawn_blocking(1, [&] {
      other_thread = std::this_thread::get_id() != io_thread;
      return 21 * 2;
    });
    map.spawn_blocking(2, []() -> int { throw std::runtime_error("blocking boom"); });
    int n = 0;
    while (auto next = co_await map.async_join_next()) {
      ++n;
      if (next->first == 1)
        CHECK(next->second.value() == 42);
      if (next->first == 2)
        CHECK(next->second.error().message().ends_with("blocking boom"));
    }
    CHECK(n == 2);
    CHECK(other_thread);
  });
}

TEST_CASE(
    "join_map: an io_context's destruction waits for a join completion still being posted "
    "from another thread",
    "[join_map][blocking][lifetime]") {
  // A blocking pool thread posting a parked join's completion is counted by
  // the context's context_service from before it enqueues until Asio's post has
  // returned (Asio signals its condition variable after unlocking: the
  // context's thread may already have run the completion). Destruction must
  // not overtake the poster.
  auto ioc = std::make_unique<net::io_context>();
  auto& svc = net::use_service<joinery::detail::context_service>(*ioc);
  std::optional<joinery::detail::context_service::post_scope> in_flight(std::in_place, &svc);
  std::atomic<bool> destroyed{false};
  std::thread destroyer([&] {
    ioc.reset();
    destroyed = true;
  });
  // Not destroyed however long we wait (a slow machine only makes this pass
  // more easily; it cannot fail a correct build).
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(destroyed.load());
  in_flight.reset();
  destroyer.join();
  CHECK(destroyed.load());
}

namespace {

// Runs `rounds` rounds, each on a fresh io_context destroyed as soon as its
// run returns; `body(ioc, round, joined)` is the round's coroutine, counting
// the results it joined. Returns that count.
template <class Body>
int rounds_destroying_the_context(int rounds, Body body) {
  int joined = 0;
  for (int round = 0; round < rounds; ++round) {
    net::io_context ioc(1);
    co_run(ioc, [&]() -> awaitable<void> { co_await body(ioc, round, joined); });
  }
  return joined;
}

}  // namespace

TEST_CASE(
    "join_map: a blocking task's result joined and its io_context destroyed at once, "
    "200 rounds, touches no destroyed context",
    "[join_map][blocking][lifetime][threads]") {
  // The race the test above pins down, end to end: the pool thread posts the
  // join's completion, the io_context's thread runs it, run() returns and
  // the context is destroyed while the pool thread may still be in Asio's
  // post. TSan and ASan watch it; every result is delivered.
  const int joined = rounds_destroying_the_context(
      200, [](net::io_context& ioc, int round, int& count) -> awaitable<void> {
        int_map map(ioc.get_executor());
        map.spawn_blocking(round, [round] { return round; });
        auto next = co_await map.async_join_next();
        if (next && next->second.has_value() && next->second.value() == round)
          ++count;
      });
  CHECK(joined == 200);
}

TEST_CASE(
    "join_map: a queued task started by a blocking task leaving its pool thread, and the "
    "io_context destroyed at once, 200 rounds, touches no destroyed context",
    "[join_map][blocking][lifetime][threads]") {
  // Limit 1: the coroutine task waits in the queue until the blocking one
  // finishes; its start is then posted from the pool thread, which may still
  // be inside Asio's post when the io_context's thread has run the task,
  // joined both and destroyed the context. TSan and ASan watch it.
  const int joined = rounds_destroying_the_context(
      200, [](net::io_context& ioc, int, int& count) -> awaitable<void> {
        int_map map(ioc.get_executor());
        map.set_concurrency_limit(1);
        map.spawn_blocking(1, [] { return 1; });
        map.spawn(2, value_now(2));
        while (auto next = co_await map.async_join_next())
          if (next->second.has_value() && next->second.value() == next->first)
            ++count;
      });
  CHECK(joined == 400);
}

TEST_CASE(
    "join_map: a blocking task aborted before it starts never runs, once started it "
    "keeps its value",
    "[join_map][blocking]") {
  net::io_context ioc;
  net::thread_pool pool(1);
  std::latch started(1), release(1);
  std::atomic<bool> second_ran{false};
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    map.spawn_blocking_on(1, pool.get_executor(), [&] {
      started.count_down();
      release.wait();
      return 1;
    });
    map.spawn_blocking_on(2, pool.get_executor(), [&] {
      second_ran = true;
      return 2;
    });
    started.wait();  // task 1 is running; task 2 is queued behind it
    map.abort(1);    // too late: it runs to completion
    map.abort(2);    // in time: it never runs
    release.count_down();
    int n = 0;
    while (auto next = co_await map.async_join_next()) {
      ++n;
      if (next->first == 1)
        CHECK(next->second.value() == 1);
      if (next->first == 2)
        CHECK(next->second.error().is_cancelled());
    }
    CHECK(n == 2);
  });
  pool.join();
  CHECK_FALSE(second_ran);
}

TEST_CASE("join_map: join_map<int, void> takes blocking tasks returning void",
          "[join_map][blocking]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<int, void> map(ioc.get_executor());
    std::atomic<int> hits{0};
    for (int i = 0; i < 4; ++i)
      map.spawn_blocking(i, [&] { ++hits; });
    int n = 0;
    while (auto next = co_await map.async_join_next()) {
      CHECK(next->second.has_value());
      ++n;
    }
    CHECK(n == 4);
    CHECK(hits == 4);
  });
}

TEST_CASE("join_map: a map typed on the concrete io_context executor runs and aborts its tasks",
          "[join_map][executor]") {
  using ex_t = net::io_context::executor_type;
  using concrete_map = joinery::join_map_on<int, int, ex_t>;
  net::io_context ioc(1);
  concrete_map map(ioc.get_executor());
  map.spawn(1, []() -> net::awaitable<int, ex_t> { co_return 1; });
  map.spawn(2, []() -> net::awaitable<int, ex_t> {
    net::basic_waitable_timer<std::chrono::steady_clock,
                              net::wait_traits<std::chrono::steady_clock>, ex_t>
        t(co_await net::this_coro::executor, std::chrono::hours(1));
    co_await t.async_wait(net::use_awaitable_t<ex_t>());
    co_return 2;
  });
  ioc.poll();
  map.abort(2);
  int calls = 0;
  std::map<int, bool> got;
  for (int i = 0; i < 2; ++i) {
    map.async_join_next([&](joinery::error_code ec, auto next) {
      ++calls;
      CHECK_FALSE(ec);
      REQUIRE(next);
      got[next->first] = next->second.has_value();
    });
    ioc.restart();
    ioc.run_for(1s);
  }
  CHECK(calls == 2);
  CHECK(got == std::map<int, bool>{{1, true}, {2, false}});
}
