// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// join_map: aborting tasks, cancelling joins, shutdown, detach, destruction.

#include <joinery/join_map.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <atomic>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace joinery::test;
namespace net = joinery::asio;
using net::awaitable;
using namespace net::experimental::awaitable_operators;

using int_map = joinery::join_map<int, int>;

using join_result_t = std::optional<int_map::value_type>;

// Starts a callback join that records its completion.
struct recorded_join {
  int calls = 0;
  joinery::error_code ec;
  join_result_t next;
  auto handler() {
    return [this](joinery::error_code e, join_result_t n) {
      ++calls;
      ec = e;
      next = std::move(n);
    };
  }
};

}  // namespace

TEST_CASE("join_map: abort of a missing key returns false (AC-17, AC-22)", "[join_map][abort]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  CHECK_FALSE(map.abort(1));
  map.spawn(1, never());
  CHECK_FALSE(map.abort(2));
  CHECK(map.abort(1));
  CHECK(map.abort(1));  // idempotent, and the key is still there
  CHECK(map.size() == 1);
}

TEST_CASE("join_map: aborting a finished unjoined task returns true and keeps its value (AC-20)",
          "[join_map][abort]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    auto h = map.spawn(1, value_now(11));
    while (!h.is_finished())
      co_await yield();
    CHECK(map.abort(1));
    auto next = co_await map.async_join_next();
    REQUIRE(next);
    CHECK(next->second.value() == 11);
    CHECK_FALSE(map.contains(1));
  });
}

TEST_CASE(
    "join_map: abort_all leaves size unchanged, finished tasks keep values, others cancel "
    "(AC-19)",
    "[join_map][abort]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    for (int i = 0; i < 5; ++i)
      map.spawn(i, value_now(i));
    for (int i = 5; i < 10; ++i)
      map.spawn(i, never());
    co_await sleep_for(1ms);
    map.abort_all();
    CHECK(map.size() == 10);
    int values = 0, cancelled = 0;
    while (auto next = co_await map.async_join_next()) {
      if (next->first < 5) {
        CHECK(next->second.value() == next->first);
        ++values;
      } else {
        REQUIRE(next->second.has_error());
        CHECK(next->second.error().is_cancelled());
        ++cancelled;
      }
    }
    CHECK(values == 5);
    CHECK(cancelled == 5);
    CHECK(map.empty());
  });
}

TEST_CASE("join_map: a task aborted before it first runs never runs its body (B-A7)",
          "[join_map][abort]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    bool ran = false;
    map.spawn(1, [&ran]() -> awaitable<int> {
      ran = true;
      co_return 1;
    });
    map.abort(1);
    auto next = co_await map.async_join_next();
    REQUIRE(next);
    CHECK(next->second.error().is_cancelled());
    CHECK_FALSE(ran);
  });
}

TEST_CASE("join_map: spawn never runs the task inline, and it runs even if nobody joins (AC-09)",
          "[join_map]") {
  net::io_context ioc;
  bool ran = false;
  int_map map(ioc.get_executor());
  map.spawn(1, [&ran]() -> awaitable<int> {
    ran = true;
    co_return 1;
  });
  CHECK_FALSE(ran);
  ioc.poll();
  CHECK(ran);
}

TEST_CASE(
    "join_map: an aborted task that catches, returns or throws on its way out is "
    "reported cancelled (AC-25)",
    "[join_map][abort]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    map.spawn(1, []() -> awaitable<int> {
      try {
        co_await forever();
      } catch (...) {
      }
      co_return 5;  // swallows the cancellation and returns a value
    });
    map.spawn(2, []() -> awaitable<int> {
      try {
        co_await forever();
      } catch (...) {
        throw std::runtime_error("cleanup failed");  // throws while unwinding
      }
      co_return 6;
    });
    co_await yield();
    map.abort_all();
    int n = 0;
    while (auto next = co_await map.async_join_next()) {
      ++n;
      REQUIRE(next->second.has_error());
      CHECK(next->second.error().is_cancelled());
      CHECK_FALSE(next->second.error().exception());
    }
    CHECK(n == 2);
  });
}

TEST_CASE(
    "join_map: a task's own operation_aborted, without abort, is an exception, not "
    "cancelled",
    "[join_map][errors]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    map.spawn(1, []() -> awaitable<int> {
      throw joinery::system_error(net::error::operation_aborted);
      co_return 0;
    });
    auto next = co_await map.async_join_next();
    REQUIRE(next);
    CHECK(next->second.error().is_exception());
  });
}

