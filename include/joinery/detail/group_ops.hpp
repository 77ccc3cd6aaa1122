// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_GROUP_OPS_HPP
#define JOINERY_DETAIL_GROUP_OPS_HPP

// What join_map, join_set and join_handle share on top of the core: turning
// a spawn argument into a launched task, the join policies of a plain group
// of tasks, and the initiations of the asynchronous operations.

#include <joinery/detail/join_op.hpp>
#include <joinery/detail/launch.hpp>
#include <joinery/detail/task_group.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>

#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace joinery::detail {

// --- Launching --------------------------------------------------------------

// A spawn argument as the callable a task keeps: a factory as it is, a ready
// awaitable wrapped so that it can be invoked once.
template <class TaskOrFactory>
decltype(auto) as_task_fn(TaskOrFactory&& task) {
  if constexpr (is_awaitable_v<TaskOrFactory>) {
    using traits = awaitable_traits<std::remove_cvref_t<TaskOrFactory>>;
    return awaitable_fn<typename traits::value_type, typename traits::executor_type>(
        std::move(task));
  } else {
    return std::forward<TaskOrFactory>(task);
  }
}

// Launches the coroutine `fn()` on `ex` for a group of tasks producing V.
template <class V, class Ex, class Fn>
task_header* launch_coro(group_core* core, const Ex& ex, bool serial, Fn&& fn, std::size_t hash) {
  using traits = awaitable_traits<factory_result_t<Fn>>;
  using E = typename traits::executor_type;
  static_assert(result_compatible_v<V, typename traits::value_type>,
                "joinery: the task's awaitable must produce the group's V (or void for V = void)");
  return launch_coro_task<V, E>(core, task_executor_for<E>(ex, serial), std::forward<Fn>(fn), hash);
}

// Launches the synchronous `f()` on `ex` (a thread pool).
template <class V, class Ex, class F>
task_header* launch_blocking(group_core* core, const Ex& ex, F&& f, std::size_t hash) {
  static_assert(std::is_invocable_v<std::decay_t<F>&>,
                "joinery: spawn_blocking needs a callable taking no arguments");
  static_assert(result_compatible_v<V, std::invoke_result_t<std::decay_t<F>&>>,
                "joinery: a blocking task must return the group's V (or void for V = void)");
  return launch_blocking_task<V>(core, ex, std::forward<F>(f), hash);
}

// --- Join policies (see join_op.hpp) ----------------------------------------

// A group of tasks without keys (join_set, join_handle).
template <class V>
class set_state final : public task_group<V, set_state<V>> {
 public:
  set_state() = default;
  ~set_state() override { release_index(); }

  // Every task of the group, by id; each holds one reference.
  id_index tasks_;

  std::size_t size() const noexcept { return tasks_.size(); }
  bool contains_task(task_id id) const { return tasks_.contains(id); }

  template <class F>
  void for_each_task(F f) {
    for (task_header* t : tasks_)
      f(t);
  }

  void release_index() noexcept {
    id_index tasks;
    tasks.swap(tasks_);  // also frees the index's memory
    for (task_header* t : tasks)
      t->release();
  }

  // Launches through `launch()` and adds the task. Strong guarantee.
  template <class Launch>
  task_header* add(Launch&& launch) {
    tasks_.reserve(tasks_.size() + 1);
    task_header* t = launch();
    tasks_.insert(t);  // cannot fail: reserved
    return t;
  }

  // Takes `t` off the index (the caller hands over the ready list's
  // reference) and returns its outcome.
  join_result<V> take(task_header* t) noexcept {
    task_ref<task_header> list_ref(t);
    auto result = static_cast<task_value<V>*>(t)->take_result();
    tasks_.erase(t);
    t->release();  // the index's reference
    return result;
  }

  struct take_policy : optional_delivery<join_result<V>> {
    JOINERY_OPERATION_LOCATION("joinery::join_set::async_join_next");
    JOINERY_LOCATION(shutdown_location, "joinery::join_set::async_shutdown");
    JOINERY_LOCATION(join_all_location, "joinery::join_set::async_join_all");
    static bool is_empty(const set_state& s) noexcept { return s.tasks_.empty(); }
    static join_result<V> take(set_state& s, task_header* t) noexcept { return s.take(t); }
  };

