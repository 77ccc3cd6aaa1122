// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// echo_load: a load client for echo_server (and its load test): connects
// `clients` real TCP clients to 127.0.0.1:<port>, `wave` of them at a time;
// each sends three lines and checks that every one comes back, then leaves.
// The clients are a join_set kept `wave` strong: as each one ends, the next
// connects, so connections arrive while others end (what a server loop that
// races its accept against its join gets wrong).
//
// usage: echo_load <port> <clients> <wave>
// Prints "echo_load: <clients> clients, <ok> ok, <failed> failed" and exits
// 0 only when every client got all its echoes.

#include <joinery/join_set.hpp>

#include "net.hpp"

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

using net::awaitable;
using net::ip::tcp;

namespace {

awaitable<bool> client(unsigned short port, int n) {
  tcp::socket s(co_await net::this_coro::executor);
  co_await s.async_connect({net::ip::make_address("127.0.0.1"), port}, net::use_awaitable);
  std::string buffer;
  for (int i = 0; i < 3; ++i) {
    const std::string line = "client " + std::to_string(n) + " line " + std::to_string(i) + "\n";
    co_await net::async_write(s, net::buffer(line), net::use_awaitable);
    const std::size_t got =
        co_await net::async_read_until(s, net::dynamic_buffer(buffer), '\n', net::use_awaitable);
    if (buffer.compare(0, got, line) != 0)
      co_return false;
    buffer.erase(0, got);
  }
  co_return true;
}

awaitable<void> run(unsigned short port, int clients, int wave, int& ok, int& failed) {
  joinery::join_set<bool> set(co_await net::this_coro::executor);
  int started = 0;
  for (; started < clients && started < wave; ++started)
    set.spawn(client(port, started));
  while (auto r = co_await set.async_join_next()) {
    if (*r && **r) {
      ++ok;
    } else {
      ++failed;
      if (!*r && failed <= 5)
        std::cerr << "echo_load: client failed: " << r->error().message() << "\n";
    }
    if (started < clients)
      set.spawn(client(port, started++));
  }
}

bool number(std::string_view s, auto& out) {
  return std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc{} && out > 0;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  int clients = 0, wave = 0;
  if (argc != 4 || !number(argv[1], port) || !number(argv[2], clients) || !number(argv[3], wave)) {
    std::cerr << "usage: echo_load <port> <clients> <wave>\n";
    return 2;
  }
  int ok = 0, failed = 0;
  net::io_context io(1);
  net::co_spawn(io, run(port, clients, wave, ok, failed), [](std::exception_ptr e) {
    if (e)
      std::rethrow_exception(e);
  });
  io.run();
  std::cout << "echo_load: " << clients << " clients, " << ok << " ok, " << failed << " failed"
            << std::endl;
  return ok == clients ? 0 : 1;
}
