// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_MAP_STATE_HPP
#define JOINERY_DETAIL_MAP_STATE_HPP

// map_state: join_map's shared state: the group's core plus the owner's
// index of its tasks by key, and its join policies.
//
// The key index is an absl::flat_hash_set of {key, task} entries. Each
// task keeps its key's hash (the user's Hash, mixed: see mixed_hash) in
// task_header::owner_slot, and every lookup passes its hash in (abseil's
// prehashed find): a finished task's entry is found again by (stored hash,
// task pointer), so the user's Hash and KeyEqual never run on the join path
// and colliding keys (even under a constant Hash) are told apart by task,
// and growing the table rehashes nothing. Only finding by key calls the
// user's KeyEqual.
//
// A spawn hashes the key, finds it, makes room, and only then launches
// the task and inserts it: the user's Hash or KeyEqual throwing (either
// may) leaves the map as it was and no task running, and nothing after the
// launch can fail (the insert has room and compares entries by task).

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/group_core.hpp>
#include <joinery/detail/id_index.hpp>
#include <joinery/detail/join_op.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>
#include <joinery/task_info.hpp>

#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace joinery::detail {

// --- abseil internals ---------------------------------------------------------
// The one place joinery uses abseil's container_internal namespace: how many
// elements a flat_hash_set of `slots` slots holds before it grows (its load
// factor, which depends on the width of its control groups, 8 or 16),
// for join_map::capacity(). Pinned by its shape; written for abseil
// 20220623 (the version Debian 12 ships) and later LTS releases.
static_assert(std::is_same_v<decltype(&absl::container_internal::CapacityToGrowth),
                             std::size_t (*)(std::size_t)>,
              "joinery (detail/map_state.hpp): absl::container_internal::CapacityToGrowth has "
              "changed shape; this code was written for abseil 20220623");
inline std::size_t table_growth(std::size_t slots) noexcept {
  return absl::container_internal::CapacityToGrowth(slots);
}

// One entry of the key index. Mutable: a spawn replacing the task under a
// key swaps the task in place (its stored hash is the same), and a join
// moves the key out right before erasing the entry; neither changes what
// the table hashes or compares.
template <class K>
struct key_entry {
  mutable K key;
  mutable task_header* task;  // the index holds one reference
};

// Finding by key: the key, its mixed hash, and the user's equality.
template <class Q, class KeyEqual>
struct key_lookup {
  const Q& key;
  std::size_t hash;
  const KeyEqual& eq;
};

// Finding a task of the index: its stored hash and its address.
struct task_lookup {
  std::size_t hash;
  const task_header* task;
};

// The table's hash: an entry's is its task's stored hash, a lookup's the
// one it carries. Never the user's Hash.
struct entry_hash {
  using is_transparent = void;
  template <class K>
  std::size_t operator()(const key_entry<K>& e) const noexcept {
    return e.task->owner_slot();
  }
  template <class Q, class E>
  std::size_t operator()(const key_lookup<Q, E>& l) const noexcept {
    return l.hash;
  }
  std::size_t operator()(const task_lookup& l) const noexcept { return l.hash; }
};

// The table's equality: entries are the same when their task is (two
// entries never hold one task, and an insert never meets its own key: the
// spawn looked first); a key lookup asks the user's KeyEqual, which may
// throw.
struct entry_eq {
  using is_transparent = void;
  template <class K>
  bool operator()(const key_entry<K>& a, const key_entry<K>& b) const noexcept {
    return a.task == b.task;
  }
  template <class K, class Q, class E>
  bool operator()(const key_entry<K>& e, const key_lookup<Q, E>& l) const {
    return l.eq(e.key, l.key);
  }
  template <class K>
  bool operator()(const key_entry<K>& e, const task_lookup& l) const noexcept {
    return e.task == l.task;
  }
};

// join_map::keys()'s iterator: a forward iterator over the index's keys.
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

