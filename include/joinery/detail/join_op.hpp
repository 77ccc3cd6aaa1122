// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_JOIN_OP_HPP
#define JOINERY_DETAIL_JOIN_OP_HPP

// The pending joins: join_op, the operation behind a group's joins
// (async_join_next, async_join_next_with_id, join_map::async_join), and
// handle_wait_op, behind join_handle::async_wait; their initiations; and
// try_join.
//
// Life of one join (the protocol is group_core's and wait_slot's, or
// lone_task's for a join_handle):
//   1. On the owner's thread, the initiation allocates it with the handler's
//      associated allocator, installs its cancellation handler, and begins
//      it: claimed at once when there is already something to report (a
//      finished task, an empty or closed group), else parked (after linking
//      into its context's context_service and taking work on its executor).
//   2. Whoever claims it (a task finishing on any thread, its cancellation,
//      the owner kicking it) posts its completion to the handler's
//      associated executor: exactly one party can claim.
//   3. The completion runs there, on the owner's side, and resolves what to
//      deliver: operation_aborted if cancelled meanwhile or the group closed,
//      else the oldest finished task (taken out of the owner's index by the
//      Take policy), else "empty", else it parks again (another join, e.g.
//      try_join_next, took the task it was woken for).
//   4. Before invoking the handler it clears the slot, moves the handler out
//      and frees its own memory (pending_op.hpp).
// Because the result is taken only in step 3, a wait cancelled after being
// woken (a `||` whose other branch won first) gives nothing up: the task
// stays queued for the next join. That is the cancel-safety promise.
//
// Take is a policy:
//   JOINERY_OPERATION_LOCATION("joinery::..."); // names the operation in error codes
//   using value_type = ...;                     // what the join takes
//   using signature = void(error_code, ...);    // the completion signature
//   static value_type take(State&, task_header*) noexcept; // takes the list's reference
//   static std::tuple<...> completion_args(error_code, std::optional<value_type>);

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/group_core.hpp>
#include <joinery/detail/lone_task.hpp>
#include <joinery/detail/pending_op.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/join_error.hpp>

#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace joinery::detail {

// The cancellation handler installed in a join's handler's slot. It names
// the join by sequence number, not by pointer (waiters.hpp). Any
// cancellation type ends the wait; it has no effect on the tasks.
class join_cancellation {
 public:
  join_cancellation(group_core* core, std::uint64_t seq, task_header* key) noexcept
      : core_(counted_ref<group_core>::share(core)),
        seq_(seq),
        key_(key ? task_ref<>::share(key) : task_ref<>()) {}

  void operator()(net::cancellation_type_t) noexcept { core_->cancel_join(seq_, key_.get()); }

 private:
  counted_ref<group_core> core_;
  std::uint64_t seq_;
  task_ref<> key_;  // the task a keyed join waits for
};

// How a join waits: for the next task (wait_if_empty: also while the group
// is empty; until_empty: while tasks that keyed joins wait for are left,
// for the joins of everything), or for the task `key` (join_map::async_join).
struct join_options {
  task_header* key = nullptr;
  bool wait_if_empty = false;
  bool until_empty = false;
};

// Delivery as `void(error_code, std::optional<Value>)`, nullopt meaning
// "nothing to deliver" (an empty group, or an error): the usual policy base.
template <class Value>
struct optional_delivery {
  using value_type = Value;
  using signature = void(error_code, std::optional<Value>);
  static std::tuple<error_code, std::optional<Value>> completion_args(error_code ec,
                                                                      std::optional<Value> value) {
    return {ec, std::move(value)};
  }
};

