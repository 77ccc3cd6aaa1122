// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// Differential fuzzer for join_map: every input is a script of operations on
// a join_map driven by a single-threaded io_context that the script steps one
// handler at a time. A reference model says what each operation must return.
//
// The first byte picks the key type (bit 0) and the alphabet (bits 1-3): the
// base alphabet of 16 operations, the extended one of 32, the shutdown
// alphabet of 36, or the fail-fast alphabet of 38. The extended one adds the per-key operations
// (async_join, detach, is_finished, get_abort_handle), joins that wait while empty, ready_count,
// and graceful requests (abort with partial or total cancellation: ops 22-23), and scheduling (ops
// 24-31): set_concurrency_limit, try_spawn, async_spawn and its cancellation, spawn_with_deadline
// with a deadline already due (the timer fires at the next poll) or far away, queued_count. The
// model keeps the queue: a task spawned while the limit's tasks run (or while tasks are queued)
// waits in it, in order, and starts as slots free. The shutdown alphabet (first byte 4-7) adds
// async_shutdown() and async_shutdown(grace) with a grace of zero, less than zero, a few
// milliseconds or an hour (op 32), cancelling it (33), letting the short
// grace period pass (34: the harness sleeps past it, then runs the context),
// and aborting or asking any task ever spawned through its abort_handle
// (35); and in it, tasks may be graceful: they accept every cancellation
// type and, asked (partial or total) or aborted, stop at their next
// suspension point and return their value. The fail-fast alphabet (first
// byte 8-15) adds async_join_all, with joinery::fail_fast or without (op
// 36), and cancelling it (37).
//
// Tasks are scripted coroutines: 0-4 suspension points (a gate the script
// opens, or a yield that completes by itself), then an outcome (a value, an
// exception, or never finishing). Each records how its body ended (ran its
// script through, stopped when asked, stopped or unwound when aborted), and
// the model says which endings each task may have: only an aborted task
// (aborted by key, predicate, all, handle, replacement, deadline, the map's
// destruction or a shutdown) may end aborted, only an asked graceful one
// may stop when asked, and at quiescence every task that is neither aborted
// nor asked is exactly where its script says (waiting at a closed gate or
// forever, or ended), with abort_handle::is_finished() true exactly when
// its body ended. So a detached task (not the map's any more) must run on:
// its gate can still be opened, it reaches its end, the map's destruction
// does not cancel it, and only its own abort_handle aborts it. Keys are
// uint8_t (many replacements) or short strings. Checked after every
// operation:
//   - size(), contains(), keys() equal the model's;
//   - every delivered result belongs to the key's current task (never to a
//     replaced or detached one: tokio#7257), is delivered at most once, has
//     the outcome the model expects (its value or exception; cancelled iff
//     aborted before it finished), and results come in the order tasks
//     finished;
//   - no join is left waiting while a result is deliverable (after running
//     the executor to quiescence: a lost wake-up, tokio PR 8279);
//   - a join's handler never runs inside the initiating call;
//   - a cancelled join completes with operation_aborted and consumes nothing.
// A pending shutdown takes finished tasks in completion order and discards
// them; it completes with success only when the map is empty, with
// operation_aborted when cancelled or the map is destroyed (its remaining
// tasks stay in the map, the aborts it issued stand, and those it only
// asked run on), and with already_started beside another join. Without a
// grace period (or with one of zero or less) it aborts every task at once;
// with one, it aborts at once only the tasks that had not started and asks
// the others (total), which must then run on until the grace period ends:
// an hour never ends while the script runs, and a task aborted while the
// clock is short of the few milliseconds is a divergence. Once the clock
// passes that point the timer may fire at any handler: from then on the
// model accepts both outcomes for the tasks it would abort, until op 34
// lets the period pass and every one of them must have ended. A shutdown
// refused because another join is pending aborts and asks nothing.
// A pending async_join_all takes finished tasks in completion order (not
// those a pending async_join waits for: it waits until they are gone) and
// delivers every outcome it took, in that order, each checked as above:
// with success once the map is empty; with operation_aborted and what it
// took so far when cancelled or the map is destroyed (the rest stay); with
// already_started beside another join (async_join_next, async_shutdown,
// async_join_all). With fail_fast, the first outcome it takes that is a
// failure (an exception or a timeout; a cancellation is none) makes it
// abort every task then in the map: those that had not ended are
// cancelled, aborts stand when it is cancelled or the map destroyed
// afterwards, tasks spawned later are not aborted, and it completes with
// joinery::error::task_failed once the map is empty. Where the model cannot
// tell whether an outcome is a failure (a due deadline may have fired
// first), the aborts may have happened, and the outcomes settle it.
// The counters: after every operation and every handler, stats() equals the
// model's (spawned, a replacement included; detached, each task detach(key)
// and detach_all() take; peak_size; peak_queued; and the outcomes, each
// counted when its task ends, joined or not: succeeded, failed, cancelled
// when aborted before it finished, replaced before it ended or aborted
// while queued, timed out), snapshot() lists the map's tasks in spawn order
// and info(key) gives each task's state (queued, running, finished) and
// whether an abort was requested.
// At the end the io_context is destroyed with tasks still suspended: each
// must then be reported cancelled (AC-30), and every task frame, key and
// value object must be gone (counted objects).
//
// This body is compiled once per build and linked three ways: into a
// libFuzzer target (clang, -fsanitize=fuzzer), into an ordinary program that
// replays a corpus directory (replay_join_map.cpp, run by ctest in every
// build), and into the schedule enumeration (enumerate.cpp).

#include "join_map_fuzz.hpp"

#include <joinery/join_map.hpp>
#include <joinery/wait_if_empty.hpp>

#include "../support/asio.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace join_map_fuzz {

namespace net = joinery::asio;

[[noreturn]] void violation(const char* what, int line) {
  std::fprintf(stderr, "join_map_fuzz: model divergence at line %d: %s\n", line, what);
  std::abort();
}

