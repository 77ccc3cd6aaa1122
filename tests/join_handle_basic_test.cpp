// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// join_handle and joinery::spawn: one task, awaited, aborted or detached.

#include <joinery/join_handle.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

namespace {

using namespace joinery::test;
namespace net = joinery::asio;
using net::awaitable;

}  // namespace

TEST_CASE("join_handle: async_wait delivers the task's value", "[join_handle]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    auto h = joinery::spawn(ioc.get_executor(), value_after(1ms, 8));
    CHECK_FALSE(h.is_finished());
    auto [ec, r] = co_await h.async_wait(net::as_tuple(net::deferred));
    CHECK_FALSE(ec);
    CHECK(r.value() == 8);
    CHECK(h.is_finished());
  });
}

TEST_CASE("join_handle: spawn takes a factory, an execution context, and void tasks",
          "[join_handle]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    auto h = joinery::spawn(
        ioc, []() -> awaitable<std::unique_ptr<int>> { co_return std::make_unique<int>(3); });
    auto [ec, r] = co_await h.async_wait(net::as_tuple(net::deferred));
    REQUIRE(r);
    CHECK(**r == 3);
    auto v = joinery::spawn(ioc, []() -> awaitable<void> { co_return; });
    auto [ec2, rv] = co_await v.async_wait(net::as_tuple(net::deferred));
    CHECK(rv.has_value());
  });
}

TEST_CASE("join_handle: a throwing task's exception and an aborted task's cancellation",
          "[join_handle]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    auto bad = joinery::spawn(ioc, []() -> awaitable<int> { throw std::logic_error("nope"); });
    auto [ec, r] = co_await bad.async_wait(net::as_tuple(net::deferred));
    CHECK_THROWS_AS(r.value(), std::logic_error);
    auto slow = joinery::spawn(ioc, value_after(1h, 1));
    slow.abort();
    auto [ec2, r2] = co_await slow.async_wait(net::as_tuple(net::deferred));
    REQUIRE(r2.has_error());
    CHECK(r2.error().is_cancelled());
    CHECK(r2.error().id() == slow.id());
  });
}

TEST_CASE("join_handle: cancelling the wait neither aborts the task nor loses its outcome",
          "[join_handle][cancel]") {
  net::io_context ioc;
  auto h = joinery::spawn(ioc, value_after(20ms, 5));
  net::cancellation_signal sig;
  joinery::error_code first_ec;
  h.async_wait(net::bind_cancellation_slot(
      sig.slot(), [&](joinery::error_code ec, joinery::join_result<int>) { first_ec = ec; }));
  ioc.poll();
  sig.emit(net::cancellation_type::total);
  ioc.poll();
  CHECK(first_ec == net::error::operation_aborted);
  CHECK_FALSE(h.is_finished());
  int got = 0;
  h.async_wait([&](joinery::error_code ec, joinery::join_result<int> r) {
    CHECK_FALSE(ec);
    got = r.value();
  });
  ioc.restart();
  ioc.run_for(1s);
  CHECK(got == 5);
}

TEST_CASE("join_handle: a wait after the outcome was delivered completes with not_found",
          "[join_handle]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    auto h = joinery::spawn(ioc, value_after(0ms, 1));
    auto [ec1, r1] = co_await h.async_wait(net::as_tuple(net::deferred));
    CHECK(r1.value() == 1);
    auto [ec2, r2] = co_await h.async_wait(net::as_tuple(net::deferred));
    CHECK(ec2 == net::error::not_found);
    CHECK(r2.has_error());
    joinery::join_handle<int> none;
    auto [ec3, r3] = co_await none.async_wait(net::as_tuple(net::deferred));
    CHECK(ec3 == net::error::not_found);
    CHECK(none.is_finished());
    CHECK(none.id() == joinery::task_id());
  });
}

TEST_CASE("join_handle: destroying the handle detaches the task, which runs to its end",
          "[join_handle][lifetime]") {
  net::io_context ioc;
  std::atomic<bool> finished{false};
  joinery::abort_handle ah;
  {
    auto h = joinery::spawn(ioc, [&finished]() -> awaitable<int> {
      co_await sleep_for(5ms);
      finished = true;
      co_return 1;
    });
    ah = h.get_abort_handle();
    CHECK(ah.id() == h.id());
  }
  ioc.run_for(1s);
  CHECK(finished);
  CHECK(ah.is_finished());
}

TEST_CASE(
    "join_handle: destroying a handle with a pending wait completes it with "
    "operation_aborted",
    "[join_handle][lifetime]") {
  net::io_context ioc;
  joinery::error_code ec;
  int calls = 0;
  {
    auto h = joinery::spawn(ioc, value_after(1h, 1));
    h.async_wait([&](joinery::error_code e, joinery::join_result<int>) {
      ++calls;
      ec = e;
    });
    ioc.poll();
    h.abort();  // so that the io_context can drain
  }
  ioc.restart();
  ioc.run_for(1s);
  CHECK(calls == 1);
  CHECK(ec == net::error::operation_aborted);
}

TEST_CASE("join_handle: spawn_blocking runs off the io thread and keeps its value",
          "[join_handle][blocking]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    const auto io_thread = std::this_thread::get_id();
    auto h =
        joinery::spawn_blocking([io_thread] { return std::this_thread::get_id() != io_thread; });
    auto [ec, r] = co_await h.async_wait(net::as_tuple(net::deferred));
    CHECK(r.value());
    net::thread_pool pool(1);
    auto h2 = joinery::spawn_blocking_on(pool.get_executor(), [] { return 4; });
    auto [ec2, r2] = co_await h2.async_wait(net::as_tuple(net::deferred));
    CHECK(r2.value() == 4);
  });
}

TEST_CASE("join_handle: move-assignment detaches the task it held", "[join_handle]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    auto a = joinery::spawn(ioc, value_after(2ms, 1));
    auto first = a.get_abort_handle();
    a = joinery::spawn(ioc, value_after(1ms, 2));
    auto [ec, r] = co_await a.async_wait(net::as_tuple(net::deferred));
    CHECK(r.value() == 2);
    co_await sleep_for(10ms);
    CHECK(first.is_finished());
  });
}
