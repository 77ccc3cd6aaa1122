// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// blocking: CPU-bound work kept off the I/O thread.
//
// Counting primes with a deliberately naive loop would stall an io_context
// thread for the whole computation. spawn_blocking runs it on joinery's
// blocking pool instead, and a timer on the io_context keeps ticking
// meanwhile: the tick count printed proves the I/O thread stayed
// responsive. A second count runs in a join_map under a key, to show that
// blocking tasks join like any other. Ends with "blocking: ok".

#include <joinery/join_handle.hpp>
#include <joinery/join_map.hpp>

#include "net.hpp"

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

using namespace net::experimental::awaitable_operators;
using namespace std::chrono_literals;

// Synchronous and CPU-bound: the primes below n, counted naively.
std::uint64_t count_primes(std::uint64_t n) {
  std::uint64_t count = 0;
  for (std::uint64_t x = 2; x < n; ++x) {
    bool prime = true;
    for (std::uint64_t d = 2; d < x && prime; ++d)
      prime = x % d != 0;
    count += prime;
  }
  return count;
}

net::awaitable<void> tick(int& ticks) {
  net::steady_timer t(co_await net::this_coro::executor);
  for (;;) {
    t.expires_after(10ms);
    co_await t.async_wait(net::use_awaitable);
    ++ticks;
  }
}

net::awaitable<bool> run() {
  auto ex = co_await net::this_coro::executor;
  int ticks = 0;

  auto handle = joinery::spawn_blocking([] { return count_primes(40000); });
  std::cout << "counting primes on the blocking pool..." << std::endl;
  // Race the wait against a ticker on this (the I/O) thread; the ticker is
  // cancelled when the count arrives.
  auto r = co_await (handle.async_wait(net::as_tuple(net::use_awaitable)) || tick(ticks));
  auto& [ec, primes] = std::get<0>(r);
  std::cout << "primes below 40000 = " << primes.value() << "\n";
  std::cout << "the io thread ticked " << ticks << " times meanwhile\n";

  // Blocking tasks in a join_map, joined by key.
  joinery::join_map<std::string, std::uint64_t> counts(ex);
  counts.spawn_blocking("below 1000", [] { return count_primes(1000); });
  counts.spawn_blocking("below 5000", [] { return count_primes(5000); });
  std::uint64_t small = 0;
  while (auto next = co_await counts.async_join_next()) {
    std::cout << "primes " << next->first << " = " << next->second.value() << "\n";
    small += next->second.value();
  }
  co_return primes.value() == 4203 && ticks > 0 && small == 168 + 669;
}

int main() {
  net::io_context io(1);
  bool ok = false;
  net::co_spawn(io, run(), [&](std::exception_ptr e, bool result) {
    if (e)
      std::rethrow_exception(e);
    ok = result;
  });
  io.run();
  std::cout << (ok ? "blocking: ok" : "blocking: FAILED") << "\n";
  return ok ? 0 : 1;
}
