// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// The server loop's operations: a join that waits while the group is empty
// (wait_if_empty), and the per-key operations of join_map (async_join,
// detach, is_finished, get_abort_handle) with ready_count.

#include <joinery/join_map.hpp>
#include <joinery/join_set.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace joinery::test;
using net::awaitable;

namespace {

using int_map = joinery::join_map<int, int>;
using next_t = std::optional<int_map::value_type>;
using outcome_t = std::optional<joinery::join_result<int>>;

// A task that returns `v` once `g` opens.
awaitable<int> value_when(gate g, int v) {
  co_await g.wait();
  co_return v;
}

constexpr net::cancellation_type cancellation_types[] = {net::cancellation_type::terminal,
                                                         net::cancellation_type::partial,
                                                         net::cancellation_type::total};

}  // namespace

// --- wait_if_empty ------------------------------------------------------------

TEST_CASE(
    "wait_if_empty: a join on an empty map waits until a task is spawned and finishes (AC-47)",
    "[join_map][wait_if_empty]") {
  net::io_context ioc;
  int_map map(ioc);
  recorder<next_t> join;
  map.async_join_next(joinery::wait_if_empty, join.handler());
  CHECK(join.calls == 0);  // never inside the call
  pump(ioc);
  CHECK(join.calls == 0);  // an empty map does not complete it
  map.spawn(7, value_after(2ms, 70));
  ioc.run_for(1s);
  REQUIRE(join.calls == 1);
  CHECK_FALSE(join.ec);
  REQUIRE(join.value->has_value());
  CHECK((*join.value)->first == 7);
  CHECK((*join.value)->second.value() == 70);
  CHECK(map.empty());
}

TEST_CASE("wait_if_empty: with tasks in the map it delivers the next one as usual (AC-47)",
          "[join_map][wait_if_empty]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc);
    map.spawn(1, value_now(10));
    auto next = co_await map.async_join_next(joinery::wait_if_empty);
    REQUIRE(next);
    CHECK(next->second.value() == 10);
  });
}

TEST_CASE("wait_if_empty: detach_all while it waits does not complete it (AC-47)",
          "[join_map][wait_if_empty]") {
  net::io_context ioc;
  int_map map(ioc);
  map.spawn(1, never());
  recorder<next_t> join;
  map.async_join_next(joinery::wait_if_empty, join.handler());
  pump(ioc);
  map.detach_all();
  pump(ioc);
  CHECK(join.calls == 0);
  map.spawn(2, value_now(20));
  ioc.run_for(1s);
  REQUIRE(join.calls == 1);
  CHECK((*join.value)->first == 2);
}

TEST_CASE("wait_if_empty: any cancellation type completes it with operation_aborted (AC-47)",
          "[join_map][wait_if_empty][cancel]") {
  for (auto type : cancellation_types) {
    net::io_context ioc;
    int_map map(ioc);
    net::cancellation_signal sig;
    recorder<next_t> join;
    map.async_join_next(joinery::wait_if_empty,
                        net::bind_cancellation_slot(sig.slot(), join.handler()));
    pump(ioc);
    sig.emit(type);
    pump(ioc);
    REQUIRE(join.calls == 1);
    CHECK(join.ec == net::error::operation_aborted);
    CHECK_FALSE(*join.value);
  }
}

TEST_CASE("wait_if_empty: a cancelled wait that was woken consumes nothing (AC-47)",
          "[join_map][wait_if_empty][cancel]") {
  net::io_context ioc;
  int_map map(ioc);
  net::cancellation_signal sig;
  recorder<next_t> join;
  map.async_join_next(joinery::wait_if_empty,
                      net::bind_cancellation_slot(sig.slot(), join.handler()));
  pump(ioc);
  map.spawn(3, value_now(30));
  ioc.poll_one();  // the task runs and wakes the join: its completion is queued
  sig.emit(net::cancellation_type::terminal);
  pump(ioc);
  REQUIRE(join.calls == 1);
  CHECK(join.ec == net::error::operation_aborted);
  auto later = map.try_join_next();
  REQUIRE(later);
  CHECK(later->second.value() == 30);
}

