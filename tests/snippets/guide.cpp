// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// The code shown in docs/guide.md, compiled and run as a test. Regions
// between "// [name]" lines appear in the guide as written here.

#include <joinery.hpp>

#include "batch_job.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace net = boost::asio;
using namespace net::experimental::awaitable_operators;
using namespace std::chrono_literals;
using net::ip::tcp;

namespace {

net::awaitable<std::string> fetch(std::string url) {
  net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(url.size()));
  co_await t.async_wait(net::use_awaitable);
  co_return "<html>" + url + "</html>";
}

// One one-letter url per character of `letters` (built outside the
// coroutines: g++ 12 rejects a braced list of strings inside one).
std::vector<std::string> letter_urls(const std::string& letters) {
  std::vector<std::string> out;
  for (char c : letters)
    out.emplace_back(1, c);
  return out;
}

std::size_t parse(const std::string& body) {
  return body.size();
}

// clang-format off
// [spawning]
net::awaitable<void> spawning() {
  auto ex = co_await net::this_coro::executor;
  joinery::join_map<std::string, std::string> pages(ex);

  // An awaitable: starts now (never inside spawn), runs on pages' executor.
  pages.spawn("home", fetch("https://example.org/"));

  // A callable returning an awaitable: kept alive until the task ends, so a
  // capturing lambda coroutine may use its captures.
  std::string url = "https://example.org/about";
  pages.spawn("about", [url]() -> net::awaitable<std::string> { co_return co_await fetch(url); });

  // Synchronous work goes to the blocking pool, off the I/O thread.
  joinery::join_map<std::string, std::size_t> sizes(ex);
  sizes.spawn_blocking("big", [] { return parse(std::string(1 << 20, 'x')); });

  // A task of its own: the handle is a group of one.
  joinery::join_handle<std::string> one = joinery::spawn(ex, fetch("https://example.org/x"));

  while (auto next = co_await pages.async_join_next())
    std::cout << next->first << ": " << next->second.value().size() << " bytes\n";
  auto [ec, body] = co_await one.async_wait(net::as_tuple(net::deferred));
  co_await sizes.async_shutdown();
}
// [spawning]
// clang-format on

// clang-format off
// [scope]
net::awaitable<std::size_t> count_words(const std::string& text);  // reads `text` across co_awaits

// One task per page, each reading its page by reference: `pages` is this
// coroutine's own (a parameter lives in its frame), and the scope completes
// only after every task has ended, whatever happens in between.
net::awaitable<std::size_t> total_words(std::vector<std::string> pages) {
  co_return co_await joinery::scope<std::size_t>(
      [&](joinery::join_set<std::size_t>& group) -> net::awaitable<std::size_t> {
        for (auto& page : pages) group.spawn(count_words(page));
        std::size_t total = 0;
        while (auto next = co_await group.async_join_next()) total += next->value();
        co_return total;
      });
}
// [scope]

net::awaitable<std::size_t> count_words(const std::string& text) {
  co_await net::post(co_await net::this_coro::executor, net::use_awaitable);  // suspends once
  std::istringstream in(text);
  std::size_t n = 0;
  for (std::string word; in >> word;)
    ++n;
  co_return n;
}
// clang-format on

// clang-format off
// [drain]
net::awaitable<std::size_t> drain(joinery::join_set<std::size_t>& set) {
  std::size_t total = 0;
  for (;;) {
    while (auto ready = set.try_join_next()) total += ready->value();  // no round trip
    auto next = co_await set.async_join_next();  // nothing ready: wait for one
    if (!next) co_return total;                  // the set is empty
    total += next->value();
  }
}

// Many small tasks, all done at about the same time: the body drains them.
net::awaitable<std::size_t> total_size(const std::vector<std::string>& chunks) {
  co_return co_await joinery::scope<std::size_t>(
      [&](joinery::join_set<std::size_t>& set) -> net::awaitable<std::size_t> {
        for (auto& chunk : chunks)
          set.spawn([&chunk]() -> net::awaitable<std::size_t> { co_return parse(chunk); });
        co_return co_await drain(set);
      });
}
// [drain]
// clang-format on

