// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_SERIALIZED_EXECUTOR_HPP
#define JOINERY_DETAIL_SERIALIZED_EXECUTOR_HPP

// serialized_executor<Inner>: the executor of one task on a multi-threaded
// context. It runs every handler of the task under the task's run lock
// (task_header::lock_run), so that an abort can emit the task's
// cancellation from any thread by taking the same lock: Asio requires the
// emit to be serialized with the coroutine it cancels. This is what a strand
// per task would give, without the strand's allocation, queue and mutex:
// the lock is a bit of the task's state word, and a handler is queued only
// when another one of the same task is running.
//
//   - execute, possibly blocking (dispatch): runs the function at once when
//     this thread already runs a handler of the task, or runs no task's
//     handler and the lock is free; otherwise queues it on Inner.
//   - execute, never blocking (post): queues it on Inner; it takes the lock
//     when it runs (waiting, briefly, while another handler of the task or
//     an emit holds it).
// A thread never waits for a task's lock while holding another task's
// (dispatch then queues instead), so two tasks cannot deadlock.
//
// Every copy holds a reference to the task record, which is thereby alive
// for as long as anything may still run through it (as a strand's copies
// share its implementation). Properties are forwarded to Inner, as Asio's
// strand forwards them, so any_io_executor can hold one; over an
// io_context's executor (the common case) they are kept at run time
// instead (the specialization below says why).

#include <joinery/detail/config.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/task.hpp>

#include <type_traits>
#include <utility>

namespace joinery::detail {

// The task whose handler this thread is running under its run lock, or null.
// Reached out of line, like the handover marker (handover.hpp): execute()
// may be inlined into Asio's coroutine machinery, which resumes on other
// threads.
JOINERY_NOINLINE inline const task_header*& running_task() noexcept {
  static thread_local const task_header* task = nullptr;
  JOINERY_COMPILER_BARRIER();
  return task;
}

// Holds the run lock of `t` (already taken) and marks it as this thread's
// running task; gives both back on destruction.
class run_lock_scope {
 public:
  explicit run_lock_scope(task_header* t) noexcept : t_(t), outer_(running_task()) {
    running_task() = t;
  }
  run_lock_scope(const run_lock_scope&) = delete;
  run_lock_scope& operator=(const run_lock_scope&) = delete;
  ~run_lock_scope() {
    running_task() = outer_;
    t_->unlock_run();
  }

 private:
  task_header* t_;
  const task_header* outer_;
};

// A function queued on a task's inner executor: takes the task's run lock
// when it runs.
template <class F>
struct locked_function {
  task_ref<> task;
  F f;
  void operator()() {
    task->lock_run();
    run_lock_scope scope(task.get());
    f();
  }
};

// Runs `f` for the task `t` at once, serialized with it, when that is
// allowed (`may_block`: the executor is not required never to block) and
// possible: this thread already runs a handler of `t`, or runs no task's
// handler and takes `t`'s run lock. Otherwise returns f for queueing.
template <class F>
bool run_inline(task_header* t, bool may_block, F& f) {
  if (!may_block)
    return false;
  const task_header* running = running_task();
  if (running == t) {
    f();
    return true;
  }
  if (running == nullptr && t->try_lock_run()) {
    run_lock_scope scope(t);
    f();
    return true;
  }
  return false;
}

// A serialized executor's execute(): `f` at once when run_inline allows,
// else queued on `inner` (never blocking) to take the run lock when it runs.
template <class Inner, class F>
void execute_serialized(const task_ref<>& task, bool may_block, const Inner& inner, F&& f) {
  std::decay_t<F> fn(std::forward<F>(f));
  if (run_inline(task.get(), may_block, fn))
    return;
  net::require(inner, net::execution::blocking.never)
      .execute(locked_function<std::decay_t<F>>{task, std::move(fn)});
}

template <class Inner>
class serialized_executor {
 public:
  serialized_executor(const Inner& inner, task_header* t) noexcept
      : inner_(inner), task_(task_ref<>::share(t)) {}

  serialized_executor(const serialized_executor&) noexcept = default;
  serialized_executor(serialized_executor&&) noexcept = default;
  serialized_executor& operator=(const serialized_executor&) noexcept = default;
  serialized_executor& operator=(serialized_executor&&) noexcept = default;

