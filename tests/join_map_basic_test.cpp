// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// join_map: spawning, joining, keys, replacement, errors, lookups, sizes.

#include <joinery/join_map.hpp>

#include "support/test_support.hpp"

#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace joinery::test;
namespace net = joinery::asio;
using net::awaitable;

using int_map = joinery::join_map<int, int>;
using str_map = joinery::join_map<std::string, int>;

awaitable<void> nothing() {
  co_return;
}

struct boom : std::runtime_error {
  explicit boom(const std::string& what) : std::runtime_error(what) {}
};

awaitable<int> throws_boom() {
  co_await yield();
  throw boom("boom");
}

}  // namespace

TEST_CASE(
    "join_map: tokio doc example, ten keyed tasks are all joined with their keys (AC-03, "
    "AC-10)",
    "[join_map][tokio]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<int, void> map(ioc.get_executor());
    for (int i = 0; i < 10; ++i)
      map.spawn(i, nothing());
    bool seen[10] = {};
    while (auto next = co_await map.async_join_next()) {
      auto& [key, res] = *next;
      REQUIRE(res.has_value());
      REQUIRE_FALSE(seen[key]);
      seen[key] = true;
    }
    for (bool s : seen)
      CHECK(s);
  });
}

TEST_CASE(
    "join_map: tokio doc example, the aborted 'goodbye world' is cancelled, the other "
    "completes",
    "[join_map][tokio]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<std::string, void> map(ioc.get_executor());
    map.spawn("hello world", nothing());
    map.spawn("goodbye world", nothing());
    REQUIRE(map.abort("goodbye world"));
    REQUIRE_FALSE(map.abort("goodbye universe"));
    int seen = 0;
    while (auto next = co_await map.async_join_next()) {
      auto& [key, res] = *next;
      ++seen;
      if (key == "goodbye world") {
        REQUIRE(res.has_error());
        CHECK(res.error().is_cancelled());
      } else {
        CHECK(res.has_value());
      }
    }
    CHECK(seen == 2);
  });
}

TEST_CASE(
    "join_map: tokio doc example, abort_matching a 'goodbye' prefix cancels exactly those "
    "(AC-18)",
    "[join_map][tokio]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<std::string, void> map(ioc.get_executor());
    auto task = []() -> awaitable<void> { co_await yield(); };
    map.spawn("hello world", task);
    map.spawn("goodbye world", task);
    map.spawn("hello san francisco", task);
    map.spawn("goodbye universe", task);
    CHECK(map.abort_matching([](const std::string& k) { return k.starts_with("goodbye"); }) == 2);
    CHECK(map.size() == 4);
    int seen = 0;
    while (auto next = co_await map.async_join_next()) {
      auto& [key, res] = *next;
      ++seen;
      if (key.starts_with("goodbye")) {
        REQUIRE(res.has_error());
        CHECK(res.error().is_cancelled());
      } else {
        CHECK(key.starts_with("hello"));
        CHECK(res.has_value());
      }
    }
    CHECK(seen == 4);
  });
}

TEST_CASE("join_map: results arrive in completion order, not spawn order (AC-06)",
          "[join_map][order]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    map.spawn(0, value_after(90ms, 0));
    map.spawn(1, value_after(60ms, 1));
    map.spawn(2, value_after(30ms, 2));
    std::vector<int> order;
    while (auto next = co_await map.async_join_next()) {
      CHECK(next->first == next->second.value());
      order.push_back(next->first);
    }
    CHECK(order == std::vector<int>{2, 1, 0});
  });
}

TEST_CASE(
    "join_map: size counts spawns and joins, and the map is reusable after a drain (AC-01, "
    "AC-04)",
    "[join_map]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < 5; ++i) {
        map.spawn(i, value_after(std::chrono::milliseconds(i), i));
        CHECK(map.size() == static_cast<std::size_t>(i + 1));
      }
      std::size_t left = 5;
      while (auto next = co_await map.async_join_next()) {
        --left;
        CHECK(map.size() == left);
      }
      CHECK(map.empty());
      auto joined = co_await map.async_join_next();
      CHECK_FALSE(joined);
    }
  });
}

TEST_CASE("join_map: join and spawn interleave, size stays two (tokio 'alternating') (AC-05)",
          "[join_map][tokio]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    map.spawn(1, value_now(1));
    map.spawn(2, value_now(2));
    for (int i = 0; i < 16; ++i) {
      auto next = co_await map.async_join_next();
      REQUIRE(next);
      CHECK(map.size() == 1);
      map.spawn(100 + i, value_now(i));
      CHECK(map.size() == 2);
    }
  });
}

