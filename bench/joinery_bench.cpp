// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// joinery-bench: the six workloads defined in docs/performance.md, section
// "Workloads" (W1 spawn-join, W2 yield-join, W3 abort, W4 replace, W5 memory,
// W6 multi-thread; and joinery's own W7 = W1 with set_concurrency_limit(64),
// W8 = W1 with spawn_with_timeout(1 h) on every task), run against joinery's
// join_map and (W1-W6) against three floors written here by hand with raw
// Asio:
//
//   joinery  the library: the driver drains results with try_join_next and
//            awaits async_join_next only when none is ready (the loop
//            docs/guide.md recommends for throughput).
//   joinery-await  the same with one co_await async_join_next per result.
//   raw      co_spawn + a completion handler writing into a vector allocated
//            up front, indexed by key. In W3/W4/W5, which need abort by key:
//            one cancellation_signal per task, from an array allocated up
//            front.
//   rawsig   raw, plus a per-task cancellation_signal bound in every workload
//            (the cost of making a task abortable).
//   mapped   co_spawn + absl::flat_hash_map<u64, unique_ptr<cancellation_signal>>
//            (what a user writes by hand today).
//
//   joinery-bench <w1|...|w8> <N> <joinery|joinery-await|raw|rawsig|mapped>
//                 [--reps R] [--nothrow] [--threads T] [--executor any|concrete]
//
// Each rep prints one line:
//   workload W1 impl joinery n 100000 rep 0 ns_per_task 1234.5 peak_rss_kib 12345
//   base_rss_kib 3500 bytes_per_task 88.1 [executor concrete] [nothrow] [threads 2]
// (one line; ` threads T` is printed for W6 only, the one workload it applies
// to). ns_per_task is the wall time of the workload / N; bytes_per_task is
// (ru_maxrss after the rep - RSS before it) / N, meaningful for rep 0 only.
// Every run checks its outcomes and exits 1 with a message on a mismatch.
//
// All impls are driven alike: one coroutine (the "driver") spawns the tasks,
// aborts what the workload aborts and, for joinery, joins. The floors' driver
// returns after spawning and aborting; their outcomes are recorded by the
// completion handlers while io_context::run() drains.

#include <joinery/join_map.hpp>

#include <absl/container/flat_hash_map.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

namespace net = boost::asio;
using u64 = std::uint64_t;

// --- Options ---------------------------------------------------------------

enum class workload { w1, w2, w3, w4, w5, w6, w7, w8 };
enum class impl_kind { joinery, raw, rawsig, mapped, joinery_await };

constexpr const char* workload_names[] = {"W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"};
constexpr const char* impl_names[] = {"joinery", "raw", "rawsig", "mapped", "joinery-await"};

constexpr bool is_joinery(impl_kind k) {
  return k == impl_kind::joinery || k == impl_kind::joinery_await;
}

struct options {
  workload w = workload::w1;
  u64 n = 0;
  impl_kind impl = impl_kind::joinery;
  int reps = 1;
  bool nothrow = false;
  int threads = 2;
  bool concrete = false;
  // The single-threaded workloads on an io_context with the default
  // concurrency hint: joinery cannot tell it is run by one thread and
  // serializes every task with its run lock (the cost of its thread-safety
  // design; the option keeps its first name, from when that was a strand).
  bool strands = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "joinery-bench: %s\n"
               "usage: joinery-bench <w1|...|w8> <N> <joinery|joinery-await|raw|rawsig|mapped>\n"
               "                     [--reps R] [--nothrow] [--threads T] "
               "[--executor any|concrete] [--strands]\n",
               why.c_str());
  std::exit(2);
}

// A positive integer, written plainly (100000) or in exponent form (1e5).
u64 parse_count(const char* s, const char* what) {
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(d >= 1) || d > 1e15 || d != std::floor(d))
    usage(std::string("bad ") + what + " '" + s + "'");
  return static_cast<u64>(d);
}

