// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_TESTS_SUPPORT_ASIO_HPP
#define JOINERY_TESTS_SUPPORT_ASIO_HPP

// The Asio headers the tests use, from Boost.Asio or, with
// JOINERY_STANDALONE_ASIO (the standalone builds of tests/run.sh), from
// standalone Asio; and `net`, the tests' name for it. The tests are written
// once for both modes: they name net::..., joinery::error_code and
// joinery::system_error, never boost:: directly (tests about Boost alone,
// such as the operation names that only a boost::system::error_code can
// carry, are guarded by JOINERY_STANDALONE_ASIO).

#include <joinery/detail/config.hpp>

#if defined(JOINERY_STANDALONE_ASIO)
#include <asio/as_tuple.hpp>
#include <asio/bind_allocator.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/deferred.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#else
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#endif

namespace joinery::test {
namespace net = joinery::asio;
}  // namespace joinery::test

#endif  // JOINERY_TESTS_SUPPORT_ASIO_HPP
