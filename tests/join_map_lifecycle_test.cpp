// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// The lifecycle combination test (tokio's task_combinations, docs/spec.md R2):
//   executor {1 thread, 4 threads} x task outcome {value, throws, never}
//   x abort point {none, before first resume, while suspended,
//                  finished but unjoined, after join, while queued}
//   x abort source {key, predicate, all, destructor, same-key replace}
//   x join mode {async, try, none}
// = 540 cases, each asserting the outcome invariants (AC-33): the task's
// state is always destroyed; a value iff it was not aborted before it
// finished; cancelled only if aborted; an exception only if it threw; at
// most one outcome, none for a replaced or destroyed-unjoined task; and no
// live object left afterwards. "While queued": the map has a concurrency
// limit of 1 and a blocker task under another key holds the slot, so the
// task waits in the queue when it is aborted (the blocker is released
// after the abort; its outcomes are not the case's).

#include <joinery/join_map.hpp>

#include "support/test_support.hpp"

#include "support/asio.hpp"

#include <atomic>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using namespace joinery::test;
namespace net = joinery::asio;
using net::awaitable;

enum class exec_kind { one_thread, four_threads };
enum class ending { value, throws, never };
enum class abort_point {
  none,
  before_first_resume,
  while_suspended,
  finished_unjoined,
  after_join,
  while_queued
};
enum class abort_source { key, predicate, all, destructor, replace };
enum class join_mode { async, try_, none };

const char* name(exec_kind e) {
  return e == exec_kind::one_thread ? "1 thread" : "4 threads";
}
const char* name(ending e) {
  static const char* n[] = {"value", "throws", "never"};
  return n[static_cast<int>(e)];
}
const char* name(abort_point p) {
  static const char* n[] = {
      "none",       "before first resume", "while suspended", "finished unjoined",
      "after join", "while queued"};
  return n[static_cast<int>(p)];
}
const char* name(abort_source s) {
  static const char* n[] = {"key", "predicate", "all", "destructor", "replace"};
  return n[static_cast<int>(s)];
}
const char* name(join_mode j) {
  static const char* n[] = {"async", "try", "none"};
  return n[static_cast<int>(j)];
}

using map_type = joinery::join_map<int, counted>;
using next_type = std::optional<map_type::value_type>;

// Thread-safe task controls: the task reports that it started and waits
// (polling, a cancellable suspension) until released.
struct controls {
  std::atomic<bool> started{false};
  std::atomic<bool> released{false};
};

awaitable<counted> scripted(std::shared_ptr<controls> c, ending e, counted marker) {
  c->started = true;
  while (!c->released)
    co_await sleep_for(1ms);
  if (e == ending::throws)
    throw std::runtime_error("task failure");
  if (e == ending::never)
    co_await forever();
  co_return counted(marker.value);
}

// One io_context, run by the test thread (1 thread) or by four threads.
class executor_fixture {
 public:
  explicit executor_fixture(exec_kind k) : kind_(k), io_(k == exec_kind::one_thread ? 1 : 4) {
    if (k == exec_kind::four_threads)
      threads_.emplace(io_, 4);
  }
  // Lets the context run out of work and waits for its threads, if any.
  void stop() { threads_.reset(); }
  net::io_context& io() { return io_; }

  // Runs until pred holds (bounded).
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      if (kind_ == exec_kind::one_thread) {
        io_.restart();
        if (io_.poll() == 0)
          std::this_thread::sleep_for(100us);
      } else {
        std::this_thread::sleep_for(100us);
      }
    }
    return true;
  }

  // Joins once, waiting; the handler runs on the map's executor.
  next_type join_async(map_type& map) {
    if (kind_ == exec_kind::four_threads) {
      // The future orders the handler (on an io thread) before our next call.
      return map.async_join_next(net::use_future).get();
    }
    next_type result;
    bool done = false;
    map.async_join_next([&](joinery::error_code ec, next_type n) {
      REQUIRE_FALSE(ec);
      result = std::move(n);
      done = true;
    });
    REQUIRE(run_until([&] { return done; }));
    return result;
  }

 private:
  exec_kind kind_;
  net::io_context io_;
  std::optional<threads_running> threads_;  // four_threads only
};

// Across all cases, how often each kind of outcome was seen: proof that the
// combinations really exercise every branch.
struct tally {
  int values = 0, exceptions = 0, cancelled = 0, unreported = 0, replacements = 0;
} totals;

struct observed {
  int original = 0;  // outcomes delivered for the original task
  std::optional<joinery::join_result<counted>> original_result;
  int replacement = 0;  // outcomes delivered for the replacement (value 7)
};

