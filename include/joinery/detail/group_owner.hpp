// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_GROUP_OWNER_HPP
#define JOINERY_DETAIL_GROUP_OWNER_HPP

// group_owner: the shell join_map and join_set share, and the public
// members that do not depend on keys (they are documented here, once).
//
// It holds the group's executor and its shared state (created on first
// need, so a default-constructed or moved-from group does not allocate),
// and aborts the group's tasks when destroyed or assigned over. Derived
// provides `core_ref<State> make_state() const`.

#include <joinery/abort_handle.hpp>
#include <joinery/detail/blocking_task.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/coro_task.hpp>
#include <joinery/detail/deadlines.hpp>
#include <joinery/detail/group_ops.hpp>
#include <joinery/detail/serial_executor.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/detail/spawn_op.hpp>
#include <joinery/task_id.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <utility>
#include <vector>

namespace joinery::detail {

template <class Derived, class State, class Executor>
class group_owner {
  using take_policy = typename State::take_policy;

 public:
  using executor_type = Executor;
  using shutdown_signature = void(boost::system::error_code);
  using join_all_signature = void(boost::system::error_code,
                                  std::vector<typename take_policy::value_type>);
  using spawn_signature = void(boost::system::error_code, abort_handle);

  // The executor tasks are spawned on and join handlers default to.
  executor_type get_executor() const noexcept { return executor_; }

  // Number of tasks in the group, finished but unjoined ones included.
  std::size_t size() const noexcept { return state_ ? state_->size() : 0; }

  bool empty() const noexcept { return size() == 0; }

  // How many tasks have finished and await joining: counted from the moment
  // a finished task is queued for a join until a join takes it, including a
  // task a join_map::async_join is about to receive. size() counts these
  // and the tasks still running.
  std::size_t ready_count() const noexcept { return state_ ? state_->ready_count() : 0; }

  // True if the task with this id is in the group (finished but unjoined
  // included). The first call builds an id index (linear in size()), kept
  // up to date from then on (constant time); groups that never ask do not
  // pay for it.
  bool contains_task(task_id id) const { return state_ && state_->contains_task(id); }

  // --- The concurrency limit ---------------------------------------------
  //
  // With a limit of n, at most n of the group's tasks run at once: a spawn
  // while n are running queues the task. A queued task is in the group
  // (size(), contains(), keys(), get_abort_handle() see it) but has not
  // started; queued tasks start in spawn order as running tasks end (a task
  // that finished no longer holds a slot, joined or not). So
  //   size() == running + queued_count() + ready_count().
  // Aborting a queued task (or its deadline passing) reports it cancelled
  // (timed out) at once, without ever running it; replacing it (join_map)
  // drops it unrun and queues the new task at the end; detaching it starts
  // it at once, outside the group. Blocking tasks count like the others. A
  // detached or replaced task gives its slot back at once, even if it is
  // still running.

  // Sets the limit; 0 (the default) means none. Raising it (or setting 0)
  // takes queued tasks out of the queue and starts them before it returns
  // (only their first step is posted, as for every spawn) and lets waiting
  // async_spawn calls in; lowering it aborts nothing: running tasks finish,
  // and new ones queue until fewer than the new limit run.
  void set_concurrency_limit(std::size_t n) {
    State& st = state();
    st.set_limit(n, [&st](auto&& f) { st.for_each_task(f); });
  }

  // The current limit; 0 means none.
  std::size_t concurrency_limit() const noexcept { return state_ ? state_->limit() : 0; }

  // How many tasks are queued: in the group but not started, waiting for a
  // slot. Tasks waiting in async_spawn are not in the group and not counted.
  std::size_t queued_count() const noexcept { return state_ ? state_->queued_count() : 0; }

  // Aborts every task; they stay in the group (size() is unchanged) until
  // joined, each reported cancelled unless it had already finished. Throws
  // std::bad_alloc only if a cancellation cannot be posted (see
  // abort_handle::abort).
  void abort_all() { abort_all(net::cancellation_type::terminal); }

  // abort_all() with a cancellation type: `terminal` (or any type with the
  // terminal bit) is abort_all(); `partial` or `total` asks every running
  // coroutine task to stop (see abort_handle::abort(type)) without making
  // any outcome cancelled. Does nothing to tasks that have not started,
  // blocking tasks and finished ones.
  void abort_all(net::cancellation_type type) {
    if (state_)
      state_->abort_all(type);
  }

  // Removes every task without aborting it: they run on, their
  // abort_handles still work, and their outcomes are reported to nobody.
  // The group is empty afterwards; a pending join completes with nullopt.
  void detach_all() noexcept {
    if (state_)
      state_->detach_all();
  }

