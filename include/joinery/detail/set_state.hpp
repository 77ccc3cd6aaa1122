// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_SET_STATE_HPP
#define JOINERY_DETAIL_SET_STATE_HPP

// set_state: join_set's shared state: the group's core plus the owner's
// index of its tasks, a vector in which each task keeps its position
// (task_header::owner_slot: O(1) add and remove, 8 bytes a task), and its
// join policies.

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/group_core.hpp>
#include <joinery/detail/id_index.hpp>
#include <joinery/detail/join_op.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>
#include <joinery/task_info.hpp>

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace joinery::detail {

template <class V>
class set_state final : public group_core {
 public:
  using output_type = V;

  set_state() = default;
  ~set_state() override { release_index(); }

  // join_set::async_join_next
  struct take_policy : optional_delivery<join_result<V>> {
    JOINERY_OPERATION_LOCATION("joinery::join_set::async_join_next");
    JOINERY_LOCATION(shutdown_location, "joinery::join_set::async_shutdown");
    JOINERY_LOCATION(join_all_location, "joinery::join_set::async_join_all");
    static join_result<V> take(set_state& s, task_header* t) noexcept { return s.take(t); }
  };

  // join_set::async_join_next_with_id
  struct take_with_id_policy : optional_delivery<std::pair<task_id, join_result<V>>> {
    JOINERY_OPERATION_LOCATION("joinery::join_set::async_join_next_with_id");
    static std::pair<task_id, join_result<V>> take(set_state& s, task_header* t) noexcept {
      const task_id id = t->id();
      return {id, s.take(t)};
    }
  };

  std::size_t size() const noexcept { return tasks_.size(); }
  bool is_empty() const noexcept { return tasks_.empty(); }

  bool contains_task(task_id id) {
    if (!ids_)
      ids_.build(tasks_.size(), [this](auto&& f) { this->for_each_task(f); });
    return ids_.contains(id);
  }

  template <class F>
  void for_each_task(F&& f) {
    for (task_header* t : tasks_)
      f(t);
  }

  void release_index() noexcept {
    ids_.clear();
    std::vector<task_header*> tasks;
    tasks.swap(tasks_);  // also frees the vector's memory
    for (task_header* t : tasks)
      t->release();
  }

  // Launches through launch(slot) and adds the task. Strong guarantee.
  template <class Launch>
  task_header* add(Launch&& launch) {
    if (tasks_.size() == tasks_.capacity())
      tasks_.reserve(std::max<std::size_t>(8, 2 * tasks_.capacity()));
    task_header* t = launch(tasks_.size());
    tasks_.push_back(t);  // cannot throw: there is room
    ids_.add(t);
    count_spawned(size());
    return t;
  }

  // Every task, in spawn order (task ids increase with it).
  std::vector<task_info> snapshot() const {
    std::vector<task_info> all;
    all.reserve(tasks_.size());
    for (const task_header* t : tasks_)
      all.push_back(info(t));
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return all;
  }

  // Takes the finished task `t` (the caller hands over the ready list's
  // reference) out of the index and returns its outcome.
  join_result<V> take(task_header* t) noexcept {
    task_ref<> list_ref(t);
    task_ref<> index_ref(t);
    auto result = take_result<V>(t);
    task_header* last = tasks_.back();
    tasks_[t->owner_slot()] = last;
    last->set_owner_slot(t->owner_slot());
    tasks_.pop_back();
    ids_.erase(t);
    return result;
  }

 private:
  std::vector<task_header*> tasks_;  // each holds one reference
  id_index ids_;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_SET_STATE_HPP