// A group's join. State is the group's state (a group_core with the owner's
// index).
template <class State, class Take, class Handler, class WorkExecutor>
class join_op final
    : public pending_op<join_op<State, Take, Handler, WorkExecutor>, State, Handler, WorkExecutor> {
  using base = pending_op<join_op, State, Handler, WorkExecutor>;
  friend base;

 public:
  using value_type = typename Take::value_type;

  join_op(Handler&& handler, const WorkExecutor& ex, State* state, join_options opts)
      : base(std::move(handler), ex, state),
        key_(opts.key ? task_ref<>::share(opts.key) : task_ref<>()),
        wait_if_empty_(opts.wait_if_empty),
        until_empty_(opts.until_empty) {}

  group_core::join_need need() const noexcept {
    return {this->state_->size(), wait_if_empty_, until_empty_};
  }
  task_header* key() const noexcept { return key_.get(); }

 private:
  // The completion, on the owner's side (see the file comment).
  std::optional<decltype(Take::completion_args(error_code(), std::nullopt))> resolve() {
    State& state = *this->state_;
    group_core::resolution r;
    for (;;) {
      r = state.resolve_join(this, key(), need(), this->prepared_);
      if (!r.parked)
        break;
      if (this->prepared_)
        return std::nullopt;  // parked again
      this->prepare_wait();   // outside the lock (lock order), then resolve again
    }
    error_code ec;
    if (r.aborted)
      ec = located(net::error::operation_aborted, Take::location);
    else if (r.not_found)
      ec = located(net::error::not_found, Take::location);
    std::optional<value_type> value;
    if (r.task) {
      value.emplace(Take::take(state, r.task));
      // A keyed join took its task: a join of everything may find the
      // group empty now.
      if (key())
        state.kick();
    }
    return Take::completion_args(ec, std::move(value));
  }

  void end_wait() noexcept { this->state_->end_join(this, key()); }
  bool abandon_wait() noexcept { return this->state_->abandon_join(this, key()); }

  task_ref<> key_;
  bool wait_if_empty_;
  bool until_empty_;
};

// Starts a join on `state` (null means an empty group that never had a
// task). See the file comment for the protocol.
template <class Take, class State, class Handler, class DefaultExecutor>
void start_join(State* state, Handler&& handler, const DefaultExecutor& ex,
                join_options opts = {}) {
  using handler_type = std::decay_t<Handler>;
  using work_executor = net::associated_executor_t<handler_type, DefaultExecutor>;
  using op_type = join_op<State, Take, handler_type, work_executor>;

  if (!state)  // owners pass their state, created on demand; a null one has no task
    return post_empty<Take>(std::forward<Handler>(handler), ex, {});
  if (state->join_in_progress(opts.key)) {
    // One join at a time (per key, for keyed joins), like tokio's &mut
    // self: a second concurrent join is refused rather than queued, so
    // results cannot be split unpredictably between two consumers.
    return post_empty<Take>(std::forward<Handler>(handler), ex,
                            located(net::error::already_started, Take::location));
  }

  handler_type h(std::forward<Handler>(handler));
  work_executor wex = net::get_associated_executor(h, ex);
  op_type* op = op_type::create(std::move(h), wex, state, opts);
  const std::uint64_t seq = state->next_wait_seq();
  op->template install_cancellation<join_cancellation>(state, seq, opts.key);
  op->start([&] { return state->begin_join(op, seq, opts.key, op->need()); },
            [&] { return state->park_join(op, opts.key, op->need()); },
            [&] { state->end_join(op, opts.key); });
}

// async_initiate's initiation for a next-join with policy Take. Holds the
// state, not the container, so a deferred join outlives a move of the
// container.
template <class State, class Take, class Executor>
class initiate_join {
 public:
  using executor_type = Executor;
  initiate_join(counted_ref<State> state, const Executor& ex, bool wait_if_empty = false)
      : state_(std::move(state)), ex_(ex), wait_if_empty_(wait_if_empty) {}
  executor_type get_executor() const noexcept { return ex_; }

  template <class Handler>
  void operator()(Handler&& handler) {
    start_join<Take>(state_.get(), std::forward<Handler>(handler), ex_,
                     join_options{nullptr, wait_if_empty_});
  }

 private:
  counted_ref<State> state_;
  Executor ex_;
  bool wait_if_empty_;
};

// The initiation of a keyed join (join_map::async_join): waits for `task`,
// the task under the key when the call was made; null when there was none
// (the join then completes with not_found).
template <class State, class Take, class Executor>
class initiate_key_join {
 public:
  using executor_type = Executor;
  initiate_key_join(counted_ref<State> state, const Executor& ex, task_ref<> task)
      : state_(std::move(state)), ex_(ex), task_(std::move(task)) {}
  executor_type get_executor() const noexcept { return ex_; }

  template <class Handler>
  void operator()(Handler&& handler) {
    if (!task_)
      return post_empty<Take>(std::forward<Handler>(handler), ex_,
                              located(net::error::not_found, Take::location));
    start_join<Take>(state_.get(), std::forward<Handler>(handler), ex_,
                     join_options{task_.get(), false});
  }

