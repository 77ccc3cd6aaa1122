// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_ASIO_INTERNALS_HPP
#define JOINERY_DETAIL_ASIO_INTERNALS_HPP

// Every place joinery reaches into Boost.Asio's detail namespace, and why.
// Nothing else in joinery names net::detail. Each use is written for Asio
// 1.26.0 (Boost 1.81) to 1.38.0 (Boost 1.90), is guarded by
// BOOST_ASIO_VERSION where Asio changed it, and has its shape pinned by a
// static_assert that names this file, so that a future Asio that changes it
// fails to compile here with a message instead of misbehaving
// (docs/internals.md lists them with the reasons).
//
// 1. Whether an io_context is single-threaded: Asio has no public query for
//    the concurrency hint before 1.32 (boost::asio::config). joinery asks so
//    that tasks on a context run by one thread need no serialization of
//    their own (see task_executor.hpp).
// 2. The coroutine runner: awaitable_thread and awaitable_thread_entry_point,
//    the pieces co_spawn is built from. joinery launches tasks with them
//    instead of co_spawn because Asio 1.26's co_spawn loses a cancellation
//    emitted before the coroutine first runs, dispatches its cancellation
//    through a pointer to a signal that may be gone, and runs the coroutine
//    inline when spawned from its executor's thread (see coro_task.hpp).

#include <joinery/detail/config.hpp>

#include <concepts>
#include <type_traits>

namespace joinery::detail {

// --- 1. The concurrency hint --------------------------------------------------

#if !defined(JOINERY_ASIO_HAS_IOCP) && JOINERY_ASIO_VERSION < 103200
static_assert(
    requires(net::detail::scheduler& s) {
      { s.concurrency_hint() } -> std::convertible_to<int>;
    },
    "joinery (detail/asio_internals.hpp): boost::asio::detail::scheduler::concurrency_hint() has "
    "changed; this code was written for Boost.Asio 1.26 to 1.31 (1.32 and later use "
    "boost::asio::config)");
#endif

// True when `ctx` promised to be run by one thread: constructed with
// concurrency hint 1, or with a hint that turns the scheduler's locking off
// (BOOST_ASIO_CONCURRENCY_HINT_UNSAFE and the like), or configured so
// through boost::asio::config (Asio 1.32 and later).
inline bool context_is_single_threaded(net::io_context& ctx) {
#if defined(JOINERY_ASIO_HAS_IOCP)
  (void)ctx;  // the IOCP context takes no hint joinery could rely on
  return false;
#elif JOINERY_ASIO_VERSION >= 103200
  const net::config cfg(ctx);
  return cfg.get("scheduler", "concurrency_hint", 0) == 1 || !cfg.get("scheduler", "locking", true);
#else
  const int hint = net::use_service<net::detail::scheduler>(ctx).concurrency_hint();
  return hint == 1 || !JOINERY_ASIO_CONCURRENCY_HINT_IS_LOCKING(SCHEDULER, hint);
#endif
}

// --- 2. The coroutine runner ---------------------------------------------------

// The result type of the bottom frame of a coroutine "thread".
using entry_point = net::detail::awaitable_thread_entry_point;

// A coroutine "thread" of executor type E: owns the entry frame, attaches
// the cancellation state, and launch() resumes it.
template <class E>
using awaitable_thread = net::detail::awaitable_thread<E>;

template <class E>
inline constexpr bool awaitable_thread_has_expected_shape_v =
    std::is_constructible_v<awaitable_thread<E>, net::awaitable<entry_point, E>, const E&,
                            net::cancellation_slot, net::cancellation_state> &&
    requires(awaitable_thread<E>& t) { t.launch(); };

// Checked where a runner is instantiated (coro_task.hpp), for the task's
// executor type.
template <class E>
constexpr bool check_awaitable_thread() {
  static_assert(awaitable_thread_has_expected_shape_v<E>,
                "joinery (detail/asio_internals.hpp): boost::asio::detail::awaitable_thread has "
                "changed shape; this code was written for Boost.Asio 1.26 to 1.38");
  return true;
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_ASIO_INTERNALS_HPP