options parse(int argc, char** argv) {
  if (argc < 4)
    usage("missing arguments");
  options o;
  const std::string w = argv[1];
  if (w.size() != 2 || w[0] != 'w' || w[1] < '1' || w[1] > '8')
    usage("unknown workload '" + w + "'");
  o.w = static_cast<workload>(w[1] - '1');
  o.n = parse_count(argv[2], "N");
  const std::string impl = argv[3];
  bool found = false;
  for (int i = 0; i < static_cast<int>(std::size(impl_names)); ++i) {
    if (impl == impl_names[i]) {
      o.impl = static_cast<impl_kind>(i);
      found = true;
    }
  }
  if (!found)
    usage("unknown impl '" + impl + "'");
  bool threads_given = false;
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc)
        usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--reps") {
      o.reps = static_cast<int>(parse_count(value(), "--reps"));
    } else if (a == "--nothrow") {
      o.nothrow = true;
    } else if (a == "--threads") {
      o.threads = static_cast<int>(parse_count(value(), "--threads"));
      threads_given = true;
    } else if (a == "--strands") {
      o.strands = true;
    } else if (a == "--executor") {
      const std::string e = value();
      if (e == "concrete")
        o.concrete = true;
      else if (e != "any")
        usage("--executor must be any or concrete");
    } else {
      usage("unknown option '" + a + "'");
    }
  }
  const bool waits_forever = o.w == workload::w3 || o.w == workload::w4 || o.w == workload::w5;
  if (o.nothrow && !waits_forever)
    usage("--nothrow applies to w3, w4 and w5 (the tasks that wait on a timer)");
  if (threads_given && o.w != workload::w6)
    usage("--threads applies to w6 only (the other workloads run one thread)");
  if (o.concrete && o.w == workload::w6)
    usage(
        "w6 needs --executor any: its driver runs on a strand, and a join_map typed on "
        "io_context::executor_type requires a single-threaded context");
  if ((o.w == workload::w7 || o.w == workload::w8) && !is_joinery(o.impl))
    usage("w7 and w8 measure joinery's scheduling (a concurrency limit, deadlines): joinery only");
  if (o.w == workload::w4 && (o.n < 10 || o.n % 10 != 0))
    usage("w4 needs N to be a multiple of 10 (N/10 keys, each replaced 10 times)");
  return o;
}

// --- Memory ----------------------------------------------------------------

long current_rss_kib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f)
    throw std::runtime_error("cannot open /proc/self/statm");
  long size = 0, resident = 0;
  const int got = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (got != 2)
    throw std::runtime_error("cannot read /proc/self/statm");
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;  // KiB on Linux
}

// --- Tasks -----------------------------------------------------------------

// Marks in the floors' outcomes.
constexpr u64 unset_mark = ~u64(0);          // no outcome recorded
constexpr u64 failed_mark = ~u64(0) - 1;     // the task threw
constexpr u64 cancelled_mark = ~u64(0) - 2;  // a --nothrow task saw its wait cancelled

// Wait-forever tasks that reached their wait. The workloads that use it run
// on one thread.
u64 g_started = 0;

template <class Ex>
using task = net::awaitable<u64, Ex>;

template <class Ex>
using forever_timer = net::basic_waitable_timer<std::chrono::steady_clock,
                                                net::wait_traits<std::chrono::steady_clock>, Ex>;

// W1: returns without suspending.
template <class Ex>
task<Ex> ready_task(u64 i) {
  co_return i;
}

// W2, W6: yields once first.
template <class Ex>
task<Ex> yield_task(u64 i) {
  co_await net::post(co_await net::this_coro::executor, net::use_awaitable_t<Ex>());
  co_return i;
}

// W3, W4, W5: waits forever; aborted, the wait throws operation_aborted.
template <class Ex>
task<Ex> forever_task(u64 i) {
  forever_timer<Ex> timer(co_await net::this_coro::executor, forever_timer<Ex>::time_point::max());
  ++g_started;
  co_await timer.async_wait(net::use_awaitable_t<Ex>());
  co_return i;
}

