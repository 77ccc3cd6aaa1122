// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_TESTS_SNIPPETS_BATCH_JOB_HPP
#define JOINERY_TESTS_SNIPPETS_BATCH_JOB_HPP

// The guide's batch_job (docs/guide.md, "Graceful cancellation"), shared by
// the guide's program (guide.cpp) and by the test that asks it to stop a few
// hundred times (group_graceful_cancel_test.cpp), so that the code the guide
// shows is the code that test checks. The region between the two
// "// [graceful-job]" lines appears in the guide as written here.

#include "../support/asio.hpp"

#include <chrono>

namespace joinery::guide {

namespace net = joinery::asio;  // boost::asio, or ::asio with JOINERY_STANDALONE_ASIO
using namespace std::chrono_literals;

// clang-format off
// [graceful-job]
// A job that can stop early: it accepts partial and total cancellation too
// (Asio's default is terminal only), and when asked to stop it returns what
// it has done so far.
net::awaitable<int> batch_job(int id) {
  // Asio's default (throw_if_cancelled) makes the next co_await of an
  // operation after a request throw operation_aborted: a request arriving
  // between two steps would end the job with that exception instead of its
  // value. So turn it off, and look at the cancellation state after each step.
  co_await net::this_coro::throw_if_cancelled(false);
  co_await net::this_coro::reset_cancellation_state(net::enable_total_cancellation());
  int done = 0;
  for (; done < 100; ++done) {
    net::steady_timer step(co_await net::this_coro::executor, 1ms);
    co_await step.async_wait(net::as_tuple(net::use_awaitable));  // a request ends it early
    auto asked = (co_await net::this_coro::cancellation_state).cancelled();
    if (asked != net::cancellation_type::none) break;  // keep the work done so far
  }
  co_return id * 1000 + done;
}
// [graceful-job]
// clang-format on

}  // namespace joinery::guide

#endif  // JOINERY_TESTS_SNIPPETS_BATCH_JOB_HPP
