// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_TASK_HPP
#define JOINERY_DETAIL_TASK_HPP

// The state of one spawned task, shared by everything that refers to it: the
// group's index, the running coroutine (or blocking job), abort_handles, and
// aborts in flight. It is reference counted, so any of them may outlive the
// others: an abort_handle used after its map is gone, or a task finishing on
// another thread after the map was destroyed, touches only this object.

#include <joinery/detail/config.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace joinery::detail {

class group_core;
class task_header;

// Bits of task_header::state_.
inline constexpr std::uint32_t abort_bit = 1;     // abort() was called
inline constexpr std::uint32_t started_bit = 2;   // the body began to run
inline constexpr std::uint32_t finished_bit = 4;  // the outcome is fixed; nothing runs any more
inline constexpr std::uint32_t cancel_posted_bit = 16;  // an abort's cancellation was posted
// The bits above count cancellation requests in flight (see coro_task).
inline constexpr std::uint32_t cancel_unit = 1u << 8;

// The operations that depend on the task's concrete type.
struct task_vtable {
  void (*destroy)(task_header*) noexcept;
  // Interrupts a started coroutine: posts a terminal cancellation to the
  // task's own executor. Null for blocking tasks, which cannot be interrupted.
  void (*request_cancel)(task_header*);
  // Destroys a stored value whose task turned out to be aborted.
  void (*discard_value)(task_header*) noexcept;
};

enum class outcome : unsigned char { none, value, exception };

class task_header {
 public:
  task_header(const task_header&) = delete;
  task_header& operator=(const task_header&) = delete;

  void add_ref() noexcept {
    // Relaxed: a new reference is always made from an existing one, which
    // already keeps the object alive (the usual shared_ptr argument).
    refs_.fetch_add(1, std::memory_order_relaxed);
  }

  void release() noexcept {
    // acq_rel: the releasing thread's writes to the task must happen before
    // the destroying thread's destructor runs.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      vtable_->destroy(this);
  }

  task_id id() const noexcept { return task_id(id_); }

  bool is_finished() const noexcept {
    return (state_.load(std::memory_order_acquire) & finished_bit) != 0;
  }

  // Requests the task to stop. Idempotent; returns at once. A task that has
  // not started never runs its body; a started coroutine is interrupted at
  // its next suspension point; a finished task keeps its outcome; a started
  // blocking task runs to completion. May throw std::bad_alloc when the
  // cancellation cannot be posted; the task is then marked aborted (it will
  // be reported cancelled when it ends) and calling abort() again retries
  // the posting.
  void abort() {
    // acq_rel on both sides of the started/abort handshake: the RMWs on
    // state_ are totally ordered, so exactly one of try_start() and abort()
    // sees the other's bit. If abort sees no started bit, try_start will see
    // the abort bit and skip the body, so no cancellation needs posting.
    const std::uint32_t prev = state_.fetch_or(abort_bit, std::memory_order_acq_rel);
    if ((prev & finished_bit) != 0 || (prev & started_bit) == 0 || !vtable_->request_cancel)
      return;
    // One cancellation per task is enough: claim the posting.
    if (state_.fetch_or(cancel_posted_bit, std::memory_order_acq_rel) & cancel_posted_bit)
      return;
    try {
      vtable_->request_cancel(this);
    } catch (...) {
      state_.fetch_and(~cancel_posted_bit, std::memory_order_acq_rel);  // let a retry post it
      throw;
    }
  }

  // Called by the runner before the body: false when aborted first.
  bool try_start() noexcept {
    return (state_.fetch_or(started_bit, std::memory_order_acq_rel) & abort_bit) == 0;
  }

  void set_exception(std::exception_ptr e) noexcept {
    exception_ = std::move(e);
    outcome_ = outcome::exception;
  }

  // Destroys the outcome of a finished task that will never be delivered
  // (its group is gone, or it was replaced or detached), so that an
  // abort_handle keeping the task alive does not keep its value alive. Only
  // whoever owns the finished task's data may call it: the runner before it
  // reports, or the owner after taking the task off the ready list.
  void drop_outcome() noexcept {
    if (outcome_ == outcome::value)
      vtable_->discard_value(this);
    outcome_ = outcome::none;
    exception_ = nullptr;
  }

  // Why a finished task has no value: it threw, or it was cancelled.
  join_error error() const noexcept {
    return outcome_ == outcome::exception ? join_error::from_exception(id(), exception_)
                                          : join_error::cancelled(id());
  }

 protected:
  task_header(const task_vtable* vtable, bool interruptible) noexcept
      : vtable_(vtable), id_(task_id::next().value()), interruptible_(interruptible) {}
  ~task_header() = default;

