// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// Invariant fuzzer for join_map with tasks on 4 threads. The input is a
// script of operations run by a driver coroutine on a strand (the map's
// thread) while the tasks run on per-task strands of a 4-thread io_context.
// Timing is not under the script's control, so there is no exact model;
// the invariants are:
//   - a result is only ever delivered for the key's current task (never a
//     replaced, detached or destroyed one), at most once;
//   - cancelled only if aborted;
//   - after the final drain, delivered == spawned - replaced - detached -
//     dropped with a destroyed map, exactly;
//   - nothing is left alive (counted objects) once the io_context stopped.
// Linked into a libFuzzer target and into a corpus
// replay run by ctest in every build, ThreadSanitizer's included.

#include <joinery/join_map.hpp>

#include "../support/asio.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

namespace net = joinery::asio;

[[noreturn]] void violation(const char* what, int line) {
  std::fprintf(stderr, "join_map_threads_fuzz: invariant broken at line %d: %s\n", line, what);
  std::abort();
}

#define FUZZ_CHECK(cond)          \
  do {                            \
    if (!(cond))                  \
      violation(#cond, __LINE__); \
  } while (false)

std::atomic<int> live_objects{0};

struct counted {
  std::uint32_t v;
  explicit counted(std::uint32_t x) : v(x) { ++live_objects; }
  counted(const counted& o) : v(o.v) { ++live_objects; }
  counted(counted&& o) noexcept : v(o.v) { ++live_objects; }
  ~counted() { --live_objects; }
};

class input {
 public:
  input(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ == end_; }
  std::uint8_t byte() { return p_ == end_ ? 0 : *p_++; }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

using map_type = joinery::join_map<std::uint8_t, counted>;

struct figures {
  long spawned = 0, replaced = 0, detached = 0, dropped = 0, delivered = 0;
};

// A task: a few yields or short sleeps, then its value, or an exception.
net::awaitable<counted> task(std::uint32_t gen, std::uint8_t shape) {
  const int steps = shape % 4;
  for (int i = 0; i < steps; ++i) {
    if (shape & 0x10) {
      net::steady_timer t(co_await net::this_coro::executor, std::chrono::microseconds(50));
      co_await t.async_wait(net::use_awaitable);
    } else {
      co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
    }
  }
  if (shape & 0x20)
    throw std::runtime_error("scripted failure");
  co_return counted(gen);
}

// `ex` is the driver's strand; tasks are spawned on the whole io_context
// (`io_ex`), so each gets a strand of its own.
net::awaitable<void> drive(input& in, figures& f, net::io_context::executor_type io_ex) {
  auto ex = co_await net::this_coro::executor;
  std::optional<map_type> map(std::in_place, ex);
  std::map<std::uint8_t, std::uint32_t> current;  // key -> generation
  std::set<std::uint32_t> aborted, delivered;
  std::uint32_t next_gen = 0;

  auto check_delivery = [&](std::optional<map_type::value_type>& next) {
    FUZZ_CHECK(next);
    auto it = current.find(next->first);
    FUZZ_CHECK(it != current.end());
    const std::uint32_t gen = it->second;
    FUZZ_CHECK(delivered.insert(gen).second);
    auto& r = next->second;
    if (r.has_value())
      FUZZ_CHECK(r->v == gen);
    if (r.has_error() && r.error().is_cancelled())
      FUZZ_CHECK(aborted.count(gen) != 0);
    current.erase(it);
    ++f.delivered;
  };

  for (int ops = 0; !in.done() && ops < 2048; ++ops) {
    switch (in.byte() % 10) {
      case 0:
      case 1: {
        const std::uint8_t key = in.byte() % 32;
        const std::uint8_t shape = in.byte();
        if (current.count(key))
          ++f.replaced;
        const std::uint32_t gen = next_gen++;
        map->spawn_on(key, io_ex, task(gen, shape));
        current[key] = gen;
        ++f.spawned;
        break;
      }
      case 2: {
        const std::uint8_t key = in.byte() % 32;
        auto it = current.find(key);
        if (it != current.end())
          aborted.insert(it->second);
        FUZZ_CHECK(map->abort(key) == (it != current.end()));
        break;
      }
      case 3: {
        const unsigned m = 2 + in.byte() % 5;
        for (auto& [k, gen] : current)
          if (k % m == 0)
            aborted.insert(gen);
        map->abort_matching([m](std::uint8_t k) { return k % m == 0; });
        break;
      }
      case 4:
        for (auto& [k, gen] : current)
          aborted.insert(gen);
        map->abort_all();
        break;
      case 5:
        if (auto next = map->try_join_next())
          check_delivery(next);
        break;
      case 6:
        if (!map->empty()) {
          auto next = co_await map->async_join_next();
          check_delivery(next);
        }
        break;
      case 7:
        f.detached += static_cast<long>(current.size());
        current.clear();
        map->detach_all();
        break;
      case 8:
        f.dropped += static_cast<long>(current.size());
        current.clear();
        map.emplace(ex);  // destroys the old map: aborts its tasks
        break;
      case 9: {
        // Let the tasks run a little.
        net::steady_timer t(ex, std::chrono::microseconds(20 * (in.byte() % 8)));
        co_await t.async_wait(net::use_awaitable);
        break;
      }
    }
    FUZZ_CHECK(map->size() == current.size());
  }
  while (auto next = co_await map->async_join_next())
    check_delivery(next);
  FUZZ_CHECK(current.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in(data, size);
  figures f;
  {
    net::io_context io;
    auto guard = net::make_work_guard(io);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
      threads.emplace_back([&io] { io.run(); });
    std::atomic<bool> done{false};
    std::exception_ptr error;
    net::co_spawn(net::make_strand(io), drive(in, f, io.get_executor()), [&](std::exception_ptr e) {
      error = e;
      done = true;
    });
    while (!done)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    guard.reset();
    for (auto& t : threads)
      t.join();
    if (error)
      std::rethrow_exception(error);
  }
  FUZZ_CHECK(f.delivered == f.spawned - f.replaced - f.detached - f.dropped);
  FUZZ_CHECK(live_objects == 0);
  return 0;
}
