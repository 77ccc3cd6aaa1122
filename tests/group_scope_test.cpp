// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Structured concurrency: joinery::scope and joinery::keyed_scope complete
// only when the body and every task in the group have ended (their
// coroutine frames destroyed), whatever happens: the body returns, throws,
// the awaiting coroutine is cancelled, or (fail_fast) a task fails.

#include <joinery/scope.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace joinery::test;
using namespace std::chrono_literals;
using net::awaitable;
using net::experimental::awaitable_operators::operator||;

namespace {

struct task_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Counts a task's frame: `alive` goes up when the task starts and down when
// its frame is destroyed (its locals' destructors ran).
struct frame_count {
  int& alive;
  explicit frame_count(int& a) : alive(a) { ++alive; }
  ~frame_count() { --alive; }
};

// A task that waits `d`, then returns `v`.
awaitable<int> after(std::chrono::milliseconds d, int v, int& alive) {
  frame_count f(alive);
  co_await sleep_for(d);
  co_return v;
}

// A task that waits `d`, then throws.
awaitable<int> fails_after(std::chrono::milliseconds d, const char* what, int& alive) {
  frame_count f(alive);
  co_await sleep_for(d);
  throw task_error(what);
}

// A task that, when aborted, still takes `cleanup` to end (an uncancellable
// wait in its unwinding, as a task closing a connection would), and writes
// to `log` (a local of the coroutine that awaits the scope) as it ends.
awaitable<int> slow_to_stop(std::chrono::milliseconds cleanup, std::vector<int>& log, int id,
                            int& alive) {
  frame_count f(alive);
  try {
    co_await forever();
  } catch (...) {
  }
  // Cleanup after the abort: awaits must not throw for the cancellation
  // any more (Asio's throw_if_cancelled), and its wait is not cancellable.
  co_await net::this_coro::throw_if_cancelled(false);
  net::steady_timer t(co_await net::this_coro::executor, cleanup);
  co_await t.async_wait(
      net::bind_cancellation_slot(net::cancellation_slot(), net::as_tuple(net::use_awaitable)));
  log.push_back(id);  // the captured local must still be alive
  co_return id;
}

}  // namespace

TEST_CASE("scope: returns the body's value once every task it left has ended",
          "[scope][structured]") {
  net::io_context ioc;
  int alive = 0;
  std::optional<int> got;
  co_run(ioc, [&]() -> awaitable<void> {
    got = co_await joinery::scope<int>([&](joinery::join_set<int>& group) -> awaitable<int> {
      for (int i = 1; i <= 3; ++i)
        group.spawn(after(std::chrono::milliseconds(5 * i), i, alive));
      co_return 42;  // leaves three running tasks to the scope
    });
    CHECK(alive == 0);  // every task ended before the scope completed
  });
  CHECK(got == 42);
}

TEST_CASE("scope: outcomes the body joined itself are the body's, the rest are joined by the scope",
          "[scope][structured]") {
  net::io_context ioc;
  int alive = 0;
  co_run(ioc, [&]() -> awaitable<void> {
    int sum = co_await joinery::scope<int>([&](joinery::join_set<int>& group) -> awaitable<int> {
      group.spawn(fails_after(1ms, "joined by the body", alive));
      group.spawn(after(1ms, 5, alive));
      int total = 0;
      while (auto next = co_await group.async_join_next())
        if (*next)
          total += next->value();  // the failure is seen and dropped here
      co_return total;
    });
    CHECK(sum == 5);  // no exception: the body handled the failed outcome
    CHECK(alive == 0);
  });
}

TEST_CASE(
    "scope: a task that threw after the body returned makes the scope rethrow it once all "
    "ended",
    "[scope][structured]") {
  net::io_context ioc;
  int alive = 0;
  co_run(ioc, [&]() -> awaitable<void> {
    std::string caught;
    try {
      co_await joinery::scope<int>([&](joinery::join_set<int>& group) -> awaitable<void> {
        group.spawn(fails_after(5ms, "first", alive));
        group.spawn(fails_after(20ms, "second", alive));
        group.spawn(after(30ms, 1, alive));
        co_return;
      });
    } catch (const task_error& e) {
      caught = e.what();
    }
    CHECK(caught == "first");  // the first in completion order
    CHECK(alive == 0);         // thrown only after every task ended
  });
}

TEST_CASE(
    "scope: a body that throws aborts every task, waits until they ended, then rethrows (tasks "
    "capture a local by reference)",
    "[scope][structured]") {
  net::io_context ioc;
  int alive = 0;
  std::vector<int> outcome_log;
  co_run(ioc, [&]() -> awaitable<void> {
    // The coroutine's own local, captured by reference by tasks that are
    // still running when the body throws. Under ASan a task touching it
    // after this coroutine's frame is gone is a heap-use-after-free.
    std::vector<int> log;
    std::string caught;
    try {
      co_await joinery::scope<int>([&](joinery::join_set<int>& group) -> awaitable<void> {
        for (int i = 0; i < 4; ++i)
          group.spawn(slow_to_stop(std::chrono::milliseconds(10 + 5 * i), log, i, alive));
        co_await yield();  // the tasks have started
        throw task_error("body failed");
      });
    } catch (const task_error& e) {
      caught = e.what();
    }
    CHECK(caught == "body failed");
    CHECK(alive == 0);
    CHECK(log.size() == 4);  // every task finished its cleanup before the scope completed
    outcome_log = log;
  });
  CHECK(outcome_log.size() == 4);
}