  const Inner& get_inner_executor() const noexcept { return inner_; }
  task_header* task() const noexcept { return task_.get(); }

  // True inside a handler of this executor's task.
  bool running_in_this_thread() const noexcept { return running_task() == task_.get(); }

  // --- Properties: forwarded to Inner (as boost::asio::strand does). -------
  template <class Property>
    requires net::can_query<const Inner&, Property>::value
  decltype(auto) query(const Property& p) const
      noexcept(net::is_nothrow_query<const Inner&, Property>::value) {
    if constexpr (std::is_convertible_v<Property, net::execution::blocking_t>) {
      // Never "always": a handler may have to wait for another one.
      const net::execution::blocking_t b = net::query(inner_, p);
      return b == net::execution::blocking.always
                 ? net::execution::blocking_t(net::execution::blocking.possibly)
                 : b;
    } else {
      return net::query(inner_, p);
    }
  }

  template <class Property>
    requires(net::can_require<const Inner&, Property>::value &&
             !std::is_convertible_v<Property, net::execution::blocking_t::always_t>)
  auto require(const Property& p) const {
    using inner_type = std::decay_t<typename net::require_result<const Inner&, Property>::type>;
    return serialized_executor<inner_type>(net::require(inner_, p), task_);
  }

  template <class Property>
    requires(net::can_prefer<const Inner&, Property>::value &&
             !std::is_convertible_v<Property, net::execution::blocking_t::always_t>)
  auto prefer(const Property& p) const {
    using inner_type = std::decay_t<typename net::prefer_result<const Inner&, Property>::type>;
    return serialized_executor<inner_type>(net::prefer(inner_, p), task_);
  }

  // --- Execution. -----------------------------------------------------------
  template <class F>
  void execute(F&& f) const {
    const bool may_block =
        net::query(inner_, net::execution::blocking) != net::execution::blocking.never;
    execute_serialized(task_, may_block, inner_, std::forward<F>(f));
  }

  friend bool operator==(const serialized_executor& a, const serialized_executor& b) noexcept {
    return a.task_.get() == b.task_.get() && a.inner_ == b.inner_;
  }
  friend bool operator!=(const serialized_executor& a, const serialized_executor& b) noexcept {
    return !(a == b);
  }

 private:
  template <class>
  friend class serialized_executor;

  serialized_executor(Inner inner, task_ref<> t) noexcept
      : inner_(std::move(inner)), task_(std::move(t)) {}

  Inner inner_;
  task_ref<> task_;
};

#if !defined(JOINERY_ASIO_NO_TS_EXECUTORS)
// The executor of a task on a multi-threaded io_context, the case every
// group on an io_context meets. Its properties (blocking, relationship,
// outstanding work) are kept at run time, in bits, instead of in the type of
// its inner executor, so that require and prefer return this same type: the
// tables that any_io_executor compiles for a target type are then compiled
// for this one type, not once per combination of properties (each such
// combination of the general template above is a type of its own, and its
// tables cost about a second of every translation unit that spawns:
// docs/performance.md). Outstanding work is counted with the io_context
// executor's own on_work_started()/on_work_finished(); the relationship is
// kept for queries, and not acted on (a hint, which execution may ignore).
// 24 bytes, which any_io_executor holds without allocating.
template <>
class serialized_executor<net::io_context::executor_type> {
  using inner_type = net::io_context::executor_type;
  static constexpr unsigned char never_bit = 1;         // blocking.never
  static constexpr unsigned char continuation_bit = 2;  // relationship.continuation
  static constexpr unsigned char tracked_bit = 4;       // outstanding_work.tracked

 public:
  serialized_executor(const inner_type& inner, task_header* t) noexcept
      : inner_(inner), task_(task_ref<>::share(t)) {}

