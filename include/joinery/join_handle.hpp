// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_JOIN_HANDLE_HPP
#define JOINERY_JOIN_HANDLE_HPP

// join_handle<V>: the owner of one spawned task, and joinery::spawn.
//
// clang-format off
// Synopsis (`asio` is boost::asio, or ::asio with JOINERY_STANDALONE_ASIO;
// `Token` is any completion token, by default `deferred`):
//
//   template <class V>
//   class join_handle {
//    public:
//     join_handle() noexcept;                       // a handle to no task
//     join_handle(join_handle&&) noexcept;
//     join_handle& operator=(join_handle&&) noexcept;
//     ~join_handle();                               // DETACHES the task
//     // join
//     auto async_wait(Token&& token);               // void(error_code, join_result<V>)
//     // abort
//     void abort() const;
//     void abort(asio::cancellation_type type) const;
//     // inspect
//     executor_type get_executor() const noexcept;
//     bool is_finished() const noexcept;
//     task_id id() const noexcept;
//     abort_handle get_abort_handle() const noexcept;
//   };
//   join_handle<V> spawn(const Executor& ex, TaskOrFactory&& task);
//   join_handle<V> spawn(ExecutionContext& ctx, TaskOrFactory&& task);
//   join_handle<V> spawn_blocking(F&& f);
//   join_handle<V> spawn_blocking_on(const Executor& ex, F&& f);
// clang-format on
//
// tokio's JoinHandle for Asio. joinery::spawn(ex, task) starts a coroutine
// task and joinery::spawn_blocking(f) a blocking one; both return a
// join_handle<V>, whose async_wait delivers the task's outcome once it ends.
//
//   auto h = joinery::spawn(io.get_executor(), compute());
//   auto [ec, result] = co_await h.async_wait(asio::as_tuple(asio::deferred));
//
// IMPORTANT: destroying a join_handle DETACHES its task: the task runs on to
// its end and its outcome is discarded. This is the one place the family
// differs: destroying a join_map or a join_set ABORTS its tasks. Call
// abort() first (or keep the handle) when the task must not outlive it.
//
// A join_handle holds its one task and nothing else: no group is allocated.
// Outcomes, cancellation of the wait, threading and executors work as in
// join_map.hpp. In short:
//   - async_wait is cancel-safe: cancelling the wait (operation_aborted)
//     neither aborts the task nor loses its outcome; a later async_wait
//     still gets it.
//   - The outcome is delivered once. A wait after that, or on a handle with
//     no task (default-constructed, moved from), completes at once with
//     asio::error::not_found and a join_result holding a default
//     join_error.
//   - One wait at a time: a second concurrent wait completes with
//     already_started.
//   - Use a handle from one thread at a time; abort(), is_finished() and
//     abort_handles are thread-safe.
//   - The wait's state is allocated with the handler's associated allocator
//     (Asio's recycling allocator when it has none).

#include <joinery/abort_handle.hpp>
#include <joinery/detail/blocking_task.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/coro_task.hpp>
#include <joinery/detail/executor_target.hpp>
#include <joinery/detail/join_op.hpp>
#include <joinery/detail/lone_task.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/detail/task_executor.hpp>
#include <joinery/error.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>

#include <cstdint>
#include <type_traits>
#include <utility>

namespace joinery {

template <class V>
class join_handle {
  static_assert(std::is_void_v<V> || std::is_nothrow_move_constructible_v<V>,
                "joinery::join_handle: V must be void or nothrow-move-constructible");

  using wait_policy = detail::handle_wait_policy<V>;

 public:
  using output_type = V;              // what the task produces
  using value_type = join_result<V>;  // what async_wait delivers
  using executor_type = asio::any_io_executor;
  using wait_signature = void(error_code, join_result<V>);

  // A handle to no task: async_wait completes with not_found, id() is
  // task_id{}, abort() does nothing, is_finished() is true.
  join_handle() noexcept = default;

  // Internal: made by joinery::spawn and joinery::spawn_blocking, with the
  // task's index reference.
  join_handle(detail::task_ref<> task, executor_type ex) noexcept
      : task_(std::move(task)), executor_(std::move(ex)) {}

  // Takes over `other`'s task (and pending wait); `other` has none after.
  join_handle(join_handle&& other) noexcept
      : task_(std::move(other.task_)), executor_(other.executor_), seq_(other.seq_) {}

  // Detaches this handle's task (see the note above), then takes over
  // `other`'s. Self-assignment does nothing.
  join_handle& operator=(join_handle&& other) noexcept {
    if (this != &other) {
      detach();
      task_ = std::move(other.task_);
      executor_ = other.executor_;
      seq_ = other.seq_;
    }
    return *this;
  }

  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;

  // DETACHES the task: it runs on, and its outcome goes to nobody. A
  // pending async_wait completes with operation_aborted.
  ~join_handle() { detach(); }

  // The executor given to spawn (the blocking pool's, for spawn_blocking);
  // the default for async_wait's handler.
  executor_type get_executor() const noexcept { return executor_; }

