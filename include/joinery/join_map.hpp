// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_JOIN_MAP_HPP
#define JOINERY_JOIN_MAP_HPP

// join_map<K, V>: a group of Asio coroutine tasks under hash-map keys.
//
// Spawn `boost::asio::awaitable<V>` tasks (or blocking functions) under keys,
// then `co_await map.async_join_next()` to receive `(key, outcome)` pairs in
// the order the tasks finish. Abort one task by key, several by predicate,
// or all of them. The map owns its tasks: destroying it aborts every task
// still in it. This is tokio-util's JoinMap for Asio.
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
// the exception is kept) or is_cancelled() (it was aborted before it
// finished, whatever it did on its way out). Two exceptions: a task replaced
// by a spawn on the same key is never reported, and detach_all() hands tasks
// over to nobody. A finished task stays in the map (size(), contains(),
// keys()) until its result is joined; unjoined results keep their memory.
//
// Ordering. Results come in the order tasks finish. Two tasks finishing on
// different threads at about the same time may be reported in either order.
//
// Destruction aborts every task still in the map and returns at once; it
// never blocks. Tasks finish on their own executors afterwards; nothing
// touches the destroyed map (tasks share only a reference-counted core with
// it). A pending async_join_next completes with operation_aborted.
//
// Threading model. Like a standard container, a join_map is used by one
// thread at a time: call its members, and run its join handlers, from one
// strand (or one thread, or one coroutine). The tasks themselves run
// anywhere: on the map's executor with several threads calling run(), on
// other contexts through spawn_on, on the blocking pool. Finishing tasks
// reach the map safely from any thread, and abort() may be called through
// an abort_handle from any thread.
//
// Aborts are delivered to a task through the task's own executor, which must
// run one handler at a time (Asio's rule for cancellation_signal::emit):
//   - spawned on a strand, or on an io_context constructed with concurrency
//     hint 1, the task runs right there;
//   - otherwise, when the task's awaitable executor type can hold a strand
//     (any_io_executor, the default), joinery gives the task a strand of its
//     own over the executor: tasks still run in parallel, each one
//     serialized with its own aborts;
//   - a map typed on a concrete non-strand executor (say
//     join_map<K, V, Hash, Eq, io_context::executor_type>) cannot wrap its
//     tasks in strands, so it requires that executor's context to be run by
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
//     once with boost::asio::error::already_started (tokio enforces this
//     with &mut self). try_join_next may be called while a join is pending;
//     it never steals the pending join's wake-up.
//   - async_join_next on an empty map completes with std::nullopt, like
//     tokio. In a loop racing other events, guard it with `!map.empty()` or
//     the loop spins.
//   - On a spawn under a key already present, the old task is aborted and
//     dropped, and the stored key object is kept (the keys are equal).
//   - reserve(n) makes room for n tasks in total, as C++ containers do, not
//     n more (tokio's reserve(additional)).
//   - K and V must be nothrow-move-constructible: results are moved between
//     threads, and a throwing move could lose one half-way.
//   - Blocking tasks (spawn_blocking) run on a library-owned pool started on
//     first use (2 threads per hardware thread, at least 4). Aborted before
//     they start they never run; once started they run to completion and
//     keep their value.

#include <joinery/abort_handle.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/group_ops.hpp>
#include <joinery/detail/join_op.hpp>
#include <joinery/detail/launch.hpp>
#include <joinery/detail/map_state.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <concepts>
#include <cstddef>
#include <iomanip>
#include <optional>
#include <ostream>
#include <ranges>
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
          class Executor = boost::asio::any_io_executor>
class join_map;

// A join_map with the default hash and equality on the executor type Executor.
template <class K, class V, class Executor>
using join_map_on = join_map<K, V, default_hash<K>, default_key_equal<K>, Executor>;