// The same under --nothrow: the cancelled wait returns an error code.
template <class Ex>
task<Ex> forever_task_nothrow(u64 i) {
  forever_timer<Ex> timer(co_await net::this_coro::executor, forever_timer<Ex>::time_point::max());
  ++g_started;
  auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable_t<Ex>()));
  co_return ec ? cancelled_mark : i;
}

template <class Ex>
task<Ex> make_task(const options& o, u64 i) {
  switch (o.w) {
    case workload::w1:
    case workload::w7:
    case workload::w8:
      return ready_task<Ex>(i);
    case workload::w2:
    case workload::w6:
      return yield_task<Ex>(i);
    default:
      return o.nothrow ? forever_task_nothrow<Ex>(i) : forever_task<Ex>(i);
  }
}

// W4 cycles over N/10 keys; the others use one key per task.
u64 key_of(const options& o, u64 i) {
  return o.w == workload::w4 ? i % (o.n / 10) : i;
}

// Yields until every wait-forever task has reached its wait.
template <class Ex>
net::awaitable<void, Ex> wait_all_started(u64 n) {
  while (g_started < n)
    co_await net::post(co_await net::this_coro::executor, net::use_awaitable_t<Ex>());
}

// --- Outcomes --------------------------------------------------------------

struct outcome {
  u64 sum = 0;        // of the values joined
  u64 joined = 0;     // outcomes joined (W5: tasks held)
  u64 cancelled = 0;  // of which cancelled
  u64 failed = 0;     // of which failed otherwise
};

// A floor's completion handler's outcome. The tasks of these workloads only
// throw when their wait is cancelled, so an exception counts as cancelled
// (telling it apart would cost the floor a rethrow).
void record(outcome& out, const std::exception_ptr& e, u64 v) {
  ++out.joined;
  if (e || v == cancelled_mark)
    ++out.cancelled;
  else
    out.sum += v;
}

void check(const options& o, const outcome& out) {
  const u64 n = o.n;
  auto expect = [](const char* what, u64 got, u64 want) {
    if (got != want)
      throw std::runtime_error(std::string(what) + " " + std::to_string(got) + ", expected " +
                               std::to_string(want));
  };
  switch (o.w) {
    case workload::w1:
    case workload::w2:
    case workload::w6:
    case workload::w7:
    case workload::w8:
      expect("joined", out.joined, n);
      expect("cancelled", out.cancelled, 0);
      expect("failed", out.failed, 0);
      expect("sum", out.sum, n * (n - 1) / 2);
      break;
    case workload::w3:
      expect("joined", out.joined, n);
      expect("cancelled", out.cancelled, n);
      expect("failed", out.failed, 0);
      break;
    case workload::w4:
      expect("joined", out.joined, n / 10);
      expect("cancelled", out.cancelled, n / 10);
      expect("failed", out.failed, 0);
      break;
    case workload::w5:
      expect("started", g_started, n);
      expect("held", out.joined, n);
      break;
  }
}

// --- joinery ---------------------------------------------------------------

template <class Ex>
using joinery_map = joinery::join_map_on<u64, u64, Ex>;

