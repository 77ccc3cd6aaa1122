// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_JOIN_SET_HPP
#define JOINERY_JOIN_SET_HPP

// join_set<V>: a group of Asio coroutine tasks without keys.
//
// clang-format off
// Synopsis (`asio` is boost::asio, or ::asio with JOINERY_STANDALONE_ASIO;
// `Token` is any completion token, by default `deferred`):
//
//   template <class V, class Executor = asio::any_io_executor>
//   class join_set {
//    public:
//     // construct
//     explicit join_set(const executor_type& ex);
//     explicit join_set(ExecutionContext& ctx);
//     join_set(const executor_type& ex, Range&& tasks);
//     join_set(join_set&&) noexcept;
//     join_set& operator=(join_set&&) noexcept;
//     ~join_set();                                  // aborts every task, never waits
//     // spawn
//     abort_handle spawn(asio::awaitable<T, E> task);
//     abort_handle spawn(F&& factory);
//     abort_handle spawn_on(const Ex& ex, TaskOrFactory&& task);
//     abort_handle spawn_blocking(F&& f);
//     abort_handle spawn_blocking_on(const Ex& ex, F&& f);
//     std::size_t spawn_all(Range&& tasks);
//     // join
//     auto async_join_next(Token&& token);          // void(error_code, optional<join_result<V>>)
//     auto async_join_next(wait_if_empty_t, Token&& token);         // the same, waits while empty
//     auto async_join_next_with_id(Token&& token);
//                       // void(error_code, optional<pair<task_id, join_result<V>>>)
//     auto async_join_next_with_id(wait_if_empty_t, Token&& token); // the same, waits while empty
//     auto async_join_all(Token&& token);           // void(error_code, vector<join_result<V>>)
//     auto async_join_all(fail_fast_t, Token&& token);               // the same, fails fast
//     std::optional<join_result<V>> try_join_next();
//     std::optional<std::pair<task_id, join_result<V>>> try_join_next_with_id();
//     // abort
//     void abort_all();
//     void abort_all(asio::cancellation_type type);
//     void detach_all() noexcept;
//     // inspect
//     executor_type get_executor() const noexcept;
//     std::size_t size() const noexcept;
//     bool empty() const noexcept;
//     std::size_t ready_count() const noexcept;
//     bool contains_task(task_id id) const;
//     std::vector<task_info> snapshot() const;
//     group_stats stats() const noexcept;
//     // limit
//     void set_concurrency_limit(std::size_t n);
//     std::size_t concurrency_limit() const noexcept;
//     std::size_t queued_count() const noexcept;
//     std::optional<abort_handle> try_spawn(TaskOrFactory&& task);
//     auto async_spawn(TaskOrFactory&& task, Token&& token);  // void(error_code, abort_handle)
//     // deadlines
//     abort_handle spawn_with_timeout(duration<R, P> timeout, TaskOrFactory&& task);
//     abort_handle spawn_with_deadline(time_point<steady_clock, D> when, TaskOrFactory&& task);
//     // shutdown
//     auto async_shutdown(Token&& token);                            // void(error_code)
//     auto async_shutdown(duration<R, P> grace, Token&& token);      // void(error_code)
//   };
// clang-format on
//
// tokio's JoinSet for Asio. Spawn asio::awaitable<V> tasks (or blocking
// functions), then `co_await set.async_join_next()` to receive their
// outcomes in the order they finish; async_join_next_with_id also says which
// task each outcome belongs to. Destroying the set aborts every task still
// in it.
//
//   joinery::join_set<int> squares(io.get_executor());
//   for (int n = 1; n <= 3; ++n)
//     squares.spawn([n]() -> asio::awaitable<int> { co_return n * n; });
//   int total = 0;
//   while (auto r = co_await squares.async_join_next()) total += r->value();
//
// join_set is join_map without keys (join_map is this plus a key index, as
// in tokio), and shares its rules, written out in join_map.hpp:
//   - Outcomes: every task is reported exactly once, as its value, its
//     exception, cancelled (aborted before it finished) or timed out (its
//     deadline aborted it); detach_all() hands tasks over to nobody. A
//     finished task stays in the set (size()) until joined.
//   - Results come in completion order; joins are cancel-safe (a cancelled
//     join consumes nothing), one at a time, never completed inside the
//     initiating call.
//   - Destruction aborts every task and returns without waiting; a pending
//     join completes with operation_aborted.
//   - Threading: members and join handlers on one strand or thread; tasks
//     anywhere, each serialized with its own aborts.
//
// NOTE: differences from tokio's JoinSet:
//   - async_join_all returns every outcome, errors and cancellations
//     included; tokio's join_all panics on the first failure and cancels the
//     rest.
//   - spawn_all(range) spawns a whole range at once, tokio's Extend; a
//     join_set can also be constructed from a range (FromIterator).
//   - V must be void or nothrow-move-constructible.
//   - Every asynchronous operation allocates its state with the handler's
//     associated allocator (Asio's recycling allocator when it has none).

