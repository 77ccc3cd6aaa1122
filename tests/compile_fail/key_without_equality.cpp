// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Must NOT compile: a key type that can be hashed but not compared.
#include <joinery/join_map.hpp>

#include <boost/asio/io_context.hpp>

#include <utility>

struct point {
  int x, y;
  template <class H>
  friend H AbslHashValue(H h, const point& p) {
    return H::combine(std::move(h), p.x, p.y);
  }
};

int main() {
  boost::asio::io_context io;
  joinery::join_map<point, int> map(io.get_executor());
  map.abort(point{1, 2});
}