// The map's tasks run on `task_ex`; the driver runs on the io_context (W6: on
// a strand, where the map lives and its joins complete).
template <class Ex>
net::awaitable<void, Ex> joinery_driver(const options& o, Ex task_ex, outcome& out,
                                        net::io_context& io) {
  const u64 n = o.n;
  auto owner = std::make_unique<joinery_map<Ex>>(task_ex);
  joinery_map<Ex>& map = *owner;
  if (o.w == workload::w7)
    map.set_concurrency_limit(64);  // W7: W1 with at most 64 tasks running
  if (o.w == workload::w8) {
    // W8: W1 with a deadline on every task (none fires).
    for (u64 i = 0; i < n; ++i)
      map.spawn_with_timeout(key_of(o, i), std::chrono::hours(1), make_task<Ex>(o, i));
  } else {
    for (u64 i = 0; i < n; ++i)
      map.spawn(key_of(o, i), make_task<Ex>(o, i));
  }
  switch (o.w) {
    case workload::w3:
      co_await wait_all_started<Ex>(n);
      for (u64 k = 0; k < n; ++k) {
        if (!map.abort(k))
          throw std::runtime_error("abort: key " + std::to_string(k) + " missing");
      }
      break;
    case workload::w4:
      map.abort_all();
      break;
    case workload::w5:
      co_await wait_all_started<Ex>(n);
      out.joined = map.size();
      (void)owner.release();  // held until exit, never cleaned up
      io.stop();
      co_return;
    default:
      break;
  }
  auto record = [&](const joinery::join_result<u64>& r) {
    ++out.joined;
    if (r)
      out.sum += *r;
    else if (r.error().is_cancelled())
      ++out.cancelled;
    else
      ++out.failed;
  };
  if (o.impl == impl_kind::joinery_await) {
    // One co_await per result: an asynchronous round trip each.
    while (auto next = co_await map.async_join_next())
      record(next->second);
  } else {
    // The drain loop (docs/guide.md): take what is ready without waiting,
    // await only when nothing is.
    for (;;) {
      while (auto next = map.try_join_next())
        record(next->second);
      auto next = co_await map.async_join_next();
      if (!next)
        break;
      record(next->second);
    }
  }
}

// --- The floors ------------------------------------------------------------

// What the floors keep outside the driver: their handlers write into it
// after the driver has returned.
struct floor_state {
  std::vector<u64> slots;                            // raw, rawsig: outcome by key
  std::unique_ptr<net::cancellation_signal[]> sigs;  // raw (W3-W5), rawsig: one per task
  std::vector<u64> current;                          // raw, rawsig W4: the task under each key
  absl::flat_hash_map<u64, std::unique_ptr<net::cancellation_signal>> map;  // mapped
  outcome out;
};

constexpr auto terminal = net::cancellation_type::terminal;

template <class Ex>
void raw_spawn_simple(const options& o, const Ex& task_ex, floor_state& fs) {
  const u64 n = o.n;
  fs.slots.assign(n, unset_mark);
  u64* slots = fs.slots.data();
  if (o.impl == impl_kind::raw) {
    for (u64 i = 0; i < n; ++i)
      net::co_spawn(task_ex, make_task<Ex>(o, i),
                    [slots, i](std::exception_ptr e, u64 v) { slots[i] = e ? failed_mark : v; });
  } else {
    fs.sigs.reset(new net::cancellation_signal[n]);
    for (u64 i = 0; i < n; ++i)
      net::co_spawn(
          task_ex, make_task<Ex>(o, i),
          net::bind_cancellation_slot(fs.sigs[i].slot(), [slots, i](std::exception_ptr e, u64 v) {
            slots[i] = e ? failed_mark : v;
          }));
  }
}

// raw and rawsig in W3/W4/W5 (the same code: abort by key needs a signal).
template <class Ex>
net::awaitable<void, Ex> raw_abortable(const options& o, Ex task_ex, floor_state& fs,
                                       net::io_context& io) {
  const u64 n = o.n;
  fs.sigs.reset(new net::cancellation_signal[n]);
  net::cancellation_signal* sigs = fs.sigs.get();
  outcome* out = &fs.out;
  if (o.w == workload::w4) {
    const u64 keys = n / 10;
    fs.current.assign(keys, unset_mark);
    u64* current = fs.current.data();
    for (u64 i = 0; i < n; ++i) {
      const u64 k = i % keys;
      if (current[k] != unset_mark)
        sigs[current[k]].emit(terminal);  // replaced: its outcome is dropped below
      current[k] = i;
      net::co_spawn(task_ex, make_task<Ex>(o, i),
                    net::bind_cancellation_slot(sigs[i].slot(),
                                                [out, current, k, i](std::exception_ptr e, u64 v) {
                                                  if (current[k] == i)
                                                    record(*out, e, v);
                                                }));
    }
    for (u64 k = 0; k < keys; ++k)
      sigs[current[k]].emit(terminal);
    co_return;
  }
  for (u64 i = 0; i < n; ++i)
    net::co_spawn(task_ex, make_task<Ex>(o, i),
                  net::bind_cancellation_slot(
                      sigs[i].slot(), [out](std::exception_ptr e, u64 v) { record(*out, e, v); }));
  co_await wait_all_started<Ex>(n);
  if (o.w == workload::w5) {
    out->joined = g_started;
    io.stop();
    co_return;
  }
  for (u64 k = 0; k < n; ++k)
    sigs[k].emit(terminal);
}

