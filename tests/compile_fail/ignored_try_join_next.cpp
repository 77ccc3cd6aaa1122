// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Must NOT compile with -Werror: ignoring try_join_next's result drops a
// task's outcome.
#include <joinery/join_set.hpp>

#include <boost/asio/io_context.hpp>

int main() {
  boost::asio::io_context io;
  joinery::join_set<int> set(io.get_executor());
  set.try_join_next();
}