TEST_CASE("wait_if_empty: destroying the map completes it with operation_aborted (AC-47)",
          "[join_map][wait_if_empty][lifetime]") {
  net::io_context ioc;
  recorder<next_t> join;
  {
    int_map map(ioc);
    map.async_join_next(joinery::wait_if_empty, join.handler());
    pump(ioc);
  }
  pump(ioc);
  REQUIRE(join.calls == 1);
  CHECK(join.ec == net::error::operation_aborted);
}

TEST_CASE("wait_if_empty: a second concurrent join still gets already_started (AC-47)",
          "[join_map][wait_if_empty]") {
  net::io_context ioc;
  int_map map(ioc);
  recorder<next_t> first, second, third;
  map.async_join_next(joinery::wait_if_empty, first.handler());
  map.async_join_next(joinery::wait_if_empty, second.handler());
  map.async_join_next(third.handler());
  pump(ioc);
  CHECK(first.calls == 0);
  CHECK(second.ec == net::error::already_started);
  CHECK(third.ec == net::error::already_started);
}

TEST_CASE("wait_if_empty: join_set waits too with and without the task's id (AC-47)",
          "[join_set][wait_if_empty]") {
  net::io_context ioc;
  joinery::join_set<int> set(ioc);
  recorder<std::optional<joinery::join_result<int>>> plain;
  set.async_join_next(joinery::wait_if_empty, plain.handler());
  pump(ioc);
  CHECK(plain.calls == 0);
  set.spawn(value_now(5));
  ioc.run_for(1s);
  REQUIRE(plain.calls == 1);
  CHECK((*plain.value)->value() == 5);

  recorder<std::optional<std::pair<joinery::task_id, joinery::join_result<int>>>> with_id;
  set.async_join_next_with_id(joinery::wait_if_empty, with_id.handler());
  pump(ioc);
  CHECK(with_id.calls == 0);
  auto h = set.spawn(value_now(6));
  ioc.run_for(1s);
  REQUIRE(with_id.calls == 1);
  CHECK((*with_id.value)->first == h.id());
  CHECK((*with_id.value)->second.value() == 6);
}

// --- async_join (by key) ------------------------------------------------------

TEST_CASE("async_join: delivers the outcome of the task under the key and removes it (AC-48)",
          "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  gate g(ioc.get_executor());
  map.spawn(1, value_when(g, 10));
  map.spawn(2, value_now(20));
  recorder<outcome_t> join;
  map.async_join(1, join.handler());
  CHECK(join.calls == 0);
  pump(ioc);
  CHECK(join.calls == 0);  // task 1 still runs; task 2's finish is not for it
  CHECK(map.contains(1));
  g.open();
  ioc.run_for(1s);
  REQUIRE(join.calls == 1);
  CHECK_FALSE(join.ec);
  CHECK((*join.value)->value() == 10);
  CHECK_FALSE(map.contains(1));
  CHECK(map.contains(2));  // the other task was not taken
  CHECK(map.size() == 1);
}

TEST_CASE(
    "async_join: a task that had already finished is delivered but never inside the call (AC-48)",
    "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  map.spawn(1, value_now(11));
  pump(ioc);
  REQUIRE(map.is_finished(1));
  recorder<outcome_t> join;
  map.async_join(1, join.handler());
  CHECK(join.calls == 0);
  pump(ioc);
  REQUIRE(join.calls == 1);
  CHECK((*join.value)->value() == 11);
  CHECK(map.empty());
}