template <class Ex>
net::awaitable<void, Ex> mapped_driver(const options& o, Ex task_ex, floor_state& fs,
                                       net::io_context& io) {
  const u64 n = o.n;
  auto& map = fs.map;
  outcome* out = &fs.out;
  if (o.w == workload::w1 || o.w == workload::w2 || o.w == workload::w6) {
    const auto driver_ex = co_await net::this_coro::executor;
    for (u64 i = 0; i < n; ++i) {
      auto& sig = map[i];
      sig = std::make_unique<net::cancellation_signal>();
      auto done = [&map, out, i](std::exception_ptr e, u64 v) {
        map.erase(i);
        ++out->joined;
        if (e)
          ++out->failed;
        else
          out->sum += v;
      };
      if (o.w == workload::w6)  // the map lives on the driver's strand
        net::co_spawn(
            task_ex, make_task<Ex>(o, i),
            net::bind_cancellation_slot(sig->slot(), net::bind_executor(driver_ex, done)));
      else
        net::co_spawn(task_ex, make_task<Ex>(o, i), net::bind_cancellation_slot(sig->slot(), done));
    }
    co_return;
  }
  for (u64 i = 0; i < n; ++i) {
    const u64 k = key_of(o, i);
    auto& slot = map[k];
    if (slot) {
      // W4: replaced while pending. The old task's handler owns its signal
      // from now on: the signal must outlive the task it is bound to.
      slot->emit(terminal);
      (void)slot.release();
    }
    slot = std::make_unique<net::cancellation_signal>();
    net::cancellation_signal* sig = slot.get();
    net::co_spawn(
        task_ex, make_task<Ex>(o, i),
        net::bind_cancellation_slot(sig->slot(), [&map, out, k, sig](std::exception_ptr e, u64 v) {
          auto it = map.find(k);
          if (it != map.end() && it->second.get() == sig) {
            map.erase(it);
            record(*out, e, v);
          } else {
            delete sig;  // a replaced task: nobody joins it
          }
        }));
  }
  switch (o.w) {
    case workload::w3:
      co_await wait_all_started<Ex>(n);
      for (u64 k = 0; k < n; ++k) {
        auto it = map.find(k);
        if (it == map.end())
          throw std::runtime_error("abort: key " + std::to_string(k) + " missing");
        it->second->emit(terminal);
      }
      break;
    case workload::w4:
      // emit only queues the cancelled waits' completions, so the handlers
      // (which erase) run after this loop.
      for (auto& [k, sig] : map)
        sig->emit(terminal);
      break;
    case workload::w5:
      co_await wait_all_started<Ex>(n);
      out->joined = map.size();
      io.stop();
      break;
    default:
      break;
  }
}

template <class Ex>
net::awaitable<void, Ex> floor_driver(const options& o, Ex task_ex, floor_state& fs,
                                      net::io_context& io) {
  if (o.impl == impl_kind::mapped) {
    co_await mapped_driver<Ex>(o, task_ex, fs, io);
  } else if (o.w == workload::w3 || o.w == workload::w4 || o.w == workload::w5) {
    co_await raw_abortable<Ex>(o, task_ex, fs, io);
  } else {
    raw_spawn_simple<Ex>(o, task_ex, fs);
  }
}

