// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Compiled (never run) with the strictest warnings a user may turn on
// (-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion, and
// -Werror in CI), with joinery's headers included through -I as
// add_subdirectory and FetchContent include them: every public member is
// instantiated here, so warnings inside joinery's templates show too.

#include <joinery.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

namespace net = boost::asio;

namespace {

net::awaitable<int> answer() {
  co_return 42;
}

net::awaitable<void> exercise() {
  auto ex = co_await net::this_coro::executor;

  joinery::join_map<std::string, int> map(ex, 16);
  map.spawn("a", answer());
  map.spawn("b", [](joinery::task_id) -> net::awaitable<int> { co_return 1; });
  map.spawn_on("c", net::make_strand(ex), answer());
  map.spawn_blocking("d", [] { return 3; });
  map.abort(std::string_view("a"));
  map.abort_matching([](const std::string& k) { return k == "b"; });
  map.abort("a", net::cancellation_type::total);
  map.abort(std::string("b"), net::cancellation_type::partial);
  map.abort_matching([](const std::string& k) { return k == "b"; }, net::cancellation_type::total);
  map.abort_all(net::cancellation_type::partial);
  if (auto handle = map.get_abort_handle("c"))
    handle->abort(net::cancellation_type::total);
  std::cout << map.is_finished("c") << map.ready_count();
  if (auto [kec, outcome] = co_await map.async_join("c", net::as_tuple(net::deferred)); outcome)
    std::cout << kec.message() << outcome->has_value();
  (void)map.detach("d");
  (void)map.contains("c");
  (void)map.contains_task(joinery::task_id());
  for (const std::string& k : map.keys())
    std::cout << k;
  std::cout << map << map.size() << map.capacity();
  map.reserve(32);
  map.shrink_to_fit();
  if (auto ready = map.try_join_next())
    std::cout << ready->first;
  while (auto next = co_await map.async_join_next())
    std::cout << next->first << (next->second ? *next->second : -1);
  auto [ec, all] = co_await map.async_join_all(net::as_tuple(net::deferred));
  std::cout << ec.message() << all.size();
  co_await map.async_shutdown(net::use_awaitable);
  co_await map.async_shutdown(std::chrono::milliseconds(5), net::use_awaitable);
  map.spawn("e", answer());
  if (auto waited = co_await map.async_join_next(joinery::wait_if_empty))
    std::cout << waited->first;
  map.detach_all();

  joinery::join_map<std::uint64_t, void> voids(ex);
  voids.spawn(1, []() -> net::awaitable<void> { co_return; });
  voids.async_join_next([](boost::system::error_code, auto) {});

  joinery::join_set<std::unique_ptr<int>> set(ex);
  joinery::abort_handle h =
      set.spawn([]() -> net::awaitable<std::unique_ptr<int>> { co_return nullptr; });
  h.abort();
  std::cout << h.is_finished() << h.id();
  if (auto r = co_await set.async_join_next_with_id())
    std::cout << r->first;
  (void)set.try_join_next_with_id();
  co_await set.async_shutdown();
  co_await set.async_shutdown(std::chrono::seconds(1));
  set.abort_all(net::cancellation_type::total);
  std::cout << set.ready_count();

  auto one = joinery::spawn(ex, answer());
  auto [wec, result] = co_await one.async_wait(net::as_tuple(net::deferred));
  std::cout << wec.what() << result.has_value() << one.get_abort_handle().id();
  auto blocking = joinery::spawn_blocking([] { return 1; });
  blocking.abort();
  blocking.abort(net::cancellation_type::partial);
}

}  // namespace

int warnings_check_main() {
  net::io_context io;
  net::co_spawn(io, exercise(), net::detached);
  return static_cast<int>(io.run());
}
