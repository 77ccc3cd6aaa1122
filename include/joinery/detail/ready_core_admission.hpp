// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_READY_CORE_ADMISSION_HPP
#define JOINERY_DETAIL_READY_CORE_ADMISSION_HPP

// ready_core's admission and deadlines (ready_core.hpp declares them): how
// the core admits a new task (running, or queued for a concurrency slot,
// with or without a deadline), starts queued tasks and wakes async_spawn
// waiters as slots free (promote), and times tasks out (the group's one
// timer over its deadline heap). All of it under the core's lock, as the
// ready list is.

#include <joinery/detail/ready_core.hpp>

namespace joinery::detail {

inline void ready_core::admit(task_header* t, const deadline_clock::time_point* deadline) {
  bool start, arm = false;
  {
    std::lock_guard lock(mutex_);
    if (deadline) {
      deadlines_.reserve_one_more();  // may throw: nothing changed yet
      deadlines_.push(t, *deadline);
      if (!armed_ || *deadline < *armed_) {
        armed_ = *deadline;
        arm = true;
      }
    }
    start = adm_.can_start_now();
    if (start) {
      adm_.take_slot(t);
    } else {
      adm_.enqueue(t);
      add_ref();  // the queued task's reference on its group, as a runner's
    }
  }
  if (arm)
    sync_timer();
  if (!start)
    return;
  try {
    t->vtable_->start(t);
  } catch (...) {
    bool disarm = false, freed;
    {
      std::lock_guard lock(mutex_);
      if (t->deadline_pos_)
        disarm = leave_deadlines(t);
      freed = adm_.give_back(t);
    }
    if (freed)
      promote();
    if (disarm)
      sync_timer();
    throw;
  }
}

template <class Visit>
inline void ready_core::set_limit(std::size_t n, Visit&& visit) {
  {
    std::lock_guard lock(mutex_);
    if (!adm_.counting && n != 0) {
      adm_.counting = true;
      visit([this](task_header* t) {
        // Started or about to be (nothing was queued before counting),
        // and not reported: it holds a slot until it reports.
        if (!t->reported_ && !t->orphaned_ && !t->counted_) {
          t->counted_ = true;
          ++adm_.running;
        }
      });
    }
    adm_.limit = n;
  }
  promote();
}

inline void ready_core::enable_deadlines(const net::any_io_executor& ex) {
  if (!timer_)
    timer_ = std::make_unique<deadline_timer>(ex);
}

inline void ready_core::promote() noexcept {
  bool mine = false;
  for (;;) {
    task_header* t;
    waiter_batch wake;
    {
      std::lock_guard lock(mutex_);
      if (mine)
        promoting_ = mine = false;
      else if (promoting_)
        return;
      t = closed_ ? nullptr : adm_.next_to_start();
      if (t)
        promoting_ = mine = true;
      else
        claim_spawners(wake);
    }
    if (!t)
      return wake.post(*this);
    start_queued(t);
  }
}

inline void ready_core::claim_spawners(waiter_batch& wake) noexcept {
  for (std::size_t free = adm_.free_for_spawners(); free > 0; --free) {
    waiter* w = adm_.spawners.claim_first();
    if (!w)
      return;
    w->reserved_ = true;
    ++adm_.reserved;
    wake.add_spawner(w);
  }
}

inline void ready_core::start_queued(task_header* t) noexcept {
  try {
    t->vtable_->start(t);
  } catch (...) {
    t->set_exception(std::current_exception());
    t->vtable_->finish_unstarted(t);  // hands over both references
    return;
  }
  // The runner took its own reference on us. Ours is never the last:
  // whoever calls this holds one (the owner, a finishing task, the timer).
  release();
}

inline bool ready_core::leave_deadlines(task_header* t) noexcept {
  deadlines_.erase(t);
  if (!deadlines_.empty() || !armed_)
    return false;
  armed_.reset();
  return true;
}

inline void ready_core::sync_timer() noexcept {
  deadline_timer* dt = timer_.get();  // created before the first deadline
  if (!dt)
    return;
  std::lock_guard timer_lock(dt->mutex);
  if (!dt->timer)
    return;  // its context shut down (deadlines.hpp)
  std::optional<deadline_clock::time_point> when;
  {
    std::lock_guard lock(mutex_);
    if (!closed_)
      when = armed_;
  }
  try {
    if (!when) {
      dt->timer->cancel();
      return;
    }
    dt->timer->expires_at(*when);
    dt->timer->async_wait(deadline_handler{counted_ref<ready_core>::share(this)});
  } catch (...) {
  }
}

inline void ready_core::on_deadline(boost::system::error_code ec) noexcept {
  if (ec)
    return;  // re-armed, disarmed, or the group closed
  const deadline_clock::time_point now = deadline_clock::now();
  for (;;) {
    task_ref<> due;
    {
      std::lock_guard lock(mutex_);
      if (closed_)
        return;
      task_header* t = deadlines_.pop_due(now);
      if (!t) {
        armed_.reset();
        if (!deadlines_.empty())
          armed_ = deadlines_.earliest();
        break;
      }
      due = task_ref<>::share(t);
    }
    try {
      due->time_out();
    } catch (...) {
      // Out of memory emitting the abort: the task is marked timed out
      // and is reported so when it ends.
    }
  }
  sync_timer();
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_READY_CORE_ADMISSION_HPP