// clang-format off
// [server-loop]
net::awaitable<void> session(tcp::socket socket);  // echoes until the client leaves
using session_map = joinery::join_map<std::uint64_t, void>;

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, session_map& sessions) {
  for (std::uint64_t id = 1;; ++id)  // every accepted connection becomes a session
    sessions.spawn(id, session(co_await acceptor.async_accept(net::use_awaitable)));
}

net::awaitable<void> reap_loop(session_map& sessions) {
  for (;;) {  // joins sessions as they end; waits while none runs
    auto ended = co_await sessions.async_join_next(joinery::wait_if_empty, net::use_awaitable);
    auto& [id, result] = *ended;
    std::cout << "session " << id << ": " << (result ? "done" : result.error().message()) << "\n";
  }
}

// serve runs on a strand of `io` (or on its one thread); the sessions run
// on the context's executor, on all of io's threads.
net::awaitable<void> serve(tcp::acceptor& acceptor, net::io_context& io) {
  // Not `co_await net::this_coro::executor`: on a multi-threaded server that
  // is serve's strand, and every session would run serialized on it.
  session_map sessions(io.get_executor());
  // Both loops in one coroutine: one strand. Neither ends on its own, so this
  // runs until serve is cancelled or fails, and never races an accept.
  co_await (accept_loop(acceptor, sessions) || reap_loop(sessions));
}  // leaving serve (an exception, a cancellation) aborts every session
// [server-loop]
// clang-format on

net::awaitable<void> session(tcp::socket socket) {
  char data[1024];
  for (;;) {
    auto [ec, n] =
        co_await socket.async_read_some(net::buffer(data), net::as_tuple(net::use_awaitable));
    if (ec)
      co_return;
    co_await net::async_write(socket, net::buffer(data, n), net::use_awaitable);
  }
}

net::awaitable<int> slow_job(int id) {
  net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(10 * id));
  co_await t.async_wait(net::use_awaitable);
  co_return id;
}

// clang-format off
// [per-key]
net::awaitable<void> per_key() {
  joinery::join_map<std::string, int> jobs(co_await net::this_coro::executor);
  for (int id = 1; id <= 3; ++id) jobs.spawn("job-" + std::to_string(id), slow_job(id));
  jobs.spawn("audit", slow_job(9));

  // Wait for one task by its key, whatever else finishes first.
  if (auto outcome = co_await jobs.async_join("job-2")) std::cout << "job-2: " << outcome->value() << "\n";

  if (auto h = jobs.get_abort_handle("job-3")) h->abort();  // a copyable handle, by key
  jobs.detach("audit");  // leaves the map unaborted: runs on, reported to nobody
  std::cout << jobs.ready_count() << " finished of " << jobs.size() << "\n";
  std::cout << "job-1 finished: " << jobs.is_finished("job-1") << "\n";
  co_await jobs.async_shutdown();
}
// [per-key]

// [cancellation]
net::awaitable<void> cancellation() {
  joinery::join_map<int, int> jobs(co_await net::this_coro::executor);
  for (int id = 1; id <= 6; ++id) jobs.spawn(id, slow_job(id));

  jobs.abort(1);                                         // one, by key
  jobs.abort_matching([](int id) { return id % 2 == 0; });  // several
  joinery::abort_handle h = jobs.spawn(7, slow_job(7));
  h.abort();                                             // from anywhere, any thread

  // Aborted tasks stay until joined, and come back cancelled (or with their
  // value if they had already finished).
  while (auto next = co_await jobs.async_join_next()) {
    auto& [id, result] = *next;
    if (!result && result.error().is_cancelled()) std::cout << "job " << id << " cancelled\n";
  }

  // Cleanup: async_shutdown aborts everything and waits for all of it;
  // destroying the map aborts without waiting.
  jobs.spawn(8, slow_job(8));
  co_await jobs.async_shutdown();
}
// [cancellation]
// clang-format on

