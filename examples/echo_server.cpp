// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// echo_server: a TCP echo server whose sessions are owned by a join_map.
//
// This is the "server loop" of a task group, the one docs/guide.md teaches:
//   - one join_map<connection_id, void> holds the sessions, keyed by a
//     connection id;
//   - an accept loop spawns a session for every connection, and beside it a
//     reaping loop joins finished sessions (logging each id and outcome)
//     with async_join_next(joinery::wait_if_empty), which waits while no
//     session runs. Both run in one coroutine, so on one thread. No accept
//     ever races a join, so no accepted connection is ever thrown away
//     (racing them with `||` drops the socket of an accept that completed
//     just as the join won);
//   - --max-connections is enforced by the accept loop waiting, while the
//     map is full, until the reaper has joined a session;
//   - every session has an idle timeout (it ends with an error then);
//   - an admin port takes line commands: "list" names the sessions,
//     "stats" shows what the map knows of them (one line per session, its
//     key and task_info from snapshot(), "7: task #12 running for 1.2 s",
//     then a last line with the map's counters from stats(), which always
//     starts with "spawned "), and "kick <id>" aborts one session by its key;
//   - SIGINT or SIGTERM stops accepting and shuts down gracefully with
//     async_shutdown(grace): every session is asked to stop (total
//     cancellation) and ends once it has echoed its current line; those
//     still running after the grace period (--grace-ms, default 2000) are
//     aborted. Then it exits 0.
//
// usage: echo_server [--port N] [--admin-port N] [--max-connections N]
//                    [--idle-timeout-ms N] [--grace-ms N] [--threads N] [--demo]
// --threads N runs the io_context on N threads (default 1): the server's own
// loops then share one strand, the map's thread, while sessions run on all
// N threads, each serialized with its own aborts.
// Ports default to 7777 and 7778 on 127.0.0.1 (0: any free port). The first
// line printed says where it listens.
//
// --demo runs the server on free ports together with a handful of real
// clients on real sockets: three that echo and leave, one that is kicked
// through the admin port, one that idles until the server times it out;
// then the demo raises SIGINT and the server shuts down. It ends with
// "echo_server: demo ok" (exit 0) when every client saw what it should.

#include <joinery/join_handle.hpp>
#include <joinery/join_map.hpp>
#include <joinery/join_set.hpp>
#include <joinery/task_info.hpp>
#include <joinery/wait_if_empty.hpp>

#include "net.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using net::awaitable;
using net::ip::tcp;
using namespace net::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

using connection_id = std::uint64_t;

struct options {
  unsigned short port = 7777;
  unsigned short admin_port = 7778;
  std::size_t max_connections = 64;
  unsigned threads = 1;
  std::chrono::milliseconds idle_timeout = 30s;
  std::chrono::milliseconds grace = 2s;
  bool demo = false;
};

struct idle_timeout : std::runtime_error {
  idle_timeout() : std::runtime_error("idle timeout") {}
};

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// One client: echo what it sends until it leaves. An idle connection ends
// with idle_timeout; an abort (kick, or the end of the shutdown's grace
// period) ends it at once. A graceful shutdown asks it to stop with total
// cancellation, which it accepts only while it waits for the next line: a
// line it is echoing is finished first, and then it returns normally.
awaitable<void> session(tcp::socket socket, std::chrono::milliseconds idle) {
  co_await net::this_coro::throw_if_cancelled(false);
  net::steady_timer timer(socket.get_executor());
  char data[4096];
  for (;;) {
    co_await net::this_coro::reset_cancellation_state(net::enable_total_cancellation());
    timer.expires_after(idle);
    // The read and the idle timer race as the operations themselves (not as
    // `read || wait`, whose co_spawn'd halves accept terminal cancellation
    // only): both stop on a total cancellation. A parallel group forwards
    // only the first cancellation it receives, so its members must be able
    // to act on a graceful one.
    auto [order, ec, n, timer_ec] =
        co_await net::experimental::make_parallel_group(
            socket.async_read_some(net::buffer(data), net::deferred),
            timer.async_wait(net::deferred))
            .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
    (void)timer_ec;
    if ((co_await net::this_coro::cancellation_state).cancelled() != net::cancellation_type::none)
      co_return;  // asked to stop between lines, or aborted
    if (order[0] == 1)
      throw idle_timeout();
    if (ec == net::error::eof)
      co_return;  // the client left
    if (ec)
      throw joinery::system_error(ec);
    // While echoing, only an abort (terminal) interrupts: a shutdown's
    // request arriving now is not taken, and the grace period's abort ends
    // the session if it is still running then.
    co_await net::this_coro::reset_cancellation_state();
    auto [wec, written] = co_await net::async_write(socket, net::buffer(data, n), use_tuple);
    (void)written;
    if (wec)
      co_return;  // aborted, or the client is gone
  }
}