TEST_CASE("join_map: destroying the map aborts every task and releases their state (AC-26)",
          "[join_map][lifetime]") {
  net::io_context ioc;
  const int before = counted::live;
  std::vector<joinery::abort_handle> handles;
  {
    int_map map(ioc.get_executor());
    for (int i = 0; i < 16; ++i) {
      handles.push_back(map.spawn(i, [c = counted(i)]() -> awaitable<int> {
        co_await forever();
        co_return c.value;
      }));
    }
    ioc.poll();
    CHECK(counted::live == before + 16);
  }
  ioc.restart();
  ioc.poll();
  CHECK(counted::live == before);
  for (auto& h : handles)
    CHECK(h.is_finished());
}

TEST_CASE(
    "join_map: destroying the map before the executor ran anything releases every task "
    "once it runs (AC-28)",
    "[join_map][lifetime]") {
  net::io_context ioc;
  const int before = counted::live;
  bool ran = false;
  {
    int_map map(ioc.get_executor());
    for (int i = 0; i < 16; ++i) {
      map.spawn(i, [c = counted(i), &ran]() -> awaitable<int> {
        ran = true;
        co_return c.value;
      });
    }
  }
  CHECK(counted::live == before + 16);
  ioc.poll();
  CHECK(counted::live == before);
  CHECK_FALSE(ran);
}

TEST_CASE("join_map: async_shutdown aborts, waits for every task and empties the map (AC-27)",
          "[join_map][shutdown]") {
  net::io_context ioc;
  const int before = counted::live;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    for (int i = 0; i < 10; ++i) {
      map.spawn(i, [c = counted(i)]() -> awaitable<int> {
        co_await forever();
        co_return c.value;
      });
    }
    map.spawn(100, []() -> awaitable<int> { throw std::runtime_error("ignored"); });
    co_await yield();
    co_await map.async_shutdown();
    CHECK(map.empty());
    CHECK(counted::live == before);
    co_await map.async_shutdown();  // on an empty map: completes at once
  });
}

TEST_CASE(
    "join_map: detach_all empties the map, tasks run on, and the map's destruction "
    "leaves them alone (AC-29)",
    "[join_map][detach]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    std::atomic<int> finished{0};
    joinery::abort_handle h;
    {
      int_map map(ioc.get_executor());
      for (int i = 0; i < 3; ++i) {
        auto a = map.spawn(i, [&finished, i]() -> awaitable<int> {
          co_await sleep_for(5ms);
          ++finished;
          co_return i;
        });
        if (i == 0)
          h = a;
      }
      map.detach_all();
      CHECK(map.size() == 0);
      CHECK_FALSE(map.contains(0));
      auto joined = co_await map.async_join_next();
      CHECK_FALSE(joined);
      CHECK_FALSE(map.abort(0));  // detached tasks are no longer in the map
    }
    CHECK_FALSE(h.is_finished());
    co_await sleep_for(30ms);
    CHECK(finished == 3);
    CHECK(h.is_finished());
  });
}

TEST_CASE("join_map: a detached task can still be aborted through its abort_handle",
          "[join_map][detach]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    auto h = map.spawn(1, never());
    co_await yield();
    map.detach_all();
    h.abort();
    co_await yield();
    co_await yield();
    CHECK(h.is_finished());
  });
}

TEST_CASE("join_map: a pending join completes with nullopt when detach_all empties the map",
          "[join_map][detach]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  map.spawn(1, never());
  recorded_join j;
  map.async_join_next(j.handler());
  ioc.poll();
  CHECK(j.calls == 0);
  map.detach_all();
  ioc.poll();
  CHECK(j.calls == 1);
  CHECK_FALSE(j.ec);
  CHECK_FALSE(j.next);
}

TEST_CASE("join_map: abort_handle stays safe after the map and the task are gone",
          "[join_map][lifetime]") {
  net::io_context ioc;
  joinery::abort_handle h;
  {
    int_map map(ioc.get_executor());
    h = map.spawn(1, never());
    ioc.poll();
    CHECK_FALSE(h.is_finished());
  }
  ioc.restart();
  ioc.poll();
  CHECK(h.is_finished());
  h.abort();  // no effect, no crash
  joinery::abort_handle empty;
  empty.abort();
  CHECK(empty.is_finished());
  CHECK(empty.id() == joinery::task_id());
}