TEST_CASE(
    "scope: cancelled from outside, it aborts every task and the body, waits for all, then "
    "completes with the cancellation",
    "[scope][structured][cancel]") {
  net::io_context ioc;
  int alive = 0;
  bool body_cancelled = false;
  co_run(ioc, [&]() -> awaitable<void> {
    std::vector<int> log;
    auto guarded = [&]() -> awaitable<void> {
      co_await joinery::scope<int>([&](joinery::join_set<int>& group) -> awaitable<void> {
        for (int i = 0; i < 3; ++i)
          group.spawn(slow_to_stop(15ms, log, i, alive));
        try {
          co_await forever();
        } catch (const joinery::system_error& e) {
          body_cancelled = e.code() == net::error::operation_aborted;
          throw;
        }
      });
    };
    bool threw_aborted = false;
    try {
      // The timer wins: the scope's co_await is cancelled (terminal).
      co_await (guarded() || sleep_for(5ms));
    } catch (const joinery::system_error& e) {
      threw_aborted = e.code() == net::error::operation_aborted;
    }
    // `||` swallows the cancelled branch's completion: the scope completed
    // (it must have, for `||` to return), and only after its tasks ended.
    (void)threw_aborted;
    CHECK(alive == 0);
    CHECK(log.size() == 3);
  });
  CHECK(body_cancelled);
}

TEST_CASE(
    "scope: cancelled after the body returned, while it joins what is left, it aborts those tasks",
    "[scope][structured][cancel]") {
  net::io_context ioc;
  int alive = 0;
  bool body_returned = false;
  co_run(ioc, [&]() -> awaitable<void> {
    auto guarded = [&]() -> awaitable<void> {
      co_await joinery::scope<int>([&](joinery::join_set<int>& group) -> awaitable<void> {
        group.spawn(never());  // only an abort ends it
        group.spawn(after(1ms, 1, alive));
        body_returned = true;
        co_return;
      });
    };
    try {
      co_await (guarded() || sleep_for(10ms));
    } catch (const joinery::system_error&) {
    }
    CHECK(alive == 0);
  });
  CHECK(body_returned);
}

TEST_CASE("scope: cancellation of the scope's co_await surfaces as operation_aborted",
          "[scope][structured][cancel]") {
  net::io_context ioc;
  int alive = 0;
  co_run(ioc, [&]() -> awaitable<void> {
    net::cancellation_signal signal;
    std::optional<joinery::error_code> ec;
    std::vector<int> log;
    net::co_spawn(ioc, joinery::scope<int>([&](joinery::join_set<int>& group) -> awaitable<void> {
                    group.spawn(slow_to_stop(10ms, log, 1, alive));
                    co_await forever();
                  }),
                  net::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) {
                    try {
                      if (e)
                        std::rethrow_exception(e);
                      ec.emplace();
                    } catch (const joinery::system_error& se) {
                      ec = se.code();
                    }
                  }));
    co_await sleep_for(2ms);
    signal.emit(net::cancellation_type::terminal);
    while (!ec)
      co_await sleep_for(1ms);
    CHECK(*ec == net::error::operation_aborted);
    CHECK(alive == 0);
    CHECK(log.size() == 1);
  });
}

TEST_CASE("scope: fail_fast aborts the other tasks and the body, then throws the failure",
          "[scope][structured][fail_fast]") {
  net::io_context ioc;
  int alive = 0;
  bool body_cancelled = false;
  co_run(ioc, [&]() -> awaitable<void> {
    std::string caught;
    try {
      co_await joinery::scope<int>(
          joinery::fail_fast, [&](joinery::join_set<int>& group) -> awaitable<void> {
            group.spawn(fails_after(5ms, "the cause", alive));
            group.spawn(after(10s, 1, alive));  // would run for 10 s: aborted
            try {
              co_await forever();
            } catch (const joinery::system_error& e) {
              body_cancelled = e.code() == net::error::operation_aborted;
              throw;
            }
          });
    } catch (const task_error& e) {
      caught = e.what();
    }
    CHECK(caught == "the cause");  // not the body's cancellation
    CHECK(alive == 0);
  });
  CHECK(body_cancelled);
}

