// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_EXAMPLES_NET_HPP
#define JOINERY_EXAMPLES_NET_HPP
// The examples are written once for Boost.Asio and for standalone Asio
// (JOINERY_STANDALONE_ASIO, which joinery::joinery_standalone defines): this
// header includes all of the Asio the build selected and names it `net`.
// A program written for one of them includes <boost/asio.hpp> or
// <asio.hpp> itself and writes `namespace net = boost::asio;` (or `asio`);
// joinery::asio names the selected one in both modes, and
// joinery::error_code / joinery::system_error its error types.
#include <joinery/error.hpp>  // joinery::asio, joinery::error_code, joinery::system_error
#if defined(JOINERY_STANDALONE_ASIO)
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/parallel_group.hpp>
#else
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#endif

namespace net = joinery::asio;

#endif  // JOINERY_EXAMPLES_NET_HPP