template <class K, class V, class Hash, class KeyEqual>
class map_state final : public group_core {
 public:
  using output_type = V;
  using entry = key_entry<K>;
  using table_type = absl::flat_hash_set<entry, entry_hash, entry_eq>;
  using const_iterator = typename table_type::const_iterator;
  using delivered_type = std::pair<K, join_result<V>>;

  map_state(std::size_t capacity, const Hash& hash, const KeyEqual& eq) : hash_(hash), eq_(eq) {
    table_.reserve(capacity);
  }
  ~map_state() override { release_index(); }

  // join_map::async_join_next
  struct take_policy : optional_delivery<delivered_type> {
    JOINERY_OPERATION_LOCATION("joinery::join_map::async_join_next");
    JOINERY_LOCATION(shutdown_location, "joinery::join_map::async_shutdown");
    JOINERY_LOCATION(join_all_location, "joinery::join_map::async_join_all");
    static delivered_type take(map_state& s, task_header* t) noexcept { return s.take(t); }
  };

  // join_map::async_join (by key): the outcome only.
  struct key_take_policy : optional_delivery<join_result<V>> {
    JOINERY_OPERATION_LOCATION("joinery::join_map::async_join");
    static join_result<V> take(map_state& s, task_header* t) noexcept {
      return std::move(s.take(t).second);
    }
  };

  std::size_t size() const noexcept { return table_.size(); }
  bool is_empty() const noexcept { return table_.empty(); }
  const_iterator begin() const noexcept { return table_.begin(); }
  const_iterator end() const noexcept { return table_.end(); }

  template <class F>
  void for_each_task(F&& f) {
    for (const entry& e : table_)
      f(e.task);
  }

  // Empties both indexes, dropping the table's references, and frees their
  // memory.
  void release_index() noexcept {
    ids_.clear();
    table_type old(std::move(table_));
    table_ = table_type();
    for (const entry& e : old)
      e.task->release();
  }

  bool contains_task(task_id id) {
    if (!ids_)
      ids_.build(table_.size(), [this](auto&& f) { this->for_each_task(f); });
    return ids_.contains(id);
  }

  // The task under `key` (any key type the hash and equality accept), or
  // null. The user's Hash and KeyEqual may throw; nothing changes then.
  template <class Q>
  task_header* find(const Q& key) const {
    const std::size_t h = mixed_hash(key);
    auto it = table_.find(key_lookup<Q, KeyEqual>{key, h, eq_}, h);
    return it == table_.end() ? nullptr : it->task;
  }

  // Launches through `launch(hash)`, which creates and posts the task and
  // returns it (one reference, which the index keeps). Strong guarantee: if
  // hashing, comparing keys, allocating or launching throws, the map is
  // unchanged and no task runs. A task already under `key` is replaced:
  // aborted, and removed so that its outcome is never reported. Returns
  // the new task.
  template <class Launch>
  task_header* spawn(K&& key, Launch&& launch) {
    const std::size_t h = mixed_hash(key);
    auto it = table_.find(key_lookup<K, KeyEqual>{key, h, eq_}, h);
    if (it != table_.end()) {
      task_header* t = launch(h);
      // From here on nothing throws.
      ids_.add(t);
      retire(std::exchange(it->task, t));
      count_spawned(size());
      return t;
    }
    table_.reserve(table_.size() + 1);  // room first: the insert cannot fail
    task_header* t = launch(h);
    // From here on nothing throws: the table has room, entries are compared
    // by task and hashed by the stored hash, K moves nothrow.
    ids_.add(t);
    table_.insert(entry{std::move(key), t});
    count_spawned(size());
    return t;
  }

  // What info(key) and snapshot() report: the task under `key`, or none.
  template <class Q>
  std::optional<task_info> info_of(const Q& key) const {
    if (const task_header* t = find(key))
      return info(t);
    return std::nullopt;
  }

