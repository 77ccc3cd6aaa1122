// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// join_map's key table on its own (detail/key_table.hpp): no io_context, just
// keys and stand-in task records, checked against std::unordered_map.

#include <joinery/detail/key_table.hpp>

#include "support/catch.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

// A task record the table can point to; only its stored hash is read.
struct table_task : joinery::detail::task_header {
  table_task() : task_header(nullptr, false) {}
};

// Hashes that make the table work hard: all keys in a few buckets, or an
// identity hash of keys on a power-of-two stride.
struct few_buckets_hash {
  std::size_t operator()(std::uint64_t k) const noexcept { return k % 3; }
};
struct one_value_hash {
  std::size_t operator()(std::uint64_t) const noexcept { return 42; }
};

template <class Hash>
using u64_table = joinery::detail::key_table<std::uint64_t, Hash, std::equal_to<std::uint64_t>>;

// Owns the stand-in tasks and inserts keys the way map_state does: the
// hash stored in the task, room reserved first.
template <class Hash>
struct table_fixture {
  u64_table<Hash> table{Hash(), {}};
  std::deque<table_task> tasks;

  table_task* insert(std::uint64_t key) {
    table_task& t = tasks.emplace_back();
    t.slot_ = table.hasher()(key);
    table.reserve(table.size() + 1);
    auto [slot, inserted] = table.try_emplace(std::uint64_t(key), t.slot_, &t);
    REQUIRE(inserted);
    REQUIRE(slot->task == &t);
    return &t;
  }
  void erase(std::uint64_t key) { table.erase(table.find(key, table.hasher()(key))); }
  table_task* find(std::uint64_t key) const {
    auto* s = table.find(key, table.hasher()(key));
    return s ? static_cast<table_task*>(s->task) : nullptr;
  }
};

// Random inserts, erases (by key and by task), lookups, reserves and
// shrinks, each checked against std::unordered_map.
template <class Hash>
void check_against_unordered_map(std::uint64_t key_space, int ops, std::uint32_t seed) {
  table_fixture<Hash> fx;
  std::unordered_map<std::uint64_t, table_task*> model;
  std::mt19937 rng(seed);
  for (int i = 0; i < ops; ++i) {
    const std::uint64_t key = rng() % key_space;
    switch (rng() % 8) {
      case 0:
      case 1:
      case 2:
        if (!model.count(key))
          model[key] = fx.insert(key);
        break;
      case 3:
        if (auto it = model.find(key); it != model.end()) {
          fx.erase(key);
          model.erase(it);
        }
        break;
      case 4:
        if (auto it = model.find(key); it != model.end()) {
          CHECK(fx.table.take_key(fx.table.find_task(it->second)) == key);
          model.erase(it);
        }
        break;
      case 5:
        fx.table.reserve(model.size() + rng() % 64);
        break;
      case 6:
        fx.table.rehash(rng() % 16);
        break;
      default: {
        auto it = model.find(key);
        REQUIRE(fx.find(key) == (it == model.end() ? nullptr : it->second));
      }
    }
    REQUIRE(fx.table.size() == model.size());
  }
  std::size_t seen = 0;
  for (const auto& slot : fx.table) {
    ++seen;
    REQUIRE(model.at(slot.key) == slot.task);
  }
  CHECK(seen == model.size());
  for (const auto& [key, task] : model)
    CHECK(fx.find(key) == task);
}

}  // namespace

TEST_CASE("key_table: behaves as std::unordered_map under random inserts, erases and resizes",
          "[key_table]") {
  check_against_unordered_map<std::hash<std::uint64_t>>(2000, 200000, 1);
  check_against_unordered_map<std::hash<std::uint64_t>>(50, 50000, 2);
}

TEST_CASE("key_table: keys that all hash alike are told apart by equality", "[key_table]") {
  check_against_unordered_map<few_buckets_hash>(300, 30000, 3);
  check_against_unordered_map<one_value_hash>(100, 10000, 4);
}

TEST_CASE("key_table: a task is found by its stored hash and pointer, whatever its key",
          "[key_table]") {
  table_fixture<one_value_hash> fx;
  std::vector<table_task*> tasks;
  for (std::uint64_t k = 0; k < 100; ++k)
    tasks.push_back(fx.insert(k));
  for (std::uint64_t k = 0; k < 100; ++k)
    CHECK(fx.table.find_task(tasks[k])->key == k);
}

