// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// join_map with a user's Hash and KeyEqual that throw. Neither is required
// to be noexcept. The contract: a spawn (every form, and the replace path)
// whose Hash or KeyEqual throws rethrows that exception, the new task never
// runs, and the map is exactly as before: a task already under the key is
// neither aborted nor replaced and is reported as usual. A lookup whose
// Hash or KeyEqual throws propagates it and changes nothing.

#include <joinery/join_map.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

using namespace joinery::test;
namespace net = joinery::asio;
using net::awaitable;

struct key_function_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Which key functions throw, and for which key.
struct faults {
  std::string hash_throws_for;   // the Hash throws when hashing this key
  std::string equal_throws_for;  // the KeyEqual throws when comparing with this key
  int hash_calls = 0;
  int equal_calls = 0;
};
faults* active = nullptr;

// A constant hash: every key collides, so every lookup and insert runs the
// KeyEqual against the keys already there.
struct throwing_hash {
  std::size_t operator()(const std::string& k) const {
    ++active->hash_calls;
    if (k == active->hash_throws_for)
      throw key_function_error("hash of " + k);
    return 42;
  }
};

struct throwing_equal {
  bool operator()(const std::string& a, const std::string& b) const {
    ++active->equal_calls;
    if (a == active->equal_throws_for || b == active->equal_throws_for)
      throw key_function_error("comparing " + a + " and " + b);
    return a == b;
  }
};

using fragile_map = joinery::join_map<std::string, int, throwing_hash, throwing_equal>;

// A task that counts that it ran, then returns `v` once `g` opens.
awaitable<int> tracked(std::shared_ptr<int> runs, gate g, int v) {
  ++*runs;
  co_await g.wait();
  co_return v;
}

// Sets up the faults for one test, and a map holding "a" (value 1), whose
// task waits on a gate.
struct fixture {
  faults f;
  net::io_context ioc;
  fragile_map map{ioc.get_executor()};
  gate g{ioc.get_executor()};
  std::shared_ptr<int> runs = std::make_shared<int>(0);

  fixture() {
    active = &f;
    map.spawn("a", tracked(runs, g, 1));
    pump(ioc);
    REQUIRE(*runs == 1);
  }
  ~fixture() { active = nullptr; }

  // The map is as before: only "a", unaborted, and it is reported with its
  // value once its gate opens; no other task ever ran.
  void check_unchanged() {
    CHECK(map.size() == 1);
    CHECK(map.contains("a"));
    g.open();
    ioc.restart();  // a pump may have run the context out of work
    std::optional<std::pair<std::string, joinery::join_result<int>>> next;
    co_run(ioc, [&]() -> awaitable<void> { next = co_await map.async_join_next(); });
    REQUIRE(next);
    CHECK(next->first == "a");
    REQUIRE(next->second.has_value());
    CHECK(*next->second == 1);
    pump(ioc);
    CHECK(*runs == 1);  // the rejected task never ran
    CHECK(map.empty());
  }
};

}  // namespace

TEST_CASE("join_map key functions: a spawn whose Hash throws rethrows and starts no task",
          "[join_map][key_functions]") {
  fixture t;
  t.f.hash_throws_for = "b";
  CHECK_THROWS_AS(t.map.spawn("b", tracked(t.runs, t.g, 2)), key_function_error);
  t.check_unchanged();
}

TEST_CASE("join_map key functions: a spawn whose KeyEqual throws rethrows and starts no task",
          "[join_map][key_functions]") {
  fixture t;
  t.f.equal_throws_for = "b";  // comparing "b" with "a" (same hash) throws
  CHECK_THROWS_AS(t.map.spawn("b", tracked(t.runs, t.g, 2)), key_function_error);
  t.check_unchanged();
}

TEST_CASE(
    "join_map key functions: replacing a task whose KeyEqual throws leaves the old task "
    "unaborted and reported",
    "[join_map][key_functions]") {
  fixture t;
  t.f.equal_throws_for = "a";  // the spawn on "a" compares with "a": throws
  CHECK_THROWS_AS(t.map.spawn("a", tracked(t.runs, t.g, 2)), key_function_error);
  t.f.equal_throws_for.clear();  // check_unchanged looks "a" up
  t.check_unchanged();
}

TEST_CASE(
    "join_map key functions: replacing a task whose Hash throws leaves the old task unaborted "
    "and reported",
    "[join_map][key_functions]") {
  fixture t;
  t.f.hash_throws_for = "a";
  CHECK_THROWS_AS(t.map.spawn("a", tracked(t.runs, t.g, 2)), key_function_error);
  t.f.hash_throws_for.clear();  // check_unchanged looks "a" up
  t.check_unchanged();
}

