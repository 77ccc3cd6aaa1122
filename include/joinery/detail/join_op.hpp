// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_JOIN_OP_HPP
#define JOINERY_DETAIL_JOIN_OP_HPP

// The pending join: the operation behind async_join_next,
// async_join_next_with_id and join_handle::async_wait.
//
// Life of one operation (the protocol is group_core's and wait_slot's):
//   1. start_join, on the owner's thread, allocates it with the handler's
//      associated allocator, installs its cancellation handler, and begins
//      it: claimed at once when there is already something to report (a
//      finished task, an empty or closed group), else parked (after linking
//      into its context's join_service and taking work on its executor).
//   2. Whoever claims it (a task finishing on any thread, its cancellation,
//      the owner kicking it) posts its completion to the handler's
//      associated executor: exactly one party can claim.
//   3. The completion runs there, on the owner's side, and resolves what to
//      deliver: operation_aborted if cancelled meanwhile or the group closed,
//      else the oldest finished task (taken out of the owner's index by the
//      Take policy), else "empty", else it parks again (another join, e.g.
//      try_join_next, took the task it was woken for).
//   4. Before invoking the handler it clears the slot, moves the handler out
//      and frees its own memory (Asio's rule: the handler may start the
//      next join at once).
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
#include <joinery/detail/executor_target.hpp>
#include <joinery/detail/group_core.hpp>
#include <joinery/detail/handover.hpp>
#include <joinery/detail/join_service.hpp>
#include <joinery/detail/pending_op.hpp>
#include <joinery/detail/waiters.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace joinery::detail {

// The cancellation handler installed in the handler's slot. It names the
// join by sequence number, not by pointer (waiters.hpp). Any cancellation
// type ends the wait; it has no effect on the tasks.
class join_cancellation {
 public:
  join_cancellation(group_core* core, std::uint64_t seq, task_header* key) noexcept
      : core_(core), seq_(seq), key_(key ? task_ref<>::share(key) : task_ref<>()) {
    core_->add_ref();
  }
  join_cancellation(const join_cancellation&) = delete;
  join_cancellation& operator=(const join_cancellation&) = delete;
  ~join_cancellation() { core_->release(); }

  void operator()(net::cancellation_type_t) noexcept { core_->cancel_join(seq_, key_.get()); }

 private:
  group_core* core_;
  std::uint64_t seq_;
  task_ref<> key_;  // the task a keyed join waits for
};

// How a join waits: for the next task (wait_if_empty: also while the group
// is empty), or for the task `key` (join_map::async_join).
struct join_options {
  task_header* key = nullptr;
  bool wait_if_empty = false;
};

// Delivery as `void(error_code, std::optional<Value>)`, nullopt meaning
// "nothing to deliver" (an empty group, or an error): the usual policy base.
template <class Value>
struct optional_delivery {
  using value_type = Value;
  using signature = void(boost::system::error_code, std::optional<Value>);
  static std::tuple<boost::system::error_code, std::optional<Value>> completion_args(
      boost::system::error_code ec, std::optional<Value> value) {
    return {ec, std::move(value)};
  }
};

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
        wait_if_empty_(opts.wait_if_empty) {}

  group_core::join_need need() const noexcept { return {this->state_->size(), wait_if_empty_}; }
  task_header* key() const noexcept { return key_.get(); }

 private:
  // The completion, on the handler's side (see the file comment).
  void run() {
    State& state = *this->state_;
    group_core::resolution r;
    for (;;) {
      r = state.resolve_join(this, key(), need(), this->prepared_);
      if (!r.parked)
        break;
      if (this->prepared_)
        return;              // parked again
      this->prepare_wait();  // outside the lock (lock order), then resolve again
    }
    boost::system::error_code ec;
    if (r.aborted)
      ec = located(net::error::operation_aborted, Take::location);
    else if (r.not_found)
      ec = located(net::error::not_found, Take::location);
    std::optional<value_type> value;
    if (r.task)
      value.emplace(Take::take(state, r.task));
    this->complete(Take::completion_args(ec, std::move(value)));
  }

  void end_wait() noexcept { this->state_->end_join(this, key()); }
  bool abandon_wait() noexcept { return this->state_->abandon_join(this, key()); }

  task_ref<> key_;
  bool wait_if_empty_;
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
  const std::uint64_t seq = state->next_join_seq();
  auto slot = op->slot();
  if (slot.is_connected()) {
    try {
      slot.template emplace<join_cancellation>(state, seq, opts.key);
    } catch (...) {
      op->destroy_unstarted();
      throw;
    }
  }
  bool post_now = state->begin_join(op, seq, opts.key, op->need());
  if (!post_now) {
    // About to wait: link into the context's join_service first, outside
    // the group's lock (lock order); then park, unless news came meanwhile.
    op->prepare_wait();
    post_now = state->park_join(op, opts.key, op->need());
  }
  if (post_now) {
    try {
      op->post();
    } catch (...) {
      // Never completed: undo it; the exception tells the initiator (Asio's
      // convention for an initiation that cannot start).
      state->end_join(op, opts.key);
      op->destroy_unstarted();
      throw;
    }
  }
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_JOIN_OP_HPP
