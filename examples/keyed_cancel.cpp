// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// keyed_cancel: tokio's JoinMap documentation examples, in joinery.
//
// Shows spawning tasks under keys, joining them in completion order with
// their keys, aborting one task by key ("goodbye world"), and aborting a
// group of tasks with abort_matching (every key starting with "goodbye").
// Aborted tasks are still reported, as cancelled; the others complete.
//
// Prints one line per task and ends with "keyed_cancel: ok".

#include <joinery/join_map.hpp>

#include "net.hpp"

#include <exception>
#include <iostream>
#include <string>

// A task that yields once before finishing, so an abort issued right after
// spawning reaches it while it is still pending.
net::awaitable<void> greet(std::string what) {
  co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
  std::cout << "  task says: " << what << "\n";
}

net::awaitable<void> abort_one() {
  joinery::join_map<std::string, void> map(co_await net::this_coro::executor);
  map.spawn("hello world", greet("hello world"));
  map.spawn("goodbye world", greet("goodbye world"));

  // abort returns true when the map holds a task for the key.
  const bool aborted = map.abort("goodbye world");
  std::cout << "abort(\"goodbye world\") -> " << std::boolalpha << aborted << "\n";
  std::cout << "abort(\"goodbye universe\") -> " << map.abort("goodbye universe") << "\n";

  while (auto next = co_await map.async_join_next()) {
    auto& [key, result] = *next;
    std::cout << key << ": " << (result ? "completed" : result.error().message()) << "\n";
  }
}

net::awaitable<void> abort_matching() {
  joinery::join_map<std::string, void> map(co_await net::this_coro::executor);
  for (const char* key :
       {"hello world", "goodbye world", "hello san francisco", "goodbye universe"})
    map.spawn(key, greet(key));

  const auto n =
      map.abort_matching([](const std::string& key) { return key.starts_with("goodbye"); });
  std::cout << "abort_matching(starts with \"goodbye\") -> " << n << " tasks\n";

  int seen = 0;
  while (auto next = co_await map.async_join_next()) {
    auto& [key, result] = *next;
    ++seen;
    std::cout << key << ": " << (result ? "completed" : "cancelled") << "\n";
  }
  std::cout << "seen " << seen << " of 4\n";
}

int main() {
  net::io_context io;
  std::exception_ptr failure;
  net::co_spawn(
      io,
      []() -> net::awaitable<void> {
        std::cout << "-- abort by key\n";
        co_await abort_one();
        std::cout << "-- abort_matching\n";
        co_await abort_matching();
      },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::cerr << "keyed_cancel failed: " << e.what() << "\n";
    }
    return 1;
  }
  std::cout << "keyed_cancel: ok\n";
}
