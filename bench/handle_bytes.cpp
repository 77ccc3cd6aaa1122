// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// Bytes per joinery::spawn: what a task owned by a join_handle costs while it
// waits, against the same task started with plain co_spawn (the floor).
//
//   joinery-handle-bytes [N]     (default N = 10000)
//
// Spawns N tasks that each wait on a timer that never fires, runs the
// io_context until every task is suspended in its wait, and prints the heap
// bytes in use per task (glibc's count, chunk overhead included). The source
// uses joinery's public API only, so it builds against an older include tree
// too: docs/performance.md compares two commits that way.

#include <joinery/join_handle.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <malloc.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {
// Bytes in use in the heap (glibc's mallinfo2: every malloc, so operator new
// and the aligned allocations of Asio's recycling allocator too, with their
// chunk overhead).
long long heap_in_use() {
  return static_cast<long long>(mallinfo2().uordblks);
}
}  // namespace

namespace net = boost::asio;

namespace {

net::awaitable<int> waits() {
  net::steady_timer t(co_await net::this_coro::executor, net::steady_timer::time_point::max());
  co_await t.async_wait(net::use_awaitable);
  co_return 1;
}

template <class Spawn>
double bytes_per_task(int n, Spawn spawn) {
  net::io_context io(1);
  io.poll();
  const long long before = heap_in_use();
  spawn(io, n);
  io.poll();  // every task runs to its wait
  const long long after = heap_in_use();
  return static_cast<double>(after - before) / n;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  std::vector<joinery::join_handle<int>> handles;
  handles.reserve(static_cast<std::size_t>(n));
  const double joinery_bytes = bytes_per_task(n, [&](net::io_context& io, int count) {
    for (int i = 0; i < count; ++i)
      handles.push_back(joinery::spawn(io, waits()));
  });
  std::vector<net::cancellation_signal> signals(static_cast<std::size_t>(n));
  const double floor_bytes = bytes_per_task(n, [&](net::io_context& io, int count) {
    for (int i = 0; i < count; ++i)
      net::co_spawn(
          io, waits(),
          net::bind_cancellation_slot(signals[static_cast<std::size_t>(i)].slot(), net::detached));
  });
  std::printf(
      "bytes in use per waiting task: joinery::spawn %.1f, co_spawn with a cancellation signal "
      "%.1f (N = %d)\n",
      joinery_bytes, floor_bytes, n);
  for (auto& h : handles)
    h.abort();
  return 0;
}
