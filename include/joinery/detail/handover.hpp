// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_HANDOVER_HPP
#define JOINERY_DETAIL_HANDOVER_HPP

// "Was I destroyed inside my own post?"
//
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

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_HANDOVER_HPP
