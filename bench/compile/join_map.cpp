// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// Compile-cost probe (bench/compile_cost.sh): plain_asio.cpp's program,
// written with joinery::join_map.

#include <joinery/join_map.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <string>

namespace net = boost::asio;

net::awaitable<int> work(int n) {
  net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(n));
  co_await t.async_wait(net::use_awaitable);
  co_return n* n;
}

net::awaitable<void> run() {
  joinery::join_map<std::string, int> tasks(co_await net::this_coro::executor);
  for (int i = 0; i < 8; ++i)
    tasks.spawn("task-" + std::to_string(i), work(i));
  tasks.abort("task-3");
  int sum = 0, failed = 0;
  while (auto next = co_await tasks.async_join_next()) {
    if (next->second)
      sum += *next->second;
    else
      ++failed;
  }
  std::printf("%d %d\n", sum, failed);
}

int main() {
  net::io_context io;
  net::co_spawn(io, run(), net::detached);
  io.run();
}