TEST_CASE(
    "join_map: spawning on an existing key replaces the task, only the new one is reported "
    "(AC-12)",
    "[join_map][replace]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    auto first = map.spawn(7, value_after(10ms, 1));
    map.spawn(7, value_after(30ms, 2));
    CHECK(map.size() == 1);
    CHECK_FALSE(map.contains_task(first.id()));
    auto next = co_await map.async_join_next();
    REQUIRE(next);
    CHECK(next->first == 7);
    CHECK(next->second.value() == 2);
    auto joined = co_await map.async_join_next();
    CHECK_FALSE(joined);
    CHECK(first.is_finished());
  });
}

TEST_CASE("join_map: a replaced task that already finished is skipped by try_join_next (AC-14)",
          "[join_map][replace]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    auto old = map.spawn(1, value_now(10));
    while (!old.is_finished())
      co_await yield();
    map.spawn(1, value_after(5ms, 20));
    CHECK_FALSE(map.try_join_next());
    CHECK(map.size() == 1);
    co_await sleep_for(20ms);
    auto next = map.try_join_next();
    REQUIRE(next);
    CHECK(next->second.value() == 20);
    CHECK_FALSE(map.try_join_next());
    CHECK(map.empty());
  });
}

TEST_CASE(
    "join_map: a replaced pending join neither ends early nor reports a phantom "
    "(tokio#7257) (AC-13)",
    "[join_map][replace]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    map.spawn(1, value_after(5ms, 1));
    map.spawn(1, value_after(30ms, 2));  // the first, aborted, finishes first
    map.spawn(2, value_after(50ms, 3));
    std::vector<std::pair<int, int>> got;
    while (auto next = co_await map.async_join_next())
      got.emplace_back(next->first, next->second.value());
    CHECK(got == std::vector<std::pair<int, int>>{{1, 2}, {2, 3}});
  });
}

TEST_CASE(
    "join_map: a throwing task is reported with its exception, and value() rethrows it "
    "(AC-31, AC-32)",
    "[join_map][errors]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    auto h = map.spawn(3, throws_boom());
    auto next = co_await map.async_join_next();
    REQUIRE(next);
    CHECK(next->first == 3);
    auto& res = next->second;
    REQUIRE(res.has_error());
    CHECK(res.error().is_exception());
    CHECK_FALSE(res.error().is_cancelled());
    CHECK(res.error().id() == h.id());
    CHECK(res.error().message() == "task #" + std::to_string(h.id().value()) + " failed: boom");
    CHECK_THROWS_AS(res.value(), boom);
  });
}

TEST_CASE("join_map: value() of a cancelled task throws task_cancelled", "[join_map][errors]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    auto h = map.spawn(1, value_after(1h, 1));
    map.abort(1);
    auto next = co_await map.async_join_next();
    REQUIRE(next);
    REQUIRE(next->second.has_error());
    CHECK(next->second.error().is_cancelled());
    CHECK_FALSE(next->second.error().exception());
    try {
      (void)next->second.value();
      FAIL("value() did not throw");
    } catch (const joinery::task_cancelled& e) {
      CHECK(e.id() == h.id());
      CHECK(std::string(e.what()).find("was cancelled") != std::string::npos);
    }
  });
}

TEST_CASE("join_map: an empty map joins to nullopt at once, async and try (AC-02)", "[join_map]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    auto joined = co_await map.async_join_next();
    CHECK_FALSE(joined);
    CHECK_FALSE(map.try_join_next());
    CHECK(map.empty());
    CHECK(map.size() == 0);
  });
}

TEST_CASE(
    "join_map: try_join_next returns nothing until a task finished, then each in turn "
    "(AC-34)",
    "[join_map][try_join]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    gate g(ioc.get_executor());
    for (int i = 0; i < 8; ++i) {
      map.spawn(i, [g, i]() -> awaitable<int> {
        co_await g.wait();
        co_return i;
      });
    }
    co_await yield();
    CHECK_FALSE(map.try_join_next());
    CHECK(map.size() == 8);
    g.open();
    co_await sleep_for(5ms);
    std::set<int> keys;
    while (auto next = map.try_join_next()) {
      CHECK(next->first == next->second.value());
      keys.insert(next->first);
    }
    CHECK(keys.size() == 8);
    CHECK(map.empty());
  });
}

TEST_CASE("join_map: try_join_next drains 1000 ready tasks one by one (AC-35)",
          "[join_map][try_join]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    for (int i = 0; i < 1000; ++i)
      map.spawn(i, value_now(i));
    co_await sleep_for(1ms);
    int n = 0;
    while (auto next = map.try_join_next()) {
      CHECK(next->first == next->second.value());
      ++n;
    }
    CHECK(n == 1000);
  });
}