  // Fixes the outcome. Runs exactly once per launched task: on the task's
  // executor after its body (or after the executor destroyed it unrun).
  void mark_finished() noexcept {
    // acq_rel pairs with abort(): whether the abort bit is in `prev` decides,
    // once and for all, whether an interruptible task counts as cancelled.
    const std::uint32_t prev = state_.fetch_or(finished_bit, std::memory_order_acq_rel);
    if (interruptible_ && (prev & abort_bit) != 0) {
      // Whatever the task did on its way out (returned, threw), it was aborted.
      if (outcome_ == outcome::value)
        vtable_->discard_value(this);
      outcome_ = outcome::none;
      exception_ = nullptr;
    }
  }

  // Hands the finished task to its group; the task must not be touched
  // afterwards. Consumes the running reference.
  void deliver() noexcept;

 public:
  // --- Shared by the task's runner and its group. ------------------------
  std::atomic<std::uint32_t> refs_{2};  // the group's index and the runner
  std::atomic<std::uint32_t> state_{0};
  const task_vtable* vtable_;
  const std::uint64_t id_;
  // The hash of the task's key in a join_map, so the finished task can be
  // found again without rehashing its key. Written by the owner before the
  // task is launched; read only by the owner.
  std::size_t hash_ = 0;
  // The group to report to. Set before the task is launched; the task holds a
  // reference on it until it has reported.
  group_core* core_ = nullptr;

  // --- Guarded by core_->mutex_. -----------------------------------------
  task_header* prev_ = nullptr;  // ready list links
  task_header* next_ = nullptr;
  bool queued_ = false;    // on the ready list
  bool orphaned_ = false;  // no longer owned by its group: its outcome goes to nobody

  // --- Written by the runner before reporting, read by the owner after
  // taking the task off the ready list (ordered by core_->mutex_). ---------
  const bool interruptible_;
  outcome outcome_ = outcome::none;
  std::exception_ptr exception_;
};

// Owns one reference to an intrusively counted object (add_ref/release):
// a task_header or a type derived from it (task_ref), or a group state
// (core_ref, task_group.hpp).
template <class T>
class counted_ref {
 public:
  counted_ref() noexcept = default;
  // Adopts one reference the caller already owns.
  explicit counted_ref(T* p) noexcept : p_(p) {}
  counted_ref(const counted_ref& o) noexcept : p_(o.p_) {
    if (p_)
      p_->add_ref();
  }
  counted_ref(counted_ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  // Copy and move assignment are written out, not one by-value swap: clang
  // 16 omits the destructor of a by-value parameter initialized from `{}`
  // in a template (`task_ = {};` leaked the task). Self-assignment is safe.
  counted_ref& operator=(const counted_ref& o) noexcept {
    if (o.p_)
      o.p_->add_ref();
    if (T* old = std::exchange(p_, o.p_))
      old->release();
    return *this;
  }
  counted_ref& operator=(counted_ref&& o) noexcept {
    T* p = std::exchange(o.p_, nullptr);
    if (T* old = std::exchange(p_, p))
      old->release();
    return *this;
  }
  ~counted_ref() { reset(); }
  // Drops the reference held, if any.
  void reset() noexcept {
    if (T* old = std::exchange(p_, nullptr))
      old->release();
  }
  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  // Gives up the reference without releasing it.
  T* detach() noexcept { return std::exchange(p_, nullptr); }

 private:
  T* p_ = nullptr;
};

// Owns a reference to a task_header (or a type derived from it).
template <class T = task_header>
using task_ref = counted_ref<T>;

// Storage for the task's value; empty for void.
template <class V>
class task_value : public task_header {
 public:
  using value_type = V;

  template <class U>
  void set_value(U&& u) {
    ::new (static_cast<void*>(&value_)) V(std::forward<U>(u));
    outcome_ = outcome::value;
  }

  // The outcome as a join_result. Called once, by the owner, after the task
  // finished. The containers require V to be nothrow-move-constructible, so
  // moving the value out cannot fail half-way.
  join_result<V> take_result() noexcept {
    if (outcome_ != outcome::value)
      return join_result<V>(boost::system::in_place_error, error());
    // The moved-from value goes as soon as the result is built (not when the
    // last abort_handle lets go of the task).
    struct discard_after {
      task_value* self;
      ~discard_after() { do_discard_value(self); }
    } guard{this};
    return join_result<V>(boost::system::in_place_value, std::move(value_));
  }

 protected:
  task_value(const task_vtable* vt, bool interruptible) noexcept : task_header(vt, interruptible) {}
  ~task_value() {
    if (outcome_ == outcome::value)
      value_.~V();
  }

  static void do_discard_value(task_header* h) noexcept {
    auto* self = static_cast<task_value*>(h);
    self->value_.~V();
    self->outcome_ = outcome::none;
  }

 private:
  union {
    V value_;
  };
};

template <>
class task_value<void> : public task_header {
 public:
  using value_type = void;