 private:
  counted_ref<State> state_;
  Executor ex_;
  task_ref<> task_;
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
  // A pending next-join may now find nothing it could deliver.
  if (state->size() <= state->keyed_joins())
    state->kick();
  return next;
}

// --- join_handle::async_wait ------------------------------------------------------

// The cancellation handler of a join_handle's wait.
class handle_wait_cancellation {
 public:
  handle_wait_cancellation(task_header* t, std::uint64_t seq) noexcept
      : task_(task_ref<>::share(t)), seq_(seq) {}
  void operator()(net::cancellation_type_t) noexcept { lone_task::cancel(task_.get(), seq_); }

 private:
  task_ref<> task_;
  std::uint64_t seq_;
};

// join_handle::async_wait's delivery: `void(error_code, join_result<V>)`.
// With nothing to deliver the result holds a default join_error; a handle
// whose outcome was already delivered (or that has no task) says so with
// not_found.
template <class V>
struct handle_wait_policy {
  JOINERY_OPERATION_LOCATION("joinery::join_handle::async_wait");
  using value_type = join_result<V>;
  using signature = void(error_code, join_result<V>);
  static join_result<V> take(task_header* t) noexcept {
    task_ref<> running(t);  // held for the outcome until now
    return take_result<V>(t);
  }
  static std::tuple<error_code, join_result<V>> completion_args(
      error_code ec, std::optional<join_result<V>> value) {
    if (value)
      return {ec, std::move(*value)};
    if (!ec)
      ec = located(net::error::not_found, location);
    return {ec, join_result<V>(result_error, join_error())};
  }
};

// The wait on a join_handle's task (lone_task.hpp), delivering with the
// policy Take (handle_wait_policy).
template <class Take, class Handler, class WorkExecutor>
class handle_wait_op final : public pending_op<handle_wait_op<Take, Handler, WorkExecutor>,
                                               task_header, Handler, WorkExecutor> {
  using base = pending_op<handle_wait_op, task_header, Handler, WorkExecutor>;
  friend base;

 public:
  using base::base;

 private:
  std::optional<decltype(Take::completion_args(error_code(), std::nullopt))> resolve() {
    task_header* t = this->state_;
    lone_task::resolution r;
    for (;;) {
      r = lone_task::resolve(t, this, this->prepared_);
      if (!r.parked)
        break;
      if (this->prepared_)
        return std::nullopt;
      this->prepare_wait();
    }
    error_code ec;
    if (r.aborted)
      ec = located(net::error::operation_aborted, Take::location);
    else if (r.not_found)
      ec = located(net::error::not_found, Take::location);
    std::optional<typename Take::value_type> value;
    if (r.task)
      value.emplace(Take::take(r.task));
    return Take::completion_args(ec, std::move(value));
  }

  void end_wait() noexcept { lone_task::end(this->state_, this); }
  bool abandon_wait() noexcept { return lone_task::abandon(this->state_, this); }
};

// async_initiate's initiation for join_handle::async_wait on `task` (null:
// a handle with no task, which completes with not_found).
template <class Take, class Executor>
class initiate_handle_wait {
 public:
  using executor_type = Executor;
  initiate_handle_wait(task_ref<> task, std::uint64_t seq, const Executor& ex)
      : task_(std::move(task)), seq_(seq), ex_(ex) {}
  executor_type get_executor() const noexcept { return ex_; }

  template <class Handler>
  void operator()(Handler&& handler) {
    using handler_type = std::decay_t<Handler>;
    using work_executor = net::associated_executor_t<handler_type, Executor>;
    using op_type = handle_wait_op<Take, handler_type, work_executor>;
    task_header* t = task_.get();
    if (!t)
      return post_empty<Take>(std::forward<Handler>(handler), ex_, {});
    if (t->key_wait().busy())  // one wait at a time, as for a group's joins
      return post_empty<Take>(std::forward<Handler>(handler), ex_,
                              located(net::error::already_started, Take::location));
    handler_type h(std::forward<Handler>(handler));
    work_executor wex = net::get_associated_executor(h, ex_);
    op_type* op = op_type::create(std::move(h), wex, t);
    op->template install_cancellation<handle_wait_cancellation>(t, seq_);
    op->start([&] { return lone_task::begin(t, op, seq_); }, [&] { return lone_task::park(t, op); },
              [&] { lone_task::end(t, op); });
  }

 private:
  task_ref<> task_;
  std::uint64_t seq_;
  Executor ex_;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_JOIN_OP_HPP
