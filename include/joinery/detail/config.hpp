// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_CONFIG_HPP
#define JOINERY_DETAIL_CONFIG_HPP

#include <boost/version.hpp>

#if BOOST_VERSION < 108100
#error "joinery needs Boost 1.81 or later (boost::system::result, this_coro::throw_if_cancelled)"
#endif

#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <type_traits>

// For the accessors of joinery's thread_locals (handover.hpp,
// serialized_executor.hpp):
// a call the optimizer can neither inline nor merge with another one.
#if defined(__GNUC__) || defined(__clang__)
#define JOINERY_NOINLINE __attribute__((noinline))
#define JOINERY_COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")
#else
#define JOINERY_NOINLINE
#define JOINERY_COMPILER_BARRIER() ((void)0)
#endif

// A hint to start loading the cache line at p (key_table.hpp); no effect on
// what the program does.
#if defined(__GNUC__) || defined(__clang__)
#define JOINERY_PREFETCH(p) __builtin_prefetch(p)
#else
#define JOINERY_PREFETCH(p) ((void)(p))
#endif

namespace joinery::detail {

namespace net = boost::asio;

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
