// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Builds against an installed joinery and joins one task.
#include <joinery.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>
#include <string>

int main() {
  boost::asio::io_context io;
  joinery::join_map<std::string, int> map(io);
  int result = 0;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        map.spawn("answer", []() -> boost::asio::awaitable<int> { co_return 42; });
        while (auto next = co_await map.async_join_next())
          result = next->second.value();
      },
      boost::asio::detached);
  io.run();
  std::cout << "consumer joined " << result << "\n";
  return result == 42 ? 0 : 1;
}