TEST_CASE("async_join: a missing key completes with not_found but not inside the call (AC-48)",
          "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  recorder<outcome_t> join;
  map.async_join(9, join.handler());
  CHECK(join.calls == 0);
  pump(ioc);
  REQUIRE(join.calls == 1);
  CHECK(join.ec == net::error::not_found);
  CHECK(join.ec == joinery::error::nothing_to_join);
  CHECK_FALSE(*join.value);
#if !defined(JOINERY_STANDALONE_ASIO)  // std::error_code carries no operation name
  CHECK(join.ec.what().find("joinery::join_map::async_join") != std::string::npos);
#endif
}

TEST_CASE("async_join: a task taken by another join before is not found (AC-48)",
          "[join_map][keyed]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc);
    map.spawn(1, value_now(1));
    auto taken = co_await map.async_join_next();
    REQUIRE(taken);
    auto [ec, outcome] = co_await map.async_join(1, net::as_tuple(net::deferred));
    CHECK(ec == net::error::not_found);
    CHECK_FALSE(outcome);
  });
}

TEST_CASE(
    "async_join: a task that leaves the map unfinished completes the wait with not_found (AC-48)",
    "[join_map][keyed]") {
  enum leave { replaced, detached, detached_all };
  for (leave how : {replaced, detached, detached_all}) {
    net::io_context ioc;
    int_map map(ioc);
    map.spawn(1, never());
    recorder<outcome_t> join;
    map.async_join(1, join.handler());
    pump(ioc);
    switch (how) {
      case replaced:
        map.spawn(1, value_now(2));
        break;
      case detached:
        CHECK(map.detach(1));
        break;
      case detached_all:
        map.detach_all();
        break;
    }
    pump(ioc);
    REQUIRE(join.calls == 1);
    CHECK(join.ec == net::error::not_found);
    CHECK_FALSE(*join.value);
    if (how == replaced) {
      auto next = map.try_join_next();  // the replacement is the map's, unaffected
      REQUIRE(next);
      CHECK(next->second.value() == 2);
    }
  }
}

TEST_CASE(
    "async_join: a cancelled wait completes with operation_aborted and consumes nothing (AC-48)",
    "[join_map][keyed][cancel]") {
  for (auto type : cancellation_types) {
    for (bool finished_first : {false, true}) {
      net::io_context ioc;
      int_map map(ioc);
      gate g(ioc.get_executor());
      map.spawn(1, value_when(g, 10));
      if (finished_first) {
        g.open();
        pump(ioc);
      }
      net::cancellation_signal sig;
      recorder<outcome_t> join;
      map.async_join(1, net::bind_cancellation_slot(sig.slot(), join.handler()));
      sig.emit(type);  // before or after its completion was queued: either way
      pump(ioc);
      REQUIRE(join.calls == 1);
      CHECK(join.ec == net::error::operation_aborted);
      CHECK_FALSE(*join.value);
      CHECK(map.contains(1));
      g.open();
      pump(ioc);
      auto later = map.try_join_next();  // the outcome stayed for later joins
      REQUIRE(later);
      CHECK(later->second.value() == 10);
    }
  }
}

TEST_CASE("async_join: destroying the map completes the wait with operation_aborted (AC-48)",
          "[join_map][keyed][lifetime]") {
  net::io_context ioc;
  recorder<outcome_t> join;
  {
    int_map map(ioc);
    map.spawn(1, never());
    map.async_join(1, join.handler());
    pump(ioc);
  }
  pump(ioc);
  REQUIRE(join.calls == 1);
  CHECK(join.ec == net::error::operation_aborted);
}

TEST_CASE("async_join: a second async_join on the same key gets already_started (AC-48)",
          "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  map.spawn(1, never());
  map.spawn(2, value_after(1ms, 2));
  recorder<outcome_t> first, second, other;
  map.async_join(1, first.handler());
  map.async_join(1, second.handler());
  map.async_join(2, other.handler());  // another key: fine
  ioc.run_for(200ms);
  CHECK(first.calls == 0);
  REQUIRE(second.calls == 1);
  CHECK(second.ec == net::error::already_started);
#if !defined(JOINERY_STANDALONE_ASIO)  // std::error_code carries no operation name
  CHECK(second.ec.what().find("joinery::join_map::async_join") != std::string::npos);
#endif
  REQUIRE(other.calls == 1);
  CHECK((*other.value)->value() == 2);
}

