// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_LAUNCH_HPP
#define JOINERY_DETAIL_LAUNCH_HPP

// How a task gets running.
//
// Coroutine tasks are not started with co_spawn. Asio 1.26 (Boost 1.81) has
// co_spawn cancellation bugs that a task group would inherit: its
// cancellation handler dispatches `emit` through a raw pointer to a signal
// that may be gone (asio#1332), a cancel emitted before the coroutine first
// runs is lost (fixed in 1.30.2), and a cancelled coroutine that finishes
// without having switched context throws out of io_context::run from the
// entry point's trailing `co_await post`. co_spawn also runs the coroutine
// inline when called on its executor's thread, which would let a task run
// inside spawn(). So joinery builds the coroutine's "thread" itself, from
// the same pieces co_spawn uses (an entry-point frame, an awaitable_thread
// bound to the task's own cancellation signal), and posts its first resume:
//   - the task never runs inside spawn();
//   - its cancellation state is attached to a signal the task owns (so any
//     abort, however late, finds a live signal);
//   - the entry frame reports the outcome directly, with no extra hop.
// The pieces are Asio internals (see asio_internals.hpp).

#include <joinery/detail/asio_internals.hpp>
#include <joinery/detail/task.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <concepts>
#include <functional>
#include <thread>
#include <type_traits>
#include <utility>

namespace joinery::detail {

// --- What spawn() accepts. -----------------------------------------------

template <class T>
struct awaitable_traits : std::false_type {};
template <class T, class E>
struct awaitable_traits<net::awaitable<T, E>> : std::true_type {
  using value_type = T;
  using executor_type = E;
};

template <class T>
inline constexpr bool is_awaitable_v = awaitable_traits<std::remove_cvref_t<T>>::value;

// A callable returning an awaitable, taking no arguments or the task's id.
template <class F>
concept task_factory =
    !is_awaitable_v<F> &&
    (std::invocable<std::decay_t<F>&> ||
     std::invocable<std::decay_t<F>&, task_id>)&&is_awaitable_v<factory_result_t<F>>;

// Wraps a ready awaitable so that every task is "a callable returning an
// awaitable" and the callable can be kept alive until the task ends.
template <class T, class E>
class awaitable_fn {
 public:
  explicit awaitable_fn(net::awaitable<T, E>&& a) noexcept : a_(std::move(a)) {}
  net::awaitable<T, E> operator()() { return std::move(a_); }

