// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Builds against joinery as a user's project would (find_package,
// add_subdirectory, FetchContent, or pkg-config without CMake), on Boost.Asio
// or, with JOINERY_STANDALONE_ASIO, on standalone Asio: spawns, aborts one
// task, joins.
#include <joinery.hpp>

#if defined(JOINERY_STANDALONE_ASIO)
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#else
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#endif

#include <chrono>
#include <iostream>
#include <string>
#include <system_error>
#include <type_traits>

// Standalone mode includes no Boost header at all.
#if defined(JOINERY_STANDALONE_ASIO) && (defined(BOOST_VERSION) || defined(BOOST_CONFIG_HPP))
#error "consumer: a Boost header was included with JOINERY_STANDALONE_ASIO"
#endif
#if defined(JOINERY_STANDALONE_ASIO)
static_assert(std::is_same_v<joinery::error_code, std::error_code>);
#endif

namespace net = joinery::asio;

#if (defined(JOINERY_STANDALONE_ASIO) && defined(ASIO_DISABLE_THREAD_KEYWORD_EXTENSION)) || \
    (!defined(JOINERY_STANDALONE_ASIO) && defined(BOOST_ASIO_DISABLE_THREAD_KEYWORD_EXTENSION))
constexpr bool keyword_fix_defined = true;
#else
constexpr bool keyword_fix_defined = false;
#endif

int main() {
#if defined(JOINERY_CONSUMER_KEYWORD_FIX)
  // The CMake consumers link joinery::asio_thread_keyword_fix (README,
  // "clang and threads"); its define for the Asio in use must reach them
  // every way.
  if (!keyword_fix_defined) {
    std::cout << "consumer: joinery::asio_thread_keyword_fix did not carry its define\n";
    return 1;
  }
#endif
  net::io_context io;
  joinery::join_map<std::string, int> map(io);
  int value = 0, cancelled = 0;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        map.spawn("answer", []() -> net::awaitable<int> { co_return 42; });
        map.spawn("never", []() -> net::awaitable<int> {
          net::steady_timer t(co_await net::this_coro::executor, std::chrono::hours(1));
          co_await t.async_wait(net::use_awaitable);
          co_return 0;
        });
        map.abort("never");
        while (auto next = co_await map.async_join_next()) {
          if (next->second)
            value = *next->second;
          else if (next->second.error().is_cancelled())
            ++cancelled;
        }
      },
      net::detached);
  io.run();
  std::cout << "consumer joined " << value << ", " << cancelled << " cancelled\n";
  return value == 42 && cancelled == 1 ? 0 : 1;
}
