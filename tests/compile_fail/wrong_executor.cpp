// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Must NOT compile (AC-44): a task typed on io_context::executor_type cannot
// run on an any_io_executor map; joinery says so with a static_assert
// instead of failing somewhere deep in Asio, or at run time.
#include <joinery/join_map.hpp>

#include <boost/asio/io_context.hpp>

int main() {
  boost::asio::io_context io;
  joinery::join_map<int, int> map(io.get_executor());
  using ex = boost::asio::io_context::executor_type;
  map.spawn(1, []() -> boost::asio::awaitable<int, ex> { co_return 1; });
}
