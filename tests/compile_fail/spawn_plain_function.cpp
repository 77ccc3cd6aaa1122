// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Must NOT compile: spawn takes an awaitable or a callable returning one. A
// plain function returning a value is the first mistake of many new users;
// joinery's static_assert says what spawn takes and names spawn_blocking,
// instead of a template dump.
#include <joinery/join_map.hpp>

#include <boost/asio/io_context.hpp>

int main() {
  boost::asio::io_context io;
  joinery::join_map<const char*, int> map(io.get_executor());
  map.spawn("k", [] { return 42; });
}
