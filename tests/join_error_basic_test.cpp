// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// task_id, join_error, task_cancelled and join_result, without any I/O.

#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>

#include "support/catch.hpp"

#include <absl/container/flat_hash_set.h>

#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

struct custom_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::exception_ptr make_error(const char* what) {
  return std::make_exception_ptr(custom_error(what));
}

}  // namespace

TEST_CASE("task_id: ids are unique and increasing, also across threads (AC-42)", "[task_id]") {
  std::vector<std::vector<joinery::task_id>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&ids] {
      for (int i = 0; i < 1000; ++i)
        ids.push_back(joinery::task_id::next());
    });
  }
  for (auto& t : threads)
    t.join();
  std::set<joinery::task_id> all;
  for (auto& ids : per_thread) {
    for (std::size_t i = 1; i < ids.size(); ++i)
      CHECK(ids[i - 1] < ids[i]);
    all.insert(ids.begin(), ids.end());
  }
  CHECK(all.size() == 4000);
  CHECK(all.begin()->value() > 0);
}

TEST_CASE("task_id: hashes with std::hash and absl::Hash, prints as #n", "[task_id]") {
  auto a = joinery::task_id::next();
  auto b = joinery::task_id::next();
  std::unordered_set<joinery::task_id> s{a, b, a};
  CHECK(s.size() == 2);
  absl::flat_hash_set<joinery::task_id> f{a, b, b};
  CHECK(f.size() == 2);
  std::ostringstream os;
  os << joinery::task_id(42);
  CHECK(os.str() == "#42");
  CHECK(joinery::task_id() == joinery::task_id(0));
  CHECK(joinery::task_id(1) != joinery::task_id(2));
}

TEST_CASE("join_error: cancelled and exception errors say which they are", "[join_error]") {
  const joinery::task_id id(7);
  auto c = joinery::join_error::cancelled(id);
  CHECK(c.is_cancelled());
  CHECK_FALSE(c.is_exception());
  CHECK_FALSE(c.exception());
  CHECK(c.id() == id);
  CHECK(c.message() == "task #7 was cancelled");

  auto e = joinery::join_error::from_exception(id, make_error("disk full"));
  CHECK(e.is_exception());
  CHECK_FALSE(e.is_cancelled());
  CHECK(e.exception());
  CHECK(e.message() == "task #7 failed: disk full");
  std::ostringstream os;
  os << e;
  CHECK(os.str() == e.message());

  auto odd = joinery::join_error::from_exception(id, std::make_exception_ptr(42));
  CHECK(odd.message() == "task #7 failed: <unknown exception>");
  CHECK(c == joinery::join_error::cancelled(id));
  CHECK_FALSE(c == e);
}

TEST_CASE("join_result: value() rethrows the task's exception with its original type",
          "[join_error]") {
  joinery::join_result<int> r(
      joinery::join_error::from_exception(joinery::task_id(3), make_error("x")));
  CHECK_THROWS_AS(r.value(), custom_error);
  joinery::join_result<void> rv(
      joinery::join_error::from_exception(joinery::task_id(3), make_error("y")));
  CHECK_THROWS_AS(rv.value(), custom_error);
}

TEST_CASE("join_result: value() of a cancelled task throws task_cancelled with its id",
          "[join_error]") {
  joinery::join_result<std::unique_ptr<int>> r(joinery::join_error::cancelled(joinery::task_id(9)));
  try {
    (void)std::move(r).value();
    FAIL("no exception");
  } catch (const joinery::task_cancelled& e) {
    CHECK(e.id() == joinery::task_id(9));
    CHECK(std::string(e.what()) == "joinery: task #9 was cancelled");
  }
}

TEST_CASE("join_result: holds values, void and move-only types", "[join_error]") {
  joinery::join_result<int> r(5);
  CHECK(r.value() == 5);
  joinery::join_result<void> v;
  CHECK(v.has_value());
  joinery::join_result<std::unique_ptr<int>> p(std::make_unique<int>(3));
  auto moved = std::move(p).value();
  CHECK(*moved == 3);
}