// The floors' join for raw and rawsig in W1/W2/W6: read the slots.
void collect_slots(const floor_state& fs, outcome& out) {
  for (u64 v : fs.slots) {
    if (v == unset_mark)
      continue;
    ++out.joined;
    if (v == failed_mark)
      ++out.failed;
    else
      out.sum += v;
  }
}

// --- One rep ---------------------------------------------------------------

void rethrow_if(std::exception_ptr e) {
  if (e)
    std::rethrow_exception(e);
}

// Runs `io` on o.threads threads (this one included); rethrows the first
// exception that escaped run().
void run_threads(const options& o, net::io_context& io) {
  std::mutex m;
  std::exception_ptr error;
  auto run = [&] {
    try {
      io.run();
    } catch (...) {
      std::lock_guard lock(m);
      if (!error)
        error = std::current_exception();
      io.stop();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < o.threads; ++t)
    pool.emplace_back(run);
  run();
  for (auto& t : pool)
    t.join();
  rethrow_if(error);
}

template <class Ex>
void run_rep(const options& o, int rep) {
  const bool multi = o.w == workload::w6;
  const bool waits_forever = o.w == workload::w3 || o.w == workload::w4 || o.w == workload::w5;
  g_started = 0;

  // Single-threaded workloads: concurrency hint 1 for every impl alike.
  auto io = multi || o.strands ? std::make_unique<net::io_context>()
                               : std::make_unique<net::io_context>(1);
  // A program that waits on anything has a reactor: make it exist up front.
  std::optional<net::steady_timer> reactor;
  if (waits_forever)
    reactor.emplace(*io);
  auto fs = std::make_unique<floor_state>();
  outcome joined;

  const long base_kib = current_rss_kib();
  const auto t0 = std::chrono::steady_clock::now();
  const Ex task_ex(io->get_executor());
  auto driver = [&]() -> net::awaitable<void, Ex> {
    return is_joinery(o.impl) ? joinery_driver<Ex>(o, task_ex, joined, *io)
                              : floor_driver<Ex>(o, task_ex, *fs, *io);
  };
  if (multi) {
    if constexpr (std::is_same_v<Ex, net::any_io_executor>) {
      net::co_spawn(net::make_strand(*io), driver(), [](std::exception_ptr e) { rethrow_if(e); });
      run_threads(o, *io);
    }
  } else {
    net::co_spawn(*io, driver(), [](std::exception_ptr e) { rethrow_if(e); });
    io->run();
  }
  if (!is_joinery(o.impl)) {
    if (!fs->slots.empty())
      collect_slots(*fs, fs->out);
    joined = fs->out;
  }
  const auto t1 = std::chrono::steady_clock::now();
  const long peak_kib = peak_rss_kib();

  check(o, joined);

  const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
  std::printf(
      "workload %s impl %s n %llu rep %d ns_per_task %.1f peak_rss_kib %ld base_rss_kib %ld "
      "bytes_per_task %.1f%s%s%s",
      workload_names[static_cast<int>(o.w)], impl_names[static_cast<int>(o.impl)],
      static_cast<unsigned long long>(o.n), rep, ns / static_cast<double>(o.n), peak_kib, base_kib,
      static_cast<double>(peak_kib - base_kib) * 1024.0 / static_cast<double>(o.n),
      o.concrete ? " executor concrete" : "", o.nothrow ? " nothrow" : "",
      o.strands ? " strands" : "");
  if (multi)
    std::printf(" threads %d", o.threads);
  std::printf("\n");
  std::fflush(stdout);

  if (o.w == workload::w5) {
    // Held until exit: no cleanup (the caller exits with _Exit).
    (void)io.release();
    (void)fs.release();
  }
}

template <class Ex>
void run_all(const options& o) {
  for (int rep = 0; rep < o.reps; ++rep)
    run_rep<Ex>(o, rep);
}

}  // namespace

