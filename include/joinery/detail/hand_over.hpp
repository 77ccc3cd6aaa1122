// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_HAND_OVER_HPP
#define JOINERY_DETAIL_HAND_OVER_HPP

// Handing a handler that owns something to an executor: "was I destroyed
// inside my own post?", and hand_over(), which posts a task's runner.
// joinery posts two kinds of handler that own something when they are
// destroyed unrun: a task's runner (it reports the task cancelled, as when
// an io_context is destroyed with the task queued) and a join's completion
// (it discards the operation). A post can also destroy its handler unrun
// *inside the post call*: the post failed after Asio had moved the handler
// into its own storage (bad_alloc), or the executor is shut down and drops
// what it is given at once. Then the handler must not act on its own: the
// code doing the post knows which of the two happened and acts itself.
//
// handover_scope marks, for the duration of one post, which object this
// thread is handing over; a handler destroyed unrun asks
// dropped_during_handover(owner) before acting.

#include <joinery/detail/config.hpp>
#include <joinery/detail/task.hpp>

#include <utility>

namespace joinery::detail {

struct handover_marker {
  const void* owner = nullptr;
  bool* dropped = nullptr;
};

// This thread's marker. Reached only through a call the compiler can
// neither inline nor fold: handlers are destroyed at the end of coroutines,
// on whichever thread resumed them last, and clang 16 may otherwise reuse
// the thread_local's address computed on the thread that created the
// coroutine (README, "clang and threads"); the 4-thread fuzzer found a task
// left unreported that way.
JOINERY_NOINLINE inline handover_marker& current_handover() noexcept {
  static thread_local handover_marker marker;
  JOINERY_COMPILER_BARRIER();
  return marker;
}

class handover_scope {
 public:
  explicit handover_scope(const void* owner) noexcept : outer_(current_handover()) {
    current_handover() = {owner, &dropped_};
  }
  handover_scope(const handover_scope&) = delete;
  handover_scope& operator=(const handover_scope&) = delete;
  ~handover_scope() { current_handover() = outer_; }

  // Whether the handler of `owner` was destroyed during the hand-over.
  bool dropped() const noexcept { return dropped_; }

 private:
  handover_marker outer_;
  bool dropped_ = false;
};

// For a handler destroyed unrun: true, and the hand-over told, when the
// hand-over of `owner` on this thread destroyed it.
inline bool dropped_during_handover(const void* owner) noexcept {
  handover_marker& marker = current_handover();
  if (marker.owner != owner)
    return false;
  *marker.dropped = true;
  return true;
}

// The admission of a task that starts at once (launch_coro_task,
// launch_blocking_task): no queue, no deadline.
struct start_now_t {};

// Posts the runner that make_runner() creates for the task `t` through
// post_fn, handing it the task's running reference and the task's
// reference on its group (for as long as the task has not reported). The
// runner finishes the task when it is destroyed (Task::finish()), unless
// dropped_during_handover(t) says the post destroyed it. Strong guarantee:
// if this throws, the task never ran and is not reported, and the running
// reference is still the caller's. If the executor drops the runner at once
// without an error (it is shut down), the task is reported cancelled.
template <class Task, class MakeRunner, class Post>
void hand_over(Task* t, MakeRunner&& make_runner, Post&& post_fn) {
  // Taken before the post: the task may finish on another thread before
  // the post returns.
  t->hold_group();
  handover_scope scope(t);
  try {
    post_fn(make_runner());
  } catch (...) {
    // Every runner built was destroyed during the unwinding and deferred to
    // us: the task never ran, and its running reference was not consumed.
    t->release_group();
    throw;
  }
  if (scope.dropped())
    t->finish();  // dropped by a shut-down executor: reported cancelled
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_HAND_OVER_HPP
