// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// The deadline heap on its own (detail/deadlines.hpp): no io_context, no
// timer, just tasks records with deadlines, checked against a simple model
// (a multiset of (deadline, task)) under random pushes, early leaves and
// pops; and the group's `deadlines` bookkeeping of what the timer should
// wait for.

#include <joinery/detail/deadlines.hpp>

#include "support/catch.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace {

using joinery::detail::deadline_clock;
using joinery::detail::deadline_heap;
using joinery::detail::deadlines;
using joinery::detail::task_header;
using joinery::detail::task_vtable;

// A task record with no body: only its place in the heap matters here.
struct fake_task : task_header {
  static void destroy(task_header*) noexcept {}
  static void discard(task_header*) noexcept {}
  static void start(task_header*) {}
  static void finish(task_header*) noexcept {}
  static constexpr task_vtable vt{&destroy, nullptr, &discard, &start, &finish};
  fake_task() noexcept : task_header(&vt, false) {}
};

deadline_clock::time_point at(int ms) {
  return deadline_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace

TEST_CASE("deadline heap: pops tasks in deadline order, only once due", "[deadlines][unit]") {
  deadline_heap heap;
  fake_task a, b, c;
  for (auto [t, when] : {std::pair{&a, 30}, {&b, 10}, {&c, 20}}) {
    heap.reserve_one_more();
    heap.push(t, at(when));
  }
  CHECK(heap.size() == 3);
  CHECK(heap.earliest() == at(10));
  CHECK(heap.pop_due(at(9)) == nullptr);  // nothing due yet
  CHECK(heap.pop_due(at(25)) == &b);
  CHECK(heap.pop_due(at(25)) == &c);
  CHECK(heap.pop_due(at(25)) == nullptr);  // a is due at 30
  CHECK(heap.pop_due(at(30)) == &a);
  CHECK(heap.empty());
  CHECK(a.deadline_position() == 0);  // popped tasks no longer have a place
}

TEST_CASE("deadline heap: a task leaving early blanks its entry and is never popped",
          "[deadlines][unit]") {
  deadline_heap heap;
  fake_task a, b;
  heap.reserve_one_more();
  heap.push(&a, at(10));
  heap.reserve_one_more();
  heap.push(&b, at(20));
  heap.erase(&a);
  CHECK(a.deadline_position() == 0);
  CHECK(heap.size() == 1);
  CHECK(heap.earliest() == at(20));  // the blank top is dropped on the way
  CHECK(heap.pop_due(at(100)) == &b);
  CHECK(heap.empty());
}

TEST_CASE("deadline heap: matches a multiset model under random pushes, leaves and pops",
          "[deadlines][unit]") {
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    deadline_heap heap;
    std::vector<std::unique_ptr<fake_task>> tasks;
    std::set<std::pair<int, task_header*>> model;  // (deadline, task): equal deadlines by address
    std::vector<std::pair<int, task_header*>> in_heap;
    int now = 0;
    for (int step = 0; step < 2000; ++step) {
      const int op = static_cast<int>(rng() % 10);
      if (op < 5) {  // push
        tasks.push_back(std::make_unique<fake_task>());
        const int when = now + static_cast<int>(rng() % 200);
        heap.reserve_one_more();
        heap.push(tasks.back().get(), at(when));
        model.insert({when, tasks.back().get()});
      } else if (op < 8 && !model.empty()) {  // a task leaves before its deadline
        auto it = model.begin();
        std::advance(it, static_cast<long>(rng() % model.size()));
        REQUIRE(it->second->deadline_position() != 0);
        heap.erase(it->second);
        CHECK(it->second->deadline_position() == 0);
        model.erase(it);
      } else {  // time passes: pop what is due
        now += static_cast<int>(rng() % 50);
        std::vector<task_header*> popped;
        while (task_header* t = heap.pop_due(at(now)))
          popped.push_back(t);
        std::vector<task_header*> expected;
        while (!model.empty() && model.begin()->first <= now) {
          expected.push_back(model.begin()->second);
          model.erase(model.begin());
        }
        // Equal deadlines may pop in any order: compare as sets, and check
        // the deadlines came out non-decreasing.
        REQUIRE(popped.size() == expected.size());
        std::sort(popped.begin(), popped.end());
        std::sort(expected.begin(), expected.end());
        CHECK(popped == expected);
      }
      REQUIRE(heap.size() == model.size());
      REQUIRE(heap.empty() == model.empty());
      if (!model.empty())
        REQUIRE(heap.earliest() == at(model.begin()->first));
      // Blank entries never outnumber the live ones by more than the
      // compaction threshold.
      CHECK(heap.entries() <= 2 * heap.size() + 65);
    }
    heap.clear();
    for (auto& t : tasks)
      CHECK(t->deadline_position() == 0);
  }
}

TEST_CASE("deadline heap: pops deadlines in non-decreasing order", "[deadlines][unit]") {
  std::mt19937 rng(7);
  deadline_heap heap;
  std::vector<std::unique_ptr<fake_task>> tasks;
  std::vector<int> whens;
  for (int i = 0; i < 500; ++i) {
    tasks.push_back(std::make_unique<fake_task>());
    whens.push_back(static_cast<int>(rng() % 1000));
    heap.reserve_one_more();
    heap.push(tasks.back().get(), at(whens.back()));
  }
  std::vector<int> order;
  while (!heap.empty()) {
    const auto when = heap.earliest();
    task_header* t = heap.pop_due(when);
    REQUIRE(t != nullptr);
    const auto i = static_cast<std::size_t>(
        std::find_if(tasks.begin(), tasks.end(), [&](auto& p) { return p.get() == t; }) -
        tasks.begin());
    order.push_back(whens[i]);
  }
  CHECK(std::is_sorted(order.begin(), order.end()));
  CHECK(order.size() == 500);
}

TEST_CASE("deadlines: the timer is armed for an earlier deadline only, and disarmed when empty",
          "[deadlines][unit]") {
  deadlines d;
  fake_task a, b, c;
  CHECK_FALSE(d.armed());
  CHECK(d.add(&a, at(50)));  // the first deadline arms
  CHECK(d.armed() == at(50));
  CHECK_FALSE(d.add(&b, at(80)));  // a later one arms nothing
  CHECK(d.armed() == at(50));
  CHECK(d.add(&c, at(20)));  // an earlier one re-arms
  CHECK(d.armed() == at(20));

  // The earliest task leaves early: nothing changes until the timer fires,
  // finds nothing due and re-arms for what is left.
  CHECK_FALSE(d.remove(&c));
  CHECK(d.armed() == at(20));
  CHECK(d.pop_due(at(20)) == nullptr);
  CHECK(d.armed() == at(50));  // re-armed for the earliest left

  CHECK(d.pop_due(at(60)) == &a);
  CHECK(d.pop_due(at(60)) == nullptr);
  CHECK(d.armed() == at(80));

  CHECK(d.remove(&b));  // the last one leaves: the timer must be cancelled
  CHECK_FALSE(d.armed());
  CHECK_FALSE(d.remove(&b));  // not in the heap any more: nothing to do
  CHECK_FALSE(d.clear());     // nothing was left
}

TEST_CASE("deadlines: clearing forgets every deadline and says the timer must stop",
          "[deadlines][unit]") {
  deadlines d;
  fake_task a, b;
  d.add(&a, at(10));
  d.add(&b, at(20));
  CHECK(d.clear());
  CHECK_FALSE(d.armed());
  CHECK(a.deadline_position() == 0);
  CHECK(b.deadline_position() == 0);
}
