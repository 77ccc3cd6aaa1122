// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_MAP_STATE_HPP
#define JOINERY_DETAIL_MAP_STATE_HPP

// map_state: join_map's shared state, a group whose owner's index is a key
// table (key_table.hpp), and its join policy.

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/group_state.hpp>
#include <joinery/detail/id_index.hpp>
#include <joinery/detail/join_op.hpp>
#include <joinery/detail/key_table.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/detail/task_value.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>

#include <cstddef>
#include <utility>

namespace joinery::detail {

template <class K, class V, class Hash, class KeyEqual>
class map_state final : public group_state<V, map_state<K, V, Hash, KeyEqual>> {
 public:
  using table_type = key_table<K, Hash, KeyEqual>;
  using const_iterator = typename table_type::const_iterator;
  using delivered_type = std::pair<K, join_result<V>>;

  map_state(std::size_t capacity, const Hash& hash, const KeyEqual& eq) : table_(hash, eq) {
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
    for (const key_slot<K>& s : table_)
      f(s.task);
  }

  // Empties both indexes, dropping the table's references, and frees their
  // memory.
  void release_index() noexcept {
    ids_.clear();
    table_.clear_then([](task_header* t) { t->release(); });
  }

  bool contains_task(task_id id) {
    if (!ids_)
      ids_.build(table_.size(), [this](auto&& f) { this->for_each_task(f); });
    return ids_.contains(id);
  }

  // The task under `key` (any key type the hash and equality accept), or
  // null.
  template <class Q>
  task_header* find(const Q& key) const {
    const key_slot<K>* s = table_.find(key, hash(key));
    return s ? s->task : nullptr;
  }

  // Launches through `launch(hash)`, which creates and posts the task and
  // returns it (one reference, which the table keeps). Strong guarantee: if
  // hashing, allocating or launching throws, the map is unchanged and no
  // task runs. A task already under `key` is replaced: aborted, and removed
  // so that its outcome is never reported. Returns the new task.
  template <class Launch>
  task_header* spawn(K&& key, Launch&& launch) {
    const std::size_t h = hash(key);
    table_.reserve(table_.size() + 1);  // room first: nothing after the launch may fail
    task_header* t = launch(h);
    // From here on nothing throws: the table has room, K moves nothrow.
    ids_.add(t);
    auto [s, inserted] = table_.try_emplace(std::move(key), h, t);
    if (!inserted)
      retire(std::exchange(s->task, t));
    return t;
  }

  // Takes the finished task `t` (the caller hands over the ready list's
  // reference) out of the map and returns its key and outcome.
  delivered_type take(task_header* t) noexcept {
    task_ref<> list_ref(t);
    task_ref<> table_ref(t);
    K key = table_.take_key(table_.find_task(t));
    ids_.erase(t);
    return delivered_type(std::move(key), take_result<V>(t));
  }

  // Removes the task `t` (under its key) without aborting it: it runs on and
  // reports to nobody; a keyed join waiting for it completes with not_found.
  void detach(task_header* t) noexcept {
    this->orphan([t](auto&& f) { f(t); }, true);
    table_.erase(table_.find_task(t));
    ids_.erase(t);
    t->release();  // the table's reference
    this->kick();  // a next-join may find the map empty now
  }

  // Aborts the tasks whose key satisfies pred; returns how many matched.
  template <class Pred>
  std::size_t abort_matching(Pred& pred, net::cancellation_type type) {
    std::size_t n = 0;
    for (const key_slot<K>& s : table_) {
      if (pred(std::as_const(s.key))) {
        ++n;
        s.task->abort(type);
      }
    }
    return n;
  }

  // Tasks the map holds before its table grows.
  std::size_t capacity() const noexcept { return table_.capacity(); }

  void reserve(std::size_t n) { table_.reserve(n); }

  void shrink_to(std::size_t n) {
    if (n < capacity()) {
      table_.rehash(n);
      ids_.clear();  // rebuilt on demand, at the new size
    }
  }

  template <class Q>
  std::size_t hash(const Q& key) const {
    return table_.hasher()(key);
  }

 private:
  // A task replaced under its key: it leaves the map now and its outcome is
  // never reported (tokio#7257: a replaced task's result must not surface).
  void retire(task_header* old) noexcept {
    this->orphan([old](auto&& f) { f(old); }, false);
    old->abort_quietly();
    ids_.erase(old);
    old->release();  // the table's reference
  }

  table_type table_;  // key -> task; each slot holds one reference
  id_index ids_;      // task id -> task, built on demand (contains_task)
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_MAP_STATE_HPP
