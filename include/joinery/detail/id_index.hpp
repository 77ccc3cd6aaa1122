// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_ID_INDEX_HPP
#define JOINERY_DETAIL_ID_INDEX_HPP

// id_index: a group's tasks by task id, for contains_task(id).
//
// Built on a group's first contains_task call and kept up to date from then
// on: groups that never ask do not pay for it (tokio's JoinMap keeps its
// id -> hash table always). Looked up by task_id directly (transparent), so
// contains_task is one probe.

#include <joinery/detail/task.hpp>
#include <joinery/task_id.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_set>

namespace joinery::detail {

class id_index {
 public:
  // Whether the index exists (then every add and erase must be reported).
  explicit operator bool() const noexcept { return static_cast<bool>(ids_); }

  // Builds the index from every task for_each(f) visits.
  template <class ForEach>
  void build(std::size_t size, ForEach&& for_each) {
    auto ids = std::make_unique<set_type>();
    ids->reserve(size);
    for_each([&](task_header* t) { ids->insert(t); });
    ids_ = std::move(ids);
  }

  bool contains(task_id id) const { return ids_->find(id) != ids_->end(); }

  // Adds a task. The index is a cache: out of memory, it is dropped, and
  // the next contains_task builds it again (so add never fails a spawn).
  void add(task_header* t) noexcept {
    if (ids_)  // the common case, no index, stays inline in the spawn
      insert(t);
  }
  void erase(task_header* t) noexcept {
    if (ids_)
      ids_->erase(t);
  }
  void clear() noexcept { ids_.reset(); }

 private:
  void insert(task_header* t) noexcept {
    try {
      ids_->insert(t);
    } catch (...) {
      ids_.reset();
    }
  }

  struct hash {
    using is_transparent = void;
    std::size_t operator()(const task_header* t) const noexcept {
      return std::hash<std::uint64_t>{}(t->id().value());
    }
    std::size_t operator()(task_id id) const noexcept {
      return std::hash<std::uint64_t>{}(id.value());
    }
  };
  struct eq {
    using is_transparent = void;
    bool operator()(const task_header* a, const task_header* b) const noexcept { return a == b; }
    bool operator()(const task_header* a, task_id b) const noexcept { return a->id() == b; }
    bool operator()(task_id a, const task_header* b) const noexcept { return a == b->id(); }
  };
  using set_type = std::unordered_set<task_header*, hash, eq>;

  std::unique_ptr<set_type> ids_;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_ID_INDEX_HPP
