// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// The traps a new user hits first: a default join_error that read as
// "cancelled", error codes that named no joinery operation, and a capacity
// that relied on abseil's internals. (Keys that cannot be hashed and ignored
// results are compile-time checks: tests/compile_fail/.)

#include <joinery.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <string>

using namespace joinery::test;
using net::awaitable;

TEST_CASE("join_error: a default join_error is neither cancelled nor an exception",
          "[join_error][first_use]") {
  const joinery::join_error none;
  CHECK_FALSE(none.is_cancelled());
  CHECK_FALSE(none.is_exception());
  CHECK(none.message() == "no error");
  CHECK(none.id() == joinery::task_id());
  // What a test translated from tokio does with a successful result.
  const joinery::join_result<int> ok(5);
  CHECK_FALSE(ok.error().is_cancelled());
  CHECK_FALSE(ok.error().is_exception());
  CHECK(ok.error() == joinery::join_error());
  CHECK(joinery::join_error::cancelled(joinery::task_id(3)) != joinery::join_error());
  CHECK(joinery::join_error::from_exception(joinery::task_id(3), nullptr).is_cancelled());
}

namespace {

// Starts two joins on `group` at once and returns the second one's code.
template <class Group>
joinery::error_code second_join_error(net::io_context& ioc, Group& group) {
  group.spawn(value_after(1ms, 1));
  joinery::error_code second;
  group.async_join_next([](auto...) {});
  group.async_join_next([&](joinery::error_code ec, auto) { second = ec; });
  ioc.run_for(1s);
  return second;
}

}  // namespace

TEST_CASE("errors: a second concurrent join is already_started and named by its operation",
          "[errors][first_use]") {
  net::io_context ioc;
  SECTION("join_map") {
    joinery::join_map<int, int> map(ioc);
    map.spawn(1, value_after(1ms, 1));
    joinery::error_code second;
    map.async_join_next([](auto...) {});
    map.async_join_next([&](joinery::error_code ec, auto) { second = ec; });
    ioc.run_for(1s);
    CHECK(second == net::error::already_started);
    CHECK(second == joinery::error::join_in_progress);
#if !defined(JOINERY_STANDALONE_ASIO)  // std::error_code carries no operation name
    CHECK(second.what().find("joinery::join_map::async_join_next") != std::string::npos);
#endif
  }
  SECTION("join_set") {
    joinery::join_set<int> set(ioc);
    const auto ec = second_join_error(ioc, set);
    CHECK(ec == net::error::already_started);
    CHECK(ec == joinery::error::join_in_progress);
#if !defined(JOINERY_STANDALONE_ASIO)  // std::error_code carries no operation name
    CHECK(ec.what().find("joinery::join_set::async_join_next") != std::string::npos);
#endif
  }
  SECTION("join_handle") {
    auto h = joinery::spawn(ioc, value_after(1ms, 1));
    joinery::error_code second;
    h.async_wait([](auto...) {});
    h.async_wait([&](joinery::error_code ec, auto) { second = ec; });
    ioc.run_for(1s);
    CHECK(second == net::error::already_started);
#if !defined(JOINERY_STANDALONE_ASIO)  // std::error_code carries no operation name
    CHECK(second.what().find("joinery::join_handle::async_wait") != std::string::npos);
#endif
  }
}

TEST_CASE("errors: nothing to join is not_found and cancelled waits name their operation",
          "[errors][first_use]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_handle<int> none;
    auto [ec, r] = co_await none.async_wait(net::as_tuple(net::deferred));
    CHECK(ec == net::error::not_found);
    CHECK(ec == joinery::error::nothing_to_join);
    CHECK_FALSE(ec == joinery::error::join_in_progress);
#if !defined(JOINERY_STANDALONE_ASIO)  // std::error_code carries no operation name
    CHECK(ec.what().find("joinery::join_handle::async_wait") != std::string::npos);
#endif
    CHECK_FALSE(r.error().is_cancelled());  // no task, so no cancelled task either
  });
  joinery::join_map<int, int> map(ioc);
  map.spawn(1, value_after(1h, 1));
  net::cancellation_signal sig;
  joinery::error_code all_ec;
  map.async_join_all(
      net::bind_cancellation_slot(sig.slot(), [&](joinery::error_code ec, auto) { all_ec = ec; }));
  ioc.restart();
  ioc.poll();
  sig.emit(net::cancellation_type::terminal);
  ioc.poll();
  CHECK(all_ec == net::error::operation_aborted);
#if !defined(JOINERY_STANDALONE_ASIO)  // std::error_code carries no operation name
  CHECK(all_ec.what().find("joinery::join_map::async_join_all") != std::string::npos);
#endif
  CHECK(joinery::error::category().name() == std::string("joinery"));
  CHECK(joinery::error::make_error_condition(joinery::error::join_in_progress)
            .message()
            .find("already pending") != std::string::npos);
}

TEST_CASE("join_map: capacity() tasks fit without the table growing", "[join_map][capacity]") {
  // capacity() promises that many tasks without the key table growing:
  // filling the map to capacity() must leave it unchanged, one more grows it.
  net::io_context ioc;
  for (std::size_t want : {1u, 7u, 15u, 100u, 1000u}) {
    joinery::join_map<std::size_t, int> map(ioc);
    map.reserve(want);
    const std::size_t cap = map.capacity();
    CHECK(cap >= want);
    for (std::size_t k = 0; k < cap; ++k)
      map.spawn(k, value_now(1));
    CHECK(map.capacity() == cap);
    map.spawn(cap, value_now(1));
    CHECK(map.capacity() > cap);
  }
  ioc.run();
}
