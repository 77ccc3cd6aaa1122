// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_ABORT_HANDLE_HPP
#define JOINERY_ABORT_HANDLE_HPP

// abort_handle: a copyable remote control for one task.
//
// Every spawn returns one. It keeps only the task's shared state alive (not
// the group), so it stays safe to use after the task finished, after it was
// joined, replaced or detached, and after its join_map or join_set was
// destroyed: abort() then simply has no effect on a finished task.
// Thread-safe: any thread may call abort() or is_finished() at any time.

#include <joinery/detail/config.hpp>
#include <joinery/detail/group_core.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/task_id.hpp>

namespace joinery {

class abort_handle {
 public:
  // A handle to no task: id() is task_id{}, abort() does nothing and
  // is_finished() is true.
  abort_handle() noexcept = default;

  // Internal: made by the spawning functions.
  explicit abort_handle(detail::task_ref<> task) noexcept : task_(std::move(task)) {}

  // The task's id (the id its join reports).
  task_id id() const noexcept { return task_ ? task_->id() : task_id{}; }

  // Requests the task to stop and returns at once (idempotent). A task not
  // yet started never runs; a running coroutine is cancelled at its next
  // suspension point (terminal cancellation) and is reported cancelled,
  // whatever it does on its way out; a task that already finished keeps its
  // outcome; a blocking task that already started runs to completion and
  // keeps its value. Throws std::bad_alloc only if the cancellation cannot
  // be posted, and then the task is still reported cancelled when it ends.
  void abort() const {
    if (task_)
      task_->abort();
  }

  // abort() with a cancellation type. Any type with the terminal bit is
  // abort(). `partial` or `total` is a request, not an abort: it is emitted
  // to the task's running coroutine, serialized with it, and the coroutine
  // sees it only if it enabled that type (by default an Asio coroutine
  // accepts terminal cancellation only). The task keeps whatever outcome it
  // then produces, a value or an exception; only a terminal abort makes it
  // cancelled. A request to a task that has not started yet (or is queued),
  // has finished, was aborted, or is a blocking task does nothing, and a
  // later terminal abort still works. Each call emits again. Throws
  // std::bad_alloc only if the emit cannot be posted.
  void abort(asio::cancellation_type type) const {
    if (task_)
      task_->abort(type);
  }

  // True once the task's outcome is fixed: it returned, threw, or ended
  // after an abort. Stays false between abort() and the task actually
  // stopping, as in tokio.
  bool is_finished() const noexcept { return !task_ || task_->is_finished(); }

  // Handles to the same task compare equal.
  friend bool operator==(const abort_handle& a, const abort_handle& b) noexcept {
    return a.task_.get() == b.task_.get();
  }

 private:
  detail::task_ref<> task_;
};

namespace detail {

// A new abort_handle for a task the caller keeps alive meanwhile.
inline abort_handle handle_for(task_header* t) noexcept {
  return abort_handle(task_ref<>::share(t));
}

}  // namespace detail

}  // namespace joinery

#endif  // JOINERY_ABORT_HANDLE_HPP
