// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Must NOT compile: a result type whose move may throw could lose a result
// half-way between threads, so join_map refuses it at compile time.
#include <joinery/join_map.hpp>

#include <boost/asio/io_context.hpp>

struct throwing_move {
  throwing_move() = default;
  throwing_move(const throwing_move&) {}  // no noexcept move
};

int main() {
  boost::asio::io_context io;
  joinery::join_map<int, throwing_move> map(io.get_executor());
  (void)map;
}