TEST_CASE("join_map: lookups take string_view and literals for string keys", "[join_map][lookup]") {
  net::io_context ioc;
  str_map map(ioc.get_executor());
  map.spawn("alpha", value_after(1h, 1));
  std::string_view sv = "alpha";
  CHECK(map.contains("alpha"));
  CHECK(map.contains(sv));
  CHECK(map.contains(std::string("alpha")));
  CHECK_FALSE(map.contains("beta"));
  CHECK_FALSE(map.abort(std::string_view("beta")));
  CHECK(map.abort(sv));
}

TEST_CASE("join_map: keys(), contains and contains_task include finished unjoined tasks (AC-11)",
          "[join_map][lookup]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc.get_executor());
    auto a = map.spawn(1, value_now(1));
    auto b = map.spawn(2, value_after(1h, 2));
    co_await sleep_for(1ms);
    CHECK(a.is_finished());
    CHECK_FALSE(b.is_finished());
    std::set<int> keys(map.keys().begin(), map.keys().end());
    CHECK(keys == std::set<int>{1, 2});
    CHECK(map.contains(1));
    CHECK(map.contains_task(a.id()));
    CHECK(map.contains_task(b.id()));
    CHECK_FALSE(map.contains_task(joinery::task_id()));
    auto next = map.try_join_next();
    REQUIRE(next);
    CHECK(next->first == 1);
    CHECK_FALSE(map.contains(1));
    CHECK_FALSE(map.contains_task(a.id()));
    std::set<int> rest(map.keys().begin(), map.keys().end());
    CHECK(rest == std::set<int>{2});
  });
}

TEST_CASE("join_map: join_map<int, void> reports plain success", "[join_map][types]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<int, void> map(ioc.get_executor());
    map.spawn(1, nothing());
    auto next = co_await map.async_join_next();
    REQUIRE(next);
    CHECK(next->second.has_value());
  });
}

TEST_CASE("join_map: move-only values are delivered", "[join_map][types]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<int, std::unique_ptr<int>> map(ioc.get_executor());
    map.spawn(1, []() -> awaitable<std::unique_ptr<int>> { co_return std::make_unique<int>(42); });
    auto next = co_await map.async_join_next();
    REQUIRE(next);
    std::unique_ptr<int> p = std::move(next->second).value();
    REQUIRE(p);
    CHECK(*p == 42);
  });
}

TEST_CASE("join_map: a capturing lambda's captures live until the task ends, then die",
          "[join_map][lifetime]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    const int before = counted::live;
    {
      int_map map(ioc.get_executor());
      map.spawn(1, [c = counted(5)]() -> awaitable<int> {
        co_await sleep_for(2ms);
        co_return c.value;  // would read freed memory if the lambda died early
      });
      auto next = co_await map.async_join_next();
      REQUIRE(next);
      CHECK(next->second.value() == 5);
      CHECK(counted::live == before);  // destroyed before the result was delivered
    }
  });
}

TEST_CASE("join_map: values of unjoined tasks are destroyed with the map", "[join_map][lifetime]") {
  net::io_context ioc;
  const int before = counted::live;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<int, counted> map(ioc.get_executor());
    for (int i = 0; i < 4; ++i)
      map.spawn(i, []() -> awaitable<counted> { co_return counted(1); });
    co_await sleep_for(1ms);
    CHECK(counted::live == before + 4);
  });
  CHECK(counted::live == before);
}

TEST_CASE("join_map: operator<< prints keys with task ids", "[join_map]") {
  net::io_context ioc;
  str_map map(ioc.get_executor());
  std::ostringstream empty;
  empty << map;
  CHECK(empty.str() == "join_map{}");
  auto h = map.spawn("a", value_now(1));
  std::ostringstream one;
  one << map;
  CHECK(one.str() == "join_map{\"a\": #" + std::to_string(h.id().value()) + "}");
  int_map imap(ioc.get_executor());
  auto h2 = imap.spawn(5, value_now(1));
  std::ostringstream two;
  two << imap;
  CHECK(two.str() == "join_map{5: #" + std::to_string(h2.id().value()) + "}");
  // String keys are quoted as std::quoted quotes them: " and \ escaped.
  str_map odd(ioc.get_executor());
  auto h3 = odd.spawn("a\"b\\c", value_now(1));
  std::ostringstream three;
  three << odd;
  CHECK(three.str() == "join_map{\"a\\\"b\\\\c\": #" + std::to_string(h3.id().value()) + "}");
}

