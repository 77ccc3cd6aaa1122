// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_JOIN_SET_HPP
#define JOINERY_JOIN_SET_HPP

// join_set<V>: a group of Asio coroutine tasks without keys.
//
// tokio's JoinSet for Asio. Spawn `boost::asio::awaitable<V>` tasks (or
// blocking functions), then `co_await set.async_join_next()` to receive
// their outcomes in the order they finish; async_join_next_with_id also says
// which task each outcome belongs to. Destroying the set aborts every task
// still in it.
//
//   joinery::join_set<int> squares(io.get_executor());
//   for (int n = 1; n <= 3; ++n)
//     squares.spawn([n]() -> net::awaitable<int> { co_return n * n; });
//   int total = 0;
//   while (auto r = co_await squares.async_join_next()) total += r->value();
//
// join_set shares everything but the keys with join_map (join_map is this
// plus a key index, as in tokio): the same outcomes (every task reported
// exactly once, as its value, its exception or cancelled), the same
// destruction (aborts, never blocks), the same threading model (members and
// join handlers on one strand or thread; tasks anywhere, each serialized
// with its own aborts), and the same join rules (results in completion
// order, cancel-safe, one waiter at a time, never completed inside the
// initiating call). See join_map.hpp for the details of each.
//
// NOTE: differences from tokio's JoinSet:
//   - async_join_all returns every outcome, errors and cancellations
//     included; tokio's join_all panics on the first failure and cancels the
//     rest.
//   - spawn_all(range) spawns a whole range at once, tokio's Extend; a
//     join_set can also be constructed from a range (FromIterator).
//   - V must be void or nothrow-move-constructible.

#include <joinery/abort_handle.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/group_owner.hpp>
#include <joinery/detail/set_state.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/error.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>
#include <joinery/wait_if_empty.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

namespace joinery {

template <class V, class Executor = boost::asio::any_io_executor>
class join_set : public detail::group_owner<join_set<V, Executor>, detail::set_state<V>, Executor> {
  static_assert(std::is_void_v<V> || std::is_nothrow_move_constructible_v<V>,
                "joinery::join_set: V must be void or nothrow-move-constructible (wrap it in "
                "std::unique_ptr if needed)");

  using state_type = detail::set_state<V>;
  using owner = detail::group_owner<join_set, state_type, Executor>;
  friend owner;

 public:
  using output_type = V;  // what each task produces
  // What a join delivers: a task's outcome.
  using value_type = join_result<V>;
  using result_type = join_result<V>;
  using executor_type = Executor;
  using join_signature = void(boost::system::error_code, std::optional<join_result<V>>);
  using join_with_id_signature = void(boost::system::error_code,
                                      std::optional<std::pair<task_id, join_result<V>>>);

  // Inherited from detail::group_owner (documented there): get_executor(),
  // size(), empty(), ready_count(), contains_task(id), abort_all(),
  // detach_all(), async_join_all(token), async_shutdown(token).

  // --- Construction --------------------------------------------------------

  // An empty set whose tasks run on `ex` and whose join handlers default to
  // `ex`. Does not allocate until the first spawn.
  explicit join_set(const executor_type& ex) : owner(ex) {}

  // An empty set on the context's executor (an io_context, a thread_pool).
  template <class ExecutionContext>
    requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&> &&
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
  // usable. Move assignment aborts the tasks this set held first (as
  // destruction does); destruction aborts every task still in the set and
  // returns without waiting.
  join_set(join_set&& other) noexcept = default;
  join_set& operator=(join_set&& other) noexcept = default;

  // --- Spawning ------------------------------------------------------------
  //
  // As join_map's spawn family, without keys: each spawn starts the task at
  // once (never inside the call) and returns its abort_handle; if spawning
  // throws, the set is unchanged and no task was started.

  // Spawns the coroutine `task` on get_executor().
  template <class T, class E>
  abort_handle spawn(boost::asio::awaitable<T, E> task) {
    return this->spawn_coro(added(), this->executor_, this->serial_, std::move(task));
  }

  // Spawns `f()` (which returns an awaitable) on get_executor(); `f` is kept
  // alive until the task ends. A factory taking a task_id is called with
  // the task's own id.
  template <detail::task_factory F>
  abort_handle spawn(F&& f) {
    return this->spawn_coro(added(), this->executor_, this->serial_, std::forward<F>(f));
  }

  // As spawn, on the executor `ex` instead.
  template <class Ex, class TaskOrFactory>
    requires(detail::is_awaitable_v<TaskOrFactory> || detail::task_factory<TaskOrFactory>)
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

  // --- Scheduling: the concurrency limit and deadlines ---------------------
  // join_map's, without keys (set_concurrency_limit, concurrency_limit()
  // and queued_count() are detail::group_owner's, which says how the limit
  // works; the rest is documented on join_map).