TEST_CASE("key_table: an identity hash of keys on a power-of-two stride spreads over the table",
          "[key_table]") {
  // The stored hash is mixed before it picks a group and its tag: without
  // that, these keys would share one tag and pile up from one group, and
  // each lookup would compare about half of them.
  struct counting_eq {
    std::size_t* calls;
    bool operator()(std::uint64_t a, std::uint64_t b) const noexcept {
      ++*calls;
      return a == b;
    }
  };
  std::size_t calls = 0;
  joinery::detail::key_table<std::uint64_t, std::hash<std::uint64_t>, counting_eq> table{
      std::hash<std::uint64_t>(), counting_eq{&calls}};
  std::deque<table_task> tasks;
  constexpr std::uint64_t n = 4096;
  for (std::uint64_t k = 0; k < n; ++k) {
    table_task& t = tasks.emplace_back();
    t.slot_ = std::hash<std::uint64_t>()(k << 20);
    table.reserve(table.size() + 1);
    REQUIRE(table.try_emplace(k << 20, t.slot_, &t).second);
  }
  calls = 0;
  for (std::uint64_t k = 0; k < n; ++k)
    REQUIRE(table.find(k << 20, std::hash<std::uint64_t>()(k << 20))->task == &tasks[k]);
  // One comparison per lookup, plus the few false tag matches (7-bit tags).
  CHECK(calls < 2 * n);
}

TEST_CASE("key_table: churn at a steady size reuses the table instead of growing it",
          "[key_table]") {
  // A server's map: a task finishes and another starts, a million times.
  // Erased slots become empty or tombstones; tombstones are reclaimed in
  // place, so the table stays at the size its live keys need.
  table_fixture<std::hash<std::uint64_t>> fx;
  std::deque<std::uint64_t> live;
  for (std::uint64_t k = 0; k < 100; ++k) {
    fx.insert(k);
    live.push_back(k);
  }
  const std::size_t cap = fx.table.capacity();
  for (std::uint64_t k = 100; k < 200000; ++k) {
    const std::uint64_t old = live.front();
    live.pop_front();
    fx.erase(old);
    fx.insert(k);
    live.push_back(k);
  }
  CHECK(fx.table.capacity() <= 2 * cap);
  for (std::uint64_t k : live)
    CHECK(fx.find(k) != nullptr);
}

TEST_CASE("key_table: reserve(n) holds n keys without growing; rehash shrinks to the live keys",
          "[key_table]") {
  for (std::size_t n : {1u, 7u, 8u, 100u, 1000u}) {
    table_fixture<std::hash<std::uint64_t>> fx;
    fx.table.reserve(n);
    const std::size_t cap = fx.table.capacity();
    CHECK(cap >= n);
    CHECK(cap < 2 * n + 8);
    for (std::uint64_t k = 0; k < cap; ++k)
      fx.insert(k);
    CHECK(fx.table.capacity() == cap);
    for (std::uint64_t k = 1; k < cap; ++k)
      fx.erase(k);
    fx.table.rehash(0);
    CHECK(fx.table.capacity() == 7);
    CHECK(fx.find(0) != nullptr);
    fx.erase(0);
    fx.table.rehash(0);
    CHECK(fx.table.capacity() == 0);
    CHECK(fx.find(0) == nullptr);
  }
}

TEST_CASE("key_table: clear_then empties the table before it hands out the tasks", "[key_table]") {
  table_fixture<std::hash<std::uint64_t>> fx;
  for (std::uint64_t k = 0; k < 50; ++k)
    fx.insert(k);
  std::size_t handed = 0;
  fx.table.clear_then([&](joinery::detail::task_header*) {
    CHECK(fx.table.empty());
    ++handed;
  });
  CHECK(handed == 50);
  CHECK(fx.table.begin() == fx.table.end());
}

TEST_CASE("key_table: string keys are looked up through a transparent equality", "[key_table]") {
  struct sv_hash {
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };
  struct sv_eq {
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };
  joinery::detail::key_table<std::string, sv_hash, sv_eq> table{sv_hash(), sv_eq()};
  std::deque<table_task> tasks;
  for (int i = 0; i < 200; ++i) {
    std::string key = "key-" + std::to_string(i);
    table_task& t = tasks.emplace_back();
    t.slot_ = sv_hash()(key);
    table.reserve(table.size() + 1);
    CHECK(table.try_emplace(std::move(key), t.slot_, &t).second);
  }
  std::string_view probe = "key-123";
  auto* s = table.find(probe, sv_hash()(probe));
  REQUIRE(s != nullptr);
  CHECK(s->task == &tasks[123]);
  std::string again = "key-7";
  auto [slot, inserted] = table.try_emplace(std::move(again), sv_hash()("key-7"), &tasks[0]);
  CHECK_FALSE(inserted);
  CHECK(slot->task == &tasks[7]);
}