  void set_value() noexcept { outcome_ = outcome::value; }

  join_result<void> take_result() noexcept {
    if (outcome_ == outcome::value)
      return {};
    return join_result<void>(boost::system::in_place_error, error());
  }

 protected:
  task_value(const task_vtable* vt, bool interruptible) noexcept : task_header(vt, interruptible) {}
  ~task_value() = default;

  static void do_discard_value(task_header* h) noexcept { h->outcome_ = outcome::none; }
};

// Whether the calling thread is running a handler of `ex`. Conservative: an
// executor type not known here says no (and the caller then posts).
template <class Ex>
bool running_in_this_thread(const Ex& ex) noexcept {
  namespace net = boost::asio;
  if constexpr (requires { ex.running_in_this_thread(); }) {
    return ex.running_in_this_thread();
  } else if constexpr (std::is_same_v<Ex, net::any_io_executor>) {
    if (auto* s = ex.template target<net::strand<net::io_context::executor_type>>())
      return s->running_in_this_thread();
    if (auto* s = ex.template target<net::strand<net::any_io_executor>>())
      return s->running_in_this_thread();
    if (auto* io = ex.template target<net::io_context::executor_type>())
      return io->running_in_this_thread();
    return false;
  } else {
    return false;
  }
}

// net::post(ex, f), but when `ex` is a type-erased executor holding an
// io_context executor or a strand of one, posts to that executor directly:
// the same operation, with one allocation instead of two (any_io_executor
// first wraps the function into a type-erased one).
template <class Ex, class F>
void post_direct(const Ex& ex, F&& f) {
  namespace net = boost::asio;
  if constexpr (std::is_same_v<Ex, net::any_io_executor>) {
    if (auto* io = ex.template target<net::io_context::executor_type>())
      return net::post(*io, std::forward<F>(f));
    if (auto* s = ex.template target<net::strand<net::io_context::executor_type>>())
      return net::post(*s, std::forward<F>(f));
  }
  net::post(ex, std::forward<F>(f));
}

// What a task factory returns when invoked the way joinery invokes it: with
// no arguments if it takes none, else with the task's own task_id.
template <class F, bool nullary = std::invocable<F&>>
struct factory_result {
  using type = std::invoke_result_t<F&>;
};
template <class F>
struct factory_result<F, false> {
  using type = std::invoke_result_t<F&, task_id>;
};
template <class F>
using factory_result_t = typename factory_result<std::decay_t<F>>::type;

// Invokes a task factory (see factory_result).
template <class F>
decltype(auto) invoke_factory(F& f, task_id id) {
  if constexpr (std::invocable<F&>)
    return std::invoke(f);
  else
    return std::invoke(f, id);
}

// The storage for the user's callable, destroyed as soon as the task's body
// is over so that captured state dies before the outcome is reported (as a
// tokio future is dropped before its output is delivered).
template <class Fn>
class fn_holder {
 public:
  explicit fn_holder(Fn&& fn) : fn_(std::move(fn)) {}
  Fn& get() noexcept { return *fn_; }
  void reset() noexcept { fn_.reset(); }

 private:
  std::optional<Fn> fn_;
};

// A coroutine task: runs `fn()` (an awaitable<V2, Executor>) on `executor_`.
template <class V, class Executor, class Fn>
class coro_task final : public task_value<V> {
 public:
  using executor_type = Executor;

  coro_task(Executor ex, Fn&& fn)
      : task_value<V>(&vtable, true), executor_(std::move(ex)), fn_(std::move(fn)) {}

  decltype(auto) invoke() { return invoke_factory(fn_.get(), this->id()); }

  const Executor& executor() const noexcept { return *executor_; }

  // Runs once when the body is over (or the executor destroyed it unrun):
  // on the task's executor, or on the thread destroying that executor.
  void finish() noexcept {
    fn_.reset();
    // Drop the coroutine's cancellation state now: it refers to the last
    // operation the task awaited. No emit can race with this: emits run on
    // this executor and check finished_bit, which is set before this
    // handler returns.
    signal_.slot().clear();
    this->mark_finished();
    // Drop the executor while its context is surely alive: a strand must not
    // outlive its io_context (~strand_impl locks its service), and the task
    // state may (abort_handles, a map destroyed after the io_context). An
    // abort racing with this may be reading executor_ to post its
    // cancellation: wait for those that saw the task unfinished (a post is
    // short; later ones see finished_bit and back off).
    while ((this->state_.load(std::memory_order_acquire) & ~(cancel_unit - 1)) != 0)
      std::this_thread::yield();
    executor_.reset();
    this->deliver();
  }

  boost::asio::cancellation_signal signal_;

 private:
  static void do_destroy(task_header* h) noexcept { delete static_cast<coro_task*>(h); }

