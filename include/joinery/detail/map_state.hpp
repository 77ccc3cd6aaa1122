// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_MAP_STATE_HPP
#define JOINERY_DETAIL_MAP_STATE_HPP

// map_state: a task_group plus the key table of a join_map.
//
// The key table is an absl::flat_hash_set of {key, task} slots. Each slot's
// hash is the user's hash of its key, computed once at spawn and stored in
// the task (task_header::hash_): the table's hasher returns that stored hash
// instead of hashing the key again. This is the id -> hash reverse index of
// tokio's JoinMap, kept inside the task record: when a finished task comes
// off the ready list, its slot is found by (stored hash, task pointer), so
// neither the key's hash nor its equality runs, and keys that collide (even
// a Hash that returns a constant) are told apart by task. Rehashing the
// table also reuses the stored hashes.
//
// Slots are looked up three ways, through transparent hash and equality:
//   - prehashed<Q>{key, hash}: by a user key (equality: KeyEqual);
//   - by_task{task}: by a task known to be in the table (equality: pointer);
//   - key_slot itself (abseil's own rehash and consistency checks).

#include <joinery/detail/default_hash.hpp>
#include <joinery/detail/join_op.hpp>
#include <joinery/detail/task_group.hpp>
#include <joinery/join_error.hpp>

#include <absl/container/flat_hash_set.h>

#include <cassert>
#include <cstddef>
#include <iterator>
#include <memory>
#include <utility>

namespace joinery::detail {

template <class K>
struct key_slot {
  key_slot(K&& k, task_header* t) noexcept : key(std::move(k)), task(t) {}
  K key;
  // The task under this key: the table holds one reference to it.
  // Mutable because set elements are const, and a spawn on an existing key
  // swaps the task in place (same key, so same hash and position).
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
  std::size_t operator()(const key_slot<K>& s) const noexcept { return s.task->hash_; }
  template <class Q>
  std::size_t operator()(const prehashed<Q>& p) const noexcept {
    return p.hash;
  }
  std::size_t operator()(const by_task& b) const noexcept { return b.task->hash_; }
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

template <class K, class V, class Hash, class KeyEqual>
class map_state final : public task_group<V, map_state<K, V, Hash, KeyEqual>> {
 public:
  using table_type = absl::flat_hash_set<key_slot<K>, slot_hash<K, Hash>, slot_eq<K, KeyEqual>>;
  using value_type = std::pair<K, join_result<V>>;

  map_state(std::size_t capacity, const Hash& hash, const KeyEqual& eq)
      : table_(capacity, slot_hash<K, Hash>(hash), slot_eq<K, KeyEqual>(eq)) {}
  ~map_state() override { release_index(); }

  // The join policy (see join_op.hpp).
  struct take_policy : optional_delivery<value_type> {
    JOINERY_OPERATION_LOCATION("joinery::join_map::async_join_next");
    JOINERY_LOCATION(shutdown_location, "joinery::join_map::async_shutdown");
    JOINERY_LOCATION(join_all_location, "joinery::join_map::async_join_all");
    static bool is_empty(const map_state& s) noexcept { return s.table_.empty(); }
    static value_type take(map_state& s, task_header* t) noexcept { return s.take(t); }
  };

  std::size_t size() const noexcept { return table_.size(); }

  template <class F>
  void for_each_task(F f) {
    for (const key_slot<K>& s : table_)
      f(s.task);
  }

  // Empties both indexes, dropping the table's references, and frees their
  // memory.
  void release_index() noexcept {
    ids_.reset();
    table_type table;
    table.swap(table_);
    for (const key_slot<K>& s : table)
      s.task->release();
  }

  // The id index is built on the first call and kept up to date from then
  // on: maps that never ask pay nothing for it (it is tokio's id -> hash
  // reverse index, which joinery otherwise keeps in each task: hash_).
  bool contains_task(task_id id) {
    if (!ids_) {
      auto ids = std::make_unique<id_index>();
      ids->reserve(table_.size());
      for (const key_slot<K>& s : table_)
        ids->insert(s.task);
      ids_ = std::move(ids);
    }
    return ids_->contains(id);
  }