TEST_CASE("join_map: a move leaves the source empty and usable, the target owns the tasks",
          "[join_map][move]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map a(ioc.get_executor());
    a.spawn(1, value_after(2ms, 1));
    int_map b(std::move(a));
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is specified
    auto joined = co_await a.async_join_next();
    CHECK_FALSE(joined);
    CHECK(b.size() == 1);
    a.spawn(2, value_now(2));
    auto na = co_await a.async_join_next();
    REQUIRE(na);
    CHECK(na->first == 2);
    auto nb = co_await b.async_join_next();
    REQUIRE(nb);
    CHECK(nb->second.value() == 1);
  });
}

TEST_CASE("join_map: move-assignment aborts what the target held", "[join_map][move]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map a(ioc.get_executor());
    int_map b(ioc.get_executor());
    auto old = b.spawn(1, value_after(1h, 1));
    a.spawn(2, value_now(2));
    b = std::move(a);
    co_await sleep_for(1ms);
    CHECK(old.is_finished());  // aborted and ended
    auto next = co_await b.async_join_next();
    REQUIRE(next);
    CHECK(next->first == 2);
  });
}

TEST_CASE("join_map: capacity, reserve and shrink", "[join_map][capacity]") {
  net::io_context ioc;
  int_map map(ioc.get_executor(), 100);
  CHECK(map.capacity() >= 100);
  map.spawn(1, value_now(1));
  map.spawn(3, value_now(3));
  map.shrink_to(10);
  CHECK(map.capacity() >= 10);
  map.shrink_to_fit();
  CHECK(map.capacity() >= 2);
  map.reserve(1000);
  CHECK(map.capacity() >= 1000);
  CHECK(map.size() == 2);
  int_map lazy(ioc.get_executor());
  CHECK(lazy.capacity() == 0);
}

TEST_CASE("join_map: constructible from an execution context", "[join_map]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    int_map map(ioc);
    CHECK(map.get_executor() == net::any_io_executor(ioc.get_executor()));
    map.spawn(1, value_now(1));
    auto next = co_await map.async_join_next();
    REQUIRE(next);
  });
}

namespace {

// A hash that throws for one key, to check spawn's strong guarantee.
struct picky_hash {
  std::size_t operator()(int k) const {
    if (k == 13)
      throw std::invalid_argument("unlucky key");
    return absl::Hash<int>{}(k);
  }
};

// Every key collides: the map must still tell them apart.
struct constant_hash {
  std::size_t operator()(int) const noexcept { return 42; }
};

}  // namespace

TEST_CASE("join_map: a spawn that throws leaves the map unchanged and starts no task (AC-15)",
          "[join_map][errors]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<int, int, picky_hash> map(ioc.get_executor());
    map.spawn(1, value_now(1));
    bool ran = false;
    auto task = [&ran]() -> awaitable<int> {
      ran = true;
      co_return 13;
    };
    CHECK_THROWS_AS(map.spawn(13, task), std::invalid_argument);
    CHECK(map.size() == 1);
    CHECK(map.contains(1));
    co_await sleep_for(1ms);
    CHECK_FALSE(ran);
    auto next = co_await map.async_join_next();
    REQUIRE(next);
    CHECK(next->first == 1);
    auto joined = co_await map.async_join_next();
    CHECK_FALSE(joined);
  });
}

TEST_CASE("join_map: stays correct when every key hashes the same", "[join_map][hash]") {
  net::io_context ioc;
  co_run(ioc, [&]() -> awaitable<void> {
    joinery::join_map<int, int, constant_hash> map(ioc.get_executor());
    for (int i = 0; i < 200; ++i)
      map.spawn(i, value_after(std::chrono::milliseconds(i % 5), i));
    for (int i = 0; i < 200; i += 10)
      map.spawn(i, value_now(1000 + i));  // replace
    for (int i = 5; i < 200; i += 10)
      CHECK(map.abort(i));
    CHECK(map.size() == 200);
    CHECK(map.contains(199));
    CHECK_FALSE(map.contains(200));
    std::map<int, int> got;
    int cancelled = 0;
    while (auto next = co_await map.async_join_next()) {
      CHECK(got.count(next->first) == 0);
      if (next->second)
        got[next->first] = next->second.value();
      else
        ++cancelled, got[next->first] = -1;
    }
    CHECK(got.size() == 200);
    for (int i = 0; i < 200; ++i) {
      if (i % 10 == 0)
        CHECK(got[i] == 1000 + i);
      else if (i % 10 == 5)
        CHECK(got[i] == -1);
      else
        CHECK(got[i] == i);
    }
    CHECK(cancelled == 20);
  });
}
