// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_SET_STATE_HPP
#define JOINERY_DETAIL_SET_STATE_HPP

// The states of the groups without keys: set_state (join_set) indexes its
// tasks in a vector, each task keeping its position in task_header::slot_
// (O(1) add and remove, 8 bytes a task); handle_state (join_handle) holds
// its one task. Their join policies (join_op.hpp) are here too.

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/group_state.hpp>
#include <joinery/detail/id_index.hpp>
#include <joinery/detail/join_op.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/detail/task_value.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

namespace joinery::detail {

template <class V>
class set_state final : public group_state<V, set_state<V>> {
 public:
  set_state() = default;
  ~set_state() override { release_index(); }

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
    return t;
  }

  // Takes the finished task `t` (the caller hands over the ready list's
  // reference) out of the index and returns its outcome.
  join_result<V> take(task_header* t) noexcept {
    task_ref<> list_ref(t);
    auto result = take_result<V>(t);
    task_header* last = tasks_.back();
    tasks_[t->slot_] = last;
    last->slot_ = t->slot_;
    tasks_.pop_back();
    ids_.erase(t);
    t->release();  // the index's reference
    return result;
  }

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

 private:
  std::vector<task_header*> tasks_;
  id_index ids_;
};

template <class V>
class handle_state final : public group_state<V, handle_state<V>> {
 public:
  handle_state() = default;
  ~handle_state() override { release_index(); }

  std::size_t size() const noexcept { return task_ ? 1 : 0; }
  bool is_empty() const noexcept { return task_ == nullptr; }

  template <class F>
  void for_each_task(F&& f) {
    if (task_)
      f(task_);
  }

  void release_index() noexcept {
    if (task_header* t = std::exchange(task_, nullptr))
      t->release();
  }

  template <class Launch>
  task_header* add(Launch&& launch) {
    task_ = launch(0);
    return task_;
  }

  join_result<V> take(task_header* t) noexcept {
    task_ref<> list_ref(t);
    auto result = take_result<V>(t);
    release_index();
    return result;
  }

  // join_handle::async_wait: `void(error_code, join_result<V>)`. With
  // nothing to deliver the result holds a default join_error; a handle
  // whose outcome was already delivered says so with not_found.
  struct wait_policy {
    JOINERY_OPERATION_LOCATION("joinery::join_handle::async_wait");
    using value_type = join_result<V>;
    using signature = void(boost::system::error_code, join_result<V>);
    static join_result<V> take(handle_state& s, task_header* t) noexcept { return s.take(t); }
    static std::tuple<boost::system::error_code, join_result<V>> completion_args(
        boost::system::error_code ec, std::optional<join_result<V>> value) {
      if (value)
        return {ec, std::move(*value)};
      if (!ec)
        ec = located(boost::asio::error::not_found, location);
      return {ec, join_result<V>(boost::system::in_place_error, join_error())};
    }
  };

 private:
  task_header* task_ = nullptr;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_SET_STATE_HPP