  template <class Q>
  std::size_t hash(const Q& key) const {
    return table_.hash_function().user()(key);
  }

  template <class Q>
  typename table_type::const_iterator find(const Q& key) const {
    return table_.find(prehashed<Q>{key, hash(key)});
  }

  // Spawns through `launch(hash)`, which creates and posts the task and
  // returns it (one reference, which the table keeps). Strong guarantee: if
  // hashing, allocating or launching throws, the map is unchanged and no
  // task runs. A task already under `key` is replaced: aborted, and removed
  // so that its outcome is never reported. Returns the new task.
  template <class Launch>
  task_header* spawn(K&& key, Launch&& launch) {
    const std::size_t h = hash(key);
    // Make room first, so nothing after the launch can fail.
    table_.reserve(table_.size() + 1);
    if (ids_)
      ids_->reserve(ids_->size() + 1);
    task_header* t = launch(h);
    // From here on nothing throws: the tables have room, K moves nothrow.
    if (ids_)
      ids_->insert(t);
    bool inserted = false;
    auto it = table_.lazy_emplace(prehashed<K>{key, h}, [&](const auto& ctor) {
      inserted = true;
      ctor(std::move(key), t);
    });
    if (!inserted)
      retire(std::exchange(it->task, t));
    return t;
  }

  // Takes the finished task `t` (off the ready list; the caller hands over
  // the list's reference) out of the map and returns its key and outcome.
  value_type take(task_header* t) noexcept {
    task_ref<task_header> list_ref(t);
    task_ref<task_header> table_ref(t);
    auto it = table_.find(by_task{t});
    assert(it != table_.end() && "a queued task is always in its map");
    auto node = table_.extract(it);
    if (ids_)
      ids_->erase(t);
    return value_type(std::move(node.value().key), static_cast<task_value<V>*>(t)->take_result());
  }

  template <class Pred>
  std::size_t abort_matching(Pred& pred) {
    std::size_t n = 0;
    for (const key_slot<K>& s : table_) {
      if (pred(std::as_const(s.key))) {
        ++n;
        s.task->abort();
      }
    }
    return n;
  }

  // Tasks the map can hold before its table grows. abseil's public
  // capacity() counts slots; a table grows when it is 7/8 full (6 of 7
  // slots with 8-wide probe groups, i.e. without SSE2). This is abseil's
  // load policy from 2018 to today, pinned by the "capacity" test.
  std::size_t capacity() const noexcept {
    const std::size_t slots = table_.capacity();
#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
    constexpr bool narrow_groups = false;
#else
    constexpr bool narrow_groups = true;
#endif
    if (narrow_groups && slots == 7)
      return 6;
    return slots - slots / 8;
  }

  void reserve(std::size_t n) { table_.reserve(n); }

  void shrink_to(std::size_t n) {
    if (n < capacity()) {
      table_.rehash(n);
      if (ids_)
        ids_->rehash(n);
    }
  }

  // Key -> task. Each slot holds one reference on its task.
  table_type table_;

 private:
  // A task replaced under its key: it leaves the map now and its outcome is
  // never reported (tokio#7257: a replaced task's result must not surface).
  void retire(task_header* old) noexcept {
    this->orphan(old);
    try {
      old->abort();
    } catch (...) {
      // Could not post the cancellation (out of memory): the task is
      // orphaned and marked aborted, so it merely runs longer, unobserved.
    }
    if (ids_)
      ids_->erase(old);
    old->release();  // the table's reference
  }

  // task id -> task, built on demand (see contains_task).
  std::unique_ptr<id_index> ids_;
};

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

#endif  // JOINERY_DETAIL_MAP_STATE_HPP
