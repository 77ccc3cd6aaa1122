// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// A look inside a group: join_map::info(key), snapshot() and stats() (and
// join_set's), task_info and group_stats, and how they print.

#include <joinery/join_map.hpp>
#include <joinery/join_set.hpp>
#include <joinery/task_info.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

using namespace joinery::test;
using namespace std::chrono_literals;
using net::awaitable;

namespace {

awaitable<int> throws_now() {
  co_await yield();
  throw std::runtime_error("x");
}

std::string print(const auto& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

TEST_CASE("info: a task is queued, running, then finished, with its id and spawn time",
          "[inspect][join_map]") {
  net::io_context ioc;
  joinery::join_map<std::string, int> map(ioc);
  map.set_concurrency_limit(1);
  const auto before = std::chrono::steady_clock::now();
  gate g(ioc.get_executor());
  auto first = map.spawn("first", [g]() -> awaitable<int> {
    co_await g.wait();
    co_return 1;
  });
  map.spawn("second", value_now(2));
  const auto after = std::chrono::steady_clock::now();

  auto a = map.info("first");
  auto b = map.info(std::string_view("second"));  // transparent keys
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->id == first.id());
  CHECK(a->state == joinery::task_state::running);
  CHECK(b->state == joinery::task_state::queued);
  CHECK(a->spawned_at >= before);
  CHECK(a->spawned_at <= after);
  CHECK_FALSE(a->abort_requested);
  CHECK_FALSE(a->deadline);
  CHECK_FALSE(map.info("missing"));

  g.open();
  pump(ioc);
  CHECK(map.info("first")->state == joinery::task_state::finished);
  CHECK(map.info("second")->state == joinery::task_state::finished);
}

TEST_CASE("info: a task whose abort was requested but which still runs is running, abort requested",
          "[inspect][join_map]") {
  net::io_context ioc;
  joinery::join_map<int, int> map(ioc);
  map.spawn(1, never());
  pump(ioc);
  map.abort(1);  // the emit is posted: the task has not seen it yet
  auto i = map.info(1);
  REQUIRE(i);
  CHECK(i->state == joinery::task_state::running);
  CHECK(i->abort_requested);
  pump(ioc);
  CHECK(map.info(1)->state == joinery::task_state::finished);
}

TEST_CASE("info: a task spawned with a deadline reports it while it is pending",
          "[inspect][join_map]") {
  net::io_context ioc;
  joinery::join_map<int, int> map(ioc);
  const auto when = std::chrono::steady_clock::now() + 1h;
  map.spawn_with_deadline(1, when, never());
  auto i = map.info(1);
  REQUIRE(i);
  REQUIRE(i->deadline);
  CHECK(*i->deadline == when);
  CHECK(print(*i).find("deadline in ") != std::string::npos);
  map.abort(1);
  pump(ioc);
  CHECK_FALSE(map.info(1)->deadline);  // finished: no pending deadline
}

TEST_CASE("snapshot: every task with its key, in spawn order", "[inspect][join_map][join_set]") {
  net::io_context ioc;
  joinery::join_map<int, int> map(ioc);
  for (int k : {5, 3, 9, 1})
    map.spawn(k, never());
  map.spawn(3, never());  // a replacement is a new spawn: it comes last
  auto snap = map.snapshot();
  REQUIRE(snap.size() == 4);
  CHECK(snap[0].first == 5);
  CHECK(snap[1].first == 9);
  CHECK(snap[2].first == 1);
  CHECK(snap[3].first == 3);
  for (std::size_t i = 1; i < snap.size(); ++i)
    CHECK(snap[i - 1].second.id < snap[i].second.id);

  joinery::join_set<int> set(ioc);
  auto h1 = set.spawn(never());
  auto h2 = set.spawn(never());
  auto ss = set.snapshot();
  REQUIRE(ss.size() == 2);
  CHECK(ss[0].id == h1.id());
  CHECK(ss[1].id == h2.id());
  CHECK(joinery::join_set<int>(ioc).snapshot().empty());
  map.abort_all();
  set.abort_all();
  pump(ioc);
}

TEST_CASE("stats: counts every outcome when its task ends, replaced as cancelled, detached twice",
          "[inspect][join_map]") {
  net::io_context ioc;
  joinery::join_map<int, int> map(ioc);
  map.spawn(1, value_now(1));               // succeeded
  map.spawn(2, throws_now());               // failed
  map.spawn(3, never());                    // aborted: cancelled
  map.spawn(4, never());                    // replaced: cancelled
  map.spawn(4, value_now(4));               // succeeded
  map.spawn_with_timeout(5, 0ms, never());  // timed out
  map.spawn(6, value_now(6));               // detached, then succeeded
  map.abort(3);
  CHECK(map.detach(6));
  pump(ioc);
  auto s = map.stats();
  CHECK(s.spawned == 7);
  CHECK(s.succeeded == 3);  // 1, the second 4, and detached 6
  CHECK(s.failed == 1);
  CHECK(s.cancelled == 2);  // 3, and the replaced 4
  CHECK(s.timed_out == 1);
  CHECK(s.detached == 1);
  CHECK(s.peak_size == 6);
  CHECK(s.peak_queued == 0);
  // Joining does not count again.
  while (auto next = map.try_join_next())
    (void)next;
  CHECK(map.stats() == s);
  CHECK(print(s) ==
        "spawned 7, succeeded 3, failed 1, cancelled 2, timed out 1, detached 1, peak size 6, "
        "peak queued 0");
}

TEST_CASE("stats: a task aborted while queued is cancelled, and peak_queued and detach_all count",
          "[inspect][join_set]") {
  net::io_context ioc;
  joinery::join_set<int> set(ioc);
  set.set_concurrency_limit(1);
  set.spawn(never());
  auto q1 = set.spawn(never());
  set.spawn(never());
  CHECK(set.queued_count() == 2);
  q1.abort();  // cancelled at once, never ran
  set.detach_all();
  auto s = set.stats();
  CHECK(s.spawned == 3);
  CHECK(s.cancelled == 1);
  CHECK(s.detached == 3);  // the cancelled one too: it was in the set, unjoined
  CHECK(s.peak_queued == 2);
  CHECK(s.peak_size == 3);
  CHECK(joinery::join_set<int>(ioc).stats() == joinery::group_stats{});
  pump(ioc);
}

TEST_CASE("task_info prints its id, state, age, deadline and abort", "[inspect]") {
  joinery::task_info i;
  i.id = joinery::task_id(12);
  i.state = joinery::task_state::running;
  i.spawned_at = std::chrono::steady_clock::now() - 1200ms;
  i.deadline = std::chrono::steady_clock::now() + 300ms;
  i.abort_requested = true;
  const std::string s = print(i);
  CHECK(s.rfind("task #12 running for 1.", 0) == 0);
  CHECK(s.find(" s, deadline in ") != std::string::npos);
  CHECK(s.find(" ms, abort requested") != std::string::npos);
  i.state = joinery::task_state::queued;
  i.deadline.reset();
  i.abort_requested = false;
  CHECK(print(i).rfind("task #12 queued for ", 0) == 0);
  CHECK(print(joinery::task_state::finished) == "finished");
}
