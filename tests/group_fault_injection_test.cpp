// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Fault injection: the Nth allocation fails during spawn, join and abort.
// Every failure must leave the map as it was (strong guarantee for spawn:
// no task left running untracked, a replaced task not aborted), let the
// exception through with its message, and leak nothing.
//
// This program replaces the global allocation functions (operator new and
// aligned_alloc, which Asio's recycling allocator uses), so it is its own
// executable. Failures are injected only on the test thread, only while
// armed, and the io_context is single-threaded.

#include <joinery/join_map.hpp>

#include "support/test_support.hpp"

#include <atomic>
#include <cstdlib>
#include <new>
#include <set>
#include <string>

namespace fault {

// -1: off. n >= 0: the allocation after n more succeed fails.
thread_local long countdown = -1;
thread_local long failures = 0;

bool fail_now() {
  if (countdown < 0)
    return false;
  if (countdown-- > 0)
    return false;
  countdown = -1;
  ++failures;
  return true;
}

// Arms for one call: the nth allocation (0-based) in it fails.
struct armed {
  explicit armed(long n) { countdown = n; }
  ~armed() { countdown = -1; }
};

}  // namespace fault

void* operator new(std::size_t n) {
  if (fault::fail_now())
    throw std::bad_alloc();
  if (void* p = std::malloc(n ? n : 1))
    return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return ::operator new(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (fault::fail_now())
    throw std::bad_alloc();
  void* p = nullptr;
  if (posix_memalign(&p, std::max(static_cast<std::size_t>(a), sizeof(void*)), n ? n : 1) == 0)
    return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (fault::fail_now())
    return nullptr;
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

// Asio's recycling allocator (coroutine frames, handler memory) allocates
// with aligned_alloc: interpose it too.
extern "C" void* aligned_alloc(std::size_t align, std::size_t size) {
  if (fault::fail_now())
    return nullptr;
  void* p = nullptr;
  if (posix_memalign(&p, std::max(align, sizeof(void*)), size ? size : 1) != 0)
    return nullptr;
  return p;
}

namespace {

using namespace joinery::test;
namespace net = joinery::asio;
using net::awaitable;

using int_map = joinery::join_map<int, int>;

std::set<int> keys_of(const int_map& m) {
  return {m.keys().begin(), m.keys().end()};
}

void drain(net::io_context& io) {
  io.restart();
  io.poll();
}

}  // namespace

TEST_CASE(
    "fault injection: a spawn that runs out of memory leaves the map unchanged and no "
    "task running (AC-15)",
    "[fault]") {
  for (bool replace : {false, true}) {
    long injected = 0;
    for (long n = 0;; ++n) {
      INFO("allocation " << n << (replace ? ", replacing a key" : ", new key"));
      const int before = counted::live;
      net::io_context io(1);
      {
        int_map map(io.get_executor());
        auto pending = map.spawn(1, [c = counted(1)]() -> awaitable<int> {
          co_await forever();
          co_return c.value;
        });
        map.spawn(2, value_now(2));
        drain(io);
        const auto keys = keys_of(map);
        bool ran = false;
        bool threw = false;
        try {
          fault::armed arm(n);
          map.spawn(replace ? 1 : 3, [&ran, c = counted(3)]() -> awaitable<int> {
            ran = true;
            co_return c.value;
          });
        } catch (const std::bad_alloc& e) {
          threw = true;
          CHECK(std::string(e.what()).find("bad_alloc") != std::string::npos);
        }
        if (!threw) {
          CHECK(injected > 0);  // the loop found allocations to fail first
          break;
        }
        ++injected;
        // Unchanged: same keys, the old task under key 1 neither replaced
        // nor aborted, and the new task never started.
        CHECK(keys_of(map) == keys);
        CHECK(map.contains_task(pending.id()));
        drain(io);
        CHECK_FALSE(ran);
        CHECK_FALSE(pending.is_finished());
        auto two = map.try_join_next();
        REQUIRE(two);
        CHECK(two->first == 2);
        CHECK(map.size() == 1);
      }
      drain(io);
      CHECK(counted::live == before);
    }
    CHECK(injected >= 2);
  }
}

TEST_CASE("fault injection: a join that runs out of memory consumes nothing", "[fault]") {
  long injected = 0;
  for (long n = 0;; ++n) {
    net::io_context io(1);
    int_map map(io.get_executor());
    map.spawn(1, value_now(1));
    drain(io);
    int calls = 0;
    bool threw = false;
    try {
      fault::armed arm(n);
      map.async_join_next([&](joinery::error_code, std::optional<int_map::value_type> next) {
        ++calls;
        CHECK(next);
      });
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    drain(io);
    if (!threw) {
      CHECK(calls == 1);
      break;
    }
    ++injected;
    CHECK(calls == 0);
    // The result is still there for the next join, which works.
    CHECK(map.size() == 1);
    map.async_join_next([&](joinery::error_code ec, std::optional<int_map::value_type> next) {
      ++calls;
      CHECK_FALSE(ec);
      REQUIRE(next);
      CHECK(next->second.value() == 1);
    });
    drain(io);
    CHECK(calls == 1);
  }
  CHECK(injected >= 1);
}

TEST_CASE("fault injection: an abort that runs out of memory can be retried", "[fault]") {
  long injected = 0;
  for (long n = 0;; ++n) {
    const int before = counted::live;
    net::io_context io(1);
    {
      int_map map(io.get_executor());
      auto h = map.spawn(1, [c = counted(1)]() -> awaitable<int> {
        co_await forever();
        co_return c.value;
      });
      drain(io);  // started and suspended
      bool threw = false;
      bool found = false;
      try {
        fault::armed arm(n);  // no Catch macro while armed: they allocate
        found = map.abort(1);
      } catch (const std::bad_alloc&) {
        threw = true;
      }
      if (!threw)
        CHECK(found);
      if (threw) {
        ++injected;
        CHECK(map.contains(1));
        drain(io);
        CHECK_FALSE(h.is_finished());  // the cancellation never got out...
        CHECK(map.abort(1));           // ...so try again
      }
      drain(io);
      CHECK(h.is_finished());
      auto next = map.try_join_next();
      REQUIRE(next);
      CHECK(next->second.error().is_cancelled());
      if (!threw)
        break;
    }
    drain(io);
    CHECK(counted::live == before);
  }
  CHECK(injected >= 1);
}

TEST_CASE("fault injection: try_join_next and abort of a finished task allocate nothing",
          "[fault]") {
  net::io_context io(1);
  int_map map(io.get_executor());
  map.spawn(1, value_now(1));
  map.spawn(2, value_now(2));
  drain(io);
  const long failures_before = fault::failures;
  bool aborted = false;
  std::optional<int_map::value_type> next;
  {
    fault::armed arm(0);  // the very next allocation would fail
    aborted = map.abort(2);
    next = map.try_join_next();
  }
  CHECK(fault::failures == failures_before);
  CHECK(aborted);
  REQUIRE(next);
  CHECK(map.contains(3 - next->first));
}

TEST_CASE("fault injection: destroying a map when nothing can be allocated does not throw",
          "[fault]") {
  const int before = counted::live;
  {
    net::io_context io(1);
    {
      int_map map(io.get_executor());
      map.spawn(1, [c = counted(1)]() -> awaitable<int> {
        co_await forever();
        co_return c.value;
      });
      drain(io);
      fault::armed arm(0);
      // ~join_map: the cancellation cannot be posted; the task is orphaned
      // and merely runs on, until its io_context goes.
    }
    drain(io);
  }
  CHECK(counted::live == before);
}
