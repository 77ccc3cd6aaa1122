// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_RUNNING_REF_HPP
#define JOINERY_DETAIL_RUNNING_REF_HPP

// The running reference of a launched task, and how it is handed to the
// task's executor.
//
// A task's runner (its coroutine's entry frame, a blocking job) owns the
// task's running reference as a running_ref. Whenever the runner is
// destroyed, after the body ran or unrun because its executor was destroyed
// first, the running_ref's destructor finishes the task: its outcome is
// fixed (cancelled if the body never ran) and it reports to its group.
// hand_over() posts the runner and handles the two ways a post can destroy
// it before it ever runs (handover.hpp).

#include <joinery/detail/handover.hpp>
#include <joinery/detail/task.hpp>

#include <utility>

namespace joinery::detail {

// The admission of a task that starts at once (launch_coro_task,
// launch_blocking_task): no queue, no deadline.
struct start_now_t {};

// Task must provide finish() noexcept, which reports it (and releases the
// running reference through deliver()).
template <class Task>
class running_ref {
 public:
  explicit running_ref(Task* t) noexcept : t_(t) {}
  running_ref(running_ref&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  running_ref& operator=(running_ref&&) = delete;
  ~running_ref() { finish(); }

  Task* get() const noexcept { return t_; }

  // Finishes the task now (a blocking runner, after its job).
  void finish() noexcept {
    if (Task* t = std::exchange(t_, nullptr)) {
      if (!dropped_during_handover(t))
        t->finish();
    }
  }

 private:
  Task* t_;
};

// Posts the runner that make_runner() creates for the task `t` through
// post_fn, handing it the task's running reference and a reference on the
// task's sink (for as long as the task has not reported). Strong guarantee:
// if this throws, the task never ran and is not reported, and the running
// reference is still the caller's. If the executor drops the runner at once
// without an error (it is shut down), the task is reported cancelled.
template <class Task, class MakeRunner, class Post>
void hand_over(Task* t, MakeRunner&& make_runner, Post&& post_fn) {
  // Taken before the post: the task may finish on another thread before
  // the post returns.
  t->sink_->add_ref();
  handover_scope scope(t);
  try {
    post_fn(make_runner());
  } catch (...) {
    // Every runner built was destroyed during the unwinding and deferred to
    // us (running_ref): the task never ran, and its running reference was
    // not consumed.
    t->sink_->release();
    throw;
  }
  if (scope.dropped())
    t->finish();  // dropped by a shut-down executor: reported cancelled
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_RUNNING_REF_HPP
