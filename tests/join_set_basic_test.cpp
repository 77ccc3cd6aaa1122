// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// join_set: the key-less group (tokio's JoinSet tests, translated).

#include <joinery/join_set.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <algorithm>
#include <functional>
#include <latch>
#include <set>
#include <stdexcept>
#include <vector>

namespace {

using namespace joinery::test;
namespace net = joinery::asio;
using net::awaitable;

using int_set = joinery::join_set<int>;

}  // namespace

TEST_CASE("join_set: tokio example, the sum of squares of 1..3 is 14", "[join_set][tokio]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_set set(ioc.get_executor());
    for (int n = 1; n <= 3; ++n)
      set.spawn([n]() -> awaitable<int> { co_return n* n; });
    int total = 0;
    while (auto r = co_await set.async_join_next())
      total += r->value();
    CHECK(total == 14);
  });
}

TEST_CASE("join_set: results come in completion order, size counts tasks until joined",
          "[join_set]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_set set(ioc.get_executor());
    set.spawn(value_after(60ms, 0));
    set.spawn(value_after(30ms, 1));
    set.spawn(value_after(1ms, 2));
    CHECK(set.size() == 3);
    std::vector<int> order;
    while (auto r = co_await set.async_join_next()) {
      order.push_back(r->value());
      CHECK(set.size() == 3 - order.size());
    }
    CHECK(order == std::vector<int>{2, 1, 0});
    CHECK(set.empty());
    auto joined = co_await set.async_join_next();
    CHECK_FALSE(joined);
  });
}

TEST_CASE("join_set: join_next_with_id reports the id each spawn returned (AC-41)",
          "[join_set][ids]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_set set(ioc.get_executor());
    std::set<joinery::task_id> spawned, joined;
    for (int i = 0; i < 1000; ++i)
      spawned.insert(set.spawn(value_now(i)).id());
    CHECK(spawned.size() == 1000);
    for (auto id : spawned)
      CHECK(set.contains_task(id));
    for (int i = 0; i < 500; ++i) {
      auto r = co_await set.async_join_next_with_id();
      REQUIRE(r);
      CHECK_FALSE(set.contains_task(r->first));
      joined.insert(r->first);
    }
    co_await sleep_for(1ms);
    while (auto r = set.try_join_next_with_id())
      joined.insert(r->first);
    CHECK(joined == spawned);
  });
}

TEST_CASE(
    "join_set: async_join_all returns every outcome, failures and cancellations included "
    "(AC-07)",
    "[join_set][join_all]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_set set(ioc.get_executor());
    for (int i = 0; i < 5; ++i)
      set.spawn(value_after(std::chrono::milliseconds(5 - i), i));
    set.spawn([]() -> awaitable<int> { throw std::runtime_error("one fails"); });
    auto aborted = set.spawn(value_after(1h, 99));
    aborted.abort();
    auto all = co_await set.async_join_all();
    REQUIRE(all.size() == 7);
    int values = 0, failed = 0, cancelled = 0;
    for (auto& r : all) {
      if (r)
        ++values;
      else if (r.error().is_cancelled())
        ++cancelled;
      else
        ++failed;
    }
    CHECK(values == 5);
    CHECK(failed == 1);
    CHECK(cancelled == 1);
    CHECK(set.empty());
    auto none = co_await set.async_join_all();
    CHECK(none.empty());
  });
}

TEST_CASE("join_set: a cancelled join_all delivers what it collected and leaves the rest",
          "[join_set][join_all]") {
  net::io_context ioc;
  int_set set(ioc.get_executor());
  set.spawn(value_now(1));
  set.spawn(value_after(1h, 2));
  net::cancellation_signal sig;
  int calls = 0;
  joinery::error_code ec;
  std::vector<joinery::join_result<int>> got;
  set.async_join_all(net::bind_cancellation_slot(
      sig.slot(), [&](joinery::error_code e, std::vector<joinery::join_result<int>> r) {
        ++calls;
        ec = e;
        got = std::move(r);
      }));
  ioc.run_for(50ms);
  CHECK(calls == 0);
  sig.emit(net::cancellation_type::terminal);
  ioc.restart();
  ioc.run_for(50ms);
  CHECK(calls == 1);
  CHECK(ec == net::error::operation_aborted);
  REQUIRE(got.size() == 1);
  CHECK(got[0].value() == 1);
  CHECK(set.size() == 1);
}