class server {
 public:
  // Sessions run on `ex`; the server's loops run on `strand` (which may be
  // `ex` itself when one thread runs everything).
  server(net::any_io_executor ex, net::any_io_executor strand, const options& opt)
      : opt_(opt),
        acceptor_(strand, {net::ip::make_address("127.0.0.1"), opt.port}),
        admin_acceptor_(strand, {net::ip::make_address("127.0.0.1"), opt.admin_port}),
        sessions_(ex),
        admins_(strand),
        room_(strand, net::steady_timer::time_point::max()) {}

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  unsigned short admin_port() const { return admin_acceptor_.local_endpoint().port(); }

  // Serves until SIGINT/SIGTERM, then shuts every session down.
  awaitable<void> run() {
    std::cout << "listening on 127.0.0.1:" << port() << ", admin on 127.0.0.1:" << admin_port()
              << std::endl;
    net::signal_set signals(co_await net::this_coro::executor, SIGINT, SIGTERM);
    // The loops never end on their own: this waits for the signal (or a
    // failure), then cancels them all, each at its pending operation.
    co_await (accept_loop() || reap_loop() || admin_loop() ||
              signals.async_wait(net::use_awaitable));
    const std::size_t left = sessions_.size();
    std::cout << "shutting down " << left << " session(s)" << std::endl;
    co_await admins_.async_shutdown(net::use_awaitable);
    co_await sessions_.async_shutdown(opt_.grace, net::use_awaitable);
    std::cout << "sessions: " << opened_ << " opened, " << reaped_ + left << " ended (" << reaped_
              << " joined, " << left << " at shutdown)" << std::endl;
    std::cout << "shutdown complete" << std::endl;
  }

 private:
  awaitable<void> accept_loop() {
    for (;;) {
      // Full: wait until the reaper has made room (it cancels room_).
      while (sessions_.size() >= opt_.max_connections) {
        auto [ec] = co_await room_.async_wait(use_tuple);
        (void)ec;  // the reaper's cancel is the signal; our own cancellation throws next
      }
      // The session's socket runs on the sessions' executor, not the strand.
      start(co_await acceptor_.async_accept(sessions_.get_executor(), net::use_awaitable));
    }
  }

  awaitable<void> reap_loop() {
    for (;;) {
      // Waits while no session runs (an empty map would complete at once).
      log_end(co_await sessions_.async_join_next(joinery::wait_if_empty, net::use_awaitable));
      ++reaped_;
      room_.cancel();
    }
  }

  void start(tcp::socket socket) {
    const connection_id id = next_id_++;
    ++opened_;
    std::cout << "session " << id << " opened from " << socket.remote_endpoint() << std::endl;
    sessions_.spawn(id, session(std::move(socket), opt_.idle_timeout));
  }

  void log_end(const std::optional<joinery::join_map<connection_id, void>::value_type>& end) {
    if (!end)
      return;
    const auto& [id, result] = *end;
    std::cout << "session " << id
              << " ended: " << (result ? "client left" : result.error().message()) << std::endl;
  }

  awaitable<void> admin_loop() {
    for (;;) {
      auto socket = co_await admin_acceptor_.async_accept(net::use_awaitable);
      admins_.spawn(admin_session(std::move(socket)));
      while (admins_.try_join_next()) {
      }  // reap admin connections that are done
    }
  }

