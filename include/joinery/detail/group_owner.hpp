// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_GROUP_OWNER_HPP
#define JOINERY_DETAIL_GROUP_OWNER_HPP

// group_owner: the owner's side that join_map and join_set share: the
// group's executor and its shared state (created on first need, so a
// default-constructed or moved-from group does not allocate), moves,
// aborting the tasks on destruction, and the plumbing behind the public
// members (spawning, joining, the limit, shutting down).
//
// State is map_state or set_state: a group_core with the owner's index,
// which provides size(), for_each_task(f), release_index() and the join
// policies. Derived provides `counted_ref<State> make_state() const`, and
// brings the public members it shares (below) in with using-declarations,
// documented in its own header.

#include <joinery/abort_handle.hpp>
#include <joinery/detail/blocking_task.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/coro_task.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/deadlines.hpp>
#include <joinery/detail/join_all_op.hpp>
#include <joinery/detail/join_op.hpp>
#include <joinery/detail/shutdown_op.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/detail/spawn_op.hpp>
#include <joinery/detail/task_executor.hpp>
#include <joinery/fail_fast.hpp>
#include <joinery/task_id.hpp>
#include <joinery/task_info.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

namespace joinery::detail {

// joinery::scope's way to the group's core (scope_run.hpp); join_map and
// join_set befriend it.
struct group_access;

template <class Derived, class State, class Executor>
class group_owner {
  using take_policy = typename State::take_policy;
  using join_all_signature_t = void(error_code, std::vector<typename take_policy::value_type>);
  using shutdown_signature_t = void(error_code);

 public:
  // The members join_map and join_set share. They are documented where the
  // user reads them, in join_map.hpp and join_set.hpp, which bring them in
  // with using-declarations.
  using executor_type = Executor;

  executor_type get_executor() const noexcept { return executor_; }

  std::size_t size() const noexcept { return state_ ? state_->size() : 0; }

  bool empty() const noexcept { return size() == 0; }

  std::size_t ready_count() const noexcept { return state_ ? state_->ready_count() : 0; }

  bool contains_task(task_id id) const { return state_ && state_->contains_task(id); }

  group_stats stats() const noexcept { return state_ ? state_->stats() : group_stats(); }

  void abort_all() { abort_all(net::cancellation_type::terminal); }

  void abort_all(net::cancellation_type type) {
    if (State* st = state_.get())
      st->for_each_task([type](task_header* t) { t->abort(type); });
  }

  void detach_all() noexcept {
    if (State* st = state_.get()) {
      st->count_detached(st->size());
      st->orphan([st](auto&& f) { st->for_each_task(f); }, group_core::orphan_reason::detached);
      st->release_index();
      st->kick();
    }
  }

  void set_concurrency_limit(std::size_t n) {
    State& st = state();
    st.set_limit(n, [&st](auto&& f) { st.for_each_task(f); });
  }

  std::size_t concurrency_limit() const noexcept { return state_ ? state_->limit() : 0; }

  std::size_t queued_count() const noexcept { return state_ ? state_->queued_count() : 0; }

  template <JOINERY_COMPLETION_TOKEN_FOR(join_all_signature_t)
                CompletionToken = default_token_t<executor_type>>
  auto async_join_all(CompletionToken&& token = default_token_t<executor_type>()) {
    return join_all(false, std::forward<CompletionToken>(token));
  }

  template <JOINERY_COMPLETION_TOKEN_FOR(join_all_signature_t)
                CompletionToken = default_token_t<executor_type>>
  auto async_join_all(fail_fast_t, CompletionToken&& token = default_token_t<executor_type>()) {
    return join_all(true, std::forward<CompletionToken>(token));
  }

  template <JOINERY_COMPLETION_TOKEN_FOR(shutdown_signature_t)
                CompletionToken = default_token_t<executor_type>>
  auto async_shutdown(CompletionToken&& token = default_token_t<executor_type>()) {
    return shutdown(std::nullopt, std::forward<CompletionToken>(token));
  }

  template <class Rep, class Period,
            JOINERY_COMPLETION_TOKEN_FOR(shutdown_signature_t)
                CompletionToken = default_token_t<executor_type>>
  auto async_shutdown(std::chrono::duration<Rep, Period> grace,
                      CompletionToken&& token = default_token_t<executor_type>()) {
    return shutdown(std::chrono::ceil<std::chrono::steady_clock::duration>(grace),
                    std::forward<CompletionToken>(token));
  }

 protected:
  using spawn_signature_t = void(error_code, abort_handle);

  explicit group_owner(const Executor& ex) : executor_(ex), serial_(is_serial_executor(ex)) {}

  group_owner(group_owner&& other) noexcept
      : executor_(other.executor_), serial_(other.serial_), state_(std::move(other.state_)) {}

  // Aborts the tasks this group held (as destruction does), then takes over
  // `other`'s. Self-assignment does nothing.
  group_owner& operator=(group_owner&& other) noexcept {
    if (this != &other) {
      reset();
      executor_ = other.executor_;
      serial_ = other.serial_;
      state_ = std::move(other.state_);
    }
    return *this;
  }

  group_owner(const group_owner&) = delete;
  group_owner& operator=(const group_owner&) = delete;

