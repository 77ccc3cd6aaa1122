// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// The README's example, compiled and run as a test (docs/snippets must build).
#include <iostream>
#include <string>
#include <vector>

// The README shows the region below as written here, with the Asio include
// that a program using it needs (joinery's headers include only the parts of
// Asio that joinery itself uses: not co_spawn, use_awaitable, sockets...).
// clang-format off
// [readme-example]
#include <boost/asio.hpp>
#include <joinery.hpp>
namespace net = boost::asio;

net::awaitable<std::size_t> fetch(std::string url);  // your work: returns a body size

net::awaitable<void> crawl(std::vector<std::string> urls) {
  joinery::join_map<std::string, std::size_t> fetches(co_await net::this_coro::executor);
  for (auto& url : urls) fetches.spawn(url, fetch(url));   // all start running now
  fetches.abort("https://slow.example");                   // cancel one, by key
  while (auto next = co_await fetches.async_join_next()) {  // in the order they finish
    auto& [url, result] = *next;
    if (result) std::cout << url << ": " << *result << " bytes\n";
    else std::cout << url << ": " << result.error().message() << "\n";
  }
}  // leaving the scope would abort whatever is still running
// [readme-example]
// clang-format on

net::awaitable<std::size_t> fetch(std::string url) {
  net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(url.size()));
  co_await t.async_wait(net::use_awaitable);
  co_return url.size() * 100;
}

int main() {
  net::io_context io;
  net::co_spawn(io, crawl({"https://a.example", "https://slow.example", "https://bb.example"}),
                [](std::exception_ptr e) {
                  if (e)
                    std::rethrow_exception(e);
                });
  io.run();
  std::cout << "readme example: ok\n";
}