net::awaitable<int> broken_job(int id) {
  co_await slow_job(id);
  throw std::runtime_error("disk full");
}

// clang-format off
// [join-all-fail-fast]
net::awaitable<void> all_or_nothing() {
  joinery::join_map<std::string, int> jobs(co_await net::this_coro::executor);
  jobs.spawn("quick", slow_job(1));     // done at 10 ms
  jobs.spawn("broken", broken_job(2));  // throws at 20 ms...
  jobs.spawn("slow", slow_job(50));     // ...so this one is aborted then

  auto [ec, outcomes] =
      co_await jobs.async_join_all(joinery::fail_fast, net::as_tuple(net::deferred));
  if (ec == joinery::error::task_failed)  // the others were aborted and joined: the map is empty
    for (auto& [name, result] : outcomes)
      std::cout << name << ": " << (result ? "done" : result.error().message()) << "\n";
}
// [join-all-fail-fast]

// [scope-fail-fast]
// Every page or none: the first fetch to fail (it throws, or runs past
// `budget`) aborts the other fetches and the body, and once they have all
// ended the scope throws that fetch's exception (task_timed_out for a timeout).
net::awaitable<std::vector<std::string>> fetch_all(const std::vector<std::string>& urls,
                                                   std::chrono::milliseconds budget) {
  using pages_by_index = joinery::join_map<std::size_t, std::string>;
  co_return co_await joinery::keyed_scope<std::size_t, std::string>(
      joinery::fail_fast, [&](pages_by_index& group) -> net::awaitable<std::vector<std::string>> {
        for (std::size_t i = 0; i < urls.size(); ++i)
          group.spawn_with_timeout(i, budget, fetch(urls[i]));
        std::vector<std::string> pages(urls.size());
        while (auto next = co_await group.async_join_next())
          pages[next->first] = next->second.value();
        co_return pages;
      });
}
// [scope-fail-fast]

// [scope-cancel]
// The scope raced against a timer: when the timer wins, `||` cancels the
// scope, which aborts its body and its tasks; it completes (and `||` returns)
// only once they have all ended, so the tasks may write to `done`.
net::awaitable<std::vector<int>> within(std::chrono::milliseconds limit) {
  std::vector<int> done;
  net::steady_timer timer(co_await net::this_coro::executor, limit);
  co_await (joinery::scope<int>([&](joinery::join_set<int>& group) -> net::awaitable<void> {
              for (int id : {1, 2, 30})  // 10, 20 and 300 ms
                group.spawn([&done, id]() -> net::awaitable<int> {
                  done.push_back(co_await slow_job(id));
                  co_return id;
                });
              while (auto next = co_await group.async_join_next()) next->value();
            }) ||
            timer.async_wait(net::use_awaitable));
  co_return done;  // {1, 2} with a 100 ms limit
}
// [scope-cancel]

// [look-inside]
net::awaitable<void> look_inside() {
  joinery::join_map<std::string, int> jobs(co_await net::this_coro::executor);
  jobs.set_concurrency_limit(2);
  jobs.spawn("index", slow_job(3));
  jobs.spawn_with_timeout("report", 1s, slow_job(5));
  jobs.spawn("backup", slow_job(1));  // two are running: queued
  jobs.abort("index");                // before its first step: its body never runs

  // One task, by its key (nullopt for a key not in the map)...
  if (auto backup = jobs.info("backup"); backup && backup->state == joinery::task_state::queued)
    std::cout << "backup waits for a slot\n";
  // ...or every task with its key, in spawn order: a copy, printable.
  for (auto& [name, info] : jobs.snapshot()) std::cout << name << ": " << info << "\n";

  co_await jobs.async_join_all();
  std::cout << jobs.stats() << "\n";  // counted since the map was constructed
}
// [look-inside]
// clang-format on

// batch_job, the graceful section's job, is in batch_job.hpp: a test runs it too.
using joinery::guide::batch_job;