  // Aborts every task still in the group and returns without waiting.
  ~group_owner() { reset(); }

  // --- The state ---------------------------------------------------------------

  // The shared state, created on first need.
  State& state() {
    if (!state_)
      state_ = static_cast<const Derived&>(*this).make_state();
    return *state_;
  }
  counted_ref<State> state_ref() {
    state();
    return state_;
  }
  State* state_if_any() const noexcept { return state_.get(); }

  // The owner is gone: close the group (pending waits complete with
  // operation_aborted, later reports are dropped), abort every task, free
  // what is left.
  void reset() noexcept {
    if (State* st = state_.get()) {
      st->close([st](auto&& f) { st->for_each_task(f); });
      st->for_each_task([](task_header* t) { t->abort_quietly(); });
      st->release_index();
      state_.reset();
    }
  }

  // --- Joining everything, shutting down ------------------------------------

  template <class CompletionToken>
  auto join_all(bool fail_fast, CompletionToken&& token) {
    return net::async_compose<CompletionToken, join_all_signature_t>(
        join_all_op<State, take_policy, Executor>{state_ref(), executor_, fail_fast}, token,
        executor_);
  }

  template <class CompletionToken>
  auto shutdown(std::optional<std::chrono::steady_clock::duration> grace, CompletionToken&& token) {
    return net::async_compose<CompletionToken, shutdown_signature_t>(
        shutdown_op<State, take_policy, Executor>{state_ref(), executor_, grace}, token, executor_);
  }

  // --- Spawning --------------------------------------------------------------

  // Spawns the coroutine `task` on `ex`, inserted into the state by
  // insert(state, launch), where launch(slot) launches it.
  template <class Insert, class Ex, class TaskOrFactory>
  abort_handle spawn_coro(Insert&& insert, const Ex& ex, bool serial, TaskOrFactory&& task) {
    return spawn_coro_into(state(), insert, ex, serial, std::forward<TaskOrFactory>(task), nullptr);
  }

  // spawn_coro into `st` (also from an async_spawn's completion, which has
  // the state but not the owner), with a deadline when `deadline` is not
  // null.
  template <class Insert, class Ex, class TaskOrFactory>
  static abort_handle spawn_coro_into(State& st, Insert&& insert, const Ex& ex, bool serial,
                                      TaskOrFactory&& task,
                                      const deadline_clock::time_point* deadline) {
    using V = typename State::output_type;
    return handle_for(insert(st, [&](std::size_t slot) {
      // A group that never set a limit, spawning without a deadline, starts
      // the task directly: the fast path does not take the group's lock.
      if (!deadline && !st.counting())
        return launch_coro_task<V>(&st, ex, serial, as_task_fn(std::forward<TaskOrFactory>(task)),
                                   slot);
      return launch_coro_task<V>(&st, ex, serial, as_task_fn(std::forward<TaskOrFactory>(task)),
                                 slot, [&st, deadline](task_header* t) { st.admit(t, deadline); });
    }));
  }

  // Spawns the blocking `f` on `ex`, inserted as spawn_coro does.
  template <class Insert, class Ex, class F>
  abort_handle spawn_blocking_with(Insert&& insert, const Ex& ex, F&& f) {
    State& st = state();
    using V = typename State::output_type;
    return handle_for(insert(st, [&](std::size_t slot) {
      if (!st.counting())
        return launch_blocking_task<V>(&st, ex, std::forward<F>(f), slot);
      return launch_blocking_task<V>(&st, ex, std::forward<F>(f), slot,
                                     [&st](task_header* t) { st.admit(t, nullptr); });
    }));
  }

  // Spawns the coroutine `task` on the group's executor with a deadline.
  template <class Insert, class TaskOrFactory>
  abort_handle spawn_until(Insert&& insert, deadline_clock::time_point when, TaskOrFactory&& task) {
    State& st = state();
    st.enable_deadlines(net::any_io_executor(executor_));
    return spawn_coro_into(st, insert, executor_, serial_, std::forward<TaskOrFactory>(task),
                           &when);
  }

  // Whether a task spawned now would start without queueing.
  bool can_start_now() const noexcept { return !state_ || state_->can_start_now(); }

  // async_initiate's initiation for async_spawn: Spawn is `abort_handle(State&)`.
  struct initiate_spawn {
    using executor_type = Executor;
    counted_ref<State> state;
    Executor ex;
    const op_location* where;
    executor_type get_executor() const noexcept { return ex; }
    template <class Handler, class Spawn>
    void operator()(Handler&& handler, Spawn&& spawn) const {
      start_spawn_wait(*state, std::forward<Handler>(handler), ex, std::forward<Spawn>(spawn),
                       *where);
    }
  };

  template <class CompletionToken, class Spawn>
  auto async_spawn_with(Spawn&& spawn, CompletionToken&& token, const op_location& where) {
    return net::async_initiate<CompletionToken, spawn_signature_t>(
        initiate_spawn{state_ref(), executor_, &where}, token, std::forward<Spawn>(spawn));
  }

  Executor executor_;
  bool serial_;  // executor_ runs one handler at a time (tasks need no serializer)

 private:
  counted_ref<State> state_;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_GROUP_OWNER_HPP
