// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// Compile-cost probe (bench/compile_cost.sh): a small keyed task group written
// by hand with plain Asio — co_spawn, one cancellation_signal per task, a hash
// map of them, results gathered by completion handlers. join_map.cpp is the
// same program written with joinery::join_map; join_set.cpp with join_set.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

namespace net = boost::asio;

net::awaitable<int> work(int n) {
  net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(n));
  co_await t.async_wait(net::use_awaitable);
  co_return n* n;
}

int main() {
  net::io_context io;
  std::unordered_map<std::string, std::unique_ptr<net::cancellation_signal>> tasks;
  int sum = 0, failed = 0;
  for (int i = 0; i < 8; ++i) {
    auto key = "task-" + std::to_string(i);
    auto& sig = tasks[key] = std::make_unique<net::cancellation_signal>();
    net::co_spawn(io, work(i),
                  net::bind_cancellation_slot(sig->slot(), [&, key](std::exception_ptr e, int v) {
                    tasks.erase(key);
                    if (e)
                      ++failed;
                    else
                      sum += v;
                  }));
  }
  if (auto it = tasks.find("task-3"); it != tasks.end())
    it->second->emit(net::cancellation_type::terminal);
  io.run();
  std::printf("%d %d\n", sum, failed);
}