  struct take_with_id_policy : optional_delivery<std::pair<task_id, join_result<V>>> {
    JOINERY_OPERATION_LOCATION("joinery::join_set::async_join_next_with_id");
    static bool is_empty(const set_state& s) noexcept { return s.tasks_.empty(); }
    static std::pair<task_id, join_result<V>> take(set_state& s, task_header* t) noexcept {
      const task_id id = t->id();
      return {id, s.take(t)};
    }
  };

  // join_handle::async_wait: `void(error_code, join_result<V>)`.
  struct wait_policy {
    JOINERY_OPERATION_LOCATION("joinery::join_handle::async_wait");
    using value_type = join_result<V>;
    using signature = void(boost::system::error_code, join_result<V>);
    static bool is_empty(const set_state& s) noexcept { return s.tasks_.empty(); }
    static join_result<V> take(set_state& s, task_header* t) noexcept { return s.take(t); }
    // With nothing to deliver, the result holds a default join_error. An
    // empty handle (its outcome already delivered, or no task at all) says
    // so with not_found.
    static std::tuple<boost::system::error_code, join_result<V>> completion_args(
        boost::system::error_code ec, std::optional<join_result<V>> value) {
      if (value)
        return {ec, std::move(*value)};
      if (!ec)
        ec = located(boost::asio::error::not_found, location);
      return {ec, join_result<V>(boost::system::in_place_error, join_error())};
    }
  };
};

// --- Initiations --------------------------------------------------------------

// async_initiate's initiation for a join with policy Take. Holds the state,
// not the container, so a deferred join outlives a move of the container.
template <class State, class Take, class Executor>
class initiate_join {
 public:
  using executor_type = Executor;
  initiate_join(core_ref<State> state, const Executor& ex) : state_(std::move(state)), ex_(ex) {}
  executor_type get_executor() const noexcept { return ex_; }

  template <class Handler>
  void operator()(Handler&& handler) {
    start_join<Take>(state_.get(), std::forward<Handler>(handler), ex_);
  }

 private:
  core_ref<State> state_;
  Executor ex_;
};

// async_shutdown: abort every task, then join until the group is empty,
// discarding outcomes. Accepts any cancellation type.
template <class State, class Take, class Executor>
struct shutdown_op {
  core_ref<State> state;
  Executor ex;
  bool started = false;

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {},
                  std::optional<typename Take::value_type> next = std::nullopt) {
    if (!started) {
      started = true;
      self.reset_cancellation_state(boost::asio::enable_total_cancellation());
      try {
        state->abort_all();
      } catch (...) {
        // Out of memory posting a cancellation: those tasks are marked
        // aborted and end on their own; keep draining.
      }
    } else if (ec) {
      return self.complete(located(ec, Take::shutdown_location));
    } else if (!next) {
      return self.complete({});
    }
    start_join<Take>(state.get(), std::move(self), ex);
  }
};

// async_join_all: join until the group is empty, collecting every outcome in
// completion order. Cancellation (any type) ends it with operation_aborted
// and the outcomes collected so far; the rest stay in the group.
template <class State, class Take, class Executor>
struct join_all_op {
  using value_type = typename Take::value_type;
  core_ref<State> state;
  Executor ex;
  std::vector<value_type> results{};
  bool started = false;

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {},
                  std::optional<value_type> next = std::nullopt) {
    if (!started) {
      started = true;
      self.reset_cancellation_state(boost::asio::enable_total_cancellation());
      results.reserve(state->size());
    } else if (ec) {
      return self.complete(located(ec, Take::join_all_location), std::move(results));
    } else if (!next) {
      return self.complete(ec, std::move(results));
    } else {
      results.push_back(std::move(*next));
    }
    start_join<Take>(state.get(), std::move(self), ex);
  }
};

// try_join_next: a finished task's outcome, if any, without waiting. If this
// empties the group, a pending join completes ("empty").
template <class Take, class State>
std::optional<typename Take::value_type> try_join(State* state) {
  if (!state)
    return std::nullopt;
  task_header* t = state->pop_ready();
  if (!t)
    return std::nullopt;
  std::optional<typename Take::value_type> next(Take::take(*state, t));
  if (Take::is_empty(*state))
    state->kick();
  return next;
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_GROUP_OPS_HPP