// --- hflood: the cost of colliding keys (docs/spec.md R11) -------------------
//
//   joinery-bench hflood
//
// For N = 2^14 and 2^16 keys, the time per task of spawning N ready tasks
// under those keys and joining them all, for:
//   random    u64 keys, the default hash;
//   stdcoll   keys whose std::hash is the same for all of them (what floods a
//             std::unordered_map), under joinery's default hash (absl::Hash
//             of the key's contents);
//   constant  the same u64 keys under a user hash that returns a constant:
//             the worst a user-supplied hash can do.
// Prints the ns per task and the ratios the targets are stated in: 2^16
// over 2^14 (quadratic behaviour gives about 4) and stdcoll over random.

namespace {

struct flood_key {
  u64 v;
  friend bool operator==(const flood_key&, const flood_key&) = default;
  template <class H>
  friend H AbslHashValue(H h, const flood_key& k) {
    return H::combine(std::move(h), k.v);
  }
};

}  // namespace

template <>
struct std::hash<flood_key> {
  std::size_t operator()(const flood_key&) const noexcept { return 42; }  // every key collides
};

namespace {

struct constant_hash {
  std::size_t operator()(u64) const noexcept { return 42; }
};

template <class Map, class MakeKey>
double flood_ns_per_task(u64 n, MakeKey make_key) {
  net::io_context io(1);
  double ns = 0;
  u64 joined = 0;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        Map map(co_await net::this_coro::executor);
        const auto t0 = std::chrono::steady_clock::now();
        for (u64 i = 0; i < n; ++i)
          map.spawn(make_key(i), [i]() -> net::awaitable<u64> { co_return i; });
        for (;;) {
          while (map.try_join_next())
            ++joined;
          if (!co_await map.async_join_next())
            break;
          ++joined;
        }
        ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0)
                 .count() /
             static_cast<double>(n);
      },
      [](std::exception_ptr e) { rethrow_if(e); });
  io.run();
  if (joined != n)
    throw std::runtime_error("hflood: joined " + std::to_string(joined));
  return ns;
}

int hflood() {
  std::mt19937_64 rng(1);
  std::vector<u64> random_keys(1 << 16);
  for (auto& k : random_keys)
    k = rng();
  double r[2], s[2], c[2];
  const u64 sizes[2] = {1 << 14, 1 << 16};
  for (int i = 0; i < 2; ++i) {
    const u64 n = sizes[i];
    r[i] = flood_ns_per_task<joinery::join_map<u64, u64>>(n, [&](u64 j) { return random_keys[j]; });
    s[i] = flood_ns_per_task<joinery::join_map<flood_key, u64>>(
        n, [&](u64 j) { return flood_key{random_keys[j]}; });
    c[i] = flood_ns_per_task<joinery::join_map<u64, u64, constant_hash>>(
        n, [&](u64 j) { return random_keys[j]; });
    std::printf("hflood n %llu random %.1f stdcoll %.1f constant %.1f ns_per_task\n",
                static_cast<unsigned long long>(n), r[i], s[i], c[i]);
  }
  std::printf(
      "hflood ratio_2^16/2^14 random %.2f stdcoll %.2f constant %.2f ; stdcoll/random at 2^16 "
      "%.2f\n",
      r[1] / r[0], s[1] / s[0], c[1] / c[0], s[1] / r[1]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "hflood")
    return hflood();
  const options o = parse(argc, argv);
  try {
    if (o.concrete)
      run_all<net::io_context::executor_type>(o);
    else
      run_all<net::any_io_executor>(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "joinery-bench: %s %s n %llu: FAILED: %s\n",
                 workload_names[static_cast<int>(o.w)], impl_names[static_cast<int>(o.impl)],
                 static_cast<unsigned long long>(o.n), e.what());
    return 1;
  }
  std::fflush(stdout);
  if (o.w == workload::w5)
    std::_Exit(0);  // W5: exit without cleanup
  return 0;
}