TEST_CASE("join_map: a second concurrent join completes at once with already_started (AC-39)",
          "[join_map][join]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  map.spawn(1, value_after(5ms, 1));
  recorded_join first, second;
  map.async_join_next(first.handler());
  map.async_join_next(second.handler());
  ioc.poll();
  CHECK(second.calls == 1);
  CHECK(second.ec == net::error::already_started);
  CHECK_FALSE(second.next);
  CHECK(first.calls == 0);
  ioc.run_for(1s);
  CHECK(first.calls == 1);
  REQUIRE(first.next);
  CHECK(first.next->second.value() == 1);
}

TEST_CASE("join_map: the handler is never invoked inside async_join_next", "[join_map][join]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  recorded_join empty, ready;
  map.async_join_next(empty.handler());
  CHECK(empty.calls == 0);
  ioc.poll();
  CHECK(empty.calls == 1);
  map.spawn(1, value_now(1));
  ioc.restart();
  ioc.poll();
  map.async_join_next(ready.handler());
  CHECK(ready.calls == 0);
  ioc.restart();
  ioc.poll();
  CHECK(ready.calls == 1);
}

TEST_CASE("join_map: destroying the map completes a pending join with operation_aborted",
          "[join_map][join]") {
  net::io_context ioc;
  recorded_join j;
  {
    int_map map(ioc.get_executor());
    map.spawn(1, never());
    map.async_join_next(j.handler());
    ioc.poll();
  }
  ioc.restart();
  ioc.poll();
  CHECK(j.calls == 1);
  CHECK(j.ec == net::error::operation_aborted);
}

TEST_CASE("join_map: cancelling a join, of any cancellation type, aborts the wait only",
          "[join_map][cancel]") {
  const auto type = GENERATE(net::cancellation_type::terminal, net::cancellation_type::partial,
                             net::cancellation_type::total);
  net::io_context ioc;
  int_map map(ioc.get_executor());
  map.spawn(1, value_after(20ms, 1));
  net::cancellation_signal sig;
  recorded_join j;
  map.async_join_next(net::bind_cancellation_slot(sig.slot(), j.handler()));
  ioc.poll();
  sig.emit(type);
  ioc.poll();
  CHECK(j.calls == 1);
  CHECK(j.ec == net::error::operation_aborted);
  CHECK_FALSE(j.next);
  CHECK(map.size() == 1);
  // The task was not touched and its result is still there.
  recorded_join again;
  map.async_join_next(again.handler());
  ioc.run_for(1s);
  REQUIRE(again.next);
  CHECK(again.next->second.value() == 1);
}

TEST_CASE("join_map: a join cancelled after it was woken leaves the result queued",
          "[join_map][cancel]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  map.spawn(1, value_now(1));
  ioc.poll();  // the task finished: its result is ready
  net::cancellation_signal sig;
  recorded_join j;
  map.async_join_next(net::bind_cancellation_slot(sig.slot(), j.handler()));
  sig.emit(net::cancellation_type::terminal);  // before the completion ran
  ioc.restart();
  ioc.poll();
  CHECK(j.calls == 1);
  CHECK(j.ec == net::error::operation_aborted);
  auto next = map.try_join_next();
  REQUIRE(next);
  CHECK(next->second.value() == 1);
}

TEST_CASE(
    "join_map: racing join || timer many times loses no result and reports none twice "
    "(AC-38)",
    "[join_map][cancel]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    constexpr int n = 300;
    for (int i = 0; i < n; ++i)
      map.spawn(i, value_after(std::chrono::milliseconds(i % 7), i));
    // The last task finishes only once a timer has won a race (so at least
    // one join is cancelled while the map is not empty, whatever the
    // machine's speed); the loop ends only if its result is still delivered.
    gate last(ioc.get_executor());
    map.spawn(n, [last, v = n]() -> awaitable<int> {
      co_await last.wait();
      co_return v;
    });
    std::set<int> seen;
    int timeouts = 0;
    while (!map.empty()) {
      net::steady_timer timer(co_await net::this_coro::executor, std::chrono::microseconds(300));
      auto r = co_await (map.async_join_next(net::use_awaitable) ||
                         timer.async_wait(net::use_awaitable));
      if (r.index() == 0) {
        auto& next = std::get<0>(r);
        REQUIRE(next);
        CHECK(next->first == next->second.value());
        CHECK(seen.insert(next->first).second);
      } else {
        ++timeouts;
        last.open();
      }
    }
    CHECK(seen.size() == static_cast<std::size_t>(n + 1));
    CHECK(timeouts > 0);
  });
}