  // Every task with its key, in spawn order (task ids increase with it).
  std::vector<std::pair<K, task_info>> snapshot() const {
    std::vector<std::pair<K, task_info>> all;
    all.reserve(table_.size());
    for (const entry& e : table_)
      all.emplace_back(e.key, info(e.task));
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return a.second.id < b.second.id; });
    return all;
  }

  // Takes the finished task `t` (the caller hands over the ready list's
  // reference) out of the map and returns its key and outcome.
  delivered_type take(task_header* t) noexcept {
    task_ref<> list_ref(t);
    task_ref<> index_ref(t);
    auto it = find_task(t);
    K key(std::move(it->key));
    table_.erase(it);
    ids_.erase(t);
    return delivered_type(std::move(key), take_result<V>(t));
  }

  // Removes the task `t` (under its key) without aborting it: it runs on and
  // reports to nobody; a keyed join waiting for it completes with not_found.
  void detach(task_header* t) noexcept {
    count_detached(1);
    orphan([t](auto&& f) { f(t); }, orphan_reason::detached);
    table_.erase(find_task(t));
    ids_.erase(t);
    t->release();  // the index's reference
    kick();        // a next-join may find the map empty now
  }

  // Aborts the tasks whose key satisfies pred; returns how many matched.
  template <class Pred>
  std::size_t abort_matching(Pred& pred, net::cancellation_type type) {
    std::size_t n = 0;
    for (const entry& e : table_) {
      if (pred(std::as_const(e.key))) {
        ++n;
        e.task->abort(type);
      }
    }
    return n;
  }

  // Tasks the map holds before its table grows: abseil's growth for the
  // table's slots (7/8 of them, or all while they fit one group). Abseil
  // has no public name for it (abseil_internals below).
  std::size_t capacity() const noexcept {
    const std::size_t slots = table_.capacity();
    return slots == 0 ? 0 : table_growth(slots);
  }

  void reserve(std::size_t n) { table_.reserve(n); }

  // Shrinks the table to the smallest holding max(n, size()) tasks, if
  // that is smaller. The entries move into a new table with room for them
  // (allocated first: if that throws, nothing changed), rehashed by their
  // stored hashes: no user code runs but K's nothrow move.
  void shrink_to(std::size_t n) {
    if (capacity() <= n)
      return;
    table_type fresh;
    fresh.reserve(n > size() ? n : size());
    if (fresh.capacity() >= table_.capacity())
      return;
    for (const entry& e : table_)
      fresh.insert(entry{std::move(e.key), e.task});
    table_.swap(fresh);
    ids_.clear();  // rebuilt on demand, at the new size
  }

  // The user's hash of `key`, mixed (a multiply by a 64-bit odd constant,
  // folded), so that a weak user hash (an identity std::hash<int>) still
  // spreads over abseil's groups and control bits, which take the hash's
  // low 7 bits and its high bits as they are.
  template <class Q>
  std::size_t mixed_hash(const Q& key) const {
    const std::uint64_t m = static_cast<std::uint64_t>(hash_(key)) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(m ^ (m >> 32));
  }

  const Hash& hash_function() const noexcept { return hash_; }
  const KeyEqual& key_eq() const noexcept { return eq_; }

 private:
  typename table_type::iterator find_task(task_header* t) noexcept {
    const std::size_t h = t->owner_slot();
    return table_.find(task_lookup{h, t}, h);
  }

  // A task replaced under its key: it leaves the map now and its outcome is
  // never reported (tokio#7257: a replaced task's result must not surface).
  void retire(task_header* old) noexcept {
    orphan([old](auto&& f) { f(old); }, orphan_reason::replaced);
    old->abort_quietly();
    ids_.erase(old);
    old->release();  // the index's reference
  }

  [[no_unique_address]] Hash hash_;
  [[no_unique_address]] KeyEqual eq_;
  table_type table_;  // key -> task
  id_index ids_;      // task id -> task, built on demand (contains_task)
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_MAP_STATE_HPP