  // Waits for the task's outcome: join_map::async_join_next for a group of
  // one task.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function (also when the task had finished).
  //
  // Token: any completion token; by default `deferred`. Completion
  // signature:
  //   void(error_code ec, join_result<V> result)
  // Returns:
  //   - (success, value or join_error) the task's outcome (its value, its
  //                             exception, cancelled, timed out);
  //   - (operation_aborted, -)  the wait was cancelled (the outcome stays
  //                             for a later wait), or the handle destroyed;
  //   - (already_started, -)    another wait is pending;
  //   - (not_found, -)          the outcome was already delivered, or the
  //                             handle has no task.
  // ("-": a join_result holding a default join_error, which is neither
  // cancelled nor an exception.)
  //
  // Per-Operation Cancellation: terminal, partial and total end the wait
  // only: the task runs on and its outcome is kept for a later wait.
  //
  // Executor: the handler runs through its associated executor, by default
  // get_executor().
  //
  // Allocator: the wait's state is allocated with the handler's associated
  // allocator (Asio's recycling allocator by default).
  //
  // Lifetimes: the wait keeps the task's record alive, not the handle; the
  // handle may be moved while it is pending (destroying it completes the
  // wait with operation_aborted).
  //
  // Thread safety: from the handle's thread only.
  template <JOINERY_COMPLETION_TOKEN_FOR(wait_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_wait(CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return asio::async_initiate<CompletionToken, wait_signature>(
        detail::initiate_handle_wait<wait_policy, executor_type>(task_, ++seq_, executor_), token);
  }

  // Requests the task to stop (see abort_handle::abort). Its outcome is then
  // cancelled, unless it had finished first.
  void abort() const { get_abort_handle().abort(); }

  // abort() with a cancellation type (see abort_handle::abort(type)).
  void abort(asio::cancellation_type type) const { get_abort_handle().abort(type); }

  // True once the task's outcome is fixed (true for a handle with no task).
  bool is_finished() const noexcept { return !task_ || task_->is_finished(); }

  // The task's id (task_id{} for a handle with no task).
  task_id id() const noexcept { return task_ ? task_->id() : task_id{}; }

  // A copyable handle that can abort the task from anywhere.
  abort_handle get_abort_handle() const noexcept {
    return task_ ? detail::handle_for(task_.get()) : abort_handle();
  }

 private:
  void detach() noexcept {
    if (task_) {
      detail::lone_task::detach(task_.get());
      task_.reset();
    }
  }

  detail::task_ref<> task_;  // the task's index reference
  executor_type executor_;
  std::uint64_t seq_ = 0;  // the last wait's name
};

namespace detail {

template <class TaskOrFactory>
using spawned_value_t = typename awaitable_traits<spawned_awaitable_t<TaskOrFactory>>::value_type;

}  // namespace detail

// Starts `task` (an awaitable, or a callable returning one, kept alive until
// the task ends, and given the task's own task_id if it takes one) on the
// executor `ex`, and returns its join_handle. The task starts at once, never
// inside this call. Aborts reach it serialized with it, as in a join_map
// (see join_map.hpp). Strong guarantee: if this throws, no task runs.
template <class Executor, class TaskOrFactory>
  requires detail::is_executor_v<Executor> && detail::task_like<TaskOrFactory>
[[nodiscard("destroying the join_handle detaches the task: its outcome is lost")]] join_handle<
    detail::spawned_value_t<TaskOrFactory>>
spawn(const Executor& ex, TaskOrFactory&& task) {
  using V = detail::spawned_value_t<TaskOrFactory>;
  asio::any_io_executor handle_ex(ex);  // first: nothing may throw once the task runs
  detail::task_ref<> t(
      detail::launch_coro_task<V>(nullptr, ex, detail::is_serial_executor(ex),
                                  detail::as_task_fn(std::forward<TaskOrFactory>(task)), 0));
  return join_handle<V>(std::move(t), std::move(handle_ex));
}

// Not a task (a plain function returning a value, say): a compile-time
// error saying what spawn takes, and that spawn_blocking runs plain
// functions.
template <class Executor, detail::not_a_task F>
  requires detail::is_executor_v<Executor> ||
           std::is_convertible_v<Executor&, asio::execution_context&>
join_handle<void> spawn(Executor&, F&&) {
  static_assert(detail::always_false_v<F>, JOINERY_NOT_A_TASK_MESSAGE("spawn"));
  return {};
}

// As above, on the context's executor (an io_context, a thread_pool).
template <class ExecutionContext, class TaskOrFactory>
  requires std::is_convertible_v<ExecutionContext&, asio::execution_context&> &&
           detail::task_like<TaskOrFactory>
[[nodiscard("destroying the join_handle detaches the task: its outcome is lost")]] join_handle<
    detail::spawned_value_t<TaskOrFactory>>
spawn(ExecutionContext& ctx, TaskOrFactory&& task) {
  return joinery::spawn(ctx.get_executor(), std::forward<TaskOrFactory>(task));
}

// Runs the synchronous `f()` on the executor `ex` (a thread pool) and returns
// its join_handle. Aborted before it starts, it never runs and is reported
// cancelled; once started it runs to completion and keeps its value.
template <class Executor, class F>
  requires detail::is_executor_v<Executor>
[[nodiscard("destroying the join_handle detaches the task: its outcome is lost")]] join_handle<
    std::invoke_result_t<std::decay_t<F>&>>
spawn_blocking_on(const Executor& ex, F&& f) {
  using V = std::invoke_result_t<std::decay_t<F>&>;
  asio::any_io_executor handle_ex(ex);  // first: nothing may throw once the task runs
  detail::task_ref<> t(detail::launch_blocking_task<V>(nullptr, ex, std::forward<F>(f), 0));
  return join_handle<V>(std::move(t), std::move(handle_ex));
}

// As spawn_blocking_on, on joinery's default blocking pool (started on
// first use; 2 threads per hardware thread, at least 4). The handle's
// executor is the pool's, so give async_wait a handler with an executor of
// its own (a coroutine's, or bind_executor) to be resumed elsewhere.
template <class F>
[[nodiscard("destroying the join_handle detaches the task: its outcome is lost")]] join_handle<
    std::invoke_result_t<std::decay_t<F>&>>
spawn_blocking(F&& f) {
  return joinery::spawn_blocking_on(detail::default_blocking_pool().get_executor(),
                                    std::forward<F>(f));
}

}  // namespace joinery

#endif  // JOINERY_JOIN_HANDLE_HPP