TEST_CASE(
    "async_join: its task goes to it only and not to async_join_next or try_join_next (AC-48)",
    "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  gate g1(ioc.get_executor()), g2(ioc.get_executor());
  map.spawn(1, value_when(g1, 10));
  map.spawn(2, value_when(g2, 20));
  recorder<outcome_t> keyed;
  recorder<next_t> next;
  map.async_join(1, keyed.handler());
  map.async_join_next(next.handler());
  pump(ioc);
  g1.open();
  pump(ioc);
  CHECK(map.try_join_next() == std::nullopt);  // task 1 is reserved for its keyed join
  REQUIRE(keyed.calls == 1);
  CHECK((*keyed.value)->value() == 10);
  CHECK(next.calls == 0);
  g2.open();
  pump(ioc);
  REQUIRE(next.calls == 1);
  CHECK((*next.value)->first == 2);
}

TEST_CASE(
    "async_join: a finished task waiting for its keyed join is skipped by try_join_next (AC-48)",
    "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  map.spawn(1, value_now(10));
  map.spawn(2, value_now(20));
  pump(ioc);  // both finished; 1 first
  recorder<outcome_t> keyed;
  map.async_join(1, keyed.handler());
  CHECK(map.ready_count() == 2);  // still counted while it waits to be delivered
  CHECK(map.is_finished(1));
  auto next = map.try_join_next();
  REQUIRE(next);
  CHECK(next->first == 2);
  pump(ioc);
  REQUIRE(keyed.calls == 1);
  CHECK((*keyed.value)->value() == 10);
  CHECK(map.ready_count() == 0);
}

TEST_CASE(
    "async_join: a map holding only keyed tasks is empty to async_join_next unless it "
    "waits (AC-48)",
    "[join_map][keyed][wait_if_empty]") {
  net::io_context ioc;
  int_map map(ioc);
  gate g(ioc.get_executor());
  map.spawn(1, value_when(g, 10));
  recorder<outcome_t> keyed;
  map.async_join(1, keyed.handler());
  recorder<next_t> plain, waiting;
  map.async_join_next(plain.handler());
  pump(ioc);
  REQUIRE(plain.calls == 1);  // it could never deliver task 1
  CHECK_FALSE(plain.ec);
  CHECK_FALSE(*plain.value);
  map.async_join_next(joinery::wait_if_empty, waiting.handler());
  pump(ioc);
  CHECK(waiting.calls == 0);
  g.open();
  pump(ioc);
  CHECK(keyed.calls == 1);
  CHECK(waiting.calls == 0);  // task 1 went to its keyed join
  map.spawn(2, value_now(20));
  pump(ioc);
  REQUIRE(waiting.calls == 1);
  CHECK((*waiting.value)->first == 2);
}

TEST_CASE(
    "async_join: a pending async_join_next becomes empty when a keyed join claims the last "
    "task (AC-48)",
    "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  map.spawn(1, never());
  recorder<next_t> plain;
  map.async_join_next(plain.handler());
  pump(ioc);
  CHECK(plain.calls == 0);
  recorder<outcome_t> keyed;
  map.async_join(1, keyed.handler());
  pump(ioc);
  REQUIRE(plain.calls == 1);
  CHECK_FALSE(*plain.value);
  CHECK(keyed.calls == 0);
}

