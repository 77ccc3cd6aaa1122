// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_TASK_EXECUTOR_HPP
#define JOINERY_DETAIL_TASK_EXECUTOR_HPP

// Which executor a task runs on (is_serial_executor, task_executor_for).
//
// cancellation_signal::emit must be serialized with the coroutine it
// cancels. A task therefore runs on an executor that runs its handlers one
// at a time with respect to its aborts:
//   - spawned on a serial executor (a strand, a task's own executor, an
//     io_context promised to one thread by its concurrency hint), the task
//     runs right there, and an abort posts its emit there (or emits at once
//     when already running there);
//   - otherwise, when the task's awaitable executor type can hold one (any_io_
//     executor, the default), the task gets a serialized_executor over the
//     spawning executor: its handlers and its aborts take the task's run
//     lock, and tasks still run in parallel;
//   - otherwise (a concrete non-strand executor type such as
//     io_context::executor_type, which holds nothing else), the executor
//     itself, and the owner's documentation makes serial execution a
//     precondition.

#include <joinery/detail/asio_internals.hpp>
#include <joinery/detail/executor_target.hpp>
#include <joinery/detail/serialized_executor.hpp>
#include <joinery/detail/task.hpp>

#include <type_traits>

namespace joinery::detail {

// Whether `ex` already runs one handler at a time. Cheap for everything but
// a type-erased io_context executor, whose context is asked once per call.
template <class Ex>
bool is_serial_executor(const Ex& ex) {
  return visit_target(ex, [](const auto& e) {
    using E = std::remove_cvref_t<decltype(e)>;
    if constexpr (is_strand_v<E> || is_serialized_executor<E>::value)
      return true;
    else if constexpr (std::is_same_v<E, io_executor>)
      return context_is_single_threaded(e.context());
    else
      return false;
  });
}

// The executor a task typed on awaitable executor E runs on, when spawned on
// `ex` (`serial`: is_serial_executor(ex), which owners cache for their own
// executor). `t` is the task, which a serialized executor refers to;
// `serialized` is set when the result is one.
template <class E, class Ex>
E task_executor_for(const Ex& ex, bool serial, task_header* t, bool& serialized) {
  static_assert(std::is_constructible_v<E, const Ex&>,
                "joinery: the task's awaitable executor type must be constructible from the "
                "executor it is spawned on (e.g. spawn awaitable<V, any_io_executor> or "
                "awaitable<V, Executor> on a map typed on Executor)");
  if constexpr (is_strand_v<E> || is_strand_v<Ex>) {
    return E(ex);  // a strand (a new one per task when only E is a strand type)
  } else {
    if (serial)
      return E(ex);
    if constexpr (std::is_same_v<Ex, net::any_io_executor> &&
                  std::is_constructible_v<E, serialized_executor<io_executor>>) {
      // Serialize over the concrete executor: one level of type erasure.
      if (const auto* io = ex.template target<io_executor>()) {
        serialized = true;
        return E(serialized_executor<io_executor>(*io, t));
      }
    }
    if constexpr (std::is_constructible_v<E, serialized_executor<Ex>>) {
      serialized = true;
      return E(serialized_executor<Ex>(ex, t));
    } else {
      return E(ex);
    }
  }
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_TASK_EXECUTOR_HPP