  // Line commands: "list", "stats", "kick <id>".
  awaitable<void> admin_session(tcp::socket socket) {
    std::string buffer;
    for (;;) {
      auto [ec, n] =
          co_await net::async_read_until(socket, net::dynamic_buffer(buffer), '\n', use_tuple);
      if (ec)
        co_return;
      std::string line = buffer.substr(0, n - 1);
      buffer.erase(0, n);
      std::string reply = command(line);
      co_await net::async_write(socket, net::buffer(reply + "\n"), net::use_awaitable);
    }
  }

  std::string command(std::string_view line) {
    if (line == "list") {
      std::ostringstream out;
      out << "sessions:";
      for (connection_id id : sessions_.keys())
        out << ' ' << id;
      return out.str();
    }
    if (line == "stats") {
      // The reply spans several lines; its last, the counters, always starts
      // with "spawned ", which is how a client knows it has read it all.
      std::ostringstream out;
      for (const auto& [id, info] : sessions_.snapshot())
        out << id << ": " << info << '\n';
      out << sessions_.stats();
      return out.str();
    }
    if (line.starts_with("kick ")) {
      connection_id id = 0;
      auto digits = line.substr(5);
      if (std::from_chars(digits.data(), digits.data() + digits.size(), id).ec != std::errc{})
        return "error: kick needs a session id";
      return sessions_.abort(id) ? "kicked " + std::to_string(id)
                                 : "no session " + std::to_string(id);
    }
    return "error: commands are 'list', 'stats' and 'kick <id>'";
  }

  options opt_;
  tcp::acceptor acceptor_;
  tcp::acceptor admin_acceptor_;
  joinery::join_map<connection_id, void> sessions_;
  joinery::join_set<void> admins_;
  net::steady_timer room_;  // cancelled by the reaper: a session ended
  connection_id next_id_ = 1;
  std::size_t opened_ = 0;
  std::size_t reaped_ = 0;
};

// --- The demo: real clients on real sockets. -----------------------------

awaitable<tcp::socket> connect(unsigned short port) {
  tcp::socket s(co_await net::this_coro::executor);
  co_await s.async_connect({net::ip::make_address("127.0.0.1"), port}, net::use_awaitable);
  co_return s;
}

awaitable<std::string> read_line(tcp::socket& s) {
  std::string line;
  auto n = co_await net::async_read_until(s, net::dynamic_buffer(line), '\n', net::use_awaitable);
  line.resize(n - 1);
  co_return line;
}

// Sends a few lines, checks each comes back, leaves.
awaitable<bool> echo_client(unsigned short port, int n) {
  auto s = co_await connect(port);
  for (int i = 0; i < 3; ++i) {
    std::string line = "client " + std::to_string(n) + " line " + std::to_string(i);
    co_await net::async_write(s, net::buffer(line + "\n"), net::use_awaitable);
    if (co_await read_line(s) != line)
      co_return false;
  }
  co_return true;
}

// Connects, echoes once, then waits until the server closes the connection.
awaitable<bool> waiting_client(unsigned short port) {
  auto s = co_await connect(port);
  co_await net::async_write(s, net::buffer(std::string("still here\n")), net::use_awaitable);
  if (co_await read_line(s) != "still here")
    co_return false;
  char c;
  auto [ec, n] = co_await s.async_read_some(net::buffer(&c, 1), use_tuple);
  co_return ec == net::error::eof || ec == net::error::connection_reset;
}

awaitable<std::string> admin(unsigned short port, std::string command) {
  auto s = co_await connect(port);
  co_await net::async_write(s, net::buffer(command + "\n"), net::use_awaitable);
  co_return co_await read_line(s);
}

