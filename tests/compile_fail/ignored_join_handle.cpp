// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Must NOT compile with -Werror: a join_handle thrown away detaches its task
// and loses its outcome.
#include <joinery/join_handle.hpp>

#include <boost/asio/io_context.hpp>

boost::asio::awaitable<int> one() {
  co_return 1;
}

int main() {
  boost::asio::io_context io;
  joinery::spawn(io, one());
}
