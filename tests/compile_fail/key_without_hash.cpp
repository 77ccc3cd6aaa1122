// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Must NOT compile: a key type with no hash. joinery says how to fix it
// before abseil's own errors start.
#include <joinery/join_map.hpp>

#include <boost/asio/io_context.hpp>

struct point {
  int x, y;
  friend bool operator==(const point&, const point&) = default;
};

int main() {
  boost::asio::io_context io;
  joinery::join_map<point, int> map(io.get_executor());
  map.abort(point{1, 2});
}