 private:
  net::awaitable<T, E> a_;
};

template <class V, class Produced>
inline constexpr bool result_compatible_v =
    std::is_void_v<V> ? std::is_void_v<Produced>
                      : (!std::is_void_v<Produced> && std::is_constructible_v<V, Produced>);

// --- Serial executors. -----------------------------------------------------
//
// cancellation_signal::emit must be serialized with the coroutine it
// cancels. Aborts are therefore posted to the task's executor, and that
// executor must run one handler at a time: a strand, or a context known to
// be single-threaded. task_executor_for() picks it.

template <class T>
struct is_strand : std::false_type {};
template <class E>
struct is_strand<net::strand<E>> : std::true_type {};
template <>
struct is_strand<net::io_context::strand> : std::true_type {};

template <class T>
inline constexpr bool is_strand_v = is_strand<std::remove_cvref_t<T>>::value;

template <class T>
struct is_any_executor : std::false_type {};
template <class... Props>
struct is_any_executor<net::execution::any_executor<Props...>> : std::true_type {};
template <>
struct is_any_executor<net::any_io_executor> : std::true_type {};

// Whether `ex` already runs one handler at a time. Cheap for everything but
// a type-erased io_context executor, whose context is asked once per call.
template <class Ex>
bool is_serial_executor(const Ex& ex) {
  if constexpr (is_strand_v<Ex>) {
    return true;
  } else if constexpr (std::is_same_v<Ex, net::io_context::executor_type>) {
    return context_is_single_threaded(ex.context());
  } else if constexpr (is_any_executor<Ex>::value) {
    if (ex.template target<net::strand<net::io_context::executor_type>>() ||
        ex.template target<net::strand<net::any_io_executor>>() ||
        ex.template target<net::strand<net::thread_pool::executor_type>>())
      return true;
    if (auto* io = ex.template target<net::io_context::executor_type>())
      return context_is_single_threaded(io->context());
    return false;
  } else {
    return false;
  }
}

// Whether an executor of type E can hold a strand over Inner. (strand's
// converting constructor is unconstrained, so is_constructible alone would
// claim a strand<X> converts to any strand<Y>.)
template <class E, class Inner>
inline constexpr bool can_hold_strand_v =
    is_strand_v<E> ? std::is_same_v<std::remove_cvref_t<E>, net::strand<Inner>>
                   : std::is_constructible_v<E, net::strand<Inner>>;

// The executor a task typed on awaitable executor E runs on, when spawned on
// `ex`. `serial` says whether `ex` is already known to be serial (the
// owner caches this for its own executor).
//
// - A strand, or a serial context: `ex` itself.
// - Otherwise, if E can hold a strand (E is any_io_executor, or a strand
//   type), a new strand over `ex`: one strand per task, so tasks still run
//   in parallel but each one is serialized with its own aborts.
// - Otherwise (E is a concrete non-strand executor type such as
//   io_context::executor_type, which no strand converts to): `ex` itself,
//   and the owner's documentation makes serial execution a precondition.
template <class E, class Ex>
E task_executor_for(const Ex& ex, bool serial) {
  static_assert(std::is_constructible_v<E, const Ex&>,
                "joinery: the task's awaitable executor type must be constructible from the "
                "executor it is spawned on (e.g. spawn awaitable<V, any_io_executor> or "
                "awaitable<V, Executor> on a map typed on Executor)");
  if constexpr (is_strand_v<Ex>) {
    return E(ex);
  } else {
    if (serial)
      return E(ex);
    if constexpr (is_any_executor<Ex>::value &&
                  can_hold_strand_v<E, net::io_context::executor_type> &&
                  can_hold_strand_v<E, net::thread_pool::executor_type> &&
                  can_hold_strand_v<E, Ex>) {
      // Unwrap the common targets so the strand wraps the concrete executor
      // (one level of type erasure instead of two).
      if (auto* io = ex.template target<net::io_context::executor_type>())
        return E(net::make_strand(*io));
      if (auto* tp = ex.template target<net::thread_pool::executor_type>())
        return E(net::make_strand(*tp));
      return E(net::make_strand(ex));
    } else if constexpr (can_hold_strand_v<E, Ex>) {
      return E(net::make_strand(ex));
    } else {
      return E(ex);
    }
  }
}

// --- The coroutine runner. -------------------------------------------------

// The bottom frame of a task's coroutine stack. `guard` reports the outcome
// when this frame is destroyed: after the body ran, or unrun when the
// executor is destroyed first (then the task is reported cancelled).
template <class Task>
net::awaitable<entry_point, typename Task::executor_type> run_coro_task(run_guard<Task> guard) {
  Task* t = guard.get();
  if (t->try_start()) {
    try {
      if constexpr (std::is_void_v<typename Task::value_type>) {
        co_await t->invoke();
        t->set_value();
      } else {
        t->set_value(co_await t->invoke());
      }
    } catch (...) {
      t->set_exception(std::current_exception());
    }
  }
}

// The handler posted to start a coroutine task.
template <class Task>
class coro_launcher {
  // Not named executor_type: that would make Asio look for an associated
  // executor on this handler.
  using task_executor = typename Task::executor_type;

 public:
  using thread_type = awaitable_thread<task_executor>;
  static_assert(check_awaitable_thread<task_executor>());

  coro_launcher(Task* t, net::awaitable<entry_point, task_executor> entry) noexcept
      : task_(t), entry_(std::move(entry)) {}

