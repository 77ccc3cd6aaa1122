// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_SCOPE_RUN_HPP
#define JOINERY_DETAIL_SCOPE_RUN_HPP

// How joinery::scope and keyed_scope (scope.hpp) run.
//
// Three coroutines, two of them joinery tasks, all of the scope's own work on
// one serial executor (a strand of the awaiting coroutine's executor, or that
// executor when it is serial already):
//   - run_scope, in the awaiting coroutine: spawns scope_entry on the strand
//     and waits for it. When its wait is cancelled (the awaiting coroutine
//     is cancelled), it aborts scope_entry and waits again, without
//     interruption, then throws operation_aborted.
//   - scope_entry, a task on the strand: owns the group, spawns the body as
//     a task of its own on the strand, waits for it, then joins every task
//     left in the group, and decides what the scope returns or throws. An
//     abort of scope_entry ends its wait for the body: it aborts the body
//     and every task, and waits for them all the same.
//   - the body, a task on the strand: the user's coroutine, with the group.
//     A task of its own so that it can be cancelled by itself (an abort,
//     serialized with it by joinery) while scope_entry goes on.
// With fail_fast, the group calls a hook on the first failure (group_core::
// on_first_failure), on the failing task's thread; the hook posts to the
// strand, where the body and every task are aborted. Everything the hook's
// handler touches is on the strand, and the group itself only through
// scope_shared, which scope_entry clears before its frame (and the group)
// goes.

#include <joinery/abort_handle.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/join_all_op.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/detail/task_executor.hpp>
#include <joinery/join_error.hpp>
#include <joinery/join_handle.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace joinery::detail {

// What the scope's body produces when given a Group.
template <class Body, class Group>
using scope_result_t = typename awaitable_traits<std::invoke_result_t<Body&, Group&>>::value_type;

// joinery::scope's access to a group's core (the failure hook), which the
// public classes do not offer.
struct group_access {
  template <class Group>
  static auto& core(Group& g) {
    return g.state();
  }
};

// A completion token whose operation no cancellation reaches.
template <class Token>
auto uncancellable(Token token) {
  return net::bind_cancellation_slot(net::cancellation_slot(), std::move(token));
}

// What scope_entry and the fail_fast hook's handler share; touched on the
// scope's strand only.
struct scope_shared {
  abort_handle body;                        // the body's task
  std::function<void()> abort_group_tasks;  // aborts every task of the group; empty once it is gone
  std::optional<join_error> failure;        // fail_fast: the first failure
  bool tasks_aborted = false;

  // The body threw: every task is aborted, once.
  void abort_tasks() noexcept {
    if (!std::exchange(tasks_aborted, true) && abort_group_tasks)
      abort_group_tasks();
  }

  // The scope is cancelled, or a task failed (fail_fast): the body and
  // every task are aborted.
  void abort_all() noexcept {
    abort_tasks();
    try {
      body.abort();
    } catch (...) {
      // Out of memory posting the body's cancellation: it is marked
      // aborted, and is reported so when it ends.
    }
  }
};

// Joins every task left in `group`, in completion order; returns the first
// exception among their outcomes. With `fail_fast`, the first failure
// (exception or timeout) is kept in `shared` and aborts the rest. The first
// join waits with this task's cancellation: if the scope is cancelled while
// it drains (run_scope aborts scope_entry), every task left is aborted at
// once; from then on the joins cannot be cancelled: the scope waits for
// every task.
template <class Group>
net::awaitable<std::exception_ptr> drain_scope(Group& group, scope_shared& shared, bool fail_fast) {
  std::exception_ptr first;
  auto note = [&](const auto& outcome) {
    if (outcome.has_value())
      return;
    const join_error e = outcome.error();
    if (e.is_exception() && !first)
      first = e.exception();
    if (fail_fast && (e.is_exception() || e.is_timed_out()) && !shared.failure) {
      shared.failure = e;
      shared.abort_all();
    }
  };
  bool cancellable = !shared.tasks_aborted;
  for (;;) {
    error_code ec;
    std::optional<typename Group::value_type> next;
    if (cancellable)
      std::tie(ec, next) = co_await group.async_join_next(net::as_tuple(net::use_awaitable));
    else
      std::tie(ec, next) =
          co_await group.async_join_next(uncancellable(net::as_tuple(net::use_awaitable)));
    if (!ec && !next)
      break;  // the group is empty: every task ended
    if (!ec) {
      note(outcome_of(*next));
      continue;
    }
    if (ec == net::error::operation_aborted) {
      // The scope is cancelled: abort what is left, and wait for it.
      cancellable = false;
      shared.abort_all();
      continue;
    }
    // A join the body left pending (already_started): take what finishes
    // as it comes, until the group is empty.
    while (auto ready = group.try_join_next())
      note(outcome_of(*ready));
    if (group.empty())
      break;
    net::steady_timer pause(co_await net::this_coro::executor, std::chrono::milliseconds(1));
    co_await pause.async_wait(uncancellable(net::as_tuple(net::use_awaitable)));
  }
  co_return first;
}