  // A tracked copy counts as outstanding work of its own.
  serialized_executor(const serialized_executor& o) noexcept
      : inner_(o.inner_), task_(o.task_), bits_(o.bits_) {
    if (bits_ & tracked_bit)
      inner_.on_work_started();
  }
  serialized_executor(serialized_executor&& o) noexcept
      : inner_(o.inner_), task_(std::move(o.task_)), bits_(o.bits_) {
    o.bits_ &= static_cast<unsigned char>(~tracked_bit);  // the work moves with it
  }
  serialized_executor& operator=(const serialized_executor& o) noexcept {
    if (this != &o) {
      serialized_executor copy(o);
      *this = std::move(copy);
    }
    return *this;
  }
  serialized_executor& operator=(serialized_executor&& o) noexcept {
    if (this != &o) {
      finish_work();
      inner_ = o.inner_;
      task_ = std::move(o.task_);
      bits_ = o.bits_;
      o.bits_ &= static_cast<unsigned char>(~tracked_bit);
    }
    return *this;
  }
  ~serialized_executor() { finish_work(); }

  const inner_type& get_inner_executor() const noexcept { return inner_; }
  task_header* task() const noexcept { return task_.get(); }

  // True inside a handler of this executor's task.
  bool running_in_this_thread() const noexcept { return running_task() == task_.get(); }

  // --- Properties ----------------------------------------------------------
  template <class Property>
    requires net::can_query<const inner_type&, Property>::value
  decltype(auto) query(const Property& p) const noexcept {
    namespace ex = net::execution;
    if constexpr (std::is_convertible_v<Property, ex::blocking_t>)
      return (bits_ & never_bit) ? ex::blocking_t(ex::blocking.never)
                                 : ex::blocking_t(ex::blocking.possibly);
    else if constexpr (std::is_convertible_v<Property, ex::relationship_t>)
      return (bits_ & continuation_bit) ? ex::relationship_t(ex::relationship.continuation)
                                        : ex::relationship_t(ex::relationship.fork);
    else if constexpr (std::is_convertible_v<Property, ex::outstanding_work_t>)
      return (bits_ & tracked_bit) ? ex::outstanding_work_t(ex::outstanding_work.tracked)
                                   : ex::outstanding_work_t(ex::outstanding_work.untracked);
    else
      return net::query(inner_, p);
  }

  serialized_executor require(net::execution::blocking_t::never_t) const {
    return with(never_bit, true);
  }
  serialized_executor require(net::execution::blocking_t::possibly_t) const {
    return with(never_bit, false);
  }
  serialized_executor require(net::execution::relationship_t::continuation_t) const {
    return with(continuation_bit, true);
  }
  serialized_executor require(net::execution::relationship_t::fork_t) const {
    return with(continuation_bit, false);
  }
  serialized_executor require(net::execution::outstanding_work_t::tracked_t) const {
    return with(tracked_bit, true);
  }
  serialized_executor require(net::execution::outstanding_work_t::untracked_t) const {
    return with(tracked_bit, false);
  }

  // --- Execution. -----------------------------------------------------------
  template <class F>
  void execute(F&& f) const {
    execute_serialized(task_, !(bits_ & never_bit), inner_, std::forward<F>(f));
  }

  friend bool operator==(const serialized_executor& a, const serialized_executor& b) noexcept {
    return a.task_.get() == b.task_.get() && a.inner_ == b.inner_;
  }
  friend bool operator!=(const serialized_executor& a, const serialized_executor& b) noexcept {
    return !(a == b);
  }

 private:
  // A copy with `bit` set or cleared (a tracked copy counts its work).
  serialized_executor with(unsigned char bit, bool on) const noexcept {
    serialized_executor copy(inner_, task_);
    copy.bits_ =
        on ? static_cast<unsigned char>(bits_ | bit) : static_cast<unsigned char>(bits_ & ~bit);
    if (copy.bits_ & tracked_bit)
      copy.inner_.on_work_started();
    return copy;
  }

  serialized_executor(const inner_type& inner, const task_ref<>& t) noexcept
      : inner_(inner), task_(t) {}

  void finish_work() noexcept {
    if (bits_ & tracked_bit) {
      bits_ &= static_cast<unsigned char>(~tracked_bit);
      inner_.on_work_finished();
    }
  }

  inner_type inner_;
  task_ref<> task_;
  unsigned char bits_ = 0;
};
#endif

template <class T>
struct is_serialized_executor : std::false_type {};
template <class Inner>
struct is_serialized_executor<serialized_executor<Inner>> : std::true_type {};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_SERIALIZED_EXECUTOR_HPP