TEST_CASE(
    "async_join: a task replaced under a keyed join's key counts as the map's again for "
    "async_join_next before the old wait completes (AC-48)",
    "[join_map][keyed]") {
  // Found by the differential fuzzer: the old keyed join, whose not_found
  // completion had not run yet, still counted as holding a task, so a join
  // started at once took the map (one task, the replacement) for empty.
  for (bool detach_instead : {false, true}) {
    net::io_context ioc;
    int_map map(ioc);
    map.spawn(1, never());
    if (detach_instead)
      map.spawn(2, never());
    recorder<outcome_t> keyed;
    map.async_join(1, keyed.handler());
    if (detach_instead)
      CHECK(map.detach(1));  // task 2 stays, nobody waits for it
    else
      map.spawn(1, value_now(5));  // no pump: the old wait's completion is queued
    recorder<next_t> plain;
    map.async_join_next(plain.handler());
    pump(ioc);
    CHECK(keyed.calls == 1);
    CHECK(keyed.ec == net::error::not_found);
    if (detach_instead) {
      CHECK(plain.calls == 0);  // task 2 is deliverable: it waits for it
      CHECK(map.abort(2));
      pump(ioc);
    }
    REQUIRE(plain.calls == 1);
    CHECK_FALSE(plain.ec);
    REQUIRE(*plain.value);
    CHECK((*plain.value)->first == (detach_instead ? 2 : 1));
  }
}

TEST_CASE("async_join: an aborted task is delivered to its keyed join as cancelled (AC-48)",
          "[join_map][keyed][abort]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc);
    map.spawn(1, never());
    map.abort(1);
    auto [ec, outcome] = co_await map.async_join(1, net::as_tuple(net::deferred));
    CHECK_FALSE(ec);
    REQUIRE(outcome);
    CHECK(outcome->error().is_cancelled());
  });
}

TEST_CASE("async_join: works with coroutines and transparent keys (AC-48)", "[join_map][keyed]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<std::string, int> map(ioc);
    map.spawn("alpha", value_after(1ms, 1));
    map.spawn("beta", never());
    CHECK(map.get_abort_handle(std::string_view("beta")).has_value());
    CHECK_FALSE(map.is_finished("alpha"));
    auto outcome = co_await map.async_join(std::string_view("alpha"));
    REQUIRE(outcome);
    CHECK(outcome->value() == 1);
    CHECK(map.detach("beta"));
    CHECK_FALSE(map.detach("beta"));
    CHECK(map.empty());
  });
}

// --- detach, is_finished, get_abort_handle, ready_count -----------------------

TEST_CASE("detach: removes the task without aborting it and its abort_handle keeps working (AC-48)",
          "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  std::atomic<bool> ran_to_end{false};
  gate g(ioc.get_executor());
  map.spawn(1, [&, g]() -> awaitable<int> {
    co_await g.wait();
    ran_to_end = true;
    co_return 1;
  });
  map.spawn(2, never());
  auto h2 = *map.get_abort_handle(2);
  CHECK(map.detach(1));
  CHECK(map.detach(2));
  CHECK_FALSE(map.detach(3));
  CHECK(map.empty());
  g.open();
  pump(ioc);
  CHECK(ran_to_end);                           // not aborted
  CHECK(map.try_join_next() == std::nullopt);  // its outcome goes to nobody
  CHECK_FALSE(h2.is_finished());
  h2.abort();  // still works
  pump(ioc);
  CHECK(h2.is_finished());
}

TEST_CASE("detach: a finished task's outcome is dropped at once (AC-48)", "[join_map][keyed]") {
  net::io_context ioc;
  joinery::join_map<int, counted> map(ioc);
  const int before = counted::live;
  map.spawn(1, []() -> awaitable<counted> { co_return counted(1); });
  pump(ioc);
  CHECK(map.ready_count() == 1);
  CHECK(counted::live == before + 1);
  CHECK(map.detach(1));
  CHECK(map.ready_count() == 0);
  CHECK(counted::live == before);
}

TEST_CASE(
    "detach: a pending async_join_next completes with nullopt when the map becomes empty (AC-48)",
    "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  map.spawn(1, never());
  recorder<next_t> plain;
  map.async_join_next(plain.handler());
  pump(ioc);
  map.detach(1);
  pump(ioc);
  REQUIRE(plain.calls == 1);
  CHECK_FALSE(*plain.value);
}