#include <joinery/abort_handle.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/group_owner.hpp>
#include <joinery/detail/ranges.hpp>
#include <joinery/detail/set_state.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/error.hpp>
#include <joinery/fail_fast.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>
#include <joinery/task_info.hpp>
#include <joinery/wait_if_empty.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace joinery {

template <class V, class Executor = asio::any_io_executor>
class join_set
    : private detail::group_owner<join_set<V, Executor>, detail::set_state<V>, Executor> {
  static_assert(std::is_void_v<V> || std::is_nothrow_move_constructible_v<V>,
                "joinery::join_set: V must be void or nothrow-move-constructible (wrap it in "
                "std::unique_ptr if needed)");

  using state_type = detail::set_state<V>;
  using owner = detail::group_owner<join_set, state_type, Executor>;
  friend owner;
  friend struct detail::group_access;  // joinery::scope's hook on the first failure

 public:
  using output_type = V;  // what each task produces
  // What a join delivers: a task's outcome.
  using value_type = join_result<V>;
  using result_type = join_result<V>;
  using executor_type = Executor;
  using join_signature = void(error_code, std::optional<join_result<V>>);
  using join_with_id_signature = void(error_code,
                                      std::optional<std::pair<task_id, join_result<V>>>);
  using join_all_signature = void(error_code, std::vector<join_result<V>>);
  using shutdown_signature = void(error_code);
  using spawn_signature = void(error_code, abort_handle);

  // --- Construction --------------------------------------------------------

  // An empty set whose tasks run on `ex` and whose join handlers default to
  // `ex`. Does not allocate until the first spawn.
  explicit join_set(const executor_type& ex) : owner(ex) {}

  // An empty set on the context's executor (an io_context, a thread_pool).
  template <class ExecutionContext>
    requires std::is_convertible_v<ExecutionContext&, asio::execution_context&> &&
             std::is_constructible_v<Executor, typename ExecutionContext::executor_type>
  explicit join_set(ExecutionContext& ctx) : join_set(executor_type(ctx.get_executor())) {}

  // A set running every task of `tasks` (awaitables, or callables returning
  // awaitables), as spawn_all does (tokio's FromIterator).
  template <std::ranges::input_range Range>
    requires(!std::is_convertible_v<Range, executor_type>)
  join_set(const executor_type& ex, Range&& tasks) : join_set(ex) {
    spawn_all(std::forward<Range>(tasks));
  }

  // Takes over `other`'s tasks and pending join; `other` is left empty and
  // usable.
  join_set(join_set&& other) noexcept = default;

  // Aborts the tasks this set held (as destruction does), then takes over
  // `other`'s. Self-assignment does nothing.
  join_set& operator=(join_set&& other) noexcept = default;

  // Aborts every task still in the set and returns without waiting; a
  // pending join completes with operation_aborted.
  ~join_set() = default;

  // --- Spawning ------------------------------------------------------------
  //
  // As join_map's spawn family, without keys: each spawn starts the task at
  // once (never inside the call; under a concurrency limit it may be queued
  // instead) and returns its abort_handle; if spawning throws, the set is
  // unchanged and no task was started.

  // Spawns the coroutine `task` on get_executor(). The task's awaitable
  // executor type E must be constructible from executor_type.
  template <class T, class E>
  abort_handle spawn(asio::awaitable<T, E> task) {
    return this->spawn_coro(added(), this->executor_, this->serial_, std::move(task));
  }

  // Spawns `f()` (which returns an awaitable) on get_executor(); `f` is kept
  // alive until the task ends. A factory taking a task_id is called with
  // the task's own id.
  template <detail::task_factory F>
  abort_handle spawn(F&& f) {
    return this->spawn_coro(added(), this->executor_, this->serial_, std::forward<F>(f));
  }

  // Not a task (a plain function returning a value, say): a compile-time
  // error saying what spawn takes, and that spawn_blocking runs plain
  // functions.
  template <detail::not_a_task F>
  abort_handle spawn(F&&) {
    static_assert(detail::always_false_v<F>, JOINERY_NOT_A_TASK_MESSAGE("join_set::spawn"));
    return {};
  }

  // As spawn, on the executor `ex` instead (a strand, another io_context,
  // a thread_pool).
  template <class Ex, class TaskOrFactory>
    requires detail::task_like<TaskOrFactory>
  abort_handle spawn_on(const Ex& ex, TaskOrFactory&& task) {
    return this->spawn_coro(added(), ex, detail::is_serial_executor(ex),
                            std::forward<TaskOrFactory>(task));
  }

  // Runs the synchronous `f()` (returning V) on the default blocking pool.
  // Aborted before it starts, it never runs and is reported cancelled; once
  // started it runs to completion and reports its value.
  template <class F>
  abort_handle spawn_blocking(F&& f) {
    return spawn_blocking_on(detail::default_blocking_pool().get_executor(), std::forward<F>(f));
  }

  // As spawn_blocking, on the executor `ex` (e.g. your own thread_pool).
  template <class Ex, class F>
  abort_handle spawn_blocking_on(const Ex& ex, F&& f) {
    return this->spawn_blocking_with(added(), ex, std::forward<F>(f));
  }

  // Spawns every element of `tasks` (awaitables, or callables returning
  // awaitables; elements are moved from when the range yields rvalues or is
  // itself an rvalue) on get_executor(), in order (tokio's Extend). Returns
  // how many were spawned. If a spawn throws, the tasks already spawned stay
  // in the set and the exception propagates.
  template <std::ranges::input_range Range>
  std::size_t spawn_all(Range&& tasks) {
    std::size_t n = 0;
    for (auto&& task : tasks) {
      if constexpr (std::is_rvalue_reference_v<Range&&>)
        this->spawn_coro(added(), this->executor_, this->serial_, std::move(task));
      else
        this->spawn_coro(added(), this->executor_, this->serial_,
                         std::forward<decltype(task)>(task));
      ++n;
    }
    return n;
  }

  // --- Joining -------------------------------------------------------------

  // Waits for the next task to finish and delivers its outcome, removing it
  // from the set.
  //
  // Always returns immediately; the handler is called exactly once, and
  // never from inside this function.
  //
  // Token: any completion token; by default `deferred`, so
  // `co_await set.async_join_next()` works in an awaitable coroutine.
  // Completion signature:
  //   void(error_code ec, std::optional<join_result<V>> next)
  // Returns (in `ec`, `next`):
  //   - (success, value)          a task returned;
  //   - (success, error)          a task threw (error().is_exception()), was
  //                               aborted (error().is_cancelled()) or timed
  //                               out (error().is_timed_out());
  //   - (success, nullopt)        the set is empty (also when it becomes
  //                               empty while waiting: detach_all,
  //                               try_join_next);
  //   - (operation_aborted, nullopt)  the wait was cancelled, or the set was
  //                               destroyed while waiting;
  //   - (already_started, nullopt)    another join is pending.
  //
  // Per-Operation Cancellation: terminal, partial and total cancellation all
  // end the wait with operation_aborted; it has no effect on any task, and
  // no task's result is consumed: a result the wait was about to deliver
  // stays queued for the next join.
  //
  // Executor: the handler runs through its associated executor, by default
  // get_executor(); it must be the set's thread.
  //
  // Allocator: the operation's state is allocated with the handler's
  // associated allocator (Asio's recycling allocator by default).
  //
  // Lifetimes: the operation keeps the set's shared state alive, not the
  // set; the set may be moved while it is pending.
  //
  // Thread safety: as every member, from the set's thread only.
  //
  //   while (auto r = co_await set.async_join_next())
  //     handle(std::move(*r));
  template <JOINERY_COMPLETION_TOKEN_FOR(join_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next(CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return asio::async_initiate<CompletionToken, join_signature>(
        detail::initiate_join<state_type, take_policy, Executor>(this->state_ref(),
                                                                 this->executor_),
        token);
  }

  // As async_join_next, but an empty set does not complete the wait: it
  // stays pending until a task is spawned and finishes, and delivers it.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, completion signature, executor,
  // allocator and lifetimes as for async_join_next. Returns:
  //   - (success, outcome)            a task finished;
  //   - (operation_aborted, nullopt)  the wait was cancelled, or the set
  //                                   destroyed;
  //   - (already_started, nullopt)    another join is pending.
  // Per-Operation Cancellation: terminal, partial and total end the wait;
  // no result is consumed.
  template <JOINERY_COMPLETION_TOKEN_FOR(join_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next(wait_if_empty_t,
                       CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return asio::async_initiate<CompletionToken, join_signature>(
        detail::initiate_join<state_type, take_policy, Executor>(this->state_ref(), this->executor_,
                                                                 true),
        token);
  }

  // As async_join_next, delivering the finished task's id with its outcome
  // (tokio's join_next_with_id).
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor, allocator and lifetimes as
  // for async_join_next. Completion signature:
  //   void(error_code ec, std::optional<std::pair<task_id, join_result<V>>> next)
  // Returns: as async_join_next, with each outcome paired with its task's
  // id (the id its abort_handle has).
  // Per-Operation Cancellation: terminal, partial and total end the wait
  // with operation_aborted; no result is consumed.
  template <JOINERY_COMPLETION_TOKEN_FOR(join_with_id_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next_with_id(CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return asio::async_initiate<CompletionToken, join_with_id_signature>(
        detail::initiate_join<state_type, take_with_id_policy, Executor>(this->state_ref(),
                                                                         this->executor_),
        token);
  }

  // As async_join_next_with_id, waiting while the set is empty (as
  // async_join_next(wait_if_empty, token) does). Same completion signature
  // and rules.
  template <JOINERY_COMPLETION_TOKEN_FOR(join_with_id_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next_with_id(wait_if_empty_t,
                               CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return asio::async_initiate<CompletionToken, join_with_id_signature>(
        detail::initiate_join<state_type, take_with_id_policy, Executor>(this->state_ref(),
                                                                         this->executor_, true),
        token);
  }

  // async_join_all(token):
  // Joins every task, in completion order, until the set is empty, and
  // delivers all their outcomes at once. Unlike tokio's join_all, a task
  // that failed or was cancelled does not stop the others: every outcome is
  // in the vector, decided per element.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor, allocator and lifetimes as
  // for async_join_next. Completion signature:
  //   void(error_code ec, std::vector<join_result<V>> outcomes)
  // Returns:
  //   - (success, all outcomes)         the set is empty now (an empty set
  //                                     gives an empty vector);
  //   - (operation_aborted, so far)     the wait was cancelled, or the set
  //                                     destroyed; the remaining tasks stay;
  //   - (already_started, {})           another join is pending.
  // Per-Operation Cancellation: terminal, partial and total; the outcomes
  // collected so far are delivered, no other is consumed.

  // async_join_all(joinery::fail_fast, token):
  // As async_join_all, but failing fast, as tokio's join_all, Go's errgroup
  // and Asio's parallel_group with wait_for_one_error do: the first task to
  // *fail* (its outcome is an exception or a timeout: is_exception() or
  // is_timed_out(); a cancelled outcome is not a failure, an abort was asked
  // for) makes the join abort every other task in the set (terminal
  // cancellation); it keeps joining until the set is empty, and completes
  // with joinery::error::task_failed and every outcome in completion order,
  // the first failed one being the cause. Without a failure it completes
  // as async_join_all does.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor, allocator and lifetimes as
  // for async_join_next. Completion signature:
  //   void(error_code ec, std::vector<value_type> outcomes)
  // Returns:
  //   - (success, all outcomes)         no task failed; the set is empty;
  //   - (task_failed, all outcomes)     a task failed; the others were
  //                                     aborted and joined; the set is empty;
  //   - (operation_aborted, so far)     the wait was cancelled, or the set
  //                                     destroyed; the remaining tasks stay
  //                                     (aborts already issued stand);
  //   - (already_started, {})           another join is pending.
  // Per-Operation Cancellation: terminal, partial and total; the outcomes
  // collected so far are delivered, no other is consumed.
  //
  //   auto [ec, all] = co_await group.async_join_all(joinery::fail_fast,
  //                                                  asio::as_tuple(asio::deferred));
  using owner::async_join_all;

  // A finished task's outcome, if one is ready; never waits. Leaves a
  // pending async join waiting (it is woken for the next result); if this
  // takes the set's last task, that join completes with nullopt.
  [[nodiscard(
      "the result holds a task's outcome, which is lost if ignored")]] std::optional<join_result<V>>
  try_join_next() {
    return detail::try_join<take_policy>(this->state_if_any());
  }

  // As try_join_next, with the task's id.
  [[nodiscard("the result holds a task's outcome, which is lost if ignored")]] std::optional<
      std::pair<task_id, join_result<V>>>
  try_join_next_with_id() {
    return detail::try_join<take_with_id_policy>(this->state_if_any());
  }

  // --- Aborting ------------------------------------------------------------

  // abort_all():
  // Aborts every task; they stay in the set (size() is unchanged) until
  // joined, each reported cancelled unless it had already finished. Throws
  // std::bad_alloc only if a cancellation cannot be posted (see
  // abort_handle::abort); the tasks before it are aborted, the rest not.

  // abort_all(type): abort_all() with a cancellation type: `terminal` (or any type with the
  // terminal bit) is abort_all(); `partial` or `total` asks every running
  // coroutine task to stop (see abort_handle::abort(type)) without making
  // any outcome cancelled. Does nothing to tasks that have not started,
  // blocking tasks and finished ones.
  using owner::abort_all;

  // Removes every task without aborting it: they run on, their
  // abort_handles still work, and their outcomes are reported to nobody.
  // The set is empty afterwards; a pending async_join_next completes with
  // nullopt (one with wait_if_empty keeps waiting).
  using owner::detach_all;

  // --- Inspecting ------------------------------------------------------------

  // The executor tasks are spawned on and join handlers default to.
  using owner::get_executor;

  // Number of tasks in the set: running, queued, and finished but not yet
  // joined.
  using owner::size;

  // size() == 0.
  using owner::empty;

  // How many tasks have finished and await joining: counted from the moment
  // a finished task is queued for a join until a join takes it.
  using owner::ready_count;

  // True if the task with this id is in the set (finished but unjoined
  // included). The first call builds an id index (linear in size()), kept
  // up to date from then on (constant time); sets that never ask do not
  // pay for it.
  using owner::contains_task;

  // Every task in the set with its id, state (queued, running, finished),
  // whether an abort was requested, when it was spawned and its pending
  // deadline (task_info.hpp), in spawn order: a copy, linear in size().
  std::vector<task_info> snapshot() const {
    auto* st = this->state_if_any();
    return st ? st->snapshot() : std::vector<task_info>();
  }

  // The counters the set keeps from its construction (task_info.hpp):
  // spawned, succeeded, failed, cancelled (a task aborted while queued
  // included), timed_out, detached, peak_size, peak_queued. An outcome is
  // counted when its task ends, joined or not.
  using owner::stats;

  // --- The concurrency limit -----------------------------------------------
  //
  // join_map's (see join_map.hpp), without keys: with a limit of n, at most
  // n of the set's tasks run at once; a spawn while n run queues the task,
  // which is in the set (size()) but has not started, and queued tasks
  // start in spawn order as running tasks end. So
  //   size() == running + queued_count() + ready_count().
  // Aborting a queued task (or its deadline passing) reports it cancelled
  // (timed out) at once, without ever running it. Blocking tasks count like
  // the others.

  // Sets the limit; 0 (the default) means none. Raising it (or setting 0)
  // starts queued tasks before it returns (only their first step is posted)
  // and lets waiting async_spawn calls in; lowering it aborts nothing.
  using owner::set_concurrency_limit;

  // The current limit; 0 means none.
  using owner::concurrency_limit;

  // How many tasks are queued: in the set but not started, waiting for a
  // slot. Tasks waiting in async_spawn are not in the set and not counted.
  using owner::queued_count;

  // Spawns `task` only if it can start now: no limit, or fewer than the
  // limit running and nothing queued. Returns its abort_handle; otherwise
  // nullopt, and the task is destroyed unstarted (a factory is never called)
  // and the set unchanged.
  template <class TaskOrFactory>
    requires detail::task_like<TaskOrFactory>
  std::optional<abort_handle> try_spawn(TaskOrFactory&& task) {
    if (!this->can_start_now())
      return std::nullopt;
    return this->spawn_coro(added(), this->executor_, this->serial_,
                            std::forward<TaskOrFactory>(task));
  }

  // Waits until `task` can start without queueing, spawns it on
  // get_executor() and completes with its abort_handle. Without a limit, or
  // with a slot free and nobody waiting, it spawns at once. Several
  // async_spawn calls may wait; they are served in order, and only when no
  // task is queued. A waiting task is not in the set yet.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, allocator and lifetimes as for
  // async_join_next. Executor: the completion spawns into the set, so the
  // handler's associated executor must be the set's thread. Completion
  // signature:
  //   void(error_code ec, abort_handle handle)
  // Returns:
  //   - (success, handle)              the task was spawned;
  //   - (operation_aborted, {})        the wait was cancelled, or the set
  //                                    destroyed: the task was never
  //                                    spawned (it is destroyed);
  //   - (no_memory, {})                spawning failed when the slot came.
  // When it spawns at once, a spawn that throws propagates out of this call
  // instead, and nothing started.
  // Per-Operation Cancellation: terminal, partial and total end the wait
  // with operation_aborted; a cancellation after the task was spawned
  // changes nothing.
  template <class TaskOrFactory, JOINERY_COMPLETION_TOKEN_FOR(spawn_signature)
                                     CompletionToken = detail::default_token_t<executor_type>>
    requires detail::task_like<TaskOrFactory>
  auto async_spawn(TaskOrFactory&& task,
                   CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return this->async_spawn_with(
        [task = std::decay_t<TaskOrFactory>(std::forward<TaskOrFactory>(task)),
         ex = this->executor_, serial = this->serial_](state_type& st) mutable {
          return owner::spawn_coro_into(st, added(), ex, serial, std::move(task), nullptr);
        },
        std::forward<CompletionToken>(token), async_spawn_location);
  }

  // --- Deadlines -------------------------------------------------------------

  // Spawns `task` on get_executor() with a deadline `timeout` from now: if
  // it has not finished by then, it is aborted (terminal cancellation) and
  // reported with a join_error that is_timed_out() (value() throws
  // task_timed_out). Queueing counts: a queued task whose deadline passes
  // never starts. A timeout of zero or less is due at once; one too long to
  // represent never fires. One timer, on get_executor(), serves all of the
  // set's deadlines; it goes with its execution context.
  template <class Rep, class Period, class TaskOrFactory>
    requires detail::task_like<TaskOrFactory>
  abort_handle spawn_with_timeout(std::chrono::duration<Rep, Period> timeout,
                                  TaskOrFactory&& task) {
    return this->spawn_until(added(), detail::deadline_after(timeout),
                             std::forward<TaskOrFactory>(task));
  }

  // As spawn_with_timeout, with the deadline as a steady_clock time point.
  template <class Duration, class TaskOrFactory>
    requires detail::task_like<TaskOrFactory>
  abort_handle spawn_with_deadline(
      std::chrono::time_point<std::chrono::steady_clock, Duration> deadline, TaskOrFactory&& task) {
    return this->spawn_until(
        added(), std::chrono::time_point_cast<std::chrono::steady_clock::duration>(deadline),
        std::forward<TaskOrFactory>(task));
  }

  // --- Shutting down -----------------------------------------------------------

  // async_shutdown(token):
  // Aborts every task and waits until all of them have ended, discarding
  // their outcomes; the set is empty when it completes.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor, allocator and lifetimes as
  // for async_join_next. Completion signature:
  //   void(error_code ec)
  // Returns: success when the set is empty; operation_aborted when the wait
  // was cancelled or the set destroyed (the remaining, aborted tasks stay);
  // already_started when another join is pending (then nothing was aborted).
  // Per-Operation Cancellation: terminal, partial and total stop the
  // waiting; the aborts already issued stand.

  // async_shutdown(grace, token):
  // A graceful shutdown (join_map::async_shutdown(grace)): asks every task
  // to stop with `total` cancellation, waits up to `grace` for them to end,
  // then aborts the rest terminally, and completes when the set is empty.
  // Tasks that have not started yet are aborted at once; a `grace` of zero
  // or less aborts everything at once.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor, allocator and lifetimes as
  // for async_join_next. Completion signature:
  //   void(error_code ec)
  // Returns: as async_shutdown().
  // Per-Operation Cancellation: terminal, partial and total stop the
  // waiting and the grace period (no further aborts are issued).
  using owner::async_shutdown;

 private:
  JOINERY_LOCATION(async_spawn_location, "joinery::join_set::async_spawn");
  using take_policy = typename state_type::take_policy;
  using take_with_id_policy = typename state_type::take_with_id_policy;

  detail::counted_ref<state_type> make_state() const {
    return detail::counted_ref<state_type>(new state_type());
  }

  // Inserts a spawned task (see group_owner::spawn_coro).
  static auto added() {
    return [](state_type& st, auto&& launch) { return st.add(launch); };
  }
};

}  // namespace joinery

#endif  // JOINERY_JOIN_SET_HPP