  static void do_request_cancel(task_header* h) {
    auto* self = static_cast<coro_task*>(h);
    // Count ourselves in before looking at finished_bit, so that finish()
    // either sees us and waits, or we see finished_bit and back off.
    const std::uint32_t prev = self->state_.fetch_add(cancel_unit, std::memory_order_acq_rel);
    struct count_out {
      coro_task* t;
      ~count_out() { t->state_.fetch_sub(cancel_unit, std::memory_order_acq_rel); }
    } guard{self};
    if (prev & finished_bit)
      return;
    const Executor& ex = *self->executor_;
    if (running_in_this_thread(ex)) {
      // We are on the task's own executor, which runs one handler at a
      // time: the task is suspended (or it is the caller itself, between two
      // operations, when Asio has already cleared its cancellation slot), so
      // emitting here is serialized with it. No post, no allocation.
      self->signal_.emit(boost::asio::cancellation_type::terminal);
      return;
    }
    self->add_ref();
    task_ref<coro_task> ref(self);
    // The emit must run serialized with the coroutine (Asio's rule for
    // cancellation_signal::emit, and the bug in Asio 1.26's co_spawn that
    // emitted from the caller's thread): the task's executor is a strand or
    // single-threaded by construction (see task_executor_for), so posting
    // there is enough. The posted function owns a reference, so the signal
    // outlives it whatever happens to the task meanwhile.
    post_direct(ex, [ref = std::move(ref)] {
      // A finished task has no operation to cancel, and its cancellation
      // state may refer to destroyed I/O objects: leave it alone.
      if (!(ref->state_.load(std::memory_order_acquire) & finished_bit))
        ref->signal_.emit(boost::asio::cancellation_type::terminal);
    });
  }

  static constexpr task_vtable vtable{&do_destroy, &do_request_cancel,
                                      &task_value<V>::do_discard_value};

  std::optional<Executor> executor_;
  fn_holder<Fn> fn_;
};

// A blocking task: runs `fn()`, which returns V, on a thread pool. Abort
// before it starts means it never runs; once started it runs to completion.
template <class V, class Fn>
class blocking_task final : public task_value<V> {
 public:
  explicit blocking_task(Fn&& fn) : task_value<V>(&vtable, false), fn_(std::move(fn)) {}

  void run() noexcept {
    if (!this->try_start())
      return;
    try {
      if constexpr (std::is_void_v<V>) {
        std::invoke(fn_.get());
        this->set_value();
      } else {
        this->set_value(std::invoke(fn_.get()));
      }
    } catch (...) {
      this->set_exception(std::current_exception());
    }
  }

  void finish() noexcept {
    fn_.reset();
    this->mark_finished();
    this->deliver();
  }

 private:
  static void do_destroy(task_header* h) noexcept { delete static_cast<blocking_task*>(h); }

  static constexpr task_vtable vtable{&do_destroy, nullptr, &task_value<V>::do_discard_value};

  fn_holder<Fn> fn_;
};

// Set while a spawn is handing a task to its executor on this thread. A
// task's runner destroyed there was destroyed by that hand-over itself:
// post failed (Asio may already have moved the runner into its own storage
// before its allocation failed) or the executor is shut down and dropped
// it at once. It must then neither report the task nor drop the running
// reference: it tells the spawn, which knows which of the two happened.
struct launch_marker {
  const task_header* task = nullptr;
  bool* dropped = nullptr;
};

// This thread's launch_marker. Reached only through a call that the
// compiler can neither inline nor fold: run_guard's destructor runs at the
// end of the task's coroutine, on whichever thread resumed it last, and
// clang 16 may otherwise reuse the thread_local's address computed when
// the coroutine was created, on the spawning thread (the thread-local-
// across-co_await miscompilation of README.md). It then read the spawning
// thread's marker, matched it while that thread was still in hand_over,
// and left a finished task unreported: the 4-thread fuzzer found the leak.
JOINERY_NOINLINE inline launch_marker& launching() noexcept {
  static thread_local launch_marker marker;
  JOINERY_COMPILER_BARRIER();
  return marker;
}

// The running reference to a launched task. Its destructor reports the task
// finished: after its body ran, or unrun when its executor destroyed it.
template <class Task>
class run_guard {
 public:
  explicit run_guard(Task* t) noexcept : t_(t) {}
  run_guard(run_guard&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  run_guard& operator=(run_guard&&) = delete;
  ~run_guard() { finish(); }

  Task* get() const noexcept { return t_; }

  void finish() noexcept {
    if (Task* t = std::exchange(t_, nullptr)) {
      launch_marker& marker = launching();
      if (marker.task == t)
        *marker.dropped = true;  // see launch_marker
      else
        t->finish();
    }
  }

 private:
  Task* t_;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_TASK_HPP
