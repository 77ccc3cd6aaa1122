// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// Differential fuzzer for join_map: every input is a script of operations on
// a join_map driven by a single-threaded io_context that the script steps one
// handler at a time. A reference model says what each operation must return.
//
// The first byte picks the key type (bit 0) and the alphabet (bit 1): the
// base alphabet of 16 operations, or the extended one of 32, which adds the
// per-key operations (async_join, detach, is_finished, get_abort_handle),
// joins that wait while empty, ready_count, and graceful requests (abort
// with partial or total cancellation, which the scripted tasks, accepting
// terminal cancellation only, must not notice: ops 22-23), and scheduling
// (ops 24-31): set_concurrency_limit, try_spawn, async_spawn and its
// cancellation, spawn_with_deadline with a deadline already due (the timer
// fires at the next poll) or far away, queued_count. The model keeps the
// queue: a task spawned while the limit's tasks run (or while tasks are
// queued) waits in it, in order, and starts as slots free.
//
// Tasks are scripted coroutines: 0-4 suspension points (a gate the script
// opens, or a yield that completes by itself), then an outcome (a value, an
// exception, or never finishing). Keys are uint8_t (many replacements) or
// short strings. Checked after every operation:
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
// deliver results in that order.
struct finish_recorder {
  std::vector<std::uint64_t>* log;
  std::uint64_t gen;
  ~finish_recorder() { log->push_back(gen); }
};

struct frame_counter {
  frame_counter() { ++live.frames; }
  frame_counter(const frame_counter&) = delete;
  ~frame_counter() { --live.frames; }
};

net::awaitable<fvalue> scripted(std::shared_ptr<gate> g, script s, std::vector<std::uint64_t>* log,
                                std::uint64_t gen) {
  frame_counter fc;
  finish_recorder rec{log, gen};
  for (int i = 0; i < s.steps; ++i) {
    if (s.yields & (1u << i)) {
      co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
    } else {
      while (!g->open) {
        auto [ec] = co_await g->timer.async_wait(net::as_tuple(net::use_awaitable));
        (void)ec;  // the gate opening cancels the wait; an abort throws at the next co_await
      }
    }
  }
  if (s.end == ending::never) {
    net::steady_timer forever(co_await net::this_coro::executor,
                              net::steady_timer::time_point::max());
    co_await forever.async_wait(net::use_awaitable);
  }
  if (s.end == ending::throws)
    throw std::runtime_error("scripted failure");
  co_return fvalue(s.value);
}

// --- The harness -----------------------------------------------------------

template <class Raw>
class harness {
  using key = counted_key<Raw>;
  using map_type = joinery::join_map<key, fvalue, absl::Hash<key>, std::equal_to<key>>;
  using next_type = std::optional<typename map_type::value_type>;

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
  harness(input& in, bool extended)
      : in_(in),
        extended_(extended),
        io_(std::in_place, 1),
        map_(std::in_place, io_->get_executor()) {}