// clang-format off
// [graceful]
net::awaitable<void> graceful() {
  joinery::join_map<int, int> jobs(co_await net::this_coro::executor);
  for (int id = 1; id <= 3; ++id) jobs.spawn(id, batch_job(id));
  jobs.spawn(4, slow_job(50));  // accepts terminal cancellation only

  net::steady_timer pause(co_await net::this_coro::executor, 20ms);
  co_await pause.async_wait(net::use_awaitable);  // the jobs have started

  jobs.abort(1, net::cancellation_type::total);  // a request, not an abort...
  auto one = co_await jobs.async_join(1);         // ...job 1 keeps its value
  std::cout << "job 1 stopped early: " << one->value() << "\n";

  // Ask every task to stop, give them 200 ms, then abort the rest (job 4).
  co_await jobs.async_shutdown(200ms);
}
// [graceful]
// clang-format on

// clang-format off
// [limit]
// A crawler that fetches at most 8 pages at once: the map queues the rest
// and starts them, in spawn order, as fetches finish. A failed fetch makes
// value() throw in the body: the scope aborts the other fetches (the queued
// ones never start) and rethrows once they have all ended.
net::awaitable<void> crawl(std::vector<std::string> urls) {
  using page_map = joinery::join_map<std::string, std::string>;
  co_await joinery::keyed_scope<std::string, std::string>([&](page_map& pages) -> net::awaitable<void> {
    pages.set_concurrency_limit(8);
    for (auto& url : urls) pages.spawn(url, fetch(url));  // never waits
    std::cout << pages.queued_count() << " fetches queued\n";
    while (auto page = co_await pages.async_join_next())
      std::cout << page->first << ": " << page->second.value().size() << " bytes\n";
  });
}

// A producer that waits for a slot instead of queueing: async_spawn
// completes once its task has started.
net::awaitable<void> produce(joinery::join_set<std::string>& workers,
                             std::vector<std::string> urls) {
  for (auto& url : urls)
    co_await workers.async_spawn(fetch(url));  // holds no queue of its own
}
// [limit]
// clang-format on

// clang-format off
// [deadlines]
net::awaitable<void> with_deadlines() {
  joinery::join_set<int> jobs(co_await net::this_coro::executor);
  jobs.spawn_with_timeout(100ms, slow_job(1));   // finishes in 10 ms: keeps its value
  jobs.spawn_with_timeout(5ms, slow_job(500));   // still running at 5 ms: timed out
  while (auto r = co_await jobs.async_join_next()) {
    if (*r) std::cout << "job " << r->value() << " done\n";
    else if (r->error().is_timed_out()) std::cout << r->error().message() << "\n";
  }
}
// [deadlines]
// clang-format on

// clang-format off
// [threads]
void threads() {
  net::io_context io;                        // run by 4 threads below
  auto strand = net::make_strand(io);        // the map's "thread"
  net::co_spawn(strand, [&]() -> net::awaitable<void> {
    // Members and join handlers run on the strand; the tasks run on all
    // four threads, each serialized with its own aborts.
    joinery::join_map<int, int> map(io.get_executor());
    for (int i = 0; i < 100; ++i) map.spawn(i, slow_job(i % 3));
    int sum = 0;
    while (auto next = co_await map.async_join_next()) sum += next->second.value();
    std::cout << "sum " << sum << "\n";
  }, net::detached);
  std::vector<std::thread> pool;
  for (int i = 0; i < 4; ++i) pool.emplace_back([&] { io.run(); });
  for (auto& t : pool) t.join();
}
// [threads]
// clang-format on

