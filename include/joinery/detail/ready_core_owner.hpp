// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_READY_CORE_OWNER_HPP
#define JOINERY_DETAIL_READY_CORE_OWNER_HPP

// ready_core's owner-side exits (ready_core.hpp declares them): orphan()
// takes tasks out of the group without reporting them (replaced, detached),
// close() ends the group when its owner goes, draining the ready list, the
// queue, the async_spawn waiters and the deadline heap. Both under the
// core's lock.

#include <joinery/detail/ready_core.hpp>

namespace joinery::detail {

template <class ForEach>
inline void ready_core::orphan(ForEach&& for_each, bool start_queued) noexcept {
  task_header* drop_list = nullptr;
  task_header* unqueued = nullptr;
  waiter_batch wake;
  bool freed = false, disarm = false;
  {
    std::lock_guard lock(mutex_);
    for_each([&](task_header* t) {
      if (t->orphaned_)
        return;
      t->orphaned_ = true;
      // A keyed join waiting for it no longer holds a task of the group,
      // though its completion is still to run: count it out now, or a
      // next-join would take the group for empty (the replacing task is
      // nobody's to wait for).
      if (t->key_wait_.busy())
        keyed_joins_.fetch_sub(1, std::memory_order_relaxed);
      wake.add(t->key_wait_.claim(), t);
      freed |= adm_.give_back(t);
      if (t->deadline_pos_)
        disarm |= leave_deadlines(t);
      if (adm_.dequeue(t)) {
        t->ready_hook_.next = unqueued;  // unlinked: the hook may chain
        unqueued = t;
      } else if (on_ready_list(t)) {
        ready_.erase(t);
        t->ready_hook_.next = drop_list;
        drop_list = t;
      }
    });
  }
  wake.post(*this);
  while (task_header* t = unqueued) {
    unqueued = std::exchange(t->ready_hook_.next, nullptr);
    if (start_queued) {
      this->start_queued(t);
    } else {
      t->abort_quietly();  // not queued any more: only marks it
      t->vtable_->finish_unstarted(t);
    }
  }
  if (freed)
    promote();
  if (disarm)
    sync_timer();
  while (task_header* t = drop_list) {
    drop_list = std::exchange(t->ready_hook_.next, nullptr);
    drop(t);
  }
}

template <class ForEach>
inline void ready_core::close(ForEach&& for_each) noexcept {
  task_header* ready;
  task_header* queued;
  waiter_batch wake;
  bool disarm;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready = ready_.release_all();
    queued = adm_.queue.release_all();
    for (task_header* t = queued; t; t = t->ready_hook_.next)
      t->state_.fetch_and(~queued_bit, std::memory_order_acq_rel);
    wake.add(next_.claim(), nullptr);
    for_each([&](task_header* t) { wake.add(t->key_wait_.claim(), t); });
    adm_.spawners.claim_all([&](waiter* w) { wake.add_spawner(w); });
    disarm = !deadlines_.empty() || armed_;
    deadlines_.clear();
    armed_.reset();
  }
  wake.post(*this);
  if (disarm)
    sync_timer();
  while (task_header* t = queued) {
    queued = std::exchange(t->ready_hook_.next, nullptr);
    t->ready_hook_.prev = nullptr;
    t->abort_quietly();
    t->vtable_->finish_unstarted(t);
  }
  while (task_header* t = ready) {
    ready = std::exchange(t->ready_hook_.next, nullptr);
    t->ready_hook_.prev = nullptr;
    drop(t);
  }
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_READY_CORE_OWNER_HPP
