// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_KEY_TABLE_HPP
#define JOINERY_DETAIL_KEY_TABLE_HPP

// key_table<K, Hash, KeyEqual>: join_map's keys, an absl::flat_hash_set of
// {key, task} slots.
//
// Each slot's hash is the user's hash of its key, computed once at spawn
// and kept in the task (task_header::slot_): the table's hasher returns that
// stored hash instead of hashing the key again. This is the id -> hash
// reverse index of tokio's JoinMap, kept inside the task record: when a
// finished task comes off the ready list, its slot is found by (stored
// hash, task pointer), so neither the key's hash nor its equality runs, and
// keys that collide (even under a Hash that returns a constant) are told
// apart by task. Rehashing the table also reuses the stored hashes.
//
// Slots are looked up three ways, through transparent hash and equality:
//   - prehashed<Q>{key, hash}: by a user key (equality: KeyEqual);
//   - by_task{task}: by a task known to be in the table (equality: pointer);
//   - key_slot itself (abseil's own rehash and consistency checks).

#include <joinery/detail/task.hpp>

#include <absl/container/flat_hash_set.h>

#include <cstddef>
#include <iterator>
#include <utility>

namespace joinery::detail {

template <class K>
struct key_slot {
  key_slot(K&& k, task_header* t) noexcept : key(std::move(k)), task(t) {}
  K key;
  // The task under this key: the table holds one reference to it. Mutable
  // because set elements are const, and a spawn on an existing key swaps
  // the task in place (same key, so same hash and position).
  mutable task_header* task;
};

template <class Q>
struct prehashed {
  const Q& key;
  std::size_t hash;
};

struct by_task {
  task_header* task;
};

template <class K, class Hash>
class slot_hash : private Hash {
 public:
  using is_transparent = void;
  explicit slot_hash(const Hash& h = Hash()) : Hash(h) {}
  const Hash& user() const noexcept { return *this; }
  std::size_t operator()(const key_slot<K>& s) const noexcept { return s.task->slot_; }
  template <class Q>
  std::size_t operator()(const prehashed<Q>& p) const noexcept {
    return p.hash;
  }
  std::size_t operator()(const by_task& b) const noexcept { return b.task->slot_; }
};

template <class K, class KeyEqual>
class slot_eq : private KeyEqual {
 public:
  using is_transparent = void;
  explicit slot_eq(const KeyEqual& e = KeyEqual()) : KeyEqual(e) {}
  const KeyEqual& user() const noexcept { return *this; }
  bool operator()(const key_slot<K>& a, const key_slot<K>& b) const { return user()(a.key, b.key); }
  template <class Q>
  bool operator()(const key_slot<K>& a, const prehashed<Q>& b) const {
    return user()(a.key, b.key);
  }
  template <class Q>
  bool operator()(const prehashed<Q>& a, const key_slot<K>& b) const {
    return user()(b.key, a.key);
  }
  bool operator()(const key_slot<K>& a, const by_task& b) const noexcept {
    return a.task == b.task;
  }
  bool operator()(const by_task& a, const key_slot<K>& b) const noexcept {
    return a.task == b.task;
  }
};

template <class K, class Hash, class KeyEqual>
using key_table = absl::flat_hash_set<key_slot<K>, slot_hash<K, Hash>, slot_eq<K, KeyEqual>>;

// Tasks a table with `slots` slots (abseil's public capacity()) holds
// before it grows: abseil grows a table at 7/8 full, 6 of 7 slots with
// 8-wide probe groups (without SSE2). abseil's load policy from 2018 to
// today, pinned by the test "join_map: capacity() tasks fit without the
// table growing" (docs/internals.md).
inline std::size_t tasks_before_growth(std::size_t slots) noexcept {
#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
  constexpr bool narrow_groups = false;
#else
  constexpr bool narrow_groups = true;
#endif
  if (narrow_groups && slots == 7)
    return 6;
  return slots - slots / 8;
}

// Iterates a key table as a range of const K&.
template <class K, class Table>
class key_iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = K;
  using difference_type = std::ptrdiff_t;
  using pointer = const K*;
  using reference = const K&;

  key_iterator() = default;
  explicit key_iterator(typename Table::const_iterator it) : it_(it) {}

  reference operator*() const { return it_->key; }
  pointer operator->() const { return &it_->key; }
  key_iterator& operator++() {
    ++it_;
    return *this;
  }
  key_iterator operator++(int) {
    key_iterator old = *this;
    ++it_;
    return old;
  }
  friend bool operator==(const key_iterator& a, const key_iterator& b) { return a.it_ == b.it_; }

 private:
  typename Table::const_iterator it_{};
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_KEY_TABLE_HPP