TEST_CASE("join_map: try_join_next does not steal a pending join's wake-up (B-T3) (AC-37)",
          "[join_map][try_join]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  gate g1(ioc.get_executor()), g2(ioc.get_executor());
  map.spawn(1, [g1]() -> awaitable<int> {
    co_await g1.wait();
    co_return 1;
  });
  map.spawn(2, [g2]() -> awaitable<int> {
    co_await g2.wait();
    co_return 2;
  });
  recorded_join j;
  map.async_join_next(j.handler());
  ioc.poll();
  g1.open();
  ioc.run_one();  // task 1 finishes and wakes the join; its completion is queued
  auto stolen = map.try_join_next();
  REQUIRE(stolen);
  CHECK(stolen->first == 1);
  ioc.poll();
  CHECK(j.calls == 0);  // the woken join found nothing and waits again
  g2.open();
  ioc.poll();
  CHECK(j.calls == 1);
  REQUIRE(j.next);
  CHECK(j.next->first == 2);
}

TEST_CASE("join_map: try_join_next taking the last task completes a pending join with nullopt",
          "[join_map][try_join]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  map.spawn(1, value_now(1));
  ioc.poll();
  recorded_join j;
  // Registered before the result is taken; the result is still queued, so
  // the join is woken at once but has not run yet.
  map.async_join_next(j.handler());
  auto next = map.try_join_next();
  REQUIRE(next);
  ioc.restart();
  ioc.poll();
  CHECK(j.calls == 1);
  CHECK_FALSE(j.ec);
  CHECK_FALSE(j.next);
}

TEST_CASE(
    "join_map: with the io_context destroyed, pending tasks are reported cancelled "
    "(AC-30)",
    "[join_map][lifetime]") {
  const int before = counted::live;
  std::optional<net::io_context> ioc(std::in_place);
  int_map map(ioc->get_executor());
  for (int i = 0; i < 4; ++i) {
    map.spawn(i, [c = counted(i)]() -> awaitable<int> {
      co_await forever();
      co_return c.value;
    });
  }
  map.spawn(10, value_now(10));
  ioc->poll();
  ioc.reset();
  CHECK(counted::live == before);
  std::set<int> cancelled;
  int values = 0;
  while (auto next = map.try_join_next()) {
    if (next->second) {
      ++values;
    } else {
      CHECK(next->second.error().is_cancelled());
      cancelled.insert(next->first);
    }
  }
  CHECK(values == 1);
  CHECK(cancelled == std::set<int>{0, 1, 2, 3});
  CHECK(map.empty());
}

TEST_CASE(
    "join_map: destroying the io_context destroys a coroutine waiting in "
    "async_join_next, and the map it owns",
    "[join_map][lifetime]") {
  const int before = counted::live;
  bool resumed = false;
  {
    net::io_context ioc;
    net::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
          counted frame_alive;  // dies only if this coroutine's frame is destroyed
          int_map map(co_await net::this_coro::executor);
          map.spawn(1, [c = counted(1)]() -> awaitable<int> {
            co_await forever();
            co_return c.value;
          });
          co_await map.async_join_next();
          resumed = true;
        },
        net::detached);
    ioc.poll();
    CHECK(counted::live == before + 2);
  }
  CHECK_FALSE(resumed);
  CHECK(counted::live == before);
}

TEST_CASE(
    "join_map: draining 10000 ready results neither overflows the stack nor starves "
    "other handlers (AC-40)",
    "[join_map][join]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    for (int i = 0; i < 10000; ++i)
      map.spawn(i, value_now(i));
    co_await sleep_for(1ms);
    bool other_ran = false;
    net::post(ioc, [&] { other_ran = true; });
    int n = 0;
    while (auto next = co_await map.async_join_next())
      ++n;
    CHECK(n == 10000);
    CHECK(other_ran);
  });
}