  void run() {
    for (int ops = 0; !in_.done() && ops < 4096; ++ops) {
      step_op(in_.byte() % (extended_ ? 32 : 16));
      check_structure();
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
        live_.clear();                                 // detached: reported to nobody
        queue_.clear();                                // queued ones start, outside the map
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
        for (auto& [raw, gen] : live_)
          owned.push_back(gen);
        live_.clear();
        for (auto& [raw, kj] : key_joins_)
          kj->cancelled = true;
        for (auto& kj : gone_joins_)
          kj->cancelled = true;
        for (auto& w : waiters_)
          w->cancelled = true;
        map_.reset();
        queue_.clear();
        limit_ = 0;
        if (join_.pending)
          join_.cancelled = true;
        // Their completions are already posted; let them run, so that the
        // next joins belong to the new map.
        io_->restart();
        while (
            (join_.pending || !key_joins_.empty() || !gone_joins_.empty() || !waiters_.empty()) &&
            io_->poll_one() != 0)
          drain_handler_records();
        FUZZ_CHECK(waiters_.empty());
        FUZZ_CHECK(!join_.pending);
        FUZZ_CHECK(key_joins_.empty());
        FUZZ_CHECK(gone_joins_.empty());
        // Destruction aborted every task: run to quiescence, then none of
        // them may still run (a task that never ends on its own included).
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
      case 16:
        start_key_join(make_raw(in_.byte()));
        break;
      case 17:
        cancel_key_join(in_.byte(), in_.byte() % 3);
        break;
      case 18: {
        Raw raw = make_raw(in_.byte());
        const bool expect = live_.count(raw) != 0;
        if (expect) {
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
        // A graceful request (partial or total) to one key: the scripted
        // tasks accept terminal cancellation only, so nothing changes; it
        // returns what abort(key) returns.
        Raw raw = make_raw(in_.byte());
        const auto type =
            (in_.byte() & 1) ? net::cancellation_type::partial : net::cancellation_type::total;
        FUZZ_CHECK(map_->abort(key(raw), type) == (live_.count(raw) != 0));
        break;
      }
      case 23: {
        // The same for every task, or those a predicate picks (the count is
        // abort_matching's).
        const unsigned m = 2 + in_.byte() % 4, r = in_.byte() % m;
        auto pred = [&](const Raw& raw) { return hash_of(raw) % m == r; };
        if (m == 2) {
          map_->abort_all(net::cancellation_type::total);
        } else {
          std::size_t expect = 0;
          for (auto& [raw, gen] : live_)
            expect += pred(raw) ? 1 : 0;
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
        const auto when = op == 26 ? std::chrono::steady_clock::now() - std::chrono::seconds(1)
                                   : std::chrono::steady_clock::now() + std::chrono::hours(1);
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
      default:  // 31
        quiesce();
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
    auto g = std::make_shared<gate>(io_->get_executor());
    gens_.push_back({raw, s, g, {}, false, false});
    return gens_.size() - 1;
  }

  auto factory(std::uint64_t gen) {
    return [g = gens_[gen].g, s = gens_[gen].s, log = &finish_log_, gen] {
      return scripted(g, s, log, gen);
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
    if (!can_start_now())
      queue_.push_back(gen);
    if (auto it = live_.find(raw); it != live_.end()) {
      drop_from_queue(it->second);  // replaced: never runs, never reported
      retire_key_join(raw);
    }
    live_[raw] = gen;
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
    if (!gi.handle.is_finished())
      gi.cancel_expected = true;
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
    FUZZ_CHECK(map_->queued_count() == queue_.size());
    for (auto& [raw, gen] : live_)
      FUZZ_CHECK(!gens_[gen].due || gens_[gen].handle.is_finished());
    for (auto& w : waiters_)
      FUZZ_CHECK(w->spawned || w->cancelled || !can_start_now());
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
    auto& gi = gens_[it->second];
    FUZZ_CHECK(!gi.delivered);
    FUZZ_CHECK(gi.handle.is_finished());
    if (gi.due && r.has_error() && r.error().is_timed_out()) {
      // Its deadline passed before it finished.
    } else if (gi.cancel_expected || gi.unfinished_at_io_death) {
      FUZZ_CHECK(r.has_error() && r.error().is_cancelled());
    } else {
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
    if (gi.abort_requested && !gi.unfinished_at_io_death) {
      if (r.has_value())
        ++aborted_outcomes.value_kept;
      if (r.has_error() && r.error().is_cancelled())
        ++aborted_outcomes.cancelled;
    }
    // Completion order: among tasks whose body ran, results come in the
    // order the bodies ended (a keyed join takes its task out of turn).
    auto pos = std::find(finish_log_.begin(), finish_log_.end(), it->second);
    if (pos != finish_log_.end() && !via_key && !gi.was_reserved) {
      const std::size_t p = static_cast<std::size_t>(pos - finish_log_.begin());
      FUZZ_CHECK(last_delivered_pos_ == npos || p > last_delivered_pos_);
      last_delivered_pos_ = p;
    }
    gi.delivered = true;
    live_.erase(it);
  }

  void try_join() {
    auto next = map_->try_join_next();
    if (next) {
      delivered(next->first, next->second);
    } else if (!join_.pending) {
      // Nothing ready means nothing finished (single thread: a finished task
      // has reported), unless a pending join is about to take it.
      for (auto& [raw, gen] : live_)
        FUZZ_CHECK(reserved(raw) || !gens_[gen].handle.is_finished());
    }
    drain_handler_records();
  }

  void start_join(bool wait_if_empty = false) {
    if (join_.pending) {
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
      FUZZ_CHECK(!called);
      io_->restart();
      while (!called && io_->poll_one() != 0)
        drain_handler_records();
      FUZZ_CHECK(called);
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
      FUZZ_CHECK(!called);
      io_->restart();
      while (!called && io_->poll_one() != 0)
        drain_handler_records();
      FUZZ_CHECK(called);
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

  void drain_handler_records() {
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
    for (auto& [raw, gen] : live_)
      gens_[gen].unfinished_at_io_death = !gens_[gen].handle.is_finished();
    io_.reset();
    spawn_records_.clear();   // completions run no more
    waiters_.clear();         // their handlers died with the context
    drain_handler_records();  // a pending join's handler died with the context
    join_.pending = false;
    key_joins_.clear();
    gone_joins_.clear();
    FUZZ_CHECK(live.frames == 0);
    while (auto next = map_->try_join_next())
      delivered(next->first, next->second);
    FUZZ_CHECK(live_.empty());
    FUZZ_CHECK(map_->empty());
    map_.reset();
    gens_.clear();
    FUZZ_CHECK(live.keys == 0);
    FUZZ_CHECK(live.values == 0);
  }

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  input& in_;
  const bool extended_;
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
  bool in_initiation_ = false;
};

}  // namespace join_map_fuzz

using namespace join_map_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in(data, size);
  live = {};
  const std::uint8_t mode = in.byte();
  const bool extended = (mode & 2) != 0;
  if (mode % 2 == 0)
    harness<std::uint8_t>(in, extended).run();
  else
    harness<std::string>(in, extended).run();
  FUZZ_CHECK(live.keys == 0 && live.values == 0 && live.frames == 0);
  return 0;
}