awaitable<bool> demo(const server& srv) {
  auto ex = co_await net::this_coro::executor;
  bool ok = true;

  // Three clients echo and leave.
  joinery::join_set<bool> echoes(ex);
  for (int n = 1; n <= 3; ++n)
    echoes.spawn(echo_client(srv.port(), n));
  for (auto& r : co_await echoes.async_join_all(net::use_awaitable))
    ok = ok && r && *r;
  std::cout << "demo: 3 echo clients done" << std::endl;

  // One client stays until it is kicked through the admin port. Wait until
  // the server lists it as its only session (the others have been reaped).
  auto kicked = joinery::spawn(ex, waiting_client(srv.port()));
  std::string list;
  for (int tries = 0; tries < 100 && std::count(list.begin(), list.end(), ' ') != 1; ++tries) {
    co_await net::steady_timer(ex, 10ms).async_wait(net::use_awaitable);
    list = co_await admin(srv.admin_port(), "list");
  }
  std::cout << "demo: admin says '" << list << "'" << std::endl;
  const std::string id = list.substr(list.rfind(' ') + 1);
  const std::string reply = co_await admin(srv.admin_port(), "kick " + id);
  std::cout << "demo: admin says '" << reply << "'" << std::endl;
  auto [kick_ec, kick_result] = co_await kicked.async_wait(net::as_tuple(net::use_awaitable));
  ok = ok && reply == "kicked " + id && kick_result && *kick_result;

  // One client idles until the server times it out.
  auto idle = joinery::spawn(ex, waiting_client(srv.port()));
  auto [idle_ec, idle_result] = co_await idle.async_wait(net::as_tuple(net::use_awaitable));
  ok = ok && idle_result && *idle_result;
  std::cout << "demo: idle client timed out" << std::endl;

  // And stop the server the way an operator would.
  std::raise(SIGINT);
  co_return ok;
}

bool parse(int argc, char** argv, options& opt) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto number = [&](auto& out) {
      if (i + 1 >= argc)
        return false;
      std::string_view v = argv[++i];
      return std::from_chars(v.data(), v.data() + v.size(), out).ec == std::errc{};
    };
    long long ms = 0;
    if (a == "--demo")
      opt.demo = true;
    else if (a == "--port" && number(opt.port)) {
    } else if (a == "--admin-port" && number(opt.admin_port)) {
    } else if (a == "--max-connections" && number(opt.max_connections) && opt.max_connections) {
    } else if (a == "--threads" && number(opt.threads) && opt.threads) {
    } else if (a == "--idle-timeout-ms" && number(ms) && ms > 0)
      opt.idle_timeout = std::chrono::milliseconds(ms);
    else if (a == "--grace-ms" && number(ms) && ms >= 0)
      opt.grace = std::chrono::milliseconds(ms);
    else
      return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  if (!parse(argc, argv, opt)) {
    std::cerr << "usage: echo_server [--port N] [--admin-port N] [--max-connections N]\n"
                 "                   [--idle-timeout-ms N] [--grace-ms N] [--threads N] "
                 "[--demo]\n";
    return 2;
  }
  if (opt.demo) {
    opt.port = opt.admin_port = 0;
    opt.idle_timeout = 300ms;
  }
  try {
    // One thread: the map is used from that thread only, and with
    // concurrency hint 1 joinery gives sessions no serializer of their own.
    // Several threads: the server's loops (the map's users) share a strand.
    net::io_context io(static_cast<int>(opt.threads));  // the hint: how many run it
    auto strand = net::make_strand(io);
    server srv(io.get_executor(), strand, opt);
    bool demo_ok = true;
    std::exception_ptr failure;
    net::co_spawn(strand, srv.run(), [&](std::exception_ptr e) { failure = e; });
    if (opt.demo) {
      net::co_spawn(io, demo(srv), [&](std::exception_ptr e, bool ok) {
        if (e)
          failure = e;
        demo_ok = ok;
      });
    }
    std::vector<std::thread> extra;
    for (unsigned i = 1; i < opt.threads; ++i)
      extra.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : extra)
      t.join();
    if (failure)
      std::rethrow_exception(failure);
    if (opt.demo) {
      std::cout << (demo_ok ? "echo_server: demo ok" : "echo_server: demo FAILED") << std::endl;
      return demo_ok ? 0 : 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "echo_server: " << e.what() << std::endl;
    return 1;
  }
}
