// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// async_join_all(joinery::fail_fast): the first task to fail (an exception
// or a timeout; a cancellation is not a failure) aborts the others; the join
// goes on until the group is empty and completes with
// joinery::error::task_failed and every outcome in completion order.

#include <joinery/fail_fast.hpp>
#include <joinery/join_map.hpp>
#include <joinery/join_set.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace joinery::test;
using namespace std::chrono_literals;
using net::awaitable;

namespace {

struct task_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

awaitable<int> fails_after(std::chrono::milliseconds d) {
  co_await sleep_for(d);
  throw task_error("failed");
}

}  // namespace

TEST_CASE("fail_fast: the first failure aborts the others, which are joined, and ec is task_failed",
          "[fail_fast][join_map]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<std::string, int> map(ioc);
    map.spawn("fast", value_after(1ms, 1));
    map.spawn("bad", fails_after(5ms));
    map.spawn("slow", value_after(10s, 3));  // aborted by the failure
    map.spawn("never", never());
    auto [ec, all] = co_await map.async_join_all(joinery::fail_fast, net::as_tuple(net::deferred));
    CHECK(ec == joinery::error::task_failed);
    CHECK(ec.message().find("fail_fast") != std::string::npos);
    REQUIRE(all.size() == 4);
    CHECK(all[0].first == "fast");  // completion order
    CHECK(all[0].second.value() == 1);
    CHECK(all[1].first == "bad");  // the cause
    CHECK(all[1].second.error().is_exception());
    for (std::size_t i = 2; i < 4; ++i)
      CHECK(all[i].second.error().is_cancelled());
    CHECK(map.empty());
  });
}

TEST_CASE("fail_fast: a timeout is a failure", "[fail_fast][join_set]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_set<int> set(ioc);
    set.spawn_with_timeout(2ms, never());
    set.spawn(value_after(10s, 2));
    auto [ec, all] = co_await set.async_join_all(joinery::fail_fast, net::as_tuple(net::deferred));
    CHECK(ec == joinery::error::task_failed);
    REQUIRE(all.size() == 2);
    CHECK(all[0].error().is_timed_out());
    CHECK(all[1].error().is_cancelled());
  });
}

TEST_CASE("fail_fast: a cancelled task is not a failure, and without one it is async_join_all",
          "[fail_fast][join_set]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_set<int> set(ioc);
    auto h = set.spawn(never());
    set.spawn(value_after(5ms, 2));
    h.abort();
    auto [ec, all] = co_await set.async_join_all(joinery::fail_fast, net::as_tuple(net::deferred));
    CHECK_FALSE(ec);
    REQUIRE(all.size() == 2);
    CHECK(all[0].error().is_cancelled());
    CHECK(all[1].value() == 2);
    auto [ec2, none] =
        co_await set.async_join_all(joinery::fail_fast, net::as_tuple(net::deferred));
    CHECK_FALSE(ec2);  // an empty group: success, nothing
    CHECK(none.empty());
  });
}

TEST_CASE("fail_fast: without fail_fast a failure aborts nothing (async_join_all keeps all)",
          "[fail_fast][join_set]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_set<int> set(ioc);
    set.spawn(fails_after(1ms));
    set.spawn(value_after(10ms, 2));
    auto [ec, all] = co_await set.async_join_all(net::as_tuple(net::deferred));
    CHECK_FALSE(ec);
    REQUIRE(all.size() == 2);
    CHECK(all[1].value() == 2);  // not aborted
  });
}

TEST_CASE(
    "fail_fast: cancelling the wait delivers the outcomes so far, and the aborts issued stand",
    "[fail_fast][join_map][cancel]") {
  net::io_context ioc;
  joinery::join_map<int, int> map(ioc);
  map.spawn(1, fails_after(1ms));
  map.spawn(2, never());
  net::cancellation_signal signal;
  int calls = 0;
  joinery::error_code got;
  std::size_t delivered = 0;
  map.async_join_all(
      joinery::fail_fast,
      net::bind_cancellation_slot(signal.slot(), [&](joinery::error_code ec, auto outcomes) {
        ++calls;
        got = ec;
        delivered = outcomes.size();
      }));
  // Run until the failure was joined and task 2 aborted, then cancel the
  // wait before task 2's outcome is taken.
  for (int i = 0; i < 1000 && !(map.size() == 1 && map.ready_count() == 1); ++i)
    ioc.run_one_for(10ms);
  signal.emit(net::cancellation_type::terminal);
  pump(ioc);
  REQUIRE(calls == 1);
  CHECK(got == net::error::operation_aborted);
  CHECK(delivered == 1);  // the failure; task 2's outcome stays in the map
  REQUIRE(map.size() == 1);
  auto next = map.try_join_next();
  REQUIRE(next);
  CHECK(next->second.error().is_cancelled());  // the abort stood
}