#define FUZZ_CHECK(cond)          \
  do {                            \
    if (!(cond))                  \
      violation(#cond, __LINE__); \
  } while (false)

// --- Counted objects -------------------------------------------------------

struct counters {
  int keys = 0;
  int values = 0;
  int frames = 0;
};
counters live;

abort_outcomes aborted_outcomes;

// A key: a uint8_t or a short string, counted.
template <class Raw>
struct counted_key {
  Raw raw;
  explicit counted_key(Raw r) : raw(std::move(r)) { ++live.keys; }
  counted_key(const counted_key& o) : raw(o.raw) { ++live.keys; }
  counted_key(counted_key&& o) noexcept : raw(std::move(o.raw)) { ++live.keys; }
  counted_key& operator=(const counted_key&) = default;
  counted_key& operator=(counted_key&&) noexcept = default;
  ~counted_key() { --live.keys; }
  friend bool operator==(const counted_key& a, const counted_key& b) { return a.raw == b.raw; }
  friend bool operator<(const counted_key& a, const counted_key& b) { return a.raw < b.raw; }
  template <class H>
  friend H AbslHashValue(H h, const counted_key& k) {
    return H::combine(std::move(h), k.raw);
  }
};

struct fvalue {
  std::uint32_t v;
  explicit fvalue(std::uint32_t x) : v(x) { ++live.values; }
  fvalue(const fvalue& o) : v(o.v) { ++live.values; }
  fvalue(fvalue&& o) noexcept : v(o.v) { ++live.values; }
  ~fvalue() { --live.values; }
};

// --- Input ------------------------------------------------------------------

class input {
 public:
  input(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ == end_; }
  std::uint8_t byte() { return p_ == end_ ? 0 : *p_++; }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// --- Scripted tasks -----------------------------------------------------------

enum class ending : std::uint8_t { value, throws, never };

struct script {
  int steps = 0;        // suspension points, 0..4
  unsigned yields = 0;  // bit i: suspension i is a yield (else a gate wait)
  ending end = ending::value;
  std::uint32_t value = 0;
  bool graceful = false;  // accepts every cancellation type, and stops when one reaches it
};

// How a task's body ended, as the body itself records it.
enum class how_ended : std::uint8_t {
  running,             // not ended (or never started)
  completed,           // ran its script through: returned its value or threw its exception
  stopped_on_request,  // graceful: a partial or total request reached it; it returned its value
  stopped_on_abort,    // graceful: the terminal abort reached it; it returned its value
  unwound,             // an operation threw: the abort, with Asio's default throw_if_cancelled
  destroyed            // its frame was destroyed while suspended: its io_context went away
};

// What a task's body did, read by the model.
struct trace {
  bool started = false;
  how_ended how = how_ended::running;
};

// A gate a task waits on until the script opens it. Opening before the task
// waits is remembered; waiting is a cancellable suspension point.
struct gate {
  explicit gate(net::any_io_executor ex) : timer(ex, net::steady_timer::time_point::max()) {}
  net::steady_timer timer;
  bool open = false;
  void release() {
    open = true;
    timer.cancel();
  }
};

struct world;

// Records, in its destructor, the order in which task bodies end: joins must
// deliver results in that order. A body that did not say how it ended was
// destroyed while suspended.
struct finish_recorder {
  std::vector<std::uint64_t>* log;
  std::uint64_t gen;
  trace* tr;
  ~finish_recorder() {
    if (tr->how == how_ended::running)
      tr->how = how_ended::destroyed;
    log->push_back(gen);
  }
};

struct frame_counter {
  frame_counter() { ++live.frames; }
  frame_counter(const frame_counter&) = delete;
  ~frame_counter() { --live.frames; }
};

// A graceful task, after each resumption: whether a cancellation reached it
// (then it notes which kind and stops).
bool stop_seen(trace& tr, net::cancellation_type seen) {
  if (seen == net::cancellation_type::none)
    return false;
  tr.how = (seen & net::cancellation_type::terminal) != net::cancellation_type::none
               ? how_ended::stopped_on_abort
               : how_ended::stopped_on_request;
  return true;
}

net::awaitable<fvalue> scripted(std::shared_ptr<gate> g, script s, std::vector<std::uint64_t>* log,
                                std::uint64_t gen, std::shared_ptr<trace> tr) {
  frame_counter fc;
  finish_recorder rec{log, gen, tr.get()};
  tr->started = true;
  if (s.graceful) {
    // Sees partial and total requests too, and is never thrown at: it looks
    // at its cancellation state after every suspension instead.
    co_await net::this_coro::reset_cancellation_state(net::enable_total_cancellation());
    co_await net::this_coro::throw_if_cancelled(false);
  }
  bool stopped = false;
  try {
    for (int i = 0; i < s.steps && !stopped; ++i) {
      if (s.yields & (1u << i)) {
        co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
      } else {
        while (!g->open && !stopped) {
          auto [ec] = co_await g->timer.async_wait(net::as_tuple(net::use_awaitable));
          (void)ec;  // the gate opening cancels the wait; an abort throws at the next co_await
          if (s.graceful)
            stopped = stop_seen(*tr, (co_await net::this_coro::cancellation_state).cancelled());
        }
      }
      if (s.graceful && !stopped)
        stopped = stop_seen(*tr, (co_await net::this_coro::cancellation_state).cancelled());
    }
    if (s.end == ending::never && !stopped) {
      net::steady_timer forever(co_await net::this_coro::executor,
                                net::steady_timer::time_point::max());
      if (s.graceful) {
        while (!stopped) {
          auto [ec] = co_await forever.async_wait(net::as_tuple(net::use_awaitable));
          (void)ec;
          stopped = stop_seen(*tr, (co_await net::this_coro::cancellation_state).cancelled());
        }
      } else {
        co_await forever.async_wait(net::use_awaitable);
      }
    }
  } catch (...) {
    tr->how = how_ended::unwound;
    throw;
  }
  if (!stopped) {
    tr->how = how_ended::completed;
    if (s.end == ending::throws)
      throw std::runtime_error("scripted failure");
  }
  co_return fvalue(s.value);
}

// --- The harness -----------------------------------------------------------

template <class Raw>
class harness {
  using key = counted_key<Raw>;
  using map_type = joinery::join_map<key, fvalue, absl::Hash<key>, std::equal_to<key>>;
  using next_type = std::optional<typename map_type::value_type>;
  using clock = std::chrono::steady_clock;

  struct gen_info {
    Raw raw;
    script s;
    std::shared_ptr<gate> g;
    joinery::abort_handle handle;
    bool abort_requested = false;
    bool cancel_expected = false;  // aborted while unfinished
    bool delivered = false;
    bool unfinished_at_io_death = false;  // its executor was destroyed first
    bool was_reserved = false;            // a keyed join waited for it once
    bool due = false;                     // spawned with a deadline already due
    bool deadline_dropped = false;        // detached: its deadline no longer applies
    std::size_t due_since = 0;            // drains_ when it was spawned with that deadline
    std::shared_ptr<trace> tr = std::make_shared<trace>();
    bool spawned = false;          // it entered the map (its handle is real)
    bool aborted = false;          // a terminal abort was issued to it, by any path
    bool maybe_aborted = false;    // a short grace period may have aborted it
    bool maybe_cancelled = false;  // ... before it finished: reported cancelled or not
    bool requested = false;        // a partial or total request was issued while it ran
    bool settled = false;          // ended, and checked: nothing about it changes any more
    // --- What the counters (stats()) and info() need. ---
    bool replaced_early = false;   // replaced before it ended: counted cancelled
    bool far = false;              // spawned with a deadline an hour away
    bool counted = false;          // ended: its outcome was counted (in `mask`)
    unsigned mask = 0;             // the outcome classes it may have been counted as
    std::uint64_t epoch = 0;       // the map (epoch_) it was spawned into
    std::uint64_t seq = 0;         // its place in spawn order (snapshot())
    clock::time_point deadline{};  // its far deadline
  };

  // The grace period of async_shutdown(grace) with a grace of a few
  // milliseconds: the tasks it asked, which its timer aborts when it fires
  // (at a handler, once the clock has passed `earliest`). While the clock
  // is short of it, a task in `tasks` that finishes leaves the list; once
  // it passed, the tasks still listed may have been aborted at any handler.
  struct grace_watch {
    bool live = false;    // its timer may still fire
    bool window = false;  // the clock passed `earliest` while it was live
    clock::time_point earliest, latest;
    std::vector<std::uint64_t> tasks;
  };

  enum class grace_kind : std::uint8_t { none, zero, negative, short_, far };

  // The pending async_shutdown.
  struct shutdown_record {
    bool pending = false;
    bool cancelled = false;  // cancelled, or the map destroyed: operation_aborted
    grace_kind kind = grace_kind::none;
    grace_watch grace;  // with a short grace period
    net::cancellation_signal signal;
  };

  // A pending async_spawn.
  struct spawn_waiter {
    Raw raw{};
    std::uint64_t gen = 0;   // the task it will spawn
    bool cancelled = false;  // cancelled, or the map destroyed
    bool spawned = false;    // its task is in the map
    net::cancellation_signal signal;
  };

  struct spawn_record {
    spawn_waiter* waiter;
    joinery::error_code ec;
    joinery::abort_handle handle;
  };

  struct join_record {
    bool pending = false;
    bool second_pending = false;
    bool cancelled = false;      // its wait was cancelled
    bool wait_if_empty = false;  // async_join_next(joinery::wait_if_empty)
    net::cancellation_signal signal;
  };

  // What the model knows of a failure its pending fail_fast join took.
  enum class failure : std::uint8_t {
    none,     // none: no outcome it took can be one
    maybe,    // an outcome it took may be one (a due deadline, a short grace)
    certain,  // an outcome it took is one
  };

  // The pending async_join_all (op 36), with or without fail_fast.
  struct join_all_record {
    bool pending = false;
    bool fail_fast = false;
    bool cancelled = false;  // cancelled, or the map destroyed: operation_aborted
    failure failed = failure::none;
    std::vector<std::uint64_t> taken;  // the tasks it took, in the order it took them
    net::cancellation_signal signal;
  };

  struct all_record {
    joinery::error_code ec;
    std::vector<typename map_type::value_type> outcomes;
  };

  // A pending async_join(key): what its completion must be.
  struct key_join {
    Raw raw{};
    std::uint64_t gen = 0;
    bool cancelled = false;  // cancelled, or the map destroyed: operation_aborted
    bool gone = false;       // its task left the map unfinished: not_found
    net::cancellation_signal signal;
  };

  struct key_record {
    key_join* join;
    joinery::error_code ec;
    std::optional<joinery::join_result<fvalue>> outcome;
  };

 public:
  // `alphabet`: how many operations the input picks from (16, 32 or 36).
  harness(input& in, int alphabet)
      : in_(in),
        alphabet_(alphabet),
        io_(std::in_place, 1),
        map_(std::in_place, io_->get_executor()) {}

  void run() {
    for (int ops = 0; !in_.done() && ops < 4096; ++ops) {
      step_op(in_.byte() % alphabet_);
      check_structure();
      check_stats();
      check_inspection();
    }
    finish();
  }

 private:
  Raw make_raw(std::uint8_t b) {
    if constexpr (std::is_same_v<Raw, std::uint8_t>) {
      return static_cast<std::uint8_t>(b % 24);  // few keys: many replacements
    } else {
      static const char* names[] = {"a", "b", "ab", "ba", "abc", "", "zz", "a\0b"};
      return std::string(names[b % 8],
                         b % 8 == 7 ? 3 : std::char_traits<char>::length(names[b % 8]));
    }
  }

  void step_op(int op) {
    switch (op) {
      case 0:
      case 14:
        spawn(op == 14 && !live_.empty()
                  ? std::next(live_.begin(), in_.byte() % live_.size())->first
                  : make_raw(in_.byte()));
        break;
      case 1: {
        Raw raw = make_raw(in_.byte());
        const bool expect = live_.count(raw) != 0;
        if (expect)
          mark_aborted(live_[raw]);
        FUZZ_CHECK(map_->abort(key(raw)) == expect);
        break;
      }
      case 2: {
        const unsigned m = 2 + in_.byte() % 4, r = in_.byte() % m;
        auto pred = [&](const Raw& raw) { return hash_of(raw) % m == r; };
        std::size_t expect = 0;
        for (auto& [raw, gen] : live_)
          if (pred(raw))
            ++expect, mark_aborted(gen);
        FUZZ_CHECK(map_->abort_matching([&](const key& k) { return pred(k.raw); }) == expect);
        break;
      }
      case 3:
        for (auto& [raw, gen] : live_)
          mark_aborted(gen);
        map_->abort_all();
        break;
      case 4:
        while (!key_joins_.empty())
          retire_key_join(key_joins_.begin()->first);  // their tasks left the map
        for (auto& [raw, gen] : live_)
          note_detached(gen);
        stats_.detached += live_.size();  // finished, unjoined ones included
        live_.clear();                    // detached: reported to nobody, not aborted
        queue_.clear();                   // queued ones start, outside the map
        map_->detach_all();
        break;
      case 5:
        if (!gens_.empty())
          gens_[in_.byte() % gens_.size()].g->release();
        break;
      case 6:
        for (int n = 1 + in_.byte() % 8; n > 0; --n)
          poll_one();
        break;
      case 7:
        quiesce();
        break;
      case 8:
        try_join();
        break;
      case 9:
        start_join();
        break;
      case 10:
        cancel_join(in_.byte() % 3);
        break;
      case 11: {
        Raw raw = make_raw(in_.byte());
        FUZZ_CHECK(map_->contains(key(raw)) == (live_.count(raw) != 0));
        break;
      }
      case 12: {
        map_type moved(std::move(*map_));
        FUZZ_CHECK(map_->empty());
        *map_ = std::move(moved);
        break;
      }
      case 13: {
        // Destroy and recreate: every task is aborted and reported to nobody;
        // pending joins complete with operation_aborted.
        std::vector<std::uint64_t> owned;
        for (auto& [raw, gen] : live_) {
          owned.push_back(gen);
          gens_[gen].aborted = true;
        }
        live_.clear();
        for (auto& [raw, kj] : key_joins_)
          kj->cancelled = true;
        for (auto& kj : gone_joins_)
          kj->cancelled = true;
        for (auto& w : waiters_)
          w->cancelled = true;
        map_.reset();
        new_epoch();
        queue_.clear();
        limit_ = 0;
        if (join_.pending)
          join_.cancelled = true;
        if (shut_.pending)
          shut_.cancelled = true;  // its aborts stand; the map's destruction aborts the rest
        if (all_.pending)
          all_.cancelled = true;  // with what it took so far
        // Their completions are already posted; let them run, so that the
        // next joins belong to the new map.
        io_->restart();
        while ((join_.pending || shut_.pending || all_.pending || !key_joins_.empty() ||
                !gone_joins_.empty() || !waiters_.empty()) &&
               io_->poll_one() != 0)
          drain_handler_records();
        FUZZ_CHECK(waiters_.empty());
        FUZZ_CHECK(!join_.pending);
        FUZZ_CHECK(!shut_.pending);
        FUZZ_CHECK(!all_.pending);
        FUZZ_CHECK(key_joins_.empty());
        FUZZ_CHECK(gone_joins_.empty());
        // Destruction aborted every task: run to quiescence, then none of
        // them may still run (a task that never ends on its own included).
        // Detached tasks are not the map's: they run on (check_tasks).
        quiesce();
        for (std::uint64_t gen : owned)
          FUZZ_CHECK(gens_[gen].handle.is_finished());
        map_.emplace(io_->get_executor());
        break;
      }
      case 15:
        for (auto& gi : gens_)
          gi.g->release();
        break;
      // --- The extended alphabet. ---------------------------------------------
      case 16: {
        Raw raw = make_raw(in_.byte());
        start_key_join(raw);
        break;
      }
      case 17:
        cancel_key_join(in_.byte(), in_.byte() % 3);
        break;
      case 18: {
        Raw raw = make_raw(in_.byte());
        const bool expect = live_.count(raw) != 0;
        if (expect) {
          ++stats_.detached;
          note_detached(live_[raw]);
          drop_from_queue(live_[raw]);  // a queued one starts, outside the map
          live_.erase(raw);             // detached: reported to nobody
          retire_key_join(raw);
        }
        FUZZ_CHECK(map_->detach(key(raw)) == expect);
        break;
      }
      case 19:
        start_join(true);
        break;
      case 20:
        check_queries(make_raw(in_.byte()));
        break;
      case 21:
        try_join();
        break;
      case 22: {
        // A graceful request (partial or total) to one key: tasks accepting
        // terminal cancellation only ignore it, graceful ones stop (if it
        // reaches them running); it returns what abort(key) returns.
        Raw raw = make_raw(in_.byte());
        const auto type =
            (in_.byte() & 1) ? net::cancellation_type::partial : net::cancellation_type::total;
        if (live_.count(raw))
          note_request(live_[raw]);
        FUZZ_CHECK(map_->abort(key(raw), type) == (live_.count(raw) != 0));
        break;
      }
      case 23: {
        // The same for every task, or those a predicate picks (the count is
        // abort_matching's).
        const unsigned m = 2 + in_.byte() % 4, r = in_.byte() % m;
        auto pred = [&](const Raw& raw) { return hash_of(raw) % m == r; };
        if (m == 2) {
          for (auto& [raw, gen] : live_)
            note_request(gen);
          map_->abort_all(net::cancellation_type::total);
        } else {
          std::size_t expect = 0;
          for (auto& [raw, gen] : live_) {
            if (pred(raw)) {
              ++expect;
              note_request(gen);
            }
          }
          FUZZ_CHECK(map_->abort_matching([&](const key& k) { return pred(k.raw); },
                                          net::cancellation_type::partial) == expect);
        }
        break;
      }
      // --- Scheduling. -----------------------------------------------------------
      case 24:
        limit_ = in_.byte() % 4;
        map_->set_concurrency_limit(limit_);
        FUZZ_CHECK(map_->concurrency_limit() == limit_);
        promote();
        break;
      case 25: {
        Raw raw = make_raw(in_.byte());
        const bool can = can_start_now();
        const std::uint64_t gen = new_gen(raw);
        auto h = map_->try_spawn(key(raw), factory(gen));
        FUZZ_CHECK(h.has_value() == can);
        if (can) {
          gens_[gen].handle = *h;
          admit(raw, gen);
        }
        break;
      }
      case 26:
      case 27: {
        // A deadline already due (it fires at the next poll) or an hour away.
        Raw raw = make_raw(in_.byte());
        const std::uint64_t gen = new_gen(raw);
        gens_[gen].due = op == 26;
        gens_[gen].far = op == 27;
        gens_[gen].due_since = drains_;
        const auto when = op == 26 ? std::chrono::steady_clock::now() - std::chrono::seconds(1)
                                   : std::chrono::steady_clock::now() + std::chrono::hours(1);
        gens_[gen].deadline = when;
        gens_[gen].handle = map_->spawn_with_deadline(key(raw), when, factory(gen));
        admit(raw, gen);
        break;
      }
      case 28:
        start_async_spawn(make_raw(in_.byte()));
        break;
      case 29:
        if (!waiters_.empty()) {
          auto& w = waiters_[in_.byte() % waiters_.size()];
          w->cancelled = true;
          w->signal.emit(net::cancellation_type::terminal);
        }
        break;
      case 30:
        FUZZ_CHECK(map_->queued_count() == queue_.size());
        break;
      case 31:
        quiesce();
        break;
      // --- The shutdown alphabet. -------------------------------------------------
      case 32:
        start_shutdown(in_.byte());
        break;
      case 33: {
        static constexpr net::cancellation_type types[] = {net::cancellation_type::terminal,
                                                           net::cancellation_type::partial,
                                                           net::cancellation_type::total};
        const auto type = types[in_.byte() % 3];
        if (shut_.pending) {
          shut_.cancelled = true;
          shut_.signal.emit(type);
        }
        break;
      }
      case 34:
        pass_grace();
        break;
      case 35: {
        const std::uint8_t pick = in_.byte(), type = in_.byte() % 3;
        if (!gens_.empty())
          abort_through_handle(pick % gens_.size(), type);
        break;
      }
      // --- The fail-fast alphabet. ------------------------------------------------
      case 36:
        start_join_all((in_.byte() & 1) != 0);
        break;
      default:  // 37
        cancel_join_all(in_.byte() % 3);
        break;
    }
    promote();
  }

  // --- The model of the concurrency limit. ---------------------------------

  std::uint64_t new_gen(const Raw& raw) {
    script s;
    const std::uint8_t b = in_.byte();
    s.steps = b % 5;
    s.yields = (b >> 3) & 15;
    s.end = static_cast<ending>(in_.byte() % 3);
    s.value = in_.byte();
    s.graceful = alphabet_ >= 36 && (b & 0x80) != 0;
    gen_info gi;
    gi.raw = raw;
    gi.s = s;
    gi.g = std::make_shared<gate>(io_->get_executor());
    gens_.push_back(std::move(gi));
    return gens_.size() - 1;
  }

  auto factory(std::uint64_t gen) {
    return [g = gens_[gen].g, s = gens_[gen].s, log = &finish_log_, gen, tr = gens_[gen].tr] {
      return scripted(g, s, log, gen, tr);
    };
  }

  bool is_queued(std::uint64_t gen) const {
    return std::find(queue_.begin(), queue_.end(), gen) != queue_.end();
  }

  // Tasks holding a slot: in the map, started (not queued), not finished.
  std::size_t running() const {
    std::size_t n = 0;
    for (auto& [raw, gen] : live_)
      n += !is_queued(gen) && !gens_[gen].handle.is_finished() ? 1 : 0;
    return n;
  }

  bool can_start_now() const { return queue_.empty() && (limit_ == 0 || running() < limit_); }

  // The task `gen` was just spawned under `raw`: it started or was queued
  // (decided with the old task under `raw` still counted), then the old one
  // left the map.
  void admit(const Raw& raw, std::uint64_t gen) {
    auto& gi = gens_[gen];
    gi.spawned = true;
    gi.epoch = epoch_;
    gi.seq = spawn_seq_++;
    uncounted_.push_back(gen);
    ++stats_.spawned;  // a replacement is a spawn
    if (!can_start_now()) {
      // Queued. peak_queued counts the tasks queued at that moment: those
      // queued before this spawn, the one it replaces included (the library
      // queues the new task first, then retires the old one, which ends in
      // this call: not counted yet).
      queue_.push_back(gen);
      std::size_t queued = 0;
      for (std::uint64_t q : queue_)
        queued += q == gen ||
                  (!gens_[q].counted && live_.count(gens_[q].raw) && live_[gens_[q].raw] == q);
      stats_.peak_queued = std::max(stats_.peak_queued, queued);
    }
    if (auto it = live_.find(raw); it != live_.end()) {
      auto& old = gens_[it->second];
      old.aborted = true;
      // Not ended before this spawn (a queued one ends in it): counted
      // cancelled when it ends.
      old.replaced_early = !old.counted;
      drop_from_queue(it->second);  // replaced: never runs, never reported
      retire_key_join(raw);
    }
    live_[raw] = gen;
    stats_.peak_size = std::max(stats_.peak_size, live_.size());
    promote();
  }

  void drop_from_queue(std::uint64_t gen) {
    queue_.erase(std::remove(queue_.begin(), queue_.end(), gen), queue_.end());
  }

  // What the library does whenever a slot frees: queued tasks start in
  // order. Aborted queued tasks were reported (finished) at once.
  void promote() {
    std::vector<std::uint64_t> kept;
    for (std::uint64_t gen : queue_)
      if (!gens_[gen].handle.is_finished() && live_.count(gens_[gen].raw) &&
          live_[gens_[gen].raw] == gen)
        kept.push_back(gen);
    queue_ = std::move(kept);
    while (!queue_.empty() && (limit_ == 0 || running() < limit_))
      queue_.erase(queue_.begin());
  }

  void start_async_spawn(Raw raw) {
    const bool others_wait = !waiters_.empty();
    auto w = std::make_unique<spawn_waiter>();
    w->raw = raw;
    w->gen = new_gen(raw);
    auto* wp = w.get();
    waiters_.push_back(std::move(w));
    const bool could = can_start_now();
    const auto before = map_->get_abort_handle(key(raw));
    in_initiation_ = true;
    map_->async_spawn(
        key(raw), factory(wp->gen),
        net::bind_cancellation_slot(wp->signal.slot(),
                                    [this, wp](joinery::error_code ec, joinery::abort_handle h) {
                                      FUZZ_CHECK(!in_initiation_);
                                      spawn_records_.push_back({wp, ec, std::move(h)});
                                    }));
    in_initiation_ = false;
    // Spawned inside the call (nobody waited before it and a slot was free;
    // its completion comes later), or waiting: then it must have had to.
    const auto after = map_->get_abort_handle(key(raw));
    if (after && (!before || !(*after == *before))) {
      FUZZ_CHECK(could);
      wp->spawned = true;
      gens_[wp->gen].handle = *after;
      admit(raw, wp->gen);
    } else {
      FUZZ_CHECK(limit_ != 0 || others_wait);
    }
  }

  static std::size_t hash_of(const Raw& raw) {
    if constexpr (std::is_same_v<Raw, std::uint8_t>)
      return raw;
    else
      return raw.size() * 31 + (raw.empty() ? 0 : static_cast<unsigned char>(raw[0]));
  }

  void spawn(Raw raw) {
    const std::uint64_t gen = new_gen(raw);
    gens_[gen].handle = map_->spawn(key(raw), factory(gen));
    admit(raw, gen);  // replaces: the old task is never reported
  }

  void mark_aborted(std::uint64_t gen) {
    auto& gi = gens_[gen];
    gi.abort_requested = true;
    gi.aborted = true;
    if (!gi.handle.is_finished())
      gi.cancel_expected = true;
  }

  // A partial or total request to `gen`: it reaches the task if it runs (it
  // started and has not finished), and a graceful task then stops.
  void note_request(std::uint64_t gen) {
    auto& gi = gens_[gen];
    if (gi.tr->started && !gi.handle.is_finished())
      gi.requested = true;
  }

  // `gen` leaves the map without being aborted: it is not the map's any
  // more, so neither the map's deadline timer nor a grace period of the
  // map's may abort it. A due deadline fires at the first handler after the
  // spawn: if one ran since, it may have aborted the task first.
  void note_detached(std::uint64_t gen) {
    auto& gi = gens_[gen];
    if (gi.due && !gi.deadline_dropped) {
      gi.deadline_dropped = true;
      if (drains_ != gi.due_since)
        gi.maybe_aborted = true;
    }
    auto& tasks = shut_.grace.tasks;
    if (!shut_.grace.window)
      tasks.erase(std::remove(tasks.begin(), tasks.end(), gen), tasks.end());
  }

  // abort_handle::abort(type) on any task ever spawned (in the map or not:
  // replaced, detached, joined); an empty handle (never spawned) does nothing.
  void abort_through_handle(std::uint64_t gen, int type) {
    auto& gi = gens_[gen];
    if (type == 0) {
      if (gi.spawned)
        mark_aborted(gen);  // reported cancelled if it is still the map's and unfinished
      gi.handle.abort();
    } else {
      if (gi.spawned)
        note_request(gen);
      gi.handle.abort(type == 1 ? net::cancellation_type::partial : net::cancellation_type::total);
    }
  }

  // --- The model of async_shutdown. -------------------------------------------

  // Two contract violations this model found, both fixed, each with its
  // input in the corpus (found_shutdown_beside_keyed_join,
  // found_detach_during_grace):
  //   1. A keyed join pending beside async_shutdown: the shutdown completed
  //      with success while the map still held the joined task, though "the
  //      map is empty when it completes".
  //   2. detach(key)/detach_all() during async_shutdown(grace): the task was
  //      still aborted when the grace period ended, though a detached task
  //      "runs on".

  bool short_grace_live() const { return shut_.pending && shut_.grace.live; }

  // async_shutdown() or async_shutdown(grace) with a grace of zero, less
  // than zero, a few milliseconds or an hour. Beside another join it
  // completes with already_started and aborts and asks nothing.
  void start_shutdown(std::uint8_t b) {
    const auto kind = static_cast<grace_kind>(b % 5);
    const bool busy = join_.pending || shut_.pending || all_.pending;
    const bool at_once =
        kind == grace_kind::none || kind == grace_kind::zero || kind == grace_kind::negative;
    const clock::duration grace = kind == grace_kind::negative ? -std::chrono::milliseconds(5)
                                  : kind == grace_kind::short_ ? short_grace
                                  : kind == grace_kind::far    ? std::chrono::hours(1)
                                                               : clock::duration::zero();
    // Before it looks for the join slot: every task that has not started
    // is aborted (it never runs); without a grace period every task is;
    // with one, every started, unfinished task is asked (total) instead.
    std::vector<std::uint64_t> asked;
    for (auto& [raw, gen] : live_) {
      auto& gi = gens_[gen];
      if (busy) {
        break;  // refused: nothing is aborted or asked
      } else if (at_once || !gi.tr->started) {
        mark_aborted(gen);
      } else if (!gi.handle.is_finished()) {
        note_request(gen);
        asked.push_back(gen);
      }
    }
    grace_watch watch;
    watch.live = kind == grace_kind::short_;
    watch.tasks = std::move(asked);
    watch.earliest = clock::now() + grace;
    auto initiate = [&](auto&& handler) {
      in_initiation_ = true;
      if (kind == grace_kind::none)
        map_->async_shutdown(std::move(handler));
      else
        map_->async_shutdown(grace, std::move(handler));
      in_initiation_ = false;
    };
    if (busy) {
      // already_started, at once but not inline; it starts no grace period.
      bool called = false;
      initiate([&called, this](joinery::error_code ec) {
        FUZZ_CHECK(!in_initiation_);
        FUZZ_CHECK(ec == net::error::already_started);
        called = true;
      });
      expect_completion_later(called);
      return;
    }
    shut_.pending = true;
    shut_.cancelled = false;
    shut_.kind = kind;
    shut_.grace = std::move(watch);
    initiate(net::bind_cancellation_slot(shut_.signal.slot(), [this](joinery::error_code ec) {
      FUZZ_CHECK(!in_initiation_);
      shut_records_.push_back(ec);
    }));
    shut_.grace.latest = clock::now() + grace;
    if (kind == grace_kind::short_)
      last_short_grace_end_ = shut_.grace.latest;
  }

  // After every handler: has the clock passed the earliest end of a short
  // grace period still running? Until it has, the timer cannot have fired
  // (its tasks that finished meanwhile finished unaborted); once it has,
  // every task still listed may be aborted at any handler.
  void observe_grace(grace_watch& w) {
    if (!w.live || w.window)
      return;
    if (clock::now() < w.earliest) {
      std::erase_if(w.tasks, [this](std::uint64_t gen) { return gens_[gen].handle.is_finished(); });
      return;
    }
    w.window = true;
    for (std::uint64_t gen : w.tasks)
      gens_[gen].maybe_aborted = gens_[gen].maybe_cancelled = true;
  }

  // Op 34: lets the last short grace period pass. The harness sleeps past
  // its latest end and runs the context. If it is still running (not
  // cancelled), its timer fires and every task it asked that had not ended
  // must end (a bounded wait for the kernel's timer slack; a grace period
  // that never ends fails here). If it was cancelled, or its shutdown has
  // completed, nothing is aborted: check_tasks() sees them run on.
  void pass_grace() {
    std::this_thread::sleep_until(last_short_grace_end_ + std::chrono::milliseconds(1));
    if (!short_grace_live() || shut_.cancelled) {
      quiesce();  // a cancelled one's stop races its expiry: check_tasks() knows
      return;
    }
    const auto limit = clock::now() + std::chrono::seconds(2);
    for (;;) {
      quiesce();
      bool all_ended = true;
      for (std::uint64_t gen : shut_.grace.tasks)
        all_ended = all_ended && gens_[gen].handle.is_finished();
      if (all_ended)
        break;
      if (clock::now() > limit)
        violation("the grace period has ended, and a task it asked still runs", __LINE__);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (std::uint64_t gen : shut_.grace.tasks)
      gens_[gen].aborted = true;
  }

  // --- The model of async_join_all and async_join_all(fail_fast). ----------

  // Op 36: async_join_all, with fail_fast or without. Beside another join
  // of the group's (async_join_next, async_shutdown, async_join_all) it
  // completes with already_started and an empty vector, at once but not
  // inline; keyed joins may be pending beside it.
  void start_join_all(bool fail_fast) {
    using outcomes = std::vector<typename map_type::value_type>;
    auto initiate = [&](auto&& handler) {
      in_initiation_ = true;
      if (fail_fast)
        map_->async_join_all(joinery::fail_fast, std::move(handler));
      else
        map_->async_join_all(std::move(handler));
      in_initiation_ = false;
    };
    if (join_.pending || shut_.pending || all_.pending) {
      bool called = false;
      initiate([&called, this](joinery::error_code ec, outcomes v) {
        FUZZ_CHECK(!in_initiation_);
        FUZZ_CHECK(ec == net::error::already_started);
        FUZZ_CHECK(v.empty());
        called = true;
      });
      expect_completion_later(called);
      return;
    }
    all_.pending = true;
    all_.fail_fast = fail_fast;
    all_.cancelled = false;
    all_.failed = failure::none;
    all_.taken.clear();
    initiate(
        net::bind_cancellation_slot(all_.signal.slot(), [this](joinery::error_code ec, outcomes v) {
          FUZZ_CHECK(!in_initiation_);
          all_records_.push_back({ec, std::move(v)});
        }));
  }

  // Op 37: cancels it (terminal, partial or total: each ends the wait).
  void cancel_join_all(int type) {
    if (!all_.pending)
      return;
    all_.cancelled = true;
    static constexpr net::cancellation_type types[] = {net::cancellation_type::terminal,
                                                       net::cancellation_type::partial,
                                                       net::cancellation_type::total};
    all_.signal.emit(types[type]);
  }

  // A task the pending join of everything took (finished, in completion
  // order); its outcome is checked when the join completes. With fail_fast,
  // the first failure it takes (an exception or a timeout; a cancellation
  // is none) makes it abort every task still in the map: certainly when
  // the model knows the outcome is a failure and no earlier one may have
  // been; possibly when either is uncertain.
  void taken_by_all(const Raw& raw) {
    FUZZ_CHECK(!all_.cancelled);  // a cancelled join consumes nothing more
    auto it = live_.find(raw);
    const std::uint64_t gen = it->second;
    auto& gi = gens_[gen];
    FUZZ_CHECK(gi.handle.is_finished());
    FUZZ_CHECK(!gi.delivered);
    check_order(gen, false);
    live_.erase(it);
    all_.taken.push_back(gen);
    if (!all_.fail_fast || all_.failed == failure::certain)
      return;
    constexpr unsigned fails = failed_c | timed_out_c;
    const unsigned m = classes(gi);
    if ((m & fails) == 0)
      return;
    const bool certain = (m & ~fails) == 0;
    fail_fast_aborts(certain && all_.failed == failure::none);
    all_.failed = certain ? failure::certain : failure::maybe;
  }

  // The fail_fast join aborts every task in the map (terminal). A task that
  // had not ended is then cancelled (a queued one ends in that handler:
  // not counted yet); a finished one keeps its outcome.
  void fail_fast_aborts(bool certain) {
    for (auto& [raw, gen] : live_) {
      auto& gi = gens_[gen];
      const bool before_end = !gi.handle.is_finished() || !gi.counted;
      if (certain) {
        gi.abort_requested = gi.aborted = true;
        gi.cancel_expected = gi.cancel_expected || before_end;
      } else {
        gi.maybe_aborted = true;
        gi.maybe_cancelled = gi.maybe_cancelled || before_end;
      }
    }
  }

  // Its completion: every outcome it took, in the order it took them, each
  // the model's; then operation_aborted if it was cancelled (or the map
  // destroyed), else the map is empty and it completes with task_failed
  // (fail_fast, and a failure among them) or success.
  void join_all_completed(all_record& r) {
    FUZZ_CHECK(all_.pending);
    all_.pending = false;
    FUZZ_CHECK(r.outcomes.size() == all_.taken.size());
    bool any_failure = false;
    for (std::size_t i = 0; i < r.outcomes.size(); ++i) {
      const std::uint64_t gen = all_.taken[i];
      FUZZ_CHECK(r.outcomes[i].first.raw == gens_[gen].raw);
      check_outcome(gen, r.outcomes[i].second);
      gens_[gen].delivered = true;
      any_failure = any_failure || (class_of(r.outcomes[i].second) & (failed_c | timed_out_c));
    }
    if (all_.fail_fast && all_.failed == failure::certain)
      FUZZ_CHECK(any_failure);
    if (all_.cancelled) {
      FUZZ_CHECK(r.ec == net::error::operation_aborted);
    } else {
      FUZZ_CHECK(live_.empty());
      if (all_.fail_fast && any_failure)
        FUZZ_CHECK(r.ec == joinery::error::task_failed);
      else
        FUZZ_CHECK(!r.ec);
    }
    all_.taken.clear();
  }

  // A task taken out of the map by the pending shutdown's join: finished,
  // in completion order; its outcome is discarded.
  void discarded(const Raw& raw) {
    auto it = live_.find(raw);
    FUZZ_CHECK(!reserved(raw));
    auto& gi = gens_[it->second];
    FUZZ_CHECK(gi.handle.is_finished());
    FUZZ_CHECK(!gi.delivered);
    check_order(it->second, false);
    gi.delivered = true;
    live_.erase(it);
  }

  // The tasks the pending shutdown or join of everything took since the
  // last look, in the order they finished.
  void collect_taken() {
    if (!(shut_.pending || all_.pending) || !map_ || live_.empty())
      return;
    std::vector<std::pair<std::size_t, Raw>> gone;
    for (auto& [raw, gen] : live_) {
      // A task a keyed join waits for is that join's, never the shutdown's:
      // its record says so below.
      if (!map_->contains(key(raw)) && !reserved(raw)) {
        auto pos = std::find(finish_log_.begin(), finish_log_.end(), gen);
        gone.emplace_back(static_cast<std::size_t>(pos - finish_log_.begin()), raw);
      }
    }
    std::sort(gone.begin(), gone.end());
    for (auto& [pos, raw] : gone) {
      if (shut_.pending)
        discarded(raw);
      else
        taken_by_all(raw);
    }
  }

  // Every task body that ended since the last look: only an aborted task
  // may end aborted, only an asked graceful one may stop when asked, and a
  // frame is destroyed suspended only with its io_context.
  void check_endings() {
    for (; endings_checked_ < finish_log_.size(); ++endings_checked_) {
      const auto& gi = gens_[finish_log_[endings_checked_]];
      switch (gi.tr->how) {
        case how_ended::completed:
          FUZZ_CHECK(!blocked(gi));
          break;
        case how_ended::stopped_on_request:
          FUZZ_CHECK(gi.s.graceful && gi.requested);
          break;
        case how_ended::stopped_on_abort:
        case how_ended::unwound:
          FUZZ_CHECK(abort_issued(gi) || gi.maybe_aborted);  // e.g. never a detached task
          break;
        case how_ended::destroyed:
          FUZZ_CHECK(!io_);
          break;
        case how_ended::running:
          violation("a task body ended without saying how", __LINE__);
      }
    }
  }

  // Whether a terminal abort was issued to the task: by a call (abort,
  // replacement, destruction, shutdown, its handle) or by its due deadline,
  // at the first poll (unless it left the map first).
  static bool abort_issued(const gen_info& gi) {
    return gi.aborted || (gi.due && !gi.deadline_dropped);
  }

  // Whether the task's script keeps it waiting: a gate still closed, or
  // waiting forever.
  static bool blocked(const gen_info& gi) {
    if (gi.s.end == ending::never)
      return true;
    for (int i = 0; i < gi.s.steps; ++i)
      if (!(gi.s.yields & (1u << i)) && !gi.g->open)
        return true;
    return false;
  }

  // At quiescence, every task ever spawned (in the map, detached, replaced,
  // joined) is where the model says: not started only if queued (or aborted
  // first, then finished); an aborted one has ended, and so has an asked
  // graceful one; any other is waiting exactly where its script makes it
  // wait, or has ended. abort_handle::is_finished() is true exactly when
  // its body has ended.
  void check_tasks() {
    for (std::uint64_t gen = 0; gen < gens_.size(); ++gen) {
      auto& gi = gens_[gen];
      if (!gi.spawned || gi.settled)
        continue;
      const bool finished = gi.handle.is_finished();
      const trace& tr = *gi.tr;
      if (!tr.started) {
        if (is_queued(gen)) {
          FUZZ_CHECK(!finished);
          continue;
        }
        FUZZ_CHECK(finished);  // it would have started at the last poll
        FUZZ_CHECK(abort_issued(gi) || gi.maybe_aborted);
        gi.settled = true;
        continue;
      }
      FUZZ_CHECK(finished == (tr.how != how_ended::running));
      if (finished) {
        gi.settled = true;
        continue;
      }
      if (gi.maybe_aborted)
        continue;
      FUZZ_CHECK(!abort_issued(gi));
      FUZZ_CHECK(!(gi.s.graceful && gi.requested));
      FUZZ_CHECK(blocked(gi));
    }
  }

  // --- The model of the counters (stats()) and of info() and snapshot(). -------

  // The outcome classes a task may be counted as, one bit each, in the
  // order of the counters' index (counts_).
  static constexpr unsigned succeeded_c = 1, failed_c = 2, cancelled_c = 4, timed_out_c = 8;

  static unsigned class_of(const joinery::join_result<fvalue>& r) {
    if (r.has_value())
      return succeeded_c;
    if (r.error().is_exception())
      return failed_c;
    return r.error().is_timed_out() ? timed_out_c : cancelled_c;
  }

  static int index_of(unsigned c) {
    return c == succeeded_c ? 0 : c == failed_c ? 1 : c == cancelled_c ? 2 : 3;
  }

  // The classes the outcome of the ended task `gi` may be counted as: a
  // task replaced before it ended is cancelled; one aborted before it ended
  // (or whose io_context died first) is cancelled, or timed out when its due
  // deadline fired first; a maybe-aborted one may be cancelled; otherwise
  // its body's ending says (its value, or its exception). A due deadline
  // may have fired first (timed out) unless the model knows better.
  static unsigned classes(const gen_info& gi) {
    if (gi.replaced_early)
      return cancelled_c;
    unsigned m = gi.due ? timed_out_c : 0;
    const bool aborted_first = gi.cancel_expected || gi.unfinished_at_io_death;
    if (aborted_first || gi.maybe_cancelled)
      m |= cancelled_c;
    if (!aborted_first) {
      if (gi.tr->how == how_ended::completed)
        m |= gi.s.end == ending::throws ? failed_c : succeeded_c;
      else if (gi.tr->how == how_ended::stopped_on_request)
        m |= succeeded_c;
      // Any other ending (unwound, stopped when aborted, never started) had
      // an abort reach it: its due deadline, or a maybe-abort (above).
    }
    return m;
  }

  // Every task of this map that ended since the last look has its outcome
  // counted: the model notes which classes it may be counted as.
  void count_endings() {
    std::erase_if(uncounted_, [this](std::uint64_t gen) {
      auto& gi = gens_[gen];
      if (!gi.handle.is_finished())
        return false;
      gi.counted = true;
      gi.mask = classes(gi);
      FUZZ_CHECK(gi.mask != 0);  // the model cannot say how it ended
      if (std::has_single_bit(gi.mask))
        ++counts_[index_of(gi.mask)];
      else
        ambiguous_.push_back(gen);
      return true;
    });
  }

  // A delivered outcome of `gen`: it must be one the counters could count
  // it as; an ambiguous count is now known.
  void resolve_count(std::uint64_t gen, const joinery::join_result<fvalue>& r) {
    auto& gi = gens_[gen];
    if (gi.epoch != epoch_)
      return;
    count_endings();
    FUZZ_CHECK(gi.counted);
    const unsigned c = class_of(r);
    FUZZ_CHECK((gi.mask & c) != 0);
    if (gi.mask != c) {
      gi.mask = c;
      ambiguous_.erase(std::find(ambiguous_.begin(), ambiguous_.end(), gen));
      ++counts_[index_of(c)];
    }
  }

  // stats() against the model: spawned, detached and the peaks exactly;
  // each outcome counter between the tasks known to be counted there and
  // those that may be, all of them summing to the tasks that ended.
  void check_stats() {
    if (!map_)
      return;
    count_endings();
    const joinery::group_stats s = map_->stats();
    FUZZ_CHECK(s.spawned == stats_.spawned);
    FUZZ_CHECK(s.detached == stats_.detached);
    FUZZ_CHECK(s.peak_size == stats_.peak_size);
    FUZZ_CHECK(s.peak_queued == stats_.peak_queued);
    const std::uint64_t actual[] = {s.succeeded, s.failed, s.cancelled, s.timed_out};
    std::uint64_t sum = 0, expected = ambiguous_.size();
    for (int i = 0; i < 4; ++i) {
      std::uint64_t maybe = 0;
      for (std::uint64_t gen : ambiguous_)
        maybe += (gens_[gen].mask >> i) & 1;
      FUZZ_CHECK(actual[i] >= counts_[i] && actual[i] <= counts_[i] + maybe);
      sum += actual[i];
      expected += counts_[i];
    }
    FUZZ_CHECK(sum == expected);
  }

  // info() of a task in the map against the model: its id; queued (the
  // model's queue), finished (its handle says so), else running; whether an
  // abort was requested (a terminal abort by any path; requests are not;
  // a due deadline or a maybe-abort may have); its far deadline while it
  // runs, none without a deadline, none once finished.
  void check_info(std::uint64_t gen, const joinery::task_info& info) {
    const auto& gi = gens_[gen];
    FUZZ_CHECK(info.id == gi.handle.id());
    const bool finished = gi.handle.is_finished();
    FUZZ_CHECK(info.state == (finished         ? joinery::task_state::finished
                              : is_queued(gen) ? joinery::task_state::queued
                                               : joinery::task_state::running));
    if (gi.maybe_aborted)
      ;  // either
    else if (gi.aborted)
      FUZZ_CHECK(info.abort_requested);
    else if (!gi.due)
      FUZZ_CHECK(!info.abort_requested);
    if (finished || (!gi.far && !gi.due))
      FUZZ_CHECK(!info.deadline);
    else if (gi.far)
      FUZZ_CHECK(info.deadline && *info.deadline == gi.deadline);
  }

  // snapshot() lists exactly the map's tasks, in spawn order, each as
  // info(key) says; info(key) of every key in the map agrees.
  void check_inspection() {
    if (!map_)
      return;
    promote();  // the library starts queued tasks as slots free
    std::vector<std::uint64_t> order;
    for (auto& [raw, gen] : live_)
      order.push_back(gen);
    std::sort(order.begin(), order.end(),
              [this](std::uint64_t a, std::uint64_t b) { return gens_[a].seq < gens_[b].seq; });
    const auto snap = map_->snapshot();
    FUZZ_CHECK(snap.size() == order.size());
    for (std::size_t i = 0; i < snap.size(); ++i) {
      FUZZ_CHECK(snap[i].first.raw == gens_[order[i]].raw);
      check_info(order[i], snap[i].second);
      const auto one = map_->info(snap[i].first);
      FUZZ_CHECK(one && one->id == snap[i].second.id && one->state == snap[i].second.state &&
                 one->abort_requested == snap[i].second.abort_requested);
    }
  }

  // The map was destroyed: a new one counts from zero; the old one's tasks
  // count in the old one's counters, which nobody sees.
  void new_epoch() {
    ++epoch_;
    stats_ = {};
    counts_[0] = counts_[1] = counts_[2] = counts_[3] = 0;
    uncounted_.clear();
    ambiguous_.clear();
  }

  void poll_one() {
    io_->restart();
    io_->poll_one();
    drain_handler_records();
  }

  void quiesce() {
    io_->restart();
    while (io_->poll_one() != 0)
      drain_handler_records();
    drain_handler_records();
    // No join may sleep while a result is deliverable (or, for a next-join
    // that does not wait while empty, while there is nothing it could ever
    // deliver).
    if (join_.pending && !join_.cancelled) {
      std::size_t deliverable = 0;
      for (auto& [raw, gen] : live_) {
        if (reserved(raw))
          continue;
        ++deliverable;
        FUZZ_CHECK(!gens_[gen].handle.is_finished());
      }
      FUZZ_CHECK(join_.wait_if_empty || deliverable > 0);
    }
    FUZZ_CHECK(gone_joins_.empty());  // those complete at once
    for (auto& [raw, kj] : key_joins_)
      FUZZ_CHECK(kj->cancelled || !gens_[kj->gen].handle.is_finished());
    // The queue is the model's; a due deadline has fired; an async_spawn
    // still waits only when it has to (no slot, or tasks queued).
    promote();
    FUZZ_CHECK(!map_ || map_->queued_count() == queue_.size());  // op 13 quiesces without one
    for (auto& [raw, gen] : live_)
      FUZZ_CHECK(!gens_[gen].due || gens_[gen].handle.is_finished());
    for (auto& w : waiters_)
      FUZZ_CHECK(w->spawned || w->cancelled || !can_start_now());
    // A pending join of everything waits only for tasks that have not
    // ended (or that a keyed join waits for); a cancelled one has completed.
    if (all_.pending) {
      FUZZ_CHECK(!all_.cancelled);
      FUZZ_CHECK(!live_.empty());
      for (auto& [raw, gen] : live_)
        FUZZ_CHECK(reserved(raw) || !gens_[gen].handle.is_finished());
    }
    // A pending shutdown waits only for tasks that have not ended; a
    // cancelled one has completed.
    if (shut_.pending) {
      FUZZ_CHECK(!shut_.cancelled);
      FUZZ_CHECK(!live_.empty());
      for (auto& [raw, gen] : live_)
        FUZZ_CHECK(!gens_[gen].handle.is_finished());
    }
    check_tasks();
  }

  // The task under `raw` leaves the map unfinished or unjoined (replaced,
  // detached): a keyed join waiting for it completes with not_found, and the
  // key is free for a new keyed join (on the new task, if any).
  void retire_key_join(const Raw& raw) {
    auto it = key_joins_.find(raw);
    if (it == key_joins_.end())
      return;
    it->second->gone = true;
    gone_joins_.push_back(std::move(it->second));
    key_joins_.erase(it);
  }

  // Whether a pending async_join waits for the task under `raw`.
  bool reserved(const Raw& raw) const { return key_joins_.count(raw) != 0; }

  // A delivered (key, outcome): the model says whether it may be, and what.
  // `via_key`: delivered to an async_join, which alone may take a task it
  // waits for.
  void delivered(const key& k, const joinery::join_result<fvalue>& r, bool via_key = false) {
    auto it = live_.find(k.raw);
    FUZZ_CHECK(it != live_.end());  // never a replaced, detached or unknown task
    FUZZ_CHECK(via_key || !reserved(k.raw));
    check_outcome(it->second, r);
    check_order(it->second, via_key);
    gens_[it->second].delivered = true;
    live_.erase(it);
  }

  // The outcome delivered for the task `gen` (by any join): the one the
  // model expects (its value or exception; cancelled iff aborted before it
  // finished; timed out only with a due deadline), and one its counter
  // could have counted.
  void check_outcome(std::uint64_t gen, const joinery::join_result<fvalue>& r) {
    auto& gi = gens_[gen];
    FUZZ_CHECK(!gi.delivered);
    FUZZ_CHECK(gi.handle.is_finished());
    if (gi.due && r.has_error() && r.error().is_timed_out()) {
      // Its deadline passed before it finished.
    } else if (gi.cancel_expected || gi.unfinished_at_io_death) {
      FUZZ_CHECK(r.has_error() && r.error().is_cancelled());
    } else if (gi.maybe_cancelled && r.has_error() && r.error().is_cancelled()) {
      // A short grace period may have aborted it before it finished.
    } else if (gi.tr->how == how_ended::stopped_on_request) {
      FUZZ_CHECK(r.has_value() && r->v == gi.s.value);  // stopped when asked: its value
    } else {
      FUZZ_CHECK(gi.tr->how == how_ended::completed);
      switch (gi.s.end) {
        case ending::value:
          FUZZ_CHECK(r.has_value() && r->v == gi.s.value);
          break;
        case ending::throws:
          FUZZ_CHECK(r.has_error() && r.error().is_exception());
          break;
        case ending::never:
          violation("a task that never finishes was reported, not aborted", __LINE__);
      }
    }
    FUZZ_CHECK(!r.has_error() || r.error().id() == gi.handle.id());
    resolve_count(gen, r);
    if (gi.abort_requested && !gi.unfinished_at_io_death) {
      if (r.has_value())
        ++aborted_outcomes.value_kept;
      if (r.has_error() && r.error().is_cancelled())
        ++aborted_outcomes.cancelled;
    }
  }

  // Completion order: among tasks whose body ran, results come in the order
  // the bodies ended (a keyed join takes its task out of turn).
  void check_order(std::uint64_t gen, bool via_key) {
    auto pos = std::find(finish_log_.begin(), finish_log_.end(), gen);
    if (pos != finish_log_.end() && !via_key && !gens_[gen].was_reserved) {
      const std::size_t p = static_cast<std::size_t>(pos - finish_log_.begin());
      FUZZ_CHECK(last_delivered_pos_ == npos || p > last_delivered_pos_);
      last_delivered_pos_ = p;
    }
  }

  void try_join() {
    auto next = map_->try_join_next();
    if (next) {
      delivered(next->first, next->second);
    } else if (!join_.pending && !shut_.pending && !all_.pending) {
      // Nothing ready means nothing finished (single thread: a finished task
      // has reported), unless a pending join is about to take it.
      for (auto& [raw, gen] : live_)
        FUZZ_CHECK(reserved(raw) || !gens_[gen].handle.is_finished());
    }
    drain_handler_records();
  }

  void start_join(bool wait_if_empty = false) {
    if (join_.pending || shut_.pending || all_.pending) {
      // A second concurrent join: already_started, at once but not inline.
      bool called = false;
      in_initiation_ = true;
      auto second = [&called, this](joinery::error_code ec, next_type n) {
        FUZZ_CHECK(!in_initiation_);
        FUZZ_CHECK(ec == net::error::already_started);
        FUZZ_CHECK(!n);
        called = true;
      };
      if (wait_if_empty)
        map_->async_join_next(joinery::wait_if_empty, second);
      else
        map_->async_join_next(second);
      in_initiation_ = false;
      expect_completion_later(called);
      return;
    }
    join_.pending = true;
    join_.cancelled = false;
    join_.wait_if_empty = wait_if_empty;
    in_initiation_ = true;
    auto handler = net::bind_cancellation_slot(join_.signal.slot(),
                                               [this](joinery::error_code ec, next_type n) {
                                                 FUZZ_CHECK(!in_initiation_);
                                                 records_.push_back({ec, std::move(n)});
                                               });
    if (wait_if_empty)
      map_->async_join_next(joinery::wait_if_empty, std::move(handler));
    else
      map_->async_join_next(std::move(handler));
    in_initiation_ = false;
  }

  // async_join(key): not_found for a missing key, already_started for a key
  // with a pending keyed join (both at once, never inline), else pending.
  void start_key_join(Raw raw) {
    const bool missing = live_.count(raw) == 0;
    if (missing || key_joins_.count(raw)) {
      bool called = false;
      in_initiation_ = true;
      map_->async_join(
          key(raw), [&called, missing, this](joinery::error_code ec,
                                             std::optional<joinery::join_result<fvalue>> o) {
            FUZZ_CHECK(!in_initiation_);
            FUZZ_CHECK(missing ? ec == net::error::not_found : ec == net::error::already_started);
            FUZZ_CHECK(!o);
            called = true;
          });
      in_initiation_ = false;
      expect_completion_later(called);
      return;
    }
    auto kj = std::make_unique<key_join>();
    kj->raw = raw;
    kj->gen = live_[raw];
    gens_[kj->gen].was_reserved = true;
    auto* slot_owner = kj.get();
    key_joins_.emplace(raw, std::move(kj));
    in_initiation_ = true;
    map_->async_join(key(raw),
                     net::bind_cancellation_slot(
                         slot_owner->signal.slot(),
                         [this, slot_owner](joinery::error_code ec,
                                            std::optional<joinery::join_result<fvalue>> o) {
                           FUZZ_CHECK(!in_initiation_);
                           key_records_.push_back({slot_owner, ec, std::move(o)});
                         }));
    in_initiation_ = false;
  }

  void cancel_key_join(std::uint8_t pick, int type) {
    if (key_joins_.empty())
      return;
    auto it = std::next(key_joins_.begin(), pick % key_joins_.size());
    it->second->cancelled = true;
    static constexpr net::cancellation_type types[] = {net::cancellation_type::terminal,
                                                       net::cancellation_type::partial,
                                                       net::cancellation_type::total};
    it->second->signal.emit(types[type]);
  }

  // ready_count(), is_finished(key), get_abort_handle(key) against the model.
  void check_queries(const Raw& raw) {
    std::size_t finished = 0;
    for (auto& [r, gen] : live_)
      finished += gens_[gen].handle.is_finished() ? 1 : 0;
    FUZZ_CHECK(map_->ready_count() == finished);
    auto it = live_.find(raw);
    const bool is_live = it != live_.end();
    FUZZ_CHECK(map_->is_finished(key(raw)) == (is_live && gens_[it->second].handle.is_finished()));
    auto h = map_->get_abort_handle(key(raw));
    FUZZ_CHECK(h.has_value() == is_live);
    FUZZ_CHECK(map_->info(key(raw)).has_value() == is_live);
    if (h)
      FUZZ_CHECK(*h == gens_[it->second].handle);
  }

  void cancel_join(int type) {
    if (!join_.pending)
      return;
    join_.cancelled = true;
    static constexpr net::cancellation_type types[] = {net::cancellation_type::terminal,
                                                       net::cancellation_type::partial,
                                                       net::cancellation_type::total};
    join_.signal.emit(types[type]);
  }

  struct record {
    joinery::error_code ec;
    next_type next;
  };

  // A completion the operation makes at once (already_started, not_found):
  // never inside the initiating call, and delivered by the polls that follow.
  void expect_completion_later(const bool& called) {
    FUZZ_CHECK(!called);
    io_->restart();
    while (!called && io_->poll_one() != 0)
      drain_handler_records();
    FUZZ_CHECK(called);
  }

  void drain_handler_records() {
    ++drains_;
    observe_grace(shut_.grace);
    collect_taken();  // first: a fail_fast join's aborts end queued tasks in its handler
    check_endings();
    for (auto& r : records_) {
      FUZZ_CHECK(join_.pending);
      join_.pending = false;
      if (join_.cancelled) {
        // A cancelled (or orphaned) join gives up and consumes nothing.
        FUZZ_CHECK(r.ec == net::error::operation_aborted);
        FUZZ_CHECK(!r.next);
      } else {
        FUZZ_CHECK(!r.ec);
        if (r.next) {
          delivered(r.next->first, r.next->second);
        } else {
          // "Empty" only when the map holds nothing it could deliver, and
          // never for a join that waits while empty.
          FUZZ_CHECK(!join_.wait_if_empty);
          for (auto& [raw, gen] : live_)
            FUZZ_CHECK(reserved(raw));
        }
      }
    }
    records_.clear();
    for (auto& r : key_records_) {
      // The join is either still under its key or retired (gone).
      std::unique_ptr<key_join> kj;
      if (auto it = key_joins_.find(r.join->raw);
          it != key_joins_.end() && it->second.get() == r.join) {
        kj = std::move(it->second);
        key_joins_.erase(it);
      } else {
        auto g = std::find_if(gone_joins_.begin(), gone_joins_.end(),
                              [&](auto& p) { return p.get() == r.join; });
        FUZZ_CHECK(g != gone_joins_.end());
        kj = std::move(*g);
        gone_joins_.erase(g);
      }
      const std::uint64_t gen = kj->gen;
      const bool cancelled = kj->cancelled, gone = kj->gone;
      if (cancelled) {
        FUZZ_CHECK(r.ec == net::error::operation_aborted);  // consumed nothing
        FUZZ_CHECK(!r.outcome);
      } else if (gone) {
        FUZZ_CHECK(r.ec == net::error::not_found);
        FUZZ_CHECK(!r.outcome);
      } else {
        FUZZ_CHECK(!r.ec);
        FUZZ_CHECK(r.outcome.has_value());
        FUZZ_CHECK(live_.count(kj->raw) && live_[kj->raw] == gen);
        delivered(key(kj->raw), *r.outcome, true);
      }
    }
    key_records_.clear();
    for (auto& r : spawn_records_) {
      auto it = std::find_if(waiters_.begin(), waiters_.end(),
                             [&](auto& p) { return p.get() == r.waiter; });
      FUZZ_CHECK(it != waiters_.end());
      std::unique_ptr<spawn_waiter> w = std::move(*it);
      waiters_.erase(it);
      if (w->spawned) {
        FUZZ_CHECK(!r.ec);  // spawned in the call: a late cancellation changes nothing
        FUZZ_CHECK(r.handle == gens_[w->gen].handle);
      } else if (w->cancelled) {
        FUZZ_CHECK(r.ec == net::error::operation_aborted);
        FUZZ_CHECK(r.handle == joinery::abort_handle());
      } else {
        // Spawned by its completion, just now: it could start at once
        // (once the model's queue has caught up with the handlers that ran
        // before it: the library starts queued tasks as slots free).
        FUZZ_CHECK(!r.ec);
        auto h = map_->get_abort_handle(key(w->raw));
        FUZZ_CHECK(h && *h == r.handle);
        promote();
        FUZZ_CHECK(can_start_now());
        gens_[w->gen].handle = r.handle;
        admit(w->raw, w->gen);
        FUZZ_CHECK(!is_queued(w->gen));
      }
    }
    spawn_records_.clear();
    for (joinery::error_code ec : shut_records_) {
      FUZZ_CHECK(shut_.pending);
      shut_.pending = false;
      shut_.grace.live = false;  // stopped: it aborts nothing from now on
      if (shut_.cancelled) {
        FUZZ_CHECK(ec == net::error::operation_aborted);
      } else {
        // Every task it had to wait for has ended and was taken.
        FUZZ_CHECK(!ec);
        FUZZ_CHECK(live_.empty());
      }
    }
    shut_records_.clear();
    for (auto& r : all_records_)
      join_all_completed(r);
    all_records_.clear();
    check_stats();
    check_inspection();
  }

  void check_structure() {
    FUZZ_CHECK(map_->size() == live_.size());
    std::set<Raw> keys;
    for (const key& k : map_->keys())
      FUZZ_CHECK(keys.insert(k.raw).second);
    std::set<Raw> expected;
    for (auto& [raw, gen] : live_)
      expected.insert(raw);
    FUZZ_CHECK(keys == expected);
    for (auto& [raw, gen] : live_)
      FUZZ_CHECK(map_->contains_task(gens_[gen].handle.id()));
  }

  void finish() {
    quiesce();
    // Destroy the io_context with tasks still suspended: they are reported
    // cancelled to a later join (AC-30), and their frames are gone.
    for (auto& gi : gens_)
      gi.g.reset();  // the frames keep their gates alive
    for (auto& gi : gens_)
      gi.unfinished_at_io_death = gi.spawned && !gi.handle.is_finished();
    io_.reset();
    spawn_records_.clear();  // completions run no more
    waiters_.clear();        // their handlers died with the context
    shut_.pending = false;   // its handler died with the context
    shut_.grace.live = false;
    all_.pending = false;     // its handler too, with what it took
    drain_handler_records();  // a pending join's handler died with the context
    join_.pending = false;
    key_joins_.clear();
    gone_joins_.clear();
    FUZZ_CHECK(live.frames == 0);
    while (auto next = map_->try_join_next())
      delivered(next->first, next->second);
    FUZZ_CHECK(live_.empty());
    FUZZ_CHECK(map_->empty());
    check_stats();
    FUZZ_CHECK(uncounted_.empty());  // every task of the map has ended
    map_.reset();
    gens_.clear();
    FUZZ_CHECK(live.keys == 0);
    FUZZ_CHECK(live.values == 0);
  }

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  input& in_;
  const int alphabet_;
  std::optional<net::io_context> io_;
  std::optional<map_type> map_;
  std::vector<gen_info> gens_;
  std::map<Raw, std::uint64_t> live_;  // the model of the map: key -> current task
  std::vector<std::uint64_t> finish_log_;
  std::size_t last_delivered_pos_ = npos;
  join_record join_;
  std::vector<record> records_;
  std::map<Raw, std::unique_ptr<key_join>> key_joins_;  // pending keyed joins
  std::vector<std::unique_ptr<key_join>> gone_joins_;   // their task left: not_found due
  std::vector<key_record> key_records_;
  std::vector<std::unique_ptr<spawn_waiter>> waiters_;  // pending async_spawn calls
  std::vector<spawn_record> spawn_records_;
  std::vector<std::uint64_t> queue_;  // the model's queue, oldest first
  std::size_t limit_ = 0;
  shutdown_record shut_;
  std::vector<joinery::error_code> shut_records_;
  join_all_record all_;
  std::vector<all_record> all_records_;
  std::size_t endings_checked_ = 0;  // finish_log_ entries check_endings() has seen
  std::size_t drains_ = 0;           // calls of drain_handler_records(): after every handler
  clock::time_point last_short_grace_end_{};  // the latest end of the last short grace period
  static constexpr std::chrono::milliseconds short_grace{2};
  bool in_initiation_ = false;
  // The model of the counters: spawned, detached and the peaks in stats_;
  // the outcomes known (counts_: succeeded, failed, cancelled, timed out)
  // and the tasks that ended whose outcome class the model cannot tell yet.
  joinery::group_stats stats_;
  std::uint64_t counts_[4] = {};
  std::vector<std::uint64_t> ambiguous_;
  std::vector<std::uint64_t> uncounted_;  // tasks of this map that have not ended
  std::uint64_t epoch_ = 0;               // maps destroyed so far (op 13)
  std::uint64_t spawn_seq_ = 0;
};

}  // namespace join_map_fuzz

using namespace join_map_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in(data, size);
  live = {};
  const std::uint8_t mode = in.byte();
  const int alphabet = (mode & 8) ? 38 : (mode & 4) ? 36 : (mode & 2) ? 32 : 16;
  if (mode % 2 == 0)
    harness<std::uint8_t>(in, alphabet).run();
  else
    harness<std::string>(in, alphabet).run();
  FUZZ_CHECK(live.keys == 0 && live.values == 0 && live.frames == 0);
  return 0;
}
