// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// deadline: a batch of jobs with a time budget (the tokio tutorial's
// exercise, in joinery).
//
// Four jobs go into a join_set, each with a time budget of 100 ms
// (spawn_with_timeout): the odd ones are fast (20 ms), the even ones slow
// (200 ms). The set aborts each job still running at its deadline and
// reports it timed out; the program collects what finished in time and
// prints the jobs that made it, sorted:
//   completed within budget: [job-1, job-3]

#include <joinery/join_set.hpp>

#include "net.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

using namespace std::chrono_literals;

net::awaitable<std::string> process(int id) {
  net::steady_timer t(co_await net::this_coro::executor, id % 2 == 0 ? 200ms : 20ms);
  co_await t.async_wait(net::use_awaitable);
  co_return "job-" + std::to_string(id);
}

net::awaitable<void> run() {
  joinery::join_set<std::string> set(co_await net::this_coro::executor);
  for (int id = 1; id <= 4; ++id)
    set.spawn_with_timeout(100ms, process(id));

  std::vector<std::string> done;
  while (auto r = co_await set.async_join_next(net::use_awaitable)) {
    if (*r)
      done.push_back(r->value());
    else if (r->error().is_timed_out())
      std::cout << "  " << r->error().message() << "\n";  // "task #N timed out"
    else
      r->value();  // a job that threw: rethrows its exception
  }

  std::sort(done.begin(), done.end());
  std::cout << "completed within budget: [";
  for (std::size_t i = 0; i < done.size(); ++i)
    std::cout << (i ? ", " : "") << done[i];
  std::cout << "]\n";
}

int main() {
  net::io_context io;
  net::co_spawn(io, run(), [](std::exception_ptr e) {
    if (e)
      std::rethrow_exception(e);
  });
  io.run();
}