TEST_CASE(
    "join_map: abort returns before the task stops, which it does at its next suspension "
    "(AC-22)",
    "[join_map][abort]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  int steps = 0;
  SECTION("suspended in a cancellable wait: it stops there") {
    auto h = map.spawn(1, [&steps]() -> awaitable<int> {
      for (;;) {
        ++steps;
        co_await sleep_for(std::chrono::hours(1));
      }
    });
    ioc.poll();
    REQUIRE(steps == 1);
    map.abort(1);
    map.abort(1);                  // twice is once
    CHECK_FALSE(h.is_finished());  // a request, not a wait
    ioc.poll();
    CHECK(h.is_finished());
    CHECK(steps == 1);
  }
  SECTION("suspended in a wait that ignores cancellation: it stops at its next co_await") {
    auto h = map.spawn(1, [&steps]() -> awaitable<int> {
      for (;;) {
        ++steps;
        co_await yield();  // a post: not cancellable
      }
    });
    ioc.run_one();  // started, suspended in its first yield
    REQUIRE(steps == 1);
    map.abort(1);
    CHECK_FALSE(h.is_finished());
    ioc.poll();
    CHECK(h.is_finished());
    // Called from outside the io_context, the abort is delivered by a
    // handler queued behind the yield already pending: that one resumption
    // runs (step 2) and queues another, which runs (step 3) and throws at
    // its co_await, now cancelled. The task never runs a fourth step.
    CHECK(steps <= 3);
  }
  auto next = map.try_join_next();
  REQUIRE(next);
  CHECK(next->second.error().is_cancelled());
}

TEST_CASE(
    "join_map: an idle task is woken by abort and its captures die with every handle "
    "dropped (AC-23)",
    "[join_map][abort][lifetime]") {
  net::io_context ioc;
  const int before = counted::live;
  int_map map(ioc.get_executor());
  map.spawn(1, [c = counted(1)]() -> awaitable<int> {
    co_await forever();
    co_return c.value;
  });  // the abort_handle is dropped at once
  ioc.poll();
  CHECK(counted::live == before + 1);
  map.abort(1);
  ioc.restart();
  ioc.poll();
  CHECK(counted::live == before);  // gone before anyone joined
  CHECK(map.size() == 1);
}

TEST_CASE(
    "join_map: a task aborted from another thread is torn down on its own executor "
    "(AC-24)",
    "[join_map][abort][threads]") {
  net::io_context ioc;
  struct records_thread {
    std::atomic<std::thread::id>* where;
    ~records_thread() {
      if (where)
        *where = std::this_thread::get_id();
    }
    records_thread(std::atomic<std::thread::id>* w) : where(w) {}
    records_thread(records_thread&& o) noexcept : where(std::exchange(o.where, nullptr)) {}
  };
  std::atomic<std::thread::id> destroyed_on{};
  int_map map(ioc.get_executor());
  auto h = map.spawn(1, [r = records_thread(&destroyed_on)]() -> awaitable<int> {
    co_await forever();
    co_return 0;
  });
  auto guard = net::make_work_guard(ioc);
  std::thread io_thread([&] { ioc.run(); });
  const auto io_id = io_thread.get_id();
  std::this_thread::sleep_for(5ms);  // let it start
  h.abort();                         // from this (non-executor) thread
  while (!h.is_finished())
    std::this_thread::sleep_for(100us);
  guard.reset();
  io_thread.join();
  CHECK(destroyed_on.load() == io_id);
  CHECK(destroyed_on.load() != std::this_thread::get_id());
}

TEST_CASE("join_map: try_join_next finds a ready result behind one that left the queue (AC-36)",
          "[join_map][try_join]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  map.spawn(1, value_now(1));
  map.spawn(2, value_now(2));
  ioc.poll();                        // both finished: 1 then 2 in the ready queue
  map.spawn(1, value_after(1h, 3));  // 1's finished result leaves the queue
  auto next = map.try_join_next();
  REQUIRE(next);
  CHECK(next->first == 2);
  CHECK(next->second.value() == 2);
}

TEST_CASE(
    "join_map: a factory taking a task_id sees the id its handle and its error carry "
    "(AC-43)",
    "[join_map][ids]") {
  net::io_context ioc;
  int_map map(ioc.get_executor());
  joinery::task_id seen, seen_at_teardown;
  struct on_teardown {
    joinery::task_id* out;
    joinery::task_id id;
    ~on_teardown() { *out = id; }
  };
  auto h = map.spawn(1, [&](joinery::task_id id) -> awaitable<int> {
    seen = id;
    on_teardown t{&seen_at_teardown, id};
    co_await forever();
    co_return 0;
  });
  ioc.poll();
  map.abort(1);
  ioc.restart();
  ioc.poll();
  auto next = map.try_join_next();
  REQUIRE(next);
  CHECK(seen == h.id());
  CHECK(seen_at_teardown == h.id());  // also in the task's teardown after the abort
  CHECK(next->second.error().id() == h.id());
}
