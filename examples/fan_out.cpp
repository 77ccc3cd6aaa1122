// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// fan_out: the key-less members of the family.
//
//   - A join_set fans out one task per number and sums the squares as they
//     finish (tokio's JoinSet example), then async_join_all collects a
//     second batch in one call, failures included.
//   - join_handles from joinery::spawn: one awaited for its value, one
//     aborted (its wait reports it cancelled), and one detached by letting
//     its handle go: unlike a group, a handle's destruction does not abort.
//
// Ends with "fan_out: ok".

#include <joinery/join_handle.hpp>
#include <joinery/join_set.hpp>

#include "net.hpp"

#include <chrono>
#include <iostream>
#include <stdexcept>

using namespace std::chrono_literals;

net::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  net::steady_timer t(co_await net::this_coro::executor, d);
  co_await t.async_wait(net::use_awaitable);
}

net::awaitable<bool> run() {
  auto ex = co_await net::this_coro::executor;
  bool ok = true;

  // Sum of squares, joined one by one in completion order.
  joinery::join_set<int> squares(ex);
  for (int n = 1; n <= 10; ++n) {
    squares.spawn([n]() -> net::awaitable<int> {
      co_await sleep_for(std::chrono::milliseconds(11 - n));  // the last ones finish first
      co_return n* n;
    });
  }
  int total = 0;
  while (auto r = co_await squares.async_join_next())
    total += r->value();
  std::cout << "sum of squares 1..10 = " << total << "\n";
  ok = ok && total == 385;

  // join_all: every outcome at once; one failure does not stop the rest.
  joinery::join_set<int> batch(ex);
  for (int n = 1; n <= 4; ++n)
    batch.spawn([n]() -> net::awaitable<int> { co_return 10 * n; });
  batch.spawn([]() -> net::awaitable<int> { throw std::runtime_error("bad input"); });
  int values = 0, errors = 0;
  for (auto& r : co_await batch.async_join_all()) {
    if (r)
      values += r.value();
    else
      ++errors, std::cout << "join_all error: " << r.error().message() << "\n";
  }
  std::cout << "join_all: values sum to " << values << ", " << errors << " error(s)\n";
  ok = ok && values == 100 && errors == 1;

  // A join_handle, awaited.
  auto answer = joinery::spawn(ex, []() -> net::awaitable<int> {
    co_await sleep_for(5ms);
    co_return 42;
  });
  auto [ec1, r1] = co_await answer.async_wait(net::as_tuple(net::deferred));
  std::cout << "awaited handle: " << r1.value() << "\n";
  ok = ok && r1.value() == 42;

  // One aborted: its wait says cancelled.
  auto slow = joinery::spawn(ex, []() -> net::awaitable<int> {
    co_await sleep_for(1h);
    co_return 0;
  });
  slow.abort();
  auto [ec2, r2] = co_await slow.async_wait(net::as_tuple(net::deferred));
  std::cout << "aborted handle: " << r2.error().message() << "\n";
  ok = ok && r2.error().is_cancelled();

  // One detached: the handle goes, the task runs on.
  bool detached_ran = false;
  joinery::abort_handle detached;
  {
    auto h = joinery::spawn(ex, [&detached_ran]() -> net::awaitable<void> {
      co_await sleep_for(10ms);
      detached_ran = true;
    });
    detached = h.get_abort_handle();
  }
  co_await sleep_for(50ms);
  std::cout << "detached handle's task finished on its own: " << std::boolalpha
            << (detached_ran && detached.is_finished()) << "\n";
  ok = ok && detached_ran;
  co_return ok;
}

int main() {
  net::io_context io;
  bool ok = false;
  net::co_spawn(io, run(), [&](std::exception_ptr e, bool result) {
    if (e)
      std::rethrow_exception(e);
    ok = result;
  });
  io.run();
  std::cout << (ok ? "fan_out: ok" : "fan_out: FAILED") << "\n";
  return ok ? 0 : 1;
}
