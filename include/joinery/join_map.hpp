// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_JOIN_MAP_HPP
#define JOINERY_JOIN_MAP_HPP

// join_map<K, V>: a group of Asio coroutine tasks under hash-map keys.
//
// clang-format off
// Synopsis (`asio` is boost::asio, or ::asio with JOINERY_STANDALONE_ASIO;
// `Token` is any completion token, by default `deferred`):
//
//   template <class K, class V, class Hash = default_hash<K>,
//             class KeyEqual = default_key_equal<K>,
//             class Executor = asio::any_io_executor>
//   class join_map {
//    public:
//     // construct
//     explicit join_map(const executor_type& ex);
//     explicit join_map(ExecutionContext& ctx);
//     join_map(const executor_type& ex, std::size_t capacity,
//              const Hash& hash = {}, const KeyEqual& eq = {});
//     join_map(join_map&&) noexcept;
//     join_map& operator=(join_map&&) noexcept;
//     ~join_map();                                  // aborts every task, never waits
//     // spawn
//     abort_handle spawn(K key, asio::awaitable<T, E> task);
//     abort_handle spawn(K key, F&& factory);
//     abort_handle spawn_on(K key, const Ex& ex, TaskOrFactory&& task);
//     abort_handle spawn_blocking(K key, F&& f);
//     abort_handle spawn_blocking_on(K key, const Ex& ex, F&& f);
//     // join
//     auto async_join_next(Token&& token);          // void(error_code, optional<value_type>)
//     auto async_join_next(wait_if_empty_t, Token&& token);         // the same, waits while empty
//     auto async_join(const K& key, Token&& token); // void(error_code, optional<join_result<V>>)
//     auto async_join_all(Token&& token);           // void(error_code, vector<value_type>)
//     auto async_join_all(fail_fast_t, Token&& token);               // the same, fails fast
//     std::optional<value_type> try_join_next();
//     // abort
//     bool abort(const K& key);
//     bool abort(const K& key, asio::cancellation_type type);
//     std::size_t abort_matching(Pred pred);
//     std::size_t abort_matching(Pred pred, asio::cancellation_type type);
//     void abort_all();
//     void abort_all(asio::cancellation_type type);
//     bool detach(const K& key);
//     void detach_all() noexcept;
//     // inspect
//     executor_type get_executor() const noexcept;
//     std::size_t size() const noexcept;
//     bool empty() const noexcept;
//     std::size_t ready_count() const noexcept;
//     bool contains(const K& key) const;
//     bool contains_task(task_id id) const;
//     bool is_finished(const K& key) const;
//     std::optional<abort_handle> get_abort_handle(const K& key) const;
//     std::optional<task_info> info(const K& key) const;
//     std::vector<std::pair<K, task_info>> snapshot() const;
//     group_stats stats() const noexcept;
//     key_range keys() const;
//     std::size_t capacity() const noexcept;
//     void reserve(std::size_t n);
//     void shrink_to_fit();
//     void shrink_to(std::size_t n);
//     Hash hash_function() const;
//     KeyEqual key_eq() const;
//     friend std::ostream& operator<<(std::ostream& os, const join_map& map);
//     // limit
//     void set_concurrency_limit(std::size_t n);
//     std::size_t concurrency_limit() const noexcept;
//     std::size_t queued_count() const noexcept;
//     std::optional<abort_handle> try_spawn(K key, TaskOrFactory&& task);
//     auto async_spawn(K key, TaskOrFactory&& task, Token&& token);
//                                            // void(error_code, abort_handle)
//     // deadlines
//     abort_handle spawn_with_timeout(K key, duration<R, P> timeout, TaskOrFactory&& task);
//     abort_handle spawn_with_deadline(K key, time_point<steady_clock, D> when,
//                                      TaskOrFactory&& task);
//     // shutdown
//     auto async_shutdown(Token&& token);                            // void(error_code)
//     auto async_shutdown(duration<R, P> grace, Token&& token);      // void(error_code)
//   };
//
// Every lookup by key (async_join, abort, detach, contains, is_finished,
// get_abort_handle, info) also takes any Q the Hash and KeyEqual accept when both
// are transparent (std::string_view and string literals for string keys, by
// default).
// clang-format on
//
// Spawn asio::awaitable<V> tasks (or blocking functions) under keys, then
// `co_await map.async_join_next()` to receive `(key, outcome)` pairs in the
// order the tasks finish. Abort one task by key, several by predicate, or
// all of them. The map owns its tasks: destroying it aborts every task still
// in it. This is tokio-util's JoinMap for Asio.
//
//   joinery::join_map<std::string, std::size_t> fetches(io.get_executor());
//   for (auto& url : urls) fetches.spawn(url, fetch_length(url));
//   while (auto next = co_await fetches.async_join_next()) {
//     auto& [url, result] = *next;
//     if (result) std::cout << url << ": " << *result << " bytes\n";
//     else std::cout << url << ": " << result.error().message() << "\n";
//   }
//
// Outcomes. Every task spawned into the map is reported exactly once, as a
// join_result<V>: its value; or a join_error that is_exception() (it threw;
// the exception is kept), is_cancelled() (it was aborted before it
// finished, whatever it did on its way out) or is_timed_out() (its deadline
// aborted it). Two exceptions: a task replaced by a spawn on the same key is
// never reported, and detach(key) and detach_all() hand tasks over to
// nobody. A finished task stays in the map (size(), contains(), keys())
// until its result is joined; unjoined results keep their memory.
//
// Ordering. Results come in the order tasks finish. Two tasks finishing on
// different threads at about the same time may be reported in either order.
//
// Destruction aborts every task still in the map and returns at once; it
// never blocks. Tasks finish on their own executors afterwards; nothing
// touches the destroyed map (tasks share only a reference-counted core with
// it). A pending join completes with operation_aborted. To wait for the
// tasks to be gone, use async_shutdown().
//
// Threading model. Like a standard container, a join_map is used by one
// thread at a time: call its members, and run its join handlers, from one
// strand (or one thread, or one coroutine). The tasks themselves run
// anywhere: on the map's executor with several threads calling run(), on
// other contexts through spawn_on, on the blocking pool. Finishing tasks
// reach the map safely from any thread, and abort() may be called through
// an abort_handle from any thread.
//
// Aborts are delivered serialized with the task they cancel (Asio's rule for
// cancellation_signal::emit):
//   - spawned on a strand, or on an io_context constructed with concurrency
//     hint 1, the task runs right there and an abort is posted there;
//   - otherwise, when the task's awaitable executor type can hold it
//     (any_io_executor, the default), the task runs on an executor of its
//     own over the spawning one, which runs each of its handlers under a
//     per-task lock; an abort emits under the same lock, from any thread.
//     Tasks still run in parallel;
//   - a map typed on a concrete non-strand executor (say
//     join_map<K, V, Hash, Eq, io_context::executor_type>) cannot wrap its
//     tasks' executor, so it requires that executor's context to be run by
//     one thread at a time. Type the map on a strand
//     (strand<io_context::executor_type>) when several threads run it.
//
// NOTE: decisions this API makes where tokio's JoinMap has no equivalent or
// differs:
//   - Cancellation is cooperative: abort() emits terminal cancellation
//     (co_spawn's default filter) at the task's next suspension point, and
//     with Asio's default throw_if_cancelled every later co_await throws.
//     A task that catches and keeps going runs on, but is still reported
//     cancelled. tokio drops the future at its next poll instead.
//   - One waiter at a time: a second concurrent async_join_next completes at
//     once with asio::error::already_started (tokio enforces this with
//     &mut self). try_join_next may be called while a join is pending; it
//     never steals the pending join's wake-up.
//   - async_join_next on an empty map completes with std::nullopt, like
//     tokio. A loop that races it against other events (a server's reaper)
//     joins with joinery::wait_if_empty instead, which waits.
//   - On a spawn under a key already present, the old task is aborted and
//     dropped, and the stored key object is kept (the keys are equal).
//   - A Hash or KeyEqual that throws during a spawn (either may) makes the
//     spawn throw that exception: the new task never runs and the map is
//     exactly as before (a task already under the key is neither aborted
//     nor replaced). Thrown from a lookup (contains, abort(key), ...), it
//     propagates and the map is unchanged.
//   - reserve(n) makes room for n tasks in total, as C++ containers do, not
//     n more (tokio's reserve(additional)).
//   - K and V must be nothrow-move-constructible: results are moved between
//     threads, and a throwing move could lose one half-way.
//   - Blocking tasks (spawn_blocking) run on a library-owned pool started on
//     first use (2 threads per hardware thread, at least 4). Aborted before
//     they start they never run; once started they run to completion and
//     keep their value.
//   - Every asynchronous operation allocates its state with the handler's
//     associated allocator (Asio's recycling allocator when it has none).