  void operator()() {
    net::cancellation_slot slot = task_->signal_.slot();
    net::cancellation_state state;
    try {
      // Terminal cancellation only: abort is terminal, and a task's own
      // operations keep their usual filters.
      state = net::cancellation_state(slot);
    } catch (...) {
      // The entry frame is destroyed with this handler and reports this.
      task_->set_exception(std::current_exception());
      return;
    }
    thread_type thread(std::move(entry_), task_->executor(), slot, state);
    thread.launch();
  }

 private:
  Task* task_;  // kept alive by the entry frame's guard
  net::awaitable<entry_point, task_executor> entry_;
};

// --- The blocking pool. ----------------------------------------------------

// The pool spawn_blocking uses by default: started on first use, 2 threads
// per hardware thread (at least 4), joined at exit. Blocking work queues
// when all are busy; pass your own executor to spawn_blocking_on for more.
inline net::thread_pool& default_blocking_pool() {
  static net::thread_pool pool(std::max(4u, 2 * std::thread::hardware_concurrency()));
  return pool;
}

template <class Task>
class blocking_runner {
 public:
  explicit blocking_runner(run_guard<Task> guard) noexcept : guard_(std::move(guard)) {}
  void operator()() {
    guard_.get()->run();
    guard_.finish();
  }

 private:
  run_guard<Task> guard_;
};

// --- Launching. -------------------------------------------------------------

// Hands the task `t`, whose runner `make_runner()` creates, to `post_fn`,
// with the task's running reference and its reference on `core`. Strong
// guarantee: if anything throws, the task never ran and is not reported,
// and both references are dropped. If the executor drops the runner at
// once without an error (it is shut down), the task is reported cancelled.
template <class Task, class MakeRunner, class Post>
void hand_over(Task* t, group_core* core, MakeRunner&& make_runner, Post&& post_fn) {
  // The task's reference on its core, dropped after it reports. Taken before
  // the post: the task may finish on another thread before post returns.
  core->add_ref();
  bool dropped = false;
  launch_marker& marker = launching();
  const launch_marker outer = marker;
  marker = {t, &dropped};
  try {
    post_fn(make_runner());
  } catch (...) {
    // Every runner built was destroyed during the unwinding, deferring to
    // us (launch_marker): the task never ran. Drop what it held.
    marker = outer;
    if (dropped)
      t->release();  // its running reference
    core->release();
    throw;
  }
  marker = outer;
  if (dropped)
    t->finish();  // dropped by a shut-down executor: reported cancelled
}

// Creates the coroutine task for `fn` on executor `ex`, reporting to `core`,
// and posts its first resume. On success returns the task with one
// reference for the caller (the group's index). On failure throws and
// leaves nothing behind.
template <class V, class E, class Fn>
task_header* launch_coro_task(group_core* core, E ex, Fn&& fn, std::size_t hash) {
  using task_type = coro_task<V, E, std::decay_t<Fn>>;
  auto* t = new task_type(std::move(ex), std::decay_t<Fn>(std::forward<Fn>(fn)));
  task_ref<task_header> owner(t);  // the caller's reference, until success
  t->hash_ = hash;
  t->core_ = core;
  hand_over(
      t, core, [t] { return coro_launcher<task_type>(t, run_coro_task(run_guard<task_type>(t))); },
      [t](coro_launcher<task_type>&& launcher) {
        post_direct(t->executor(), std::move(launcher));
      });
  return owner.detach();
}

// The same for a blocking task run by `ex` (a thread pool).
template <class V, class Ex, class Fn>
task_header* launch_blocking_task(group_core* core, const Ex& ex, Fn&& fn, std::size_t hash) {
  using task_type = blocking_task<V, std::decay_t<Fn>>;
  auto* t = new task_type(std::decay_t<Fn>(std::forward<Fn>(fn)));
  task_ref<task_header> owner(t);
  t->hash_ = hash;
  t->core_ = core;
  hand_over(
      t, core, [t] { return blocking_runner<task_type>(run_guard<task_type>(t)); },
      [&ex](blocking_runner<task_type>&& runner) { net::post(ex, std::move(runner)); });
  return owner.detach();
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_LAUNCH_HPP
