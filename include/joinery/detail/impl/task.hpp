// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_IMPL_TASK_HPP
#define JOINERY_DETAIL_IMPL_TASK_HPP

// task_header's members that need its group: defined once group_core is
// complete (group_core.hpp includes this file at its end; it is not meant to
// be included alone).

#include <joinery/detail/lone_task.hpp>

namespace joinery::detail {

inline void task_header::hold_group() noexcept {
  if (group_)
    group_->add_ref();
}

inline void task_header::release_group() noexcept {
  if (group_)
    group_->release();
}

inline void task_header::deliver() noexcept {
  if (group_core* group = group_) {
    group->take_finished(this);
    group->release();
  } else {
    lone_task::take_finished(this);
  }
}

inline void task_header::abort_queued() noexcept {
  bool dequeued = false;
  {
    emitter_scope counted(this);
    if (counted.was_queued())
      dequeued = group_->dequeue_aborted(this);
  }
  if (dequeued)
    finish_unstarted();
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_IMPL_TASK_HPP