void run_case(exec_kind ek, ending e, abort_point ap, abort_source as, join_mode jm) {
  const int before = counted::live;
  auto c = std::make_shared<controls>();
  joinery::abort_handle h;
  observed seen;
  bool aborted_while_unfinished = false;
  bool replaced = false;
  bool destroyed = false;
  bool joined_before_abort = false;  // the original was delivered before the abort
  {
    executor_fixture ex(ek);
    std::optional<map_type> map(std::in_place, ex.io().get_executor());
    const int key = 1;
    auto blocker = std::make_shared<controls>();
    if (ap == abort_point::while_queued) {
      map->set_concurrency_limit(1);
      map->spawn(0, scripted(blocker, ending::value, counted(0)));
    }
    h = map->spawn(key, scripted(c, e, counted(42)));

    auto record = [&](next_type& next) {
      REQUIRE(next);
      if (next->first == 0)
        return;  // the blocker of a "while queued" case
      REQUIRE(next->first == key);
      if (next->second.has_value() && next->second.value().value == 7) {
        ++seen.replacement;
      } else {
        ++seen.original;
        seen.original_result = std::move(next->second);
      }
    };
    auto join_all = [&] {
      if (!map)
        return;
      if (jm == join_mode::async) {
        // A task that can never finish is not waited for.
        const bool can_finish =
            !(e == ending::never && !aborted_while_unfinished && !replaced) || map->empty();
        if (!can_finish) {
          CHECK_FALSE(map->try_join_next());
          return;
        }
        while (auto next = ex.join_async(*map))
          record(next);
      } else if (jm == join_mode::try_) {
        const bool finishes = !(e == ending::never && !aborted_while_unfinished && !replaced);
        if (finishes) {
          REQUIRE(ex.run_until([&] {
            auto next = map->try_join_next();
            if (next)
              record(next);
            return map->empty();
          }));
        } else {
          CHECK_FALSE(map->try_join_next());
        }
      }
    };
    auto apply_abort = [&] {
      joined_before_abort = seen.original > 0;
      aborted_while_unfinished = !h.is_finished();
      switch (as) {
        case abort_source::key:
          CHECK(map->abort(key) == map->contains(key));
          break;
        case abort_source::predicate:
          CHECK(map->abort_matching([&](int k) { return k == key; }) ==
                (map->contains(key) ? 1u : 0u));
          break;
        case abort_source::all:
          map->abort_all();
          break;
        case abort_source::destructor:
          map.reset();
          destroyed = true;
          break;
        case abort_source::replace:
          map->spawn(key, []() -> awaitable<counted> { co_return counted(7); });
          replaced = true;
          break;
      }
    };

    switch (ap) {
      case abort_point::none:
        c->released = true;
        break;
      case abort_point::before_first_resume:
        apply_abort();
        c->released = true;
        break;
      case abort_point::while_suspended:
        REQUIRE(ex.run_until([&] { return c->started.load(); }));
        apply_abort();
        c->released = true;
        break;
      case abort_point::finished_unjoined:
        c->released = true;
        if (e != ending::never)
          REQUIRE(ex.run_until([&] { return h.is_finished(); }));
        apply_abort();
        break;
      case abort_point::after_join:
        c->released = true;
        join_all();
        apply_abort();
        break;
      case abort_point::while_queued:
        CHECK(map->queued_count() == 1);
        CHECK_FALSE(c->started);
        apply_abort();
        blocker->released = true;
        c->released = true;
        break;
    }
    join_all();
    map.reset();  // aborts whatever is left (a task that never finishes)
    // Only the delivered value itself may still be alive.
    const int kept = seen.original_result && seen.original_result->has_value() ? 1 : 0;
    REQUIRE(ex.run_until([&] { return counted::live == before + kept; }));
    ex.stop();
  }

  // --- The invariants. ---
  CHECK(h.is_finished());  // the task always ended, its state released
  CHECK(seen.original <= 1);
  CHECK(seen.replacement <= 1);
  if (replaced && !joined_before_abort)
    CHECK(seen.original == 0);  // replaced: never reported
  if (destroyed && !joined_before_abort)
    CHECK(seen.original == 0);
  totals.replacements += seen.replacement;
  if (!seen.original_result)
    ++totals.unreported;
  if (seen.original_result) {
    auto& r = *seen.original_result;
    if (r.has_value())
      ++totals.values;
    else if (r.error().is_cancelled())
      ++totals.cancelled;
    else
      ++totals.exceptions;
    const bool aborted = aborted_while_unfinished && !joined_before_abort;
    if (r.has_value()) {
      CHECK(e == ending::value);  // a value only from a task that returned one...
      CHECK_FALSE(aborted);       // ...and was not aborted before it finished
      CHECK(r.value().value == 42);
    } else if (r.error().is_cancelled()) {
      CHECK(aborted);  // cancelled only if aborted
    } else {
      CHECK(e == ending::throws);  // an exception only if it threw
      CHECK_FALSE(aborted);
    }
  } else if (jm != join_mode::none && !replaced && !destroyed &&
             !(e == ending::never && ap == abort_point::none)) {
    // A joined group reports its task (unless it can never finish).
    FAIL_CHECK("the task's outcome was never reported");
  }
  if (replaced && jm != join_mode::none && !destroyed)
    CHECK(seen.replacement == 1);
}

}  // namespace

TEST_CASE("join_map: lifecycle combinations, 540 cases, keep the outcome invariants (AC-33)",
          "[join_map][lifecycle][threads]") {
  int cases = 0;
  for (auto ek : {exec_kind::one_thread, exec_kind::four_threads}) {
    for (auto e : {ending::value, ending::throws, ending::never}) {
      for (auto ap :
           {abort_point::none, abort_point::before_first_resume, abort_point::while_suspended,
            abort_point::finished_unjoined, abort_point::after_join, abort_point::while_queued}) {
        for (auto as : {abort_source::key, abort_source::predicate, abort_source::all,
                        abort_source::destructor, abort_source::replace}) {
          for (auto jm : {join_mode::async, join_mode::try_, join_mode::none}) {
            std::ostringstream what;
            what << name(ek) << ", " << name(e) << ", abort " << name(ap) << " by " << name(as)
                 << ", join " << name(jm);
            INFO(what.str());
            run_case(ek, e, ap, as, jm);
            ++cases;
          }
        }
      }
    }
  }
  CHECK(cases == 540);
  INFO("values " << totals.values << ", exceptions " << totals.exceptions << ", cancelled "
                 << totals.cancelled << ", unreported " << totals.unreported << ", replacements "
                 << totals.replacements);
  CHECK(totals.values > 0);
  CHECK(totals.exceptions > 0);
  CHECK(totals.cancelled > 0);
  CHECK(totals.unreported > 0);
  CHECK(totals.replacements > 0);
  CHECK(totals.values + totals.exceptions + totals.cancelled + totals.unreported == 540);
}
