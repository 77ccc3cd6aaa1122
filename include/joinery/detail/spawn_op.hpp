// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_SPAWN_OP_HPP
#define JOINERY_DETAIL_SPAWN_OP_HPP

// The pending async_spawn: a spawner waiting for a concurrency slot.
//
// Life of one operation (the protocol is group_core's, its queue the
// concurrency limit's wait_queue):
//   1. start_spawn_wait, on the owner's thread: when nobody waits before it
//      and a slot is free, it spawns at once and posts its completion.
//      Otherwise it allocates the operation with the handler's associated
//      allocator, installs its cancellation handler, links into its
//      context's context_service, takes work, and parks at the back of the
//      queue.
//   2. A slot freeing (a task finishing on any thread, the limit raised)
//      claims the first parked waiters, one per free slot, each holding its
//      slot (reserved); a cancellation claims its own wait. The claimer
//      posts the completion to the handler's associated executor.
//   3. The completion runs there, on the owner's side: cancelled (or the
//      group closed) completes with operation_aborted and the task is never
//      spawned; a slot still free spawns the task (replacing a task under
//      the same key, as spawn does) and completes with its abort_handle;
//      otherwise (a plain spawn took the slot meanwhile) it parks again, in
//      its place.
// A cancellation that arrives once the task was spawned changes nothing.

#include <joinery/abort_handle.hpp>
#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/group_core.hpp>
#include <joinery/detail/pending_op.hpp>

#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace joinery::detail {

class spawn_cancellation {
 public:
  spawn_cancellation(group_core* core, std::uint64_t seq) noexcept
      : core_(counted_ref<group_core>::share(core)), seq_(seq) {}

  void operator()(net::cancellation_type_t) noexcept { core_->cancel_spawn_wait(seq_); }

 private:
  counted_ref<group_core> core_;
  std::uint64_t seq_;
};

// Spawn is a callable `abort_handle(State&)` that spawns the task (on the
// owner's side); it may throw.
template <class State, class Handler, class WorkExecutor, class Spawn>
class spawn_op final : public pending_op<spawn_op<State, Handler, WorkExecutor, Spawn>, State,
                                         Handler, WorkExecutor> {
  using base = pending_op<spawn_op, State, Handler, WorkExecutor>;
  friend base;

 public:
  spawn_op(Handler&& handler, const WorkExecutor& ex, State* state, Spawn&& spawn,
           const op_location* where)
      : base(std::move(handler), ex, state), spawn_(std::move(spawn)), where_(where) {}

 private:
  // The completion, on the owner's side (see the file comment).
  std::optional<std::tuple<error_code, abort_handle>> resolve() {
    switch (this->state_->resolve_spawn_wait(this)) {
      case group_core::spawn_resolution::parked:
        return std::nullopt;
      case group_core::spawn_resolution::aborted:
        return std::make_tuple(located(net::error::operation_aborted, *where_), abort_handle());
      case group_core::spawn_resolution::spawn:
        break;
    }
    abort_handle handle;
    error_code ec;
    try {
      handle = spawn_(*this->state_);
    } catch (...) {
      // The handler must still be called once: the task could not be
      // spawned (out of memory, or the key's hash or equality threw).
      ec = located(net::error::no_memory, *where_);
    }
    return std::make_tuple(ec, std::move(handle));
  }

  void end_wait() noexcept { this->state_->end_spawn_wait(this); }
  bool abandon_wait() noexcept { return this->state_->abandon_spawn_wait(this); }

  Spawn spawn_;
  const op_location* where_;  // names the operation in error codes
};

// Starts an async_spawn on `state` (see the file comment).
template <class State, class Handler, class DefaultExecutor, class Spawn>
void start_spawn_wait(State& state, Handler&& handler, const DefaultExecutor& ex, Spawn&& spawn,
                      const op_location& where) {
  using handler_type = std::decay_t<Handler>;
  using work_executor = net::associated_executor_t<handler_type, DefaultExecutor>;
  using op_type = spawn_op<State, handler_type, work_executor, std::decay_t<Spawn>>;

  if (state.spawner_may_start_now()) {
    // A failing spawn throws out of the initiation, before anything changed.
    abort_handle h = spawn(state);
    auto hex = net::get_associated_executor(handler, ex);
    net::post(hex, net::append(std::forward<Handler>(handler), error_code(), std::move(h)));
    return;
  }
  handler_type h(std::forward<Handler>(handler));
  work_executor wex = net::get_associated_executor(h, ex);
  op_type* op = op_type::create(std::move(h), wex, &state,
                                std::decay_t<Spawn>(std::forward<Spawn>(spawn)), &where);
  const std::uint64_t seq = state.next_wait_seq();
  op->template install_cancellation<spawn_cancellation>(&state, seq);
  // It always parks: park_spawn_wait posts it itself when a slot is free or
  // it was cancelled meanwhile.
  op->start(
      [&] {
        state.begin_spawn_wait(op, seq);
        return false;
      },
      [&] {
        state.park_spawn_wait(op);
        return false;
      },
      [] {});
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_SPAWN_OP_HPP