  // Spawns `task` only if it can start now (join_map::try_spawn): its
  // abort_handle, or nullopt and the task destroyed unstarted.
  template <class TaskOrFactory>
    requires(detail::is_awaitable_v<std::decay_t<TaskOrFactory>> ||
             detail::task_factory<TaskOrFactory>)
  std::optional<abort_handle> try_spawn(TaskOrFactory&& task) {
    if (!this->can_start_now())
      return std::nullopt;
    return this->spawn_coro(added(), this->executor_, this->serial_,
                            std::forward<TaskOrFactory>(task));
  }

  // Waits until `task` can start without queueing, spawns it and completes
  // with its abort_handle (join_map::async_spawn). Completion signature:
  //   void(boost::system::error_code ec, abort_handle handle)
  template <class TaskOrFactory, BOOST_ASIO_COMPLETION_TOKEN_FOR(typename owner::spawn_signature)
                                     CompletionToken = detail::default_token_t<executor_type>>
    requires(detail::is_awaitable_v<std::decay_t<TaskOrFactory>> ||
             detail::task_factory<TaskOrFactory>)
  auto async_spawn(TaskOrFactory&& task,
                   CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return this->async_spawn_with(
        [task = std::decay_t<TaskOrFactory>(std::forward<TaskOrFactory>(task)),
         ex = this->executor_, serial = this->serial_](state_type& st) mutable {
          return owner::spawn_coro_into(st, added(), ex, serial, std::move(task), nullptr);
        },
        std::forward<CompletionToken>(token), async_spawn_location);
  }

  // Spawns `task` with a deadline `timeout` from now
  // (join_map::spawn_with_timeout): aborted then if unfinished, and
  // reported with a join_error that is_timed_out().
  template <class Rep, class Period, class TaskOrFactory>
    requires(detail::is_awaitable_v<std::decay_t<TaskOrFactory>> ||
             detail::task_factory<TaskOrFactory>)
  abort_handle spawn_with_timeout(std::chrono::duration<Rep, Period> timeout,
                                  TaskOrFactory&& task) {
    return this->spawn_until(added(), detail::deadline_after(timeout),
                             std::forward<TaskOrFactory>(task));
  }

  // As spawn_with_timeout, with the deadline as a steady_clock time point.
  template <class Duration, class TaskOrFactory>
    requires(detail::is_awaitable_v<std::decay_t<TaskOrFactory>> ||
             detail::task_factory<TaskOrFactory>)
  abort_handle spawn_with_deadline(
      std::chrono::time_point<std::chrono::steady_clock, Duration> deadline, TaskOrFactory&& task) {
    return this->spawn_until(
        added(), std::chrono::time_point_cast<std::chrono::steady_clock::duration>(deadline),
        std::forward<TaskOrFactory>(task));
  }

  // --- Joining -------------------------------------------------------------

  // Waits for the next task to finish and delivers its outcome, removing it
  // from the set: join_map::async_join_next without the key. Completion
  // signature:
  //   void(boost::system::error_code ec, std::optional<join_result<V>> next)
  // Returns, cancellation, executor and lifetimes: as join_map's.
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(join_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next(CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return boost::asio::async_initiate<CompletionToken, join_signature>(
        detail::initiate_join<state_type, take_policy, Executor>(this->state_ref(),
                                                                 this->executor_),
        token);
  }

  // As async_join_next, delivering the finished task's id with its outcome:
  //   void(boost::system::error_code, std::optional<std::pair<task_id, join_result<V>>>)
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(join_with_id_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next_with_id(CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return boost::asio::async_initiate<CompletionToken, join_with_id_signature>(
        detail::initiate_join<state_type, take_with_id_policy, Executor>(this->state_ref(),
                                                                         this->executor_),
        token);
  }

  // As async_join_next, waiting while the set is empty
  // (join_map::async_join_next(wait_if_empty, token) without the key).
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(join_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next(wait_if_empty_t,
                       CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return boost::asio::async_initiate<CompletionToken, join_signature>(
        detail::initiate_join<state_type, take_policy, Executor>(this->state_ref(), this->executor_,
                                                                 true),
        token);
  }

  // As async_join_next_with_id, waiting while the set is empty.
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(join_with_id_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next_with_id(wait_if_empty_t,
                               CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return boost::asio::async_initiate<CompletionToken, join_with_id_signature>(
        detail::initiate_join<state_type, take_with_id_policy, Executor>(this->state_ref(),
                                                                         this->executor_, true),
        token);
  }

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

 private:
  JOINERY_LOCATION(async_spawn_location, "joinery::join_set::async_spawn");
  using take_policy = typename state_type::take_policy;
  using take_with_id_policy = typename state_type::take_with_id_policy;

  detail::core_ref<state_type> make_state() const {
    return detail::core_ref<state_type>(new state_type());
  }

  // Inserts a spawned task (see group_owner::spawn_coro).
  static auto added() {
    return [](state_type& st, auto&& launch) { return st.add(launch); };
  }
};

}  // namespace joinery

#endif  // JOINERY_JOIN_SET_HPP
