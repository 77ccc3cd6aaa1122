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
// strand forwards them, so any_io_executor can hold one.

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
    task_header* t = task_.get();
    if (net::query(inner_, net::execution::blocking) != net::execution::blocking.never) {
      const task_header* running = running_task();
      if (running == t) {
        std::decay_t<F> tmp(std::forward<F>(f));
        tmp();
        return;
      }
      if (running == nullptr && t->try_lock_run()) {
        run_lock_scope scope(t);
        std::decay_t<F> tmp(std::forward<F>(f));
        tmp();
        return;
      }
    }
    net::require(inner_, net::execution::blocking.never)
        .execute(locked_function<std::decay_t<F>>{task_, std::forward<F>(f)});
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

  // A function queued on Inner: takes the task's run lock when it runs.
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

  Inner inner_;
  task_ref<> task_;
};

template <class T>
struct is_serialized_executor : std::false_type {};
template <class Inner>
struct is_serialized_executor<serialized_executor<Inner>> : std::true_type {};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_SERIALIZED_EXECUTOR_HPP
