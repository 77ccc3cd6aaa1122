// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// crawler: a bounded fan-out over real HTTP (the tokio tutorial's crawler).
//
// The program starts a small HTTP server on 127.0.0.1 (Boost.Beast), whose
// connections are tasks in a join_set, then crawls N pages from it with at
// most 2 fetches in flight: it keeps two fetches spawned in a join_map keyed
// by URL and spawns the next one each time async_join_next returns one.
// Each page body is hashed with spawn_blocking, off the I/O thread. It
// prints url -> hash sorted by URL, the most fetches the server saw at once,
// and "crawler: ok".
//
// usage: crawler [N]   (default 8 pages)

#include <joinery/join_handle.hpp>
#include <joinery/join_map.hpp>
#include <joinery/join_set.hpp>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;
using namespace net::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_in_flight = 2;

// Synchronous, CPU-bound stand-in for parsing a page (the tutorial's checksum).
std::uint64_t checksum(const std::string& body) {
  std::uint64_t acc = 0;
  for (unsigned char b : body)
    acc = acc * 31 + b;
  return acc;
}

// --- The server --------------------------------------------------------------

struct server_stats {
  int open = 0;
  int max_open = 0;
};

// Answers one request with "<html>TARGET</html>", a little later (so that
// fetches overlap), then closes the connection.
net::awaitable<void> serve(tcp::socket socket, server_stats& stats) {
  stats.max_open = std::max(stats.max_open, ++stats.open);
  struct closed {
    server_stats& s;
    ~closed() { --s.open; }
  } on_exit{stats};
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  co_await http::async_read(socket, buffer, req, net::use_awaitable);
  net::steady_timer delay(socket.get_executor(), 10ms);
  co_await delay.async_wait(net::use_awaitable);
  http::response<http::string_body> res(http::status::ok, req.version());
  res.set(http::field::content_type, "text/html");
  res.body() = "<html>" + std::string(req.target()) + "</html>";
  res.prepare_payload();
  co_await http::async_write(socket, res, net::use_awaitable);
  socket.shutdown(tcp::socket::shutdown_send);
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, server_stats& stats) {
  joinery::join_set<void> connections(co_await net::this_coro::executor);
  for (;;) {
    auto socket = co_await acceptor.async_accept(net::use_awaitable);
    connections.spawn(serve(std::move(socket), stats));
    while (connections.try_join_next()) {
    }  // reap finished connections; the rest are aborted when the loop ends
  }
}

// --- The crawler ---------------------------------------------------------------

net::awaitable<std::string> fetch(unsigned short port, std::string target) {
  tcp::socket socket(co_await net::this_coro::executor);
  co_await socket.async_connect({net::ip::make_address("127.0.0.1"), port}, net::use_awaitable);
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "127.0.0.1");
  co_await http::async_write(socket, req, net::use_awaitable);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  co_await http::async_read(socket, buffer, res, net::use_awaitable);
  if (res.result() != http::status::ok)
    throw std::runtime_error("HTTP " + std::to_string(res.result_int()));
  co_return res.body();
}

// Fetches one page, then hashes its body on the blocking pool.
net::awaitable<std::uint64_t> crawl_one(unsigned short port, std::string target) {
  std::string body = co_await fetch(port, target);
  auto hashing = joinery::spawn_blocking([body = std::move(body)] { return checksum(body); });
  auto [ec, hash] = co_await hashing.async_wait(net::as_tuple(net::use_awaitable));
  co_return hash.value();  // rethrows if the hashing failed
}

net::awaitable<std::map<std::string, std::uint64_t>> crawl(unsigned short port, int pages) {
  std::vector<std::string> todo;
  for (int i = 1; i <= pages; ++i)
    todo.push_back("/page-" + std::to_string(i));

  joinery::join_map<std::string, std::uint64_t> fetches(co_await net::this_coro::executor);
  // At most two fetches in flight: the map queues the rest and starts them,
  // in spawn order, as fetches finish.
  fetches.set_concurrency_limit(max_in_flight);
  for (auto& target : todo)
    fetches.spawn(target, crawl_one(port, target));
  std::map<std::string, std::uint64_t> hashes;
  while (auto done = co_await fetches.async_join_next()) {
    auto& [target, hash] = *done;
    hashes[target] = hash.value();
  }
  co_return hashes;
}

}  // namespace

int main(int argc, char** argv) {
  const int pages = argc > 1 ? std::atoi(argv[1]) : 8;
  if (pages < 1) {
    std::cerr << "usage: crawler [N]\n";
    return 2;
  }
  net::io_context io(1);
  tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
  const unsigned short port = acceptor.local_endpoint().port();
  server_stats stats;
  std::map<std::string, std::uint64_t> hashes;
  std::exception_ptr failure;
  net::co_spawn(
      io,
      // The crawl ends first and cancels the server's accept loop.
      [&]() -> net::awaitable<void> {
        auto r = co_await (crawl(port, pages) || accept_loop(acceptor, stats));
        hashes = std::move(std::get<0>(r));
      },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::cerr << "crawler: " << e.what() << "\n";
      return 1;
    }
  }
  for (auto& [url, hash] : hashes)
    std::cout << "http://127.0.0.1" << url << " -> " << hash << "\n";
  std::cout << "the server saw at most " << stats.max_open << " fetches at once\n";
  const bool ok = static_cast<int>(hashes.size()) == pages &&
                  static_cast<std::size_t>(stats.max_open) <= max_in_flight &&
                  hashes["/page-1"] == checksum("<html>/page-1</html>");
  std::cout << (ok ? "crawler: ok" : "crawler: FAILED") << "\n";
  return ok ? 0 : 1;
}