// clang-format off
// [pitfall-captures]
net::awaitable<void> captures() {
  joinery::join_set<std::size_t> set(co_await net::this_coro::executor);
  auto name = std::make_shared<std::string>("report.txt");

  // Wrong: a coroutine lambda invoked at once. The lambda object is a
  // temporary, gone before the coroutine runs, and with it `name`.
  //   set.spawn([name]() -> net::awaitable<std::size_t> { co_return name->size(); }());

  // Right: hand joinery the lambda itself; it keeps it alive until the task ends.
  set.spawn([name]() -> net::awaitable<std::size_t> { co_return name->size(); });
  // Also right: a coroutine function taking its state by value.
  auto length = [](std::shared_ptr<std::string> n) -> net::awaitable<std::size_t> { co_return n->size(); };
  set.spawn(length(name));

  co_await set.async_join_all();
}
// [pitfall-captures]
// clang-format on

// clang-format off
// [pitfall-conditional]
net::awaitable<std::string> page(bool fresh, std::string cached) {
  // Wrong under g++ 12: the result of a co_await that is an operand of ?:
  // is destroyed twice, and here `body` is left holding freed memory.
  //   std::string body = fresh ? co_await fetch("https://example.org/") : cached;

  // Right: await into a local first.
  std::string body = std::move(cached);
  if (fresh) body = co_await fetch("https://example.org/");
  co_return body;
}
// [pitfall-conditional]
// clang-format on

}  // namespace

int main() {
  net::io_context io;
  net::co_spawn(
      io,
      [&io]() -> net::awaitable<void> {
        co_await spawning();
        co_await cancellation();
        co_await per_key();
        co_await graceful();
        co_await crawl(letter_urls("abc"));
        {
          joinery::join_set<std::string> workers(co_await net::this_coro::executor);
          workers.set_concurrency_limit(1);
          co_await produce(workers, letter_urls("xy"));
          co_await workers.async_shutdown();
        }
        co_await with_deadlines();
        co_await captures();
        if (co_await page(true, "old") != "<html>https://example.org/</html>")
          throw std::logic_error("page kept the cached copy");
        std::vector<std::string> chunks;
        for (std::size_t i = 1; i <= 100; ++i)
          chunks.emplace_back(i, 'x');
        if (co_await total_size(chunks) != 5050)
          throw std::logic_error("drain lost a result");
        std::vector<std::string> texts;  // 2 + 1 + 3 words
        texts.emplace_back("one two");
        texts.emplace_back("three");
        texts.emplace_back("four five six");
        if (co_await total_words(texts) != 6)
          throw std::logic_error("total_words miscounted");
        co_await all_or_nothing();
        auto pages = co_await fetch_all(letter_urls("ab"), 1s);
        if (pages.size() != 2 || pages[1] != "<html>b</html>")
          throw std::logic_error("fetch_all lost a page");
        try {
          // "a" takes 1 ms, the long url 200 ms: past its 50 ms budget.
          auto urls = letter_urls("a");
          urls.emplace_back(200, 'x');
          co_await fetch_all(urls, 50ms);
          throw std::logic_error("fetch_all did not fail");
        } catch (const joinery::task_timed_out& e) {
          std::cout << "fetch_all: " << e.what() << "\n";
        }
        auto done = co_await within(100ms);
        if (done.size() != 2 || done[0] != 1 || done[1] != 2)
          throw std::logic_error("within: the scope did not wait, or did not abort");
        co_await look_inside();
        // The server loop, for a moment: one client echoes, then the loop is cancelled.
        tcp::acceptor acceptor(co_await net::this_coro::executor,
                               {net::ip::make_address("127.0.0.1"), 0});
        auto port = acceptor.local_endpoint().port();
        auto client = [port]() -> net::awaitable<void> {
          tcp::socket s(co_await net::this_coro::executor);
          co_await s.async_connect({net::ip::make_address("127.0.0.1"), port}, net::use_awaitable);
          co_await net::async_write(s, net::buffer(std::string("ping")), net::use_awaitable);
          char reply[4];
          co_await net::async_read(s, net::buffer(reply), net::use_awaitable);
        };
        co_await (serve(acceptor, io) || client());
      },
      [](std::exception_ptr e) {
        if (e)
          std::rethrow_exception(e);
      });
  io.run();
  threads();
  std::cout << "guide snippets: ok\n";
}