TEST_CASE("scope: fail_fast with a timeout as the failure throws task_timed_out",
          "[scope][structured][fail_fast]") {
  net::io_context ioc;
  int alive = 0;
  co_run(ioc, [&]() -> awaitable<void> {
    bool timed_out = false;
    try {
      co_await joinery::scope<int>(joinery::fail_fast,
                                   [&](joinery::join_set<int>& group) -> awaitable<void> {
                                     group.spawn_with_timeout(5ms, after(10s, 1, alive));
                                     group.spawn(after(10s, 2, alive));
                                     co_await forever();
                                   });
    } catch (const joinery::task_timed_out&) {
      timed_out = true;
    }
    CHECK(timed_out);
    CHECK(alive == 0);
  });
}

TEST_CASE("scope: without fail_fast a failing task aborts nothing",
          "[scope][structured][fail_fast]") {
  net::io_context ioc;
  int alive = 0;
  co_run(ioc, [&]() -> awaitable<void> {
    std::optional<int> second;
    std::string caught;
    try {
      co_await joinery::scope<int>([&](joinery::join_set<int>& group) -> awaitable<void> {
        group.spawn(fails_after(1ms, "early", alive));
        group.spawn(after(20ms, 2, alive));
        co_await sleep_for(5ms);  // the failure happens while the body runs
        auto next = co_await group.async_join_next();
        second = next && *next ? std::optional<int>(next->value()) : std::nullopt;
        co_return;
      });
    } catch (const task_error& e) {
      caught = e.what();
    }
    CHECK(caught.empty());  // the body joined the failure itself
    CHECK_FALSE(second);    // the body's join took the failed outcome first
    CHECK(alive == 0);
  });
}

TEST_CASE("scope: a cancelled task is not a failure for fail_fast",
          "[scope][structured][fail_fast]") {
  net::io_context ioc;
  int alive = 0;
  std::optional<int> got;
  co_run(ioc, [&]() -> awaitable<void> {
    got = co_await joinery::scope<int>(joinery::fail_fast,
                                       [&](joinery::join_set<int>& group) -> awaitable<int> {
                                         auto h = group.spawn(after(10s, 1, alive));
                                         group.spawn(after(5ms, 2, alive));
                                         h.abort();  // cancelled: asked for, not a failure
                                         co_return 3;
                                       });
  });
  CHECK(got == 3);
  CHECK(alive == 0);
}

TEST_CASE("keyed_scope: the same rules with a join_map, and the body may join by key",
          "[scope][structured]") {
  net::io_context ioc;
  int alive = 0;
  co_run(ioc, [&]() -> awaitable<void> {
    int a = co_await joinery::keyed_scope<std::string, int>(
        [&](joinery::join_map<std::string, int>& group) -> awaitable<int> {
          group.spawn("a", after(2ms, 10, alive));
          group.spawn("b", after(10ms, 20, alive));
          auto outcome = co_await group.async_join("a");
          co_return outcome->value();
        });
    CHECK(a == 10);
    CHECK(alive == 0);  // "b" was joined by the scope
    std::string caught;
    try {
      co_await joinery::keyed_scope<std::string, int>(
          joinery::fail_fast, [&](auto& group) -> awaitable<void> {
            group.spawn("bad", fails_after(2ms, "keyed cause", alive));
            group.spawn("slow", after(10s, 1, alive));
            co_await forever();
          });
    } catch (const task_error& e) {
      caught = e.what();
    }
    CHECK(caught == "keyed cause");
    CHECK(alive == 0);
  });
}

TEST_CASE("scope: a task spawned into the group by another task while the scope drains is joined",
          "[scope][structured]") {
  net::io_context ioc;
  int alive = 0;
  co_run(ioc, [&]() -> awaitable<void> {
    co_await joinery::scope<int>([&](joinery::join_set<int>& group) -> awaitable<void> {
      group.spawn([&group, &alive]() -> awaitable<int> {
        co_await sleep_for(2ms);  // the body has returned by now
        group.spawn(after(10ms, 2, alive));
        co_return 1;
      });
      co_return;
    });
    CHECK(alive == 0);  // the grandchild was joined too
  });
}

TEST_CASE("scope: tasks run on the awaiting coroutine's executor, in parallel on several threads",
          "[scope][structured][threads]") {
  net::io_context ioc;
  std::atomic<int> done{0};
  std::atomic<int> done_when_scope_ended{-1};
  net::co_spawn(
      ioc,
      [&]() -> awaitable<void> {
        co_await joinery::scope<void>([&](joinery::join_set<void>& group) -> awaitable<void> {
          for (int i = 0; i < 50; ++i)
            group.spawn([&]() -> awaitable<void> {
              co_await yield();
              done.fetch_add(1);
            });
          co_return;
        });
        done_when_scope_ended =
            done.load();  // checked on the test's thread (Catch2 is not thread-safe)
      },
      net::detached);
  threads_running pool(ioc, 4);
  CHECK(eventually([&] { return done_when_scope_ended.load() >= 0; }));
  pool.stop();
  CHECK(done_when_scope_ended.load() == 50);
}