template <class K, class V, class Hash, class KeyEqual, class Executor>
class join_map {
  static_assert(std::is_invocable_r_v<std::size_t, const Hash&, const K&>,
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

  using state_type = detail::map_state<K, V, Hash, KeyEqual>;
  using table_type = typename state_type::table_type;

 public:
  using key_type = K;
  using mapped_type = V;  // what each task produces
  using executor_type = Executor;
  using hasher = Hash;
  using key_equal = KeyEqual;
  // What a join delivers: a key and its task's outcome.
  using value_type = std::pair<K, join_result<V>>;
  using join_signature = void(boost::system::error_code, std::optional<value_type>);
  using shutdown_signature = void(boost::system::error_code);
  using join_all_signature = void(boost::system::error_code, std::vector<value_type>);
  using key_iterator = detail::key_iterator<K, table_type>;
  using key_range = std::ranges::subrange<key_iterator>;

  // --- Construction ------------------------------------------------------

  // An empty map whose tasks run on `ex` and whose join handlers default to
  // `ex`. Does not allocate until the first spawn.
  explicit join_map(const executor_type& ex) : join_map(ex, 0) {}

  // An empty map on the context's executor (an io_context, a thread_pool).
  template <class ExecutionContext>
    requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&> &&
             std::is_constructible_v<Executor, typename ExecutionContext::executor_type>
  explicit join_map(ExecutionContext& ctx) : join_map(executor_type(ctx.get_executor())) {}

  // An empty map with room for `capacity` tasks and the given hash and
  // equality (see the note on hashing in detail/default_hash.hpp).
  join_map(const executor_type& ex, std::size_t capacity, const Hash& hash = Hash(),
           const KeyEqual& eq = KeyEqual())
      : executor_(ex), serial_(detail::is_serial_executor(ex)), hash_(hash), eq_(eq) {
    if (capacity)
      state_ = make_state(capacity);
  }

  // Takes over `other`'s tasks and pending join; `other` is left empty and
  // usable (on the same executor).
  join_map(join_map&& other) noexcept
      : executor_(other.executor_),
        serial_(other.serial_),
        hash_(other.hash_),
        eq_(other.eq_),
        state_(std::move(other.state_)) {}

  // Aborts the tasks this map held (as destruction does), then takes over
  // `other`'s. Self-assignment does nothing.
  join_map& operator=(join_map&& other) noexcept {
    if (this != &other) {
      reset();
      executor_ = other.executor_;
      serial_ = other.serial_;
      hash_ = other.hash_;
      eq_ = other.eq_;
      state_ = std::move(other.state_);
    }
    return *this;
  }

  join_map(const join_map&) = delete;
  join_map& operator=(const join_map&) = delete;

  // Aborts every task still in the map and returns without waiting.
  ~join_map() { reset(); }

  // The executor tasks are spawned on and join handlers default to.
  executor_type get_executor() const noexcept { return executor_; }

  // The hash and equality the map was constructed with.
  hasher hash_function() const { return hash_; }
  key_equal key_eq() const { return eq_; }

  // --- Spawning ------------------------------------------------------------
  //
  // Each spawn starts the task at once (it never runs inside spawn itself;
  // its first step is posted to its executor) and returns its abort_handle.
  // A task already under `key` is aborted and removed: its outcome is never
  // reported, even if it had already finished. Strong guarantee: if
  // spawning throws (allocation, the key's hash), the map is unchanged and
  // no task was started.

  // Spawns the coroutine `task` under `key` on get_executor(). The task's
  // awaitable executor type E must be constructible from executor_type.
  template <class T, class E>
  abort_handle spawn(K key, boost::asio::awaitable<T, E> task) {
    return spawn_impl(std::move(key), executor_, serial_, std::move(task));
  }

  // Spawns `f()` (which returns an awaitable) under `key` on get_executor().
  // `f` is kept alive until the task ends, so a capturing lambda coroutine
  // may use its captures safely. A factory taking a task_id is called with
  // the task's own id (the id the abort_handle and the join_error carry).
  template <detail::task_factory F>
  abort_handle spawn(K key, F&& f) {
    return spawn_impl(std::move(key), executor_, serial_, std::forward<F>(f));
  }

  // As spawn, on the executor `ex` instead (a strand, another io_context,
  // a thread_pool).
  template <class Ex, class TaskOrFactory>
    requires(detail::is_awaitable_v<TaskOrFactory> || detail::task_factory<TaskOrFactory>)
  abort_handle spawn_on(K key, const Ex& ex, TaskOrFactory&& task) {
    return spawn_impl(std::move(key), ex, detail::is_serial_executor(ex),
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
    state_type& st = state();
    return detail::handle_for(st.spawn(std::move(key), [&](std::size_t h) {
      return detail::launch_blocking<V>(&st, ex, std::forward<F>(f), h);
    }));
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
  //   void(boost::system::error_code ec, std::optional<value_type> next)
  // Returns (in `ec`, `next`):
  //   - (success, {key, value})   a task returned;
  //   - (success, {key, error})   a task threw (error().is_exception()) or
  //                               was aborted (error().is_cancelled());
  //   - (success, nullopt)        the map is empty (also when it becomes
  //                               empty while waiting, via detach_all);
  //   - (operation_aborted, nullopt)  the wait was cancelled, or the map was
  //                               destroyed while waiting;
  //   - (already_started, nullopt)    another join is still pending.
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
  // Lifetimes: the operation keeps the map's shared core alive, not the map;
  // the map may be moved while it is pending.
  //
  //   while (auto next = co_await map.async_join_next())
  //     handle(next->first, std::move(next->second));
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(join_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_next(CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return boost::asio::async_initiate<CompletionToken, join_signature>(
        initiate_async_join_next(state_ref(), executor_), token);
  }

  // A finished task's key and outcome, if one is ready; never waits. Leaves
  // a pending async_join_next waiting (it is woken for the next result), and
  // if this takes the map's last task, that join completes with nullopt.
  [[nodiscard(
      "the result holds a task's outcome, which is lost if ignored")]] std::optional<value_type>
  try_join_next() {
    return detail::try_join<take_policy>(state_.get());
  }

  // Aborts every task and waits until all of them have ended, discarding
  // their outcomes; the map is empty when it completes. Like
  // async_join_next: never completes inside the call; completion signature
  // void(boost::system::error_code); cancellation (any type) stops the
  // waiting with operation_aborted and leaves the remaining (aborted) tasks
  // in the map. Tasks that ignore cancellation, or blocking tasks already
  // running, delay it until they end.
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(shutdown_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_shutdown(CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return boost::asio::async_compose<CompletionToken, shutdown_signature>(
        detail::shutdown_op<state_type, take_policy, Executor>{state_ref(), executor_}, token,
        executor_);
  }

  // Joins every task, in completion order, until the map is empty, and
  // delivers all their keys and outcomes at once. Unlike tokio's join_all, a
  // task that failed or was cancelled does not stop the others: every
  // outcome is in the vector. Like async_join_next: never completes inside
  // the call; completion signature
  //   void(boost::system::error_code, std::vector<value_type>)
  // (empty vector for an empty map); cancellation (any type) completes it
  // with operation_aborted and the outcomes collected so far, leaving the
  // remaining tasks in the map.
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(join_all_signature)
                CompletionToken = detail::default_token_t<executor_type>>
  auto async_join_all(CompletionToken&& token = detail::default_token_t<executor_type>()) {
    return boost::asio::async_compose<CompletionToken, join_all_signature>(
        detail::join_all_op<state_type, take_policy, Executor>{state_ref(), executor_}, token,
        executor_);
  }

  // --- Aborting ------------------------------------------------------------

  // Aborts the task under `key`. True if the map holds a task for `key`
  // (also when it finished and awaits joining: then it keeps its outcome);
  // false for a missing key. The task stays in the map until joined, and is
  // then reported cancelled unless it had finished first.
  bool abort(const K& key) { return abort_impl(key); }

  // As above, for any key type the (transparent) hash and equality accept,
  // e.g. std::string_view or a string literal for a join_map<std::string, V>.
  template <class Q>
    requires detail::transparent_lookup<Hash, KeyEqual> && (!std::same_as<Q, K>)
  bool abort(const Q& key) {
    return abort_impl(key);
  }

  // Aborts every task whose key satisfies pred(const K&) and returns how
  // many keys matched (finished and already aborted tasks included). The
  // tasks stay in the map until joined. If pred throws, the tasks already
  // matched stay aborted and the exception propagates.
  template <class Pred>
  std::size_t abort_matching(Pred pred) {
    return state_ ? state_->abort_matching(pred) : 0;
  }

  // Aborts every task; they stay in the map (size() is unchanged) until
  // joined, each reported cancelled unless it had already finished.
  void abort_all() {
    if (state_)
      state_->abort_all();
  }

  // Removes every task without aborting it: they run on, their
  // abort_handles still work, and their outcomes are reported to nobody.
  // The map is empty afterwards; a pending join completes with nullopt.
  void detach_all() noexcept {
    if (state_)
      state_->detach_all();
  }

  // --- Lookup and capacity -------------------------------------------------

  // True if a task for `key` is in the map, finished but unjoined included.
  bool contains(const K& key) const { return contains_impl(key); }

  template <class Q>
    requires detail::transparent_lookup<Hash, KeyEqual> && (!std::same_as<Q, K>)
  bool contains(const Q& key) const {
    return contains_impl(key);
  }

  // True if the task with this id is in the map. The first call builds an id
  // index (linear in size()), kept up to date from then on (constant time);
  // maps that never ask do not pay for it.
  bool contains_task(task_id id) const { return state_ && state_->contains_task(id); }

  // The keys of all tasks in the map, in no particular order, as a forward
  // range of const K&. Invalidated by any spawn, join or detach.
  key_range keys() const {
    if (!state_)
      return key_range(key_iterator(), key_iterator());
    return key_range(key_iterator(state_->table_.begin()), key_iterator(state_->table_.end()));
  }

  // Number of tasks in the map, finished but unjoined ones included.
  std::size_t size() const noexcept { return state_ ? state_->table_.size() : 0; }

  bool empty() const noexcept { return size() == 0; }

  // How many tasks the map can hold before its tables grow.
  std::size_t capacity() const noexcept { return state_ ? state_->capacity() : 0; }

  // Makes room for `n` tasks in total (not n more).
  void reserve(std::size_t n) { state().reserve(n); }

  // Gives back as much memory as the current size allows.
  void shrink_to_fit() { shrink_to(0); }

  // Shrinks the capacity, but not below max(n, size()). No-op if the
  // capacity is already at most n.
  void shrink_to(std::size_t n) {
    if (state_)
      state_->shrink_to(n);
  }

  // Prints the keys with their task ids: `join_map{"a": #12, "b": #13}`
  // (string keys quoted), in no particular order.
  friend std::ostream& operator<<(std::ostream& os, const join_map& map)
    requires requires(std::ostream& o, const K& k) { o << k; }
  {
    os << "join_map{";
    if (map.state_) {
      bool first = true;
      for (const auto& slot : map.state_->table_) {
        if (!first)
          os << ", ";
        first = false;
        if constexpr (std::is_convertible_v<const K&, std::string_view>)
          os << std::quoted(std::string_view(slot.key));
        else
          os << slot.key;
        os << ": " << slot.task->id();
      }
    }
    return os << '}';
  }

 private:
  using take_policy = typename state_type::take_policy;
  using initiate_async_join_next = detail::initiate_join<state_type, take_policy, Executor>;

  detail::core_ref<state_type> make_state(std::size_t capacity) const {
    return detail::core_ref<state_type>(new state_type(capacity, hash_, eq_));
  }

  // The shared state, created on first need (a moved-from map has none).
  state_type& state() {
    if (!state_)
      state_ = make_state(0);
    return *state_;
  }

  detail::core_ref<state_type> state_ref() {
    state();
    return state_;
  }

  void reset() noexcept {
    if (state_) {
      state_->shutdown_owner();
      state_.reset();
    }
  }

  template <class Ex, class TaskOrFactory>
  abort_handle spawn_impl(K&& key, const Ex& ex, bool serial, TaskOrFactory&& task) {
    state_type& st = state();
    return detail::handle_for(st.spawn(std::move(key), [&](std::size_t h) {
      return detail::launch_coro<V>(&st, ex, serial,
                                    detail::as_task_fn(std::forward<TaskOrFactory>(task)), h);
    }));
  }

  template <class Q>
  bool abort_impl(const Q& key) {
    if (!state_)
      return false;
    auto it = state_->find(key);
    if (it == state_->table_.end())
      return false;
    it->task->abort();
    return true;
  }

  template <class Q>
  bool contains_impl(const Q& key) const {
    return state_ && state_->find(key) != state_->table_.end();
  }

  Executor executor_;
  bool serial_;  // executor_ runs one handler at a time (no per-task strand needed)
  [[no_unique_address]] Hash hash_;
  [[no_unique_address]] KeyEqual eq_;
  detail::core_ref<state_type> state_;
};

}  // namespace joinery

#endif  // JOINERY_JOIN_MAP_HPP