  // Joins every task, in completion order, until the group is empty, and
  // delivers all their outcomes at once. Unlike tokio's join_all, a task
  // that failed or was cancelled does not stop the others: every outcome is
  // in the vector, decided per element.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor and lifetimes as for
  // join_map::async_join_next. Completion signature:
  //   void(boost::system::error_code ec, std::vector<...> outcomes)
  // (the elements are what async_join_next delivers: (key, outcome) pairs
  // for a join_map, outcomes for a join_set). Returns:
  //   - (success, all outcomes)         the group is empty now (an empty
  //                                     group gives an empty vector);
  //   - (operation_aborted, so far)     the wait was cancelled, or the group
  //                                     destroyed; the remaining tasks stay;
  //   - (already_started, {})           another join is pending.
  // Per-Operation Cancellation: terminal, partial and total; the outcomes
  // collected so far are delivered, no other is consumed.
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(join_all_signature)
                CompletionToken = default_token_t<executor_type>>
  auto async_join_all(CompletionToken&& token = default_token_t<executor_type>()) {
    return net::async_compose<CompletionToken, join_all_signature>(
        join_all_op<State, take_policy, Executor>{state_ref(), executor_}, token, executor_);
  }

  // Aborts every task and waits until all of them have ended, discarding
  // their outcomes; the group is empty when it completes. Tasks that ignore
  // cancellation, and blocking tasks already running, delay it until they
  // end.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor and lifetimes as for
  // join_map::async_join_next. Completion signature:
  //   void(boost::system::error_code ec)
  // Returns: success when the group is empty; operation_aborted when the
  // wait was cancelled or the group destroyed (the remaining, aborted tasks
  // stay in the group); already_started when another join is pending.
  // Per-Operation Cancellation: terminal, partial and total stop the
  // waiting; the aborts already issued stand.
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(shutdown_signature)
                CompletionToken = default_token_t<executor_type>>
  auto async_shutdown(CompletionToken&& token = default_token_t<executor_type>()) {
    return net::async_compose<CompletionToken, shutdown_signature>(
        shutdown_op<State, take_policy, Executor>{state_ref(), executor_}, token, executor_);
  }

  // A graceful shutdown: asks every task to stop with `total` cancellation
  // (abort_all(total): a coroutine that enabled it can finish its current
  // work and return), waits up to `grace` (a steady_clock duration, counted
  // from this call) for the tasks to end, then aborts the rest terminally,
  // and completes when the group is empty. Outcomes are discarded, as by
  // async_shutdown(). Tasks that have not started yet are aborted at once
  // (they never run: there is nothing for them to finish). A `grace` of zero
  // or less aborts everything at once, like async_shutdown(). Tasks spawned
  // after this call are joined but neither asked nor aborted.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor and lifetimes as for
  // join_map::async_join_next. Completion signature:
  //   void(boost::system::error_code ec)
  // Returns: success when the group is empty; operation_aborted when the
  // wait was cancelled or the group destroyed; already_started when another
  // join is pending.
  // Per-Operation Cancellation: terminal, partial and total stop the
  // waiting and the grace period: no further aborts are issued (requests
  // already emitted stand).
  template <class Rep, class Period,
            BOOST_ASIO_COMPLETION_TOKEN_FOR(shutdown_signature)
                CompletionToken = default_token_t<executor_type>>
  auto async_shutdown(std::chrono::duration<Rep, Period> grace,
                      CompletionToken&& token = default_token_t<executor_type>()) {
    return net::async_compose<CompletionToken, shutdown_signature>(
        shutdown_op<State, take_policy, Executor>{
            state_ref(), executor_, std::chrono::ceil<std::chrono::steady_clock::duration>(grace)},
        token, executor_);
  }

 protected:
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

  // The shared state, created on first need.
  State& state() {
    if (!state_)
      state_ = static_cast<const Derived&>(*this).make_state();
    return *state_;
  }
  core_ref<State> state_ref() {
    state();
    return state_;
  }
  State* state_if_any() const noexcept { return state_.get(); }

  void reset() noexcept {
    if (state_) {
      state_->shutdown_owner();
      state_.reset();
    }
  }

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
    core_ref<State> state;
    Executor ex;
    const boost::source_location* where;
    executor_type get_executor() const noexcept { return ex; }
    template <class Handler, class Spawn>
    void operator()(Handler&& handler, Spawn&& spawn) const {
      start_spawn_wait(*state, std::forward<Handler>(handler), ex, std::forward<Spawn>(spawn),
                       *where);
    }
  };

  template <class CompletionToken, class Spawn>
  auto async_spawn_with(Spawn&& spawn, CompletionToken&& token,
                        const boost::source_location& where) {
    return net::async_initiate<CompletionToken, spawn_signature>(
        initiate_spawn{state_ref(), executor_, &where}, token, std::forward<Spawn>(spawn));
  }

  Executor executor_;
  bool serial_;  // executor_ runs one handler at a time (tasks need no serializer)

 private:
  core_ref<State> state_;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_GROUP_OWNER_HPP