// The scope's own task, on the strand (see the file comment).
template <class Group, class R, class Body>
net::awaitable<R> scope_entry(net::any_io_executor group_ex, Body body, bool fail_fast) {
  // This task does its work whatever happens to it: its waits say when it
  // was cancelled, and no co_await of its own throws for it.
  co_await net::this_coro::throw_if_cancelled(false);
  const net::any_io_executor serial = co_await net::this_coro::executor;
  Group group(group_ex);
  auto shared = std::make_shared<scope_shared>();
  shared->abort_group_tasks = [&group] {
    group_access::core(group).for_each_task([](task_header* t) { t->abort_quietly(); });
  };
  if (fail_fast) {
    group_access::core(group).on_first_failure(
        [serial, weak = std::weak_ptr(shared)](const join_error& e) {
          net::post(serial, [weak, e] {
            if (auto s = weak.lock()) {
              if (!s->failure)
                s->failure = e;
              s->abort_all();
            }
          });
        });
  }

  // The body: a task of its own on the strand, with the group.
  join_handle<R> body_task = joinery::spawn(serial, [&body, &group] { return body(group); });
  shared->body = body_task.get_abort_handle();
  auto [ec, outcome] = co_await body_task.async_wait(net::as_tuple(net::use_awaitable));
  if (ec) {
    // This scope was cancelled (run_scope aborted it): abort everything,
    // then wait for the body to end all the same.
    shared->abort_all();
    std::tie(ec, outcome) =
        co_await body_task.async_wait(uncancellable(net::as_tuple(net::use_awaitable)));
  }
  if (!outcome.has_value())
    shared->abort_tasks();  // the body threw (or was aborted): every task is aborted

  std::exception_ptr first = co_await drain_scope(group, *shared, fail_fast);
  shared->abort_group_tasks = nullptr;  // the group goes with this frame
  shared->body = abort_handle();

  if (fail_fast && shared->failure)
    throw_join_error(*shared->failure);  // the cause, not the body's cancellation
  if (!outcome.has_value())
    throw_join_error(outcome.error());  // the body's own exception (or its cancellation)
  if (first)
    std::rethrow_exception(first);
  if constexpr (std::is_void_v<R>)
    co_return;
  else
    co_return std::move(*outcome);
}

// The scope, in the awaiting coroutine (see the file comment).
template <class Group, class Body>
net::awaitable<scope_result_t<Body, Group>> run_scope(Body body, bool fail_fast) {
  using R = scope_result_t<Body, Group>;
  static_assert(
      std::is_invocable_v<Body&, Group&> && is_awaitable_v<std::invoke_result_t<Body&, Group&>>,
      "joinery::scope: the body must be a callable taking the group by reference and "
      "returning an asio::awaitable (e.g. [&](joinery::join_set<V>& group) -> "
      "asio::awaitable<R> { ... })");
  const net::any_io_executor ex = co_await net::this_coro::executor;
  const net::any_io_executor serial =
      is_serial_executor(ex) ? ex : net::any_io_executor(net::make_strand(ex));
  join_handle<R> scope_task =
      joinery::spawn(serial, scope_entry<Group, R>(ex, std::move(body), fail_fast));
  auto [ec, result] = co_await scope_task.async_wait(net::as_tuple(net::use_awaitable));
  if (ec) {
    // The awaiting coroutine is cancelled: the scope aborts its body and
    // tasks, and this coroutine waits until they all ended before it
    // completes with the cancellation.
    scope_task.abort();
    const bool throwing = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);
    std::tie(ec, result) =
        co_await scope_task.async_wait(uncancellable(net::as_tuple(net::use_awaitable)));
    co_await net::this_coro::throw_if_cancelled(throwing);
    if (!result.has_value() && result.error().is_cancelled())
      throw system_error(error_code(net::error::operation_aborted));
  }
  if constexpr (std::is_void_v<R>)
    result.value();
  else
    co_return std::move(result).value();
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_SCOPE_RUN_HPP