TEST_CASE("join_set: spawn_all and range construction spawn every task (tokio 'extend') (AC-08)",
          "[join_set][tokio]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    std::vector<net::awaitable<int>> tasks;
    for (int i = 0; i < 10; ++i)
      tasks.push_back(value_now(i));
    int_set set(ioc.get_executor(), std::move(tasks));
    CHECK(set.size() == 10);
    std::vector<std::function<net::awaitable<int>()>> factories;
    for (int i = 10; i < 15; ++i)
      factories.emplace_back([i] { return value_now(i); });
    CHECK(set.spawn_all(factories) == 5);
    CHECK(set.size() == 15);
    auto all = co_await set.async_join_all();
    std::vector<int> values;
    for (auto& r : all)
      values.push_back(r.value());
    std::sort(values.begin(), values.end());
    std::vector<int> expected(15);
    for (int i = 0; i < 15; ++i)
      expected[i] = i;
    CHECK(values == expected);
  });
}

TEST_CASE("join_set: abort_all cancels pending tasks, finished ones keep their values (AC-16)",
          "[join_set][abort]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_set set(ioc.get_executor());
    for (int i = 0; i < 8; ++i)
      set.spawn(value_now(i));
    for (int i = 0; i < 8; ++i)
      set.spawn(value_after(1h, i));
    co_await sleep_for(1ms);
    set.abort_all();
    CHECK(set.size() == 16);
    int values = 0, cancelled = 0;
    while (auto r = co_await set.async_join_next()) {
      if (*r)
        ++values;
      else
        cancelled += r->error().is_cancelled();
    }
    CHECK(values == 8);
    CHECK(cancelled == 8);
  });
}

TEST_CASE("join_set: destruction aborts, detach_all lets tasks run on", "[join_set][lifetime]") {
  net::io_context ioc;
  const int before = counted::live;
  joinery::abort_handle aborted, detached;
  {
    int_set set(ioc.get_executor());
    aborted = set.spawn([c = counted(1)]() -> awaitable<int> {
      co_await forever();
      co_return c.value;
    });
    ioc.poll();
  }
  ioc.restart();
  ioc.poll();
  CHECK(aborted.is_finished());
  CHECK(counted::live == before);
  {
    int_set set(ioc.get_executor());
    detached = set.spawn(value_after(5ms, 1));
    set.detach_all();
    CHECK(set.empty());
  }
  ioc.restart();
  ioc.run_for(1s);
  CHECK(detached.is_finished());
}

TEST_CASE("join_set: shutdown, blocking tasks and try_join_next", "[join_set]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_set set(ioc.get_executor());
    std::latch go(1);
    set.spawn_blocking([&go] {
      go.wait();
      return 7;
    });
    set.spawn(value_after(1h, 8));
    CHECK_FALSE(set.try_join_next());
    go.count_down();
    auto r = co_await set.async_join_next();
    REQUIRE(r);
    CHECK(r->value() == 7);
    co_await set.async_shutdown();
    CHECK(set.empty());
  });
}

TEST_CASE("join_set: a second concurrent join completes with already_started", "[join_set][join]") {
  net::io_context ioc;
  int_set set(ioc.get_executor());
  set.spawn(value_after(2ms, 1));
  joinery::error_code second;
  int calls = 0;
  set.async_join_next([&](joinery::error_code, auto) { ++calls; });
  set.async_join_next([&](joinery::error_code e, auto) {
    ++calls;
    second = e;
  });
  ioc.run_for(1s);
  CHECK(calls == 2);
  CHECK(second == net::error::already_started);
}