TEST_CASE(
    "is_finished: true from the task's end until a join takes it and false while it runs "
    "and for a missing key",
    "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  gate g(ioc.get_executor());
  map.spawn(1, value_when(g, 1));
  CHECK_FALSE(map.is_finished(1));
  CHECK_FALSE(map.is_finished(2));
  pump(ioc);
  CHECK_FALSE(map.is_finished(1));
  g.open();
  pump(ioc);
  CHECK(map.is_finished(1));
  auto next = map.try_join_next();
  REQUIRE(next);
  CHECK_FALSE(map.is_finished(1));
}

TEST_CASE(
    "get_abort_handle: the handle of the task under the key or nullopt for a missing key (AC-48)",
    "[join_map][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  auto spawned = map.spawn(1, never());
  auto found = map.get_abort_handle(1);
  REQUIRE(found);
  CHECK(*found == spawned);
  CHECK(found->id() == spawned.id());
  CHECK_FALSE(map.get_abort_handle(2));
  found->abort();
  pump(ioc);
  auto next = map.try_join_next();
  REQUIRE(next);
  CHECK(next->second.error().is_cancelled());
}

TEST_CASE("ready_count: counts finished tasks awaiting a join while size counts them all (AC-48)",
          "[join_map][join_set][keyed]") {
  net::io_context ioc;
  int_map map(ioc);
  joinery::join_set<int> set(ioc);
  CHECK(map.ready_count() == 0);
  CHECK(set.ready_count() == 0);
  map.spawn(1, value_now(1));
  map.spawn(2, never());
  set.spawn(value_now(1));
  set.spawn(never());
  pump(ioc);
  CHECK(map.ready_count() == 1);
  CHECK(map.size() == 2);
  CHECK(set.ready_count() == 1);
  CHECK(set.size() == 2);
  (void)map.try_join_next();
  (void)set.try_join_next();
  CHECK(map.ready_count() == 0);
  CHECK(set.ready_count() == 0);
}

// --- Threads ------------------------------------------------------------------

TEST_CASE(
    "async_join: many keyed waits while tasks finish on four threads get each outcome once (AC-48)",
    "[join_map][keyed][threads]") {
  net::io_context ioc;
  auto strand = net::make_strand(ioc);
  constexpr int tasks = 400;
  std::atomic<int> keyed{0}, next{0}, lost{0};
  std::atomic<bool> done{false};  // written on a pool thread, polled by this one
  net::co_spawn(
      strand,
      [&]() -> awaitable<void> {
        int_map map(ioc.get_executor());  // tasks run on the 4 threads
        std::mt19937 rng(7);
        for (int k = 0; k < tasks; ++k)
          map.spawn(k, [k, d = rng() % 3]() -> awaitable<int> {
            for (unsigned i = 0; i < d; ++i)
              co_await yield();
            co_return k;
          });
        // Keyed joins on the even keys (one at a time per key), the rest by
        // async_join_next: every outcome must arrive exactly once.
        std::set<int> seen;
        int pending = 0;
        for (int k = 0; k < tasks; k += 2) {
          ++pending;
          // The map's thread is the strand: its handlers run there too.
          map.async_join(k, net::bind_executor(strand, [&, k](joinery::error_code ec, outcome_t o) {
                           if (ec || !o || o->value() != k || !seen.insert(k).second)
                             ++lost;
                           ++keyed;
                           --pending;
                         }));
        }
        while (auto n = co_await map.async_join_next(joinery::wait_if_empty, net::deferred)) {
          if (n->first % 2 == 0 || !seen.insert(n->first).second)  // even keys are keyed
            ++lost;
          ++next;
          if (next == tasks / 2)
            break;
        }
        while (pending > 0)
          co_await yield();
        done = true;
      },
      net::detached);
  {
    threads_running run(ioc, 4);
    CHECK(eventually([&] { return done.load(); }));
  }
  CHECK(keyed == tasks / 2);
  CHECK(next == tasks / 2);
  CHECK(lost == 0);
}
