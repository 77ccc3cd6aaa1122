// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// deadline: a batch of jobs with a time budget (the tokio tutorial's
// exercise, in joinery).
//
// Four jobs go into a join_set: the odd ones are fast (20 ms), the even ones
// slow (200 ms). The program collects whatever finishes within 100 ms by
// racing async_join_next against one deadline timer, then aborts the rest
// with abort_all and drains the set, which reports them as cancelled. It
// prints the jobs that made it, sorted:
//   completed within budget: [job-1, job-3]

#include <joinery/join_set.hpp>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

namespace net = boost::asio;
using namespace net::experimental::awaitable_operators;
using namespace std::chrono_literals;

net::awaitable<std::string> process(int id) {
  net::steady_timer t(co_await net::this_coro::executor, id % 2 == 0 ? 200ms : 20ms);
  co_await t.async_wait(net::use_awaitable);
  co_return "job-" + std::to_string(id);
}

net::awaitable<void> run() {
  joinery::join_set<std::string> set(co_await net::this_coro::executor);
  for (int id = 1; id <= 4; ++id)
    set.spawn(process(id));

  // One deadline for the whole batch: each round races the next result
  // against the same timer, so the budget is not restarted.
  net::steady_timer deadline(co_await net::this_coro::executor, 100ms);
  std::vector<std::string> done;
  while (!set.empty()) {
    auto next = co_await (set.async_join_next(net::use_awaitable) ||
                          deadline.async_wait(net::use_awaitable));
    if (next.index() == 1) {
      // Out of time: cancel what is left and drain it.
      set.abort_all();
      while (auto r = co_await set.async_join_next(net::use_awaitable))
        std::cout << "  " << (*r ? r->value() : r->error().message()) << "\n";
      break;
    }
    auto& r = std::get<0>(next);
    done.push_back(r->value());  // a job that throws would rethrow here
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
