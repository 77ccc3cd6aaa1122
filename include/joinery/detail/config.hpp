// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_CONFIG_HPP
#define JOINERY_DETAIL_CONFIG_HPP

// Which Asio joinery is built on, and everything that follows from it.
//
// By default joinery uses Boost.Asio (namespace boost::asio) and
// Boost.System's error codes. With JOINERY_STANDALONE_ASIO defined before
// the first joinery include, it uses standalone Asio (namespace ::asio,
// <asio/...> headers) and the standard library's std::error_code, and
// includes no Boost header at all. Inside joinery, `net` names the Asio in
// use and detail::error_code its error code; every Asio header joinery uses
// is included here, once, for either mode.

#if defined(JOINERY_STANDALONE_ASIO)

#include <asio/version.hpp>
#if ASIO_VERSION < 102800
#error \
    "joinery needs standalone Asio 1.28 or later (this is an older Asio; Debian 12's libasio-dev 1.22 is too old)"
#endif

#include <asio/any_io_executor.hpp>
#include <asio/append.hpp>
#include <asio/as_tuple.hpp>
#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/cancellation_state.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/compose.hpp>
#include <asio/deferred.hpp>
#include <asio/error.hpp>
#include <asio/execution.hpp>
#include <asio/execution_context.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/is_executor.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/query.hpp>
#include <asio/recycling_allocator.hpp>
#include <asio/require.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#if ASIO_VERSION >= 103200
#include <asio/config.hpp>
#endif

#include <system_error>

#define JOINERY_ASIO_VERSION ASIO_VERSION
#define JOINERY_COMPLETION_TOKEN_FOR(sig) ASIO_COMPLETION_TOKEN_FOR(sig)
#if defined(ASIO_HAS_IOCP)
#define JOINERY_ASIO_HAS_IOCP 1
#endif
#define JOINERY_ASIO_CONCURRENCY_HINT_IS_LOCKING(facility, hint) \
  ASIO_CONCURRENCY_HINT_IS_LOCKING(facility, hint)
#if defined(ASIO_NO_TS_EXECUTORS)
#define JOINERY_ASIO_NO_TS_EXECUTORS 1
#endif

namespace joinery::detail {
namespace net = ::asio;
using error_code = std::error_code;
using error_category = std::error_category;
using error_condition = std::error_condition;
using system_error = std::system_error;
}  // namespace joinery::detail

#else  // Boost.Asio

#include <boost/version.hpp>
#if BOOST_VERSION < 108100
#error "joinery needs Boost 1.81 or later (boost::system::result, this_coro::throw_if_cancelled)"
#endif

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/is_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/require.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/version.hpp>
#if BOOST_ASIO_VERSION >= 103200
#include <boost/asio/config.hpp>
#endif
#include <boost/assert/source_location.hpp>
#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/error_condition.hpp>
#include <boost/system/system_error.hpp>

#define JOINERY_ASIO_VERSION BOOST_ASIO_VERSION
#define JOINERY_COMPLETION_TOKEN_FOR(sig) BOOST_ASIO_COMPLETION_TOKEN_FOR(sig)
#if defined(BOOST_ASIO_HAS_IOCP)
#define JOINERY_ASIO_HAS_IOCP 1
#endif
#define JOINERY_ASIO_CONCURRENCY_HINT_IS_LOCKING(facility, hint) \
  BOOST_ASIO_CONCURRENCY_HINT_IS_LOCKING(facility, hint)
#if defined(BOOST_ASIO_NO_TS_EXECUTORS)
#define JOINERY_ASIO_NO_TS_EXECUTORS 1
#endif

namespace joinery::detail {
namespace net = boost::asio;
using error_code = boost::system::error_code;
using error_category = boost::system::error_category;
using error_condition = boost::system::error_condition;
using system_error = boost::system::system_error;
}  // namespace joinery::detail

#endif

#include <type_traits>

// For the accessors of joinery's thread_locals (handover.hpp,
// serialized_executor.hpp, context_service.hpp): a call the optimizer can
// neither inline nor merge with another one.
#if defined(__GNUC__) || defined(__clang__)
#define JOINERY_NOINLINE __attribute__((noinline))
#define JOINERY_COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")
#else
#define JOINERY_NOINLINE
#define JOINERY_COMPILER_BARRIER() ((void)0)
#endif

namespace joinery {

// The Asio joinery is built on: boost::asio, or ::asio with
// JOINERY_STANDALONE_ASIO. joinery's public signatures name it, and a
// program that writes joinery::asio compiles in both modes.
namespace asio = detail::net;

// The error code type of joinery's completion signatures:
// boost::system::error_code, or std::error_code with JOINERY_STANDALONE_ASIO.
// A program written against these aliases compiles in both modes.
using error_code = detail::error_code;

// The exception type that carries an error_code: boost::system::system_error,
// or std::system_error with JOINERY_STANDALONE_ASIO.
using system_error = detail::system_error;

}  // namespace joinery

namespace joinery::detail {

// The token used when the caller passes none. Boost 1.81's
// default_completion_token_t<Executor> is still `void` for plain executors
// (Asio made `deferred` the default only in Boost 1.86), so fall back to
// `deferred`, which `co_await` accepts inside an awaitable coroutine.
template <class Executor>
using default_token_t =
    std::conditional_t<std::is_void_v<net::default_completion_token_t<Executor>>, net::deferred_t,
                       net::default_completion_token_t<Executor>>;

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_CONFIG_HPP