TEST_CASE(
    "join_map key functions: every spawn form rethrows a throwing Hash or KeyEqual and starts "
    "nothing",
    "[join_map][key_functions]") {
  for (int equal = 0; equal < 2; ++equal) {
    for (int form = 0; form < 7; ++form) {
      CAPTURE(equal, form);
      fixture t;
      (equal ? t.f.equal_throws_for : t.f.hash_throws_for) = "b";
      auto task = [&] { return tracked(t.runs, t.g, 2); };
      net::thread_pool pool(1);
      bool blocking_ran = false;
      switch (form) {
        case 0:
          CHECK_THROWS_AS(t.map.spawn("b", task), key_function_error);
          break;
        case 1:
          CHECK_THROWS_AS(t.map.spawn_on("b", net::make_strand(t.ioc), task()), key_function_error);
          break;
        case 2:
          CHECK_THROWS_AS(t.map.spawn_blocking("b", [&] { return blocking_ran = true, 2; }),
                          key_function_error);
          break;
        case 3:
          CHECK_THROWS_AS(t.map.spawn_blocking_on("b", pool.get_executor(),
                                                  [&] {
                                                    blocking_ran = true;
                                                    return 2;
                                                  }),
                          key_function_error);
          break;
        case 4:
          CHECK_THROWS_AS(t.map.try_spawn("b", task()), key_function_error);
          break;
        case 5:
          CHECK_THROWS_AS(t.map.spawn_with_timeout("b", std::chrono::hours(1), task),
                          key_function_error);
          break;
        case 6:
          CHECK_THROWS_AS(t.map.spawn_with_deadline("b", std::chrono::steady_clock::now(), task()),
                          key_function_error);
          break;
      }
      pool.join();
      CHECK_FALSE(blocking_ran);
      if (equal == 0)
        t.f.hash_throws_for.clear();
      t.check_unchanged();
    }
  }
}

TEST_CASE("join_map key functions: async_spawn that can spawn at once throws from the call",
          "[join_map][key_functions]") {
  fixture t;
  t.f.hash_throws_for = "b";
  int calls = 0;
  CHECK_THROWS_AS(t.map.async_spawn("b", tracked(t.runs, t.g, 2),
                                    [&](joinery::error_code, joinery::abort_handle) { ++calls; }),
                  key_function_error);
  t.f.hash_throws_for.clear();
  t.check_unchanged();
  CHECK(calls == 0);
}

TEST_CASE(
    "join_map key functions: async_spawn that waited completes with no_memory when the key "
    "functions throw, and starts nothing",
    "[join_map][key_functions]") {
  fixture t;
  t.map.set_concurrency_limit(1);  // "a" holds the only slot
  t.f.equal_throws_for = "b";
  recorder<joinery::abort_handle> done;
  t.map.async_spawn("b", tracked(t.runs, t.g, 2), done.handler());
  pump(t.ioc);
  CHECK(done.calls == 0);  // waiting for the slot
  t.g.open();              // "a" finishes: the slot frees, the spawn compares "b" with "a"
  pump(t.ioc);
  REQUIRE(done.calls == 1);
  CHECK(done.ec == net::error::no_memory);
  CHECK(done.value->id() == joinery::task_id{});
  t.f.equal_throws_for.clear();
  t.check_unchanged();
}

TEST_CASE(
    "join_map key functions: a lookup whose key functions throw propagates and changes nothing",
    "[join_map][key_functions]") {
  fixture t;
  t.f.hash_throws_for = "z";
  CHECK_THROWS_AS(t.map.contains("z"), key_function_error);
  CHECK_THROWS_AS(t.map.abort("z"), key_function_error);
  CHECK_THROWS_AS(t.map.detach("z"), key_function_error);
  CHECK_THROWS_AS(t.map.is_finished("z"), key_function_error);
  CHECK_THROWS_AS(t.map.get_abort_handle("z"), key_function_error);
  t.f.hash_throws_for.clear();
  t.f.equal_throws_for = "z";  // comparing "z" with "a" (same hash) throws
  CHECK_THROWS_AS(t.map.contains("z"), key_function_error);
  CHECK_THROWS_AS(t.map.abort("z"), key_function_error);
  CHECK_THROWS_AS(
      t.map.async_join("z", [](joinery::error_code, std::optional<joinery::join_result<int>>) {}),
      key_function_error);
  t.f.equal_throws_for.clear();
  t.check_unchanged();
}

TEST_CASE("join_map key functions: joins never call the user's Hash or KeyEqual",
          "[join_map][key_functions]") {
  faults f;
  active = &f;
  net::io_context ioc;
  {
    fragile_map map(ioc.get_executor());
    for (int i = 0; i < 50; ++i)
      map.spawn("k" + std::to_string(i), value_now(i));
    const int hashes = f.hash_calls;
    const int compares = f.equal_calls;
    int joined = 0;
    co_run(ioc, [&]() -> awaitable<void> {
      while (auto next = co_await map.async_join_next())
        ++joined;
    });
    CHECK(joined == 50);
    CHECK(f.hash_calls == hashes);  // found again by the stored hash and the task
    CHECK(f.equal_calls == compares);
  }
  active = nullptr;
}