#include <joinery/abort_handle.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/default_hash.hpp>
#include <joinery/detail/group_owner.hpp>
#include <joinery/detail/map_state.hpp>
#include <joinery/detail/ranges.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/error.hpp>
#include <joinery/fail_fast.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>
#include <joinery/task_info.hpp>
#include <joinery/wait_if_empty.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace joinery {

// join_map's default Hash and KeyEqual for key type K: abseil's hash, made
// transparent for string keys (see detail/default_hash.hpp). Named here so
// that a map on another executor can be spelled without detail types:
//   join_map<K, V, default_hash<K>, default_key_equal<K>, io_context::executor_type>
// or, shorter, join_map_on<K, V, io_context::executor_type>.
template <class K>
using default_hash = detail::default_hash_t<K>;
template <class K>
using default_key_equal = detail::default_key_equal_t<K>;

template <class K, class V, class Hash = default_hash<K>, class KeyEqual = default_key_equal<K>,
          class Executor = asio::any_io_executor>
class join_map;

// A join_map with the default hash and equality on the executor type Executor.
template <class K, class V, class Executor>
using join_map_on = join_map<K, V, default_hash<K>, default_key_equal<K>, Executor>;

template <class K, class V, class Hash, class KeyEqual, class Executor>
class join_map
    : private detail::group_owner<join_map<K, V, Hash, KeyEqual, Executor>,
                                  detail::map_state<K, V, detail::hash_for_t<K, Hash>,
                                                    detail::key_equal_for_t<K, KeyEqual>>,
                                  Executor> {
  static_assert(detail::can_hash_keys_v<K, Hash>,
                "joinery::join_map: the key type K cannot be hashed by Hash. Give K an "
                "AbslHashValue overload or a std::hash specialization, or pass a hash type as "
                "join_map's third template argument");
  static_assert(detail::can_compare_keys_v<KeyEqual, K>,
                "joinery::join_map: keys of type K cannot be compared by KeyEqual. Give K an "
                "operator==, or pass an equality type as join_map's fourth template argument");
  static_assert(std::is_nothrow_move_constructible_v<K>,
                "joinery::join_map: K must be nothrow-move-constructible");
  static_assert(std::is_void_v<V> || std::is_nothrow_move_constructible_v<V>,
                "joinery::join_map: V must be void or nothrow-move-constructible (wrap it in "
                "std::unique_ptr if needed)");

  // The hash and equality in use: Hash and KeyEqual, unless a static_assert
  // above failed.
  using usable_hash = detail::hash_for_t<K, Hash>;
  using usable_key_equal = detail::key_equal_for_t<K, KeyEqual>;
  using state_type = detail::map_state<K, V, usable_hash, usable_key_equal>;
  using owner = detail::group_owner<join_map, state_type, Executor>;
  friend owner;
  friend struct detail::group_access;  // joinery::scope's hook on the first failure

 public:
  using key_type = K;
  using mapped_type = V;  // what each task produces
  using output_type = V;  // the same, named as join_set and join_handle name it
  using executor_type = Executor;
  using hasher = Hash;
  using key_equal = KeyEqual;
  // What a join delivers: a key and its task's outcome.
  using value_type = std::pair<K, join_result<V>>;
  using join_signature = void(error_code, std::optional<value_type>);
  using key_join_signature = void(error_code, std::optional<join_result<V>>);
  using join_all_signature = void(error_code, std::vector<value_type>);
  using shutdown_signature = void(error_code);
  using spawn_signature = void(error_code, abort_handle);
  using key_iterator = detail::key_iterator<K, typename state_type::table_type>;
  using key_range = std::ranges::subrange<key_iterator>;

  // --- Construction ------------------------------------------------------

  // An empty map whose tasks run on `ex` and whose join handlers default to
  // `ex`. Does not allocate until the first spawn.
  explicit join_map(const executor_type& ex) : owner(ex) {}

  // An empty map on the context's executor (an io_context, a thread_pool).
  template <class ExecutionContext>
    requires std::is_convertible_v<ExecutionContext&, asio::execution_context&> &&
             std::is_constructible_v<Executor, typename ExecutionContext::executor_type>
  explicit join_map(ExecutionContext& ctx) : join_map(executor_type(ctx.get_executor())) {}

  // An empty map with room for `capacity` tasks and the given hash and
  // equality (see the note on hashing in detail/default_hash.hpp).
  join_map(const executor_type& ex, std::size_t capacity, const usable_hash& hash = usable_hash(),
           const usable_key_equal& eq = usable_key_equal())
      : owner(ex), hash_(hash), eq_(eq) {
    if (capacity)
      this->state().reserve(capacity);
  }

  // Takes over `other`'s tasks and pending join; `other` is left empty and
  // usable (on the same executor).
  join_map(join_map&& other) noexcept
      : owner(std::move(other)), hash_(other.hash_), eq_(other.eq_) {}

  // Aborts the tasks this map held (as destruction does), then takes over
  // `other`'s. Self-assignment does nothing.
  join_map& operator=(join_map&& other) noexcept {
    if (this != &other) {
      owner::operator=(std::move(other));
      hash_ = other.hash_;
      eq_ = other.eq_;
    }
    return *this;
  }

  // Aborts every task still in the map and returns without waiting (see
  // the overview); a pending join completes with operation_aborted.
  ~join_map() = default;

  // --- Spawning ------------------------------------------------------------
  //
  // Each spawn starts the task at once (it never runs inside spawn itself;
  // its first step is posted to its executor; under a concurrency limit it
  // may be queued instead) and returns its abort_handle. A task already
  // under `key` is aborted and removed: its outcome is never reported, even
  // if it had already finished. Strong guarantee: if spawning throws
  // (allocation, the key's Hash or KeyEqual), the map is unchanged and no
  // task was started.

  // Spawns the coroutine `task` under `key` on get_executor(). The task's
  // awaitable executor type E must be constructible from executor_type.
  template <class T, class E>
  abort_handle spawn(K key, asio::awaitable<T, E> task) {
    return this->spawn_coro(under(key), this->executor_, this->serial_, std::move(task));
  }

  // Spawns `f()` (which returns an awaitable) under `key` on get_executor().
  // `f` is kept alive until the task ends, so a capturing lambda coroutine
  // may use its captures safely. A factory taking a task_id is called with
  // the task's own id (the id the abort_handle and the join_error carry).
  template <detail::task_factory F>
  abort_handle spawn(K key, F&& f) {
    return this->spawn_coro(under(key), this->executor_, this->serial_, std::forward<F>(f));
  }

  // Not a task (a plain function returning a value, say): a compile-time
  // error saying what spawn takes, and that spawn_blocking runs plain
  // functions.
  template <detail::not_a_task F>
  abort_handle spawn(K, F&&) {
    static_assert(detail::always_false_v<F>, JOINERY_NOT_A_TASK_MESSAGE("join_map::spawn"));
    return {};
  }

  // As spawn, on the executor `ex` instead (a strand, another io_context,
  // a thread_pool).
  template <class Ex, class TaskOrFactory>
    requires detail::task_like<TaskOrFactory>
  abort_handle spawn_on(K key, const Ex& ex, TaskOrFactory&& task) {
    return this->spawn_coro(under(key), ex, detail::is_serial_executor(ex),
                            std::forward<TaskOrFactory>(task));
  }

  // Runs the synchronous `f()` (returning V) on the default blocking pool.
  // Aborted before it starts, it never runs and is reported cancelled; once
  // started it runs to completion and reports its value.
  template <class F>
  abort_handle spawn_blocking(K key, F&& f) {
    return spawn_blocking_on(std::move(key), detail::default_blocking_pool().get_executor(),
                             std::forward<F>(f));
  }

  // As spawn_blocking, on the executor `ex` (e.g. your own thread_pool).
  template <class Ex, class F>
  abort_handle spawn_blocking_on(K key, const Ex& ex, F&& f) {
    return this->spawn_blocking_with(under(key), ex, std::forward<F>(f));
  }

  // --- Joining -------------------------------------------------------------

  // Waits for the next task to finish and delivers its key and outcome,
  // removing it from the map.
  //
  // Always returns immediately; the handler is called exactly once, and
  // never from inside this function.
  //
  // Token: any completion token; by default `deferred`, so
  // `co_await map.async_join_next()` works in an awaitable coroutine.
  // Completion signature:
  //   void(error_code ec, std::optional<value_type> next)
  // Returns (in `ec`, `next`):
  //   - (success, {key, value})   a task returned;
  //   - (success, {key, error})   a task threw (error().is_exception()), was
  //                               aborted (error().is_cancelled()) or timed
  //                               out (error().is_timed_out());
  //   - (success, nullopt)        the map is empty (also when it becomes
  //                               empty while waiting: detach, detach_all,
  //                               try_join_next), or holds only tasks that
  //                               pending async_join calls wait for;
  //   - (operation_aborted, nullopt)  the wait was cancelled, or the map was
  //                               destroyed while waiting;
  //   - (already_started, nullopt)    another async_join_next is pending.
  // The error codes carry the operation's name (ec.what() with Boost; see
  // error.hpp).
  //
  // Per-Operation Cancellation: terminal, partial and total cancellation all
  // end the wait with operation_aborted. Cancelling the wait has no effect on
  // any task, and no task's result is consumed: a result the wait was about
  // to deliver stays queued for the next join. So async_join_next can lose a
  // race (`||`, parallel_group) without losing a result, provided the racing
  // operations complete on one strand (Asio's parallel_group is not
  // thread-safe otherwise).
  //
  // Executor: the handler runs through its associated executor, by default
  // get_executor(). It is where the result is taken out of the map, so it
  // must be the map's thread (see the threading model).
  //
  // Allocator: the operation's state is allocated with the handler's
  // associated allocator (Asio's recycling allocator by default).
  //
  // Lifetimes: the operation keeps the map's shared state alive, not the
  // map; the map may be moved while it is pending.
  //
  // Thread safety: as every member, from the map's thread only.
  //
  //   while (auto next = co_await map.async_join_next())
  //     handle(next->first, std::move(next->second));
  template <JOINERY_COMPLETION_TOKEN_FOR(join_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next(CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return asio::async_initiate<CompletionToken, join_signature>(
        initiate_async_join_next(this->state_ref(), this->executor_), token);
  }

  // As async_join_next, but an empty map does not complete the wait: it
  // stays pending until a task is spawned and finishes, and delivers it
  // (detach_all() while it waits does not complete it either).
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, completion signature, executor,
  // allocator and lifetimes as for async_join_next. Returns:
  //   - (success, {key, outcome})     a task finished;
  //   - (operation_aborted, nullopt)  the wait was cancelled, or the map
  //                                   destroyed;
  //   - (already_started, nullopt)    another async_join_next is pending.
  // Per-Operation Cancellation: terminal, partial and total end the wait;
  // no result is consumed.
  //
  //   for (;;) {  // a reaper beside an accept loop, on the same strand
  //     auto [ec, ended] = co_await sessions.async_join_next(
  //         joinery::wait_if_empty, asio::as_tuple(asio::deferred));
  //     if (ec) break;  // cancelled, or the map is gone
  //     log(ended->first, ended->second);
  //   }
  template <JOINERY_COMPLETION_TOKEN_FOR(join_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next(wait_if_empty_t,
                       CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return asio::async_initiate<CompletionToken, join_signature>(
        initiate_async_join_next(this->state_ref(), this->executor_, true), token);
  }

  // Waits for the task under `key` (the one there when the call is made) to
  // finish, then delivers its outcome and removes it from the map, even if
  // it had already finished: a join by key, which tokio's JoinMap has not.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function (also when the task had finished, or on an
  // error). Token, executor, allocator and lifetimes as for async_join_next.
  // Completion signature:
  //   void(error_code ec, std::optional<join_result<V>> outcome)
  // Returns:
  //   - (success, outcome)             the task finished (value, exception,
  //                                    cancelled if aborted first, timed out);
  //   - (not_found, nullopt)           `key` is not in the map, or its task
  //                                    left the map other than by finishing
  //                                    (replaced by a spawn on the same key,
  //                                    detach(key), detach_all()), or another
  //                                    join took it first;
  //   - (operation_aborted, nullopt)   the wait was cancelled, or the map
  //                                    destroyed;
  //   - (already_started, nullopt)     an async_join on the same key is
  //                                    already pending.
  // It may be pending beside one async_join_next and async_joins on other
  // keys. While it is pending, its task is delivered to it only: neither
  // async_join_next nor try_join_next takes it, and async_join_next treats
  // a map holding only such tasks as empty. The key's Hash and KeyEqual run
  // in this call; if they throw, the exception propagates and nothing
  // started.
  // Per-Operation Cancellation: terminal, partial and total end the wait
  // with operation_aborted; nothing is consumed: the task (finished or not)
  // stays in the map for later joins.
  template <JOINERY_COMPLETION_TOKEN_FOR(key_join_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join(const K& key,
                  CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return async_join_impl(key, std::forward<CompletionToken>(token));
  }

  // As above, for any key type the (transparent) hash and equality accept.
  template <class Q, JOINERY_COMPLETION_TOKEN_FOR(key_join_signature)
                         CompletionToken = detail::default_token_t<executor_type>>
    requires detail::transparent_lookup<Hash, KeyEqual> && (!std::same_as<Q, K>)
  auto async_join(const Q& key,
                  CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return async_join_impl(key, std::forward<CompletionToken>(token));
  }

  // async_join_all(token):
  // Joins every task, in completion order, until the map is empty, and
  // delivers all their keys and outcomes at once. Unlike tokio's join_all, a
  // task that failed or was cancelled does not stop the others: every
  // outcome is in the vector, decided per element.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor, allocator and lifetimes as
  // for async_join_next. Completion signature:
  //   void(error_code ec, std::vector<value_type> outcomes)
  // Returns:
  //   - (success, all outcomes)         the map is empty now (an empty map
  //                                     gives an empty vector);
  //   - (operation_aborted, so far)     the wait was cancelled, or the map
  //                                     destroyed; the remaining tasks stay;
  //   - (already_started, {})           another join is pending.
  // Per-Operation Cancellation: terminal, partial and total; the outcomes
  // collected so far are delivered, no other is consumed.
  // A task that a pending async_join waits for is delivered to that join,
  // and async_join_all completes once it has: the map is empty then.

  // async_join_all(joinery::fail_fast, token):
  // As async_join_all, but failing fast, as tokio's join_all, Go's errgroup
  // and Asio's parallel_group with wait_for_one_error do: the first task to
  // *fail* (its outcome is an exception or a timeout: is_exception() or
  // is_timed_out(); a cancelled outcome is not a failure, an abort was asked
  // for) makes the join abort every other task in the map (terminal
  // cancellation); it keeps joining until the map is empty, and completes
  // with joinery::error::task_failed and every outcome in completion order,
  // the first failed one being the cause. Without a failure it completes
  // as async_join_all does.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor, allocator and lifetimes as
  // for async_join_next. Completion signature:
  //   void(error_code ec, std::vector<value_type> outcomes)
  // Returns:
  //   - (success, all outcomes)         no task failed; the map is empty;
  //   - (task_failed, all outcomes)     a task failed; the others were
  //                                     aborted and joined; the map is empty;
  //   - (operation_aborted, so far)     the wait was cancelled, or the map
  //                                     destroyed; the remaining tasks stay
  //                                     (aborts already issued stand);
  //   - (already_started, {})           another join is pending.
  // Per-Operation Cancellation: terminal, partial and total; the outcomes
  // collected so far are delivered, no other is consumed.
  //
  //   auto [ec, all] = co_await group.async_join_all(joinery::fail_fast,
  //                                                  asio::as_tuple(asio::deferred));
  using owner::async_join_all;

  // A finished task's key and outcome, if one is ready; never waits. Leaves
  // a pending async_join_next waiting (it is woken for the next result), and
  // if this takes the map's last task, that join completes with nullopt.
  // Tasks a pending async_join waits for are left to it.
  [[nodiscard(
      "the result holds a task's outcome, which is lost if ignored")]] std::optional<value_type>
  try_join_next() {
    return detail::try_join<take_policy>(this->state_if_any());
  }

  // --- Aborting ------------------------------------------------------------

  // Aborts the task under `key`. True if the map holds a task for `key`
  // (also when it finished and awaits joining: then it keeps its outcome);
  // false for a missing key. The task stays in the map until joined, and is
  // then reported cancelled unless it had finished first. A queued task is
  // reported cancelled at once, without ever running. Throws std::bad_alloc
  // only if the cancellation cannot be posted (see abort_handle::abort).
  bool abort(const K& key) { return abort_impl(key); }

  // As above, for any key type the (transparent) hash and equality accept,
  // e.g. std::string_view or a string literal for a join_map<std::string, V>.
  template <class Q>
    requires detail::transparent_lookup<Hash, KeyEqual> && (!std::same_as<Q, K>)
  bool abort(const Q& key) {
    return abort_impl(key);
  }

  // abort(key) with a cancellation type; returns what abort(key) returns.
  // `terminal` (or any type with the terminal bit) is abort(key). `partial`
  // or `total` asks the task to stop without aborting it: the cancellation
  // is emitted to the running coroutine, which sees it only if it enabled
  // that type (e.g. `co_await asio::this_coro::reset_cancellation_state(
  // asio::enable_total_cancellation())`), and the outcome it then produces
  // (value or exception) is kept. It does nothing to a task that has not
  // started yet (or is queued), a blocking task, or a finished or aborted
  // one; a later terminal abort still works.
  bool abort(const K& key, asio::cancellation_type type) { return abort_impl(key, type); }

  // As above, for transparent key types.
  template <class Q>
    requires detail::transparent_lookup<Hash, KeyEqual> && (!std::same_as<Q, K>)
  bool abort(const Q& key, asio::cancellation_type type) {
    return abort_impl(key, type);
  }

  // Aborts every task whose key satisfies pred(const K&) and returns how
  // many keys matched (finished and already aborted tasks included). The
  // tasks stay in the map until joined. If pred throws, the tasks already
  // matched stay aborted and the exception propagates.
  template <class Pred>
  std::size_t abort_matching(Pred pred) {
    return abort_matching(std::move(pred), asio::cancellation_type::terminal);
  }

  // abort_matching(pred) with a cancellation type (see abort(key, type));
  // returns the same count.
  template <class Pred>
  std::size_t abort_matching(Pred pred, asio::cancellation_type type) {
    auto* st = this->state_if_any();
    return st ? st->abort_matching(pred, type) : 0;
  }

  // abort_all():
  // Aborts every task; they stay in the map (size() is unchanged) until
  // joined, each reported cancelled unless it had already finished. Throws
  // std::bad_alloc only if a cancellation cannot be posted (see
  // abort_handle::abort); the tasks before it are aborted, the rest not.

  // abort_all(type): abort_all() with a cancellation type: `terminal` (or any type with the
  // terminal bit) is abort_all(); `partial` or `total` asks every running
  // coroutine task to stop (see abort(key, type)) without making any
  // outcome cancelled. Does nothing to tasks that have not started, blocking
  // tasks and finished ones.
  using owner::abort_all;

  // Removes the task under `key` without aborting it: it runs on, its
  // abort_handles keep working, and its outcome goes to nobody (also when it
  // had already finished). A queued task starts at once, outside the map.
  // A pending async_join on `key` completes with not_found, and a pending
  // async_join_next with nullopt if the map is now empty. False for a
  // missing key.
  bool detach(const K& key) { return detach_impl(key); }

  // As above, for transparent key types.
  template <class Q>
    requires detail::transparent_lookup<Hash, KeyEqual> && (!std::same_as<Q, K>)
  bool detach(const Q& key) {
    return detach_impl(key);
  }

  // Removes every task without aborting it, as detach(key) does for one:
  // they run on, their abort_handles still work, and their outcomes are
  // reported to nobody. The map is empty afterwards; a pending
  // async_join_next completes with nullopt (one with wait_if_empty keeps
  // waiting), pending async_joins with not_found.
  using owner::detach_all;

  // --- Inspecting ------------------------------------------------------------

  // The executor tasks are spawned on and join handlers default to.
  using owner::get_executor;

  // Number of tasks in the map: running, queued, and finished but not yet
  // joined.
  using owner::size;

  // size() == 0.
  using owner::empty;

  // How many tasks have finished and await joining: counted from the moment
  // a finished task is queued for a join until a join takes it, including a
  // task an async_join is about to receive.
  using owner::ready_count;

  // True if a task for `key` is in the map, finished but unjoined included.
  bool contains(const K& key) const { return find(key) != nullptr; }

  // As above, for transparent key types.
  template <class Q>
    requires detail::transparent_lookup<Hash, KeyEqual> && (!std::same_as<Q, K>)
  bool contains(const Q& key) const {
    return find(key) != nullptr;
  }

  // True if the task with this id is in the map (finished but unjoined
  // included). The first call builds an id index (linear in size()), kept
  // up to date from then on (constant time); maps that never ask do not
  // pay for it.
  using owner::contains_task;

  // True when the task under `key` has finished and its outcome awaits
  // joining (until a join takes it); false while it runs or is queued, and
  // for a missing key.
  bool is_finished(const K& key) const { return is_finished_impl(key); }

  // As above, for transparent key types.
  template <class Q>
    requires detail::transparent_lookup<Hash, KeyEqual> && (!std::same_as<Q, K>)
  bool is_finished(const Q& key) const {
    return is_finished_impl(key);
  }

  // The abort_handle of the task under `key`; nullopt for a missing key.
  std::optional<abort_handle> get_abort_handle(const K& key) const {
    return abort_handle_impl(key);
  }

  // As above, for transparent key types.
  template <class Q>
    requires detail::transparent_lookup<Hash, KeyEqual> && (!std::same_as<Q, K>)
  std::optional<abort_handle> get_abort_handle(const Q& key) const {
    return abort_handle_impl(key);
  }

  // The task under `key` as it is now: its id, state (queued, running,
  // finished), whether an abort was requested, when it was spawned, its
  // pending deadline (task_info.hpp); nullopt for a missing key. Constant
  // time (one lookup); the group's lock only for a task with a deadline.
  std::optional<task_info> info(const K& key) const { return info_impl(key); }

  // As above, for transparent key types.
  template <class Q>
    requires detail::transparent_lookup<Hash, KeyEqual> && (!std::same_as<Q, K>)
  std::optional<task_info> info(const Q& key) const {
    return info_impl(key);
  }

  // Every task in the map with its key and info, in spawn order: a copy,
  // linear in size(), that an operator can print (`key: task #12 running
  // for 1.2 s, ...`, operator<< of task_info).
  std::vector<std::pair<K, task_info>> snapshot() const {
    auto* st = this->state_if_any();
    return st ? st->snapshot() : std::vector<std::pair<K, task_info>>();
  }

  // The counters the map keeps from its construction (task_info.hpp):
  // spawned, succeeded, failed, cancelled (a replaced task, and one aborted
  // while queued, included), timed_out, detached, peak_size, peak_queued.
  // An outcome is counted when its task ends, joined or not.
  using owner::stats;

  // The keys of all tasks in the map, in no particular order, as a forward
  // range of const K&. Invalidated by any spawn, join or detach.
  key_range keys() const {
    auto* st = this->state_if_any();
    if (!st)
      return key_range(key_iterator(), key_iterator());
    return key_range(key_iterator(st->begin()), key_iterator(st->end()));
  }

  // How many tasks the map can hold before its table grows.
  std::size_t capacity() const noexcept {
    auto* st = this->state_if_any();
    return st ? st->capacity() : 0;
  }

  // Makes room for `n` tasks in total (not n more).
  void reserve(std::size_t n) { this->state().reserve(n); }

  // Gives back as much memory as the current size allows.
  void shrink_to_fit() { shrink_to(0); }

  // Shrinks the capacity, but not below max(n, size()). No-op if the
  // capacity is already at most n.
  void shrink_to(std::size_t n) {
    if (auto* st = this->state_if_any())
      st->shrink_to(n);
  }

  // The hash and equality the map was constructed with.
  usable_hash hash_function() const { return hash_; }
  usable_key_equal key_eq() const { return eq_; }

  // Prints the keys with their task ids: `join_map{"a": #12, "b": #13}`
  // (string keys quoted), in no particular order.
  friend std::ostream& operator<<(std::ostream& os, const join_map& map)
    requires requires(std::ostream& o, const K& k) { o << k; }
  {
    os << "join_map{";
    if (auto* st = map.state_if_any()) {
      bool first = true;
      for (const auto& entry : *st) {
        if (!first)
          os << ", ";
        first = false;
        if constexpr (std::is_convertible_v<const K&, std::string_view>) {
          // As std::quoted would (" and \ escaped), without <iomanip>,
          // which is a twentieth of a join_map TU's compile time.
          os << '"';
          for (char c : std::string_view(entry.key)) {
            if (c == '"' || c == '\\')
              os << '\\';
            os << c;
          }
          os << '"';
        } else
          os << entry.key;
        os << ": " << entry.task->id();
      }
    }
    return os << '}';
  }

  // --- The concurrency limit -----------------------------------------------
  //
  // With a limit of n, at most n of the map's tasks run at once: a spawn
  // while n are running queues the task. A queued task is in the map
  // (size(), contains(), keys(), get_abort_handle() see it) but has not
  // started; queued tasks start in spawn order as running tasks end (a task
  // that finished no longer holds a slot, joined or not). So
  //   size() == running + queued_count() + ready_count().
  // Aborting a queued task (or its deadline passing) reports it cancelled
  // (timed out) at once, without ever running it; replacing it drops it
  // unrun and queues the new task at the end; detaching it starts it at
  // once, outside the map. Blocking tasks count like the others. A detached
  // or replaced task gives its slot back at once, even if it is still
  // running.

  // Sets the limit; 0 (the default) means none. Raising it (or setting 0)
  // takes queued tasks out of the queue and starts them before it returns
  // (only their first step is posted, as for every spawn) and lets waiting
  // async_spawn calls in; lowering it aborts nothing: running tasks finish,
  // and new ones queue until fewer than the new limit run.
  using owner::set_concurrency_limit;

  // The current limit; 0 means none.
  using owner::concurrency_limit;

  // How many tasks are queued: in the map but not started, waiting for a
  // slot. Tasks waiting in async_spawn are not in the map and not counted.
  using owner::queued_count;

  // Spawns `task` (an awaitable or a factory) under `key` only if it can
  // start now: no limit, or fewer than the limit running and nothing
  // queued. Returns its abort_handle; otherwise nullopt, and the task is
  // destroyed unstarted (a factory is never called) and the map unchanged.
  // A task under `key` is replaced only when the new one is spawned.
  template <class TaskOrFactory>
    requires detail::task_like<TaskOrFactory>
  std::optional<abort_handle> try_spawn(K key, TaskOrFactory&& task) {
    if (!this->can_start_now())
      return std::nullopt;
    return this->spawn_coro(under(key), this->executor_, this->serial_,
                            std::forward<TaskOrFactory>(task));
  }

  // Waits until `task` (an awaitable or a factory) can start without
  // queueing, spawns it under `key` on get_executor() (replacing a task
  // under `key` then, as spawn does) and completes with its abort_handle.
  // Without a limit, or with a slot free and nobody waiting, it spawns at
  // once. Several async_spawn calls may wait; they are served in order, and
  // only when no task is queued. A waiting task is not in the map yet.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, allocator and lifetimes as for
  // async_join_next. Executor: the completion spawns into the map, so the
  // handler's associated executor must be the map's thread. Completion
  // signature:
  //   void(error_code ec, abort_handle handle)
  // Returns:
  //   - (success, handle)              the task was spawned;
  //   - (operation_aborted, {})        the wait was cancelled, or the map
  //                                    destroyed: the task was never
  //                                    spawned (it is destroyed);
  //   - (no_memory, {})                spawning failed when the slot came
  //                                    (out of memory, or the key's Hash or
  //                                    KeyEqual threw; the map is unchanged).
  // When it spawns at once, a spawn that throws propagates out of this call
  // instead, and nothing started. An empty abort_handle does nothing when
  // aborted.
  // Per-Operation Cancellation: terminal, partial and total end the wait
  // with operation_aborted; a cancellation after the task was spawned
  // changes nothing (it completes with success).
  template <class TaskOrFactory, JOINERY_COMPLETION_TOKEN_FOR(spawn_signature)
                                     CompletionToken = detail::default_token_t<executor_type>>
    requires detail::task_like<TaskOrFactory>
  auto async_spawn(K key, TaskOrFactory&& task,
                   CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return this->async_spawn_with(
        [key = std::move(key),
         task = std::decay_t<TaskOrFactory>(std::forward<TaskOrFactory>(task)),
         ex = this->executor_, serial = this->serial_](state_type& st) mutable {
          return owner::spawn_coro_into(st, under(key), ex, serial, std::move(task), nullptr);
        },
        std::forward<CompletionToken>(token), async_spawn_location);
  }

  // --- Deadlines -------------------------------------------------------------

  // Spawns `task` (an awaitable or a factory) under `key` on get_executor()
  // with a deadline `timeout` from now: if it has not finished by then, it
  // is aborted (terminal cancellation) and reported with a join_error that
  // is_timed_out() ("task #N timed out"; value() throws task_timed_out).
  // The time runs from this call, queueing included: a queued task whose
  // deadline passes never starts. A timeout of zero or less is due at once;
  // one too long to represent never fires. A task that finishes first keeps
  // its outcome; one aborted first is reported cancelled. Returns its
  // abort_handle; otherwise as spawn. One timer, on get_executor(), serves
  // all of the map's deadlines, and lets the context's run() return once no
  // task with a deadline is left; it goes with its execution context (the
  // map may outlive it: no deadline fires after that). detach(key) drops a
  // task's deadline with the task: it is not the map's to time out any more.
  template <class Rep, class Period, class TaskOrFactory>
    requires detail::task_like<TaskOrFactory>
  abort_handle spawn_with_timeout(K key, std::chrono::duration<Rep, Period> timeout,
                                  TaskOrFactory&& task) {
    return this->spawn_until(under(key), detail::deadline_after(timeout),
                             std::forward<TaskOrFactory>(task));
  }

  // As spawn_with_timeout, with the deadline as a steady_clock time point.
  template <class Duration, class TaskOrFactory>
    requires detail::task_like<TaskOrFactory>
  abort_handle spawn_with_deadline(
      K key, std::chrono::time_point<std::chrono::steady_clock, Duration> deadline,
      TaskOrFactory&& task) {
    return this->spawn_until(
        under(key), std::chrono::time_point_cast<std::chrono::steady_clock::duration>(deadline),
        std::forward<TaskOrFactory>(task));
  }

  // --- Shutting down -----------------------------------------------------------

  // async_shutdown(token):
  // Aborts every task and waits until all of them have ended, discarding
  // their outcomes; the map is empty when it completes. Tasks that ignore
  // cancellation, and blocking tasks already running, delay it until they
  // end.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor, allocator and lifetimes as
  // for async_join_next. Completion signature:
  //   void(error_code ec)
  // Returns:
  //   - success                the map is empty;
  //   - operation_aborted      the wait was cancelled, or the map destroyed
  //                            (the remaining, aborted tasks stay in the map);
  //   - already_started        another join is pending (then nothing was
  //                            aborted).
  // Per-Operation Cancellation: terminal, partial and total stop the
  // waiting; the aborts already issued stand.
  // A task that a pending async_join waits for is delivered to that join;
  // async_shutdown completes once it has ended and been taken.

  // async_shutdown(grace, token):
  // A graceful shutdown: asks every task to stop with `total` cancellation
  // (abort_all(total): a coroutine that enabled it can finish its current
  // work and return), waits up to `grace` (a steady_clock duration, counted
  // from this call) for the tasks to end, then aborts the rest terminally,
  // and completes when the map is empty. Outcomes are discarded, as by
  // async_shutdown(). Tasks that have not started yet are aborted at once
  // (they never run: there is nothing for them to finish). A `grace` of zero
  // or less aborts everything at once, like async_shutdown(). Tasks spawned
  // after this call are joined but neither asked nor aborted; a task
  // detached during the grace period is not aborted at its end.
  //
  // Always returns immediately; the handler is called exactly once, never
  // from inside this function. Token, executor, allocator and lifetimes as
  // for async_join_next. Completion signature:
  //   void(error_code ec)
  // Returns: as async_shutdown().
  // Per-Operation Cancellation: terminal, partial and total stop the
  // waiting and the grace period: no further aborts are issued (requests
  // already emitted stand).
  using owner::async_shutdown;

 private:
  JOINERY_LOCATION(async_spawn_location, "joinery::join_map::async_spawn");
  using take_policy = typename state_type::take_policy;
  using key_take_policy = typename state_type::key_take_policy;
  using initiate_async_join_next = detail::initiate_join<state_type, take_policy, Executor>;
  using initiate_async_join = detail::initiate_key_join<state_type, key_take_policy, Executor>;

  template <class Q, class CompletionToken>
  auto async_join_impl(const Q& key, CompletionToken&& token) {
    detail::task_header* t = find(key);
    return asio::async_initiate<CompletionToken, key_join_signature>(
        initiate_async_join(this->state_ref(), this->executor_,
                            t ? detail::task_ref<>::share(t) : detail::task_ref<>()),
        token);
  }

  template <class Q>
  bool detach_impl(const Q& key) {
    detail::task_header* t = find(key);
    if (t)
      this->state_if_any()->detach(t);
    return t != nullptr;
  }

  template <class Q>
  std::optional<task_info> info_impl(const Q& key) const {
    auto* st = this->state_if_any();
    return st ? st->info_of(key) : std::nullopt;
  }

  template <class Q>
  bool is_finished_impl(const Q& key) const {
    detail::task_header* t = find(key);
    return t && this->state_if_any()->is_ready(t);
  }

  template <class Q>
  std::optional<abort_handle> abort_handle_impl(const Q& key) const {
    if (detail::task_header* t = find(key))
      return detail::handle_for(t);
    return std::nullopt;
  }

  detail::counted_ref<state_type> make_state() const {
    return detail::counted_ref<state_type>(new state_type(0, hash_, eq_));
  }

  // Inserts a spawned task under `key` (see group_owner::spawn_coro).
  static auto under(K& key) {
    return [&key](state_type& st, auto&& launch) { return st.spawn(std::move(key), launch); };
  }

  template <class Q>
  detail::task_header* find(const Q& key) const {
    auto* st = this->state_if_any();
    return st ? st->find(key) : nullptr;
  }

  template <class Q>
  bool abort_impl(const Q& key, asio::cancellation_type type = asio::cancellation_type::terminal) {
    detail::task_header* t = find(key);
    if (t)
      t->abort(type);
    return t != nullptr;
  }

  [[no_unique_address]] usable_hash hash_;
  [[no_unique_address]] usable_key_equal eq_;
};

}  // namespace joinery

#endif  // JOINERY_JOIN_MAP_HPP
