// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_IMPL_GROUP_CORE_HPP
#define JOINERY_DETAIL_IMPL_GROUP_CORE_HPP

// group_core's out-of-line members (group_core.hpp declares them and
// includes this file at its end; it is not meant to be included alone).

#include <exception>
#include <mutex>
#include <optional>
#include <utility>

namespace joinery::detail {

inline group_core::~group_core() {
  // Reports after close() drop their task, so nothing can be queued here.
  while (task_header* t = ready_.pop_front())
    t->release();
}

// --- Private helpers (caller holds mutex_ where they say so) -------------------

inline void group_core::leave_locked(task_header* t, after_unlock& after) noexcept {
  // Checked here, so that a task of a group without a limit or deadlines
  // goes no further.
  if (t->holds_slot())
    after.promote |= limit_.release(t);
  if (t->deadline_position())
    after.sync_timer |= deadlines_.remove(t);
}

inline wait_slot& group_core::slot(task_header* key) noexcept {
  return key ? key->key_wait() : next_;
}

inline const wait_slot& group_core::slot(const task_header* key) const noexcept {
  return key ? key->key_wait() : next_;
}

inline task_header* group_core::first_unreserved() const noexcept {
  task_header* t = ready_.front();
  while (t && t->key_wait().busy())
    t = task_header::list::next(t);
  return t;
}

inline bool group_core::on_ready_list(const task_header* t) const noexcept {
  return t->reported() && ready_.contains(t);
}

inline bool group_core::next_empty(join_need need) const noexcept {
  if (need.until_empty)
    return need.size == 0;
  return !need.wait_if_empty && need.size <= keyed_joins_.load(std::memory_order_relaxed);
}

inline bool group_core::news_for(const waiter* w, const task_header* key,
                                 join_need need) const noexcept {
  if (closed_ || w->cancel_requested())
    return true;
  if (key)
    return gone(key) || on_ready_list(key);
  return first_unreserved() != nullptr || next_empty(need);
}

inline bool group_core::gone(const task_header* key) const noexcept {
  return key->orphaned() || (key->reported() && !ready_.contains(key));
}

inline void group_core::end_locked(waiter* w, task_header* key) noexcept {
  if (key && key->key_wait().holds(w) && !key->orphaned())
    keyed_joins_.fetch_sub(1, std::memory_order_relaxed);
  slot(key).end(w);
}

inline void group_core::count_outcome(const task_header* t) noexcept {
  if (t->replaced()) {
    ++stats_.cancelled;
    return;
  }
  switch (t->kind()) {
    case task_header::outcome_kind::value:
      ++stats_.succeeded;
      break;
    case task_header::outcome_kind::exception:
      ++stats_.failed;
      break;
    case task_header::outcome_kind::timed_out:
      ++stats_.timed_out;
      break;
    case task_header::outcome_kind::cancelled:
      ++stats_.cancelled;
      break;
  }
}

inline task_info group_core::info(const task_header* t) const noexcept {
  task_info i;
  i.id = t->id();
  i.state = t->is_finished() ? task_state::finished
            : t->is_queued() ? task_state::queued
                             : task_state::running;
  i.abort_requested = t->abort_requested();
  i.spawned_at = t->spawned_at();
  if (t->deadline_position()) {
    std::lock_guard lock(mutex_);
    i.deadline = deadlines_.deadline_of(t);
  }
  return i;
}

inline void group_core::drop(task_header* t) noexcept {
  t->drop_outcome();
  t->release();
}

// --- Tasks --------------------------------------------------------------------

inline void group_core::take_finished(task_header* t) noexcept {
  after_unlock after;
  bool keep, failed = false;
  {
    std::lock_guard lock(mutex_);
    leave_locked(t, after);
    count_outcome(t);
    if (failure_hook_ && !first_failure_) [[unlikely]]
      failed = note_failure(t);
    keep = !closed_ && !t->orphaned();
    if (keep) {
      t->mark_reported();
      ready_.push_back(t);
      // A task with a keyed join is reserved: only its keyed join is woken.
      if (t->key_wait().busy())
        after.wake.add(t->key_wait().claim(), t);
      else
        after.wake.add(next_.claim());
    }
  }
  run(after);
  if (failed) [[unlikely]]
    call_failure_hook();
  if (!keep)
    drop(t);
}

inline bool group_core::note_failure(const task_header* t) noexcept {
  const auto kind = t->kind();
  if (t->replaced() || (kind != task_header::outcome_kind::exception &&
                        kind != task_header::outcome_kind::timed_out))
    return false;
  first_failure_.emplace(t->error());
  return true;
}

inline void group_core::call_failure_hook() noexcept {
  try {
    failure_hook_(*first_failure_);  // written once, before: no lock needed to read it
  } catch (...) {
    // The hook only posts; out of memory, the failure is seen when the
    // group is joined instead.
  }
}

inline void group_core::run(after_unlock& after) noexcept {
  post(after.wake);
  if (after.promote)
    promote();
  if (after.sync_timer)
    sync_timer();
}

inline void group_core::post_claimed(wake_list& wake) noexcept {
  wake.post_all(
      [this](waiter* w, task_header* key) {
        std::lock_guard lock(mutex_);
        slot(key).requeue(w);
      },
      [this](waiter* w) {
        std::lock_guard lock(mutex_);
        limit_.spawners().requeue(w);
      });
}

inline void group_core::kick() noexcept {
  after_unlock after;
  {
    std::lock_guard lock(mutex_);
    after.wake.add(next_.claim());
  }
  post(after.wake);
}

// --- Admission ------------------------------------------------------------------

inline void group_core::admit(task_header* t, const deadline_clock::time_point* deadline) {
  bool start;
  after_unlock after;
  {
    std::lock_guard lock(mutex_);
    if (deadline)
      after.sync_timer = deadlines_.add(t, *deadline);  // may throw: nothing changed yet
    start = limit_.can_start_now();
    if (start) {
      limit_.start(t);
    } else {
      limit_.enqueue(t);
      t->hold_group();  // the queued task's reference on its group, as a runner's
      if (limit_.queued() > stats_.peak_queued)
        stats_.peak_queued = limit_.queued();
    }
  }
  run(after);
  if (!start)
    return;
  try {
    t->start();
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      leave_locked(t, after);
    }
    run(after);
    throw;
  }
}

inline void group_core::promote() noexcept {
  bool mine = false;
  for (;;) {
    task_header* t;
    wake_list wake;
    {
      std::lock_guard lock(mutex_);
      if (mine)
        promoting_ = mine = false;
      else if (promoting_)
        return;
      t = closed_ ? nullptr : limit_.next_to_start();
      if (t)
        promoting_ = mine = true;
      else
        limit_.wake_spawners([&wake](waiter* w) { wake.add_spawner(w); });
    }
    if (!t)
      return post(wake);
    start_queued(t);
  }
}

inline void group_core::start_queued(task_header* t) noexcept {
  try {
    t->start();
  } catch (...) {
    t->set_exception(std::current_exception());
    t->finish_unstarted();  // hands over both references
    return;
  }
  // The runner took its own reference on us. The queue's is never the
  // last: whoever calls this holds one (the owner, a finishing task, the
  // timer).
  release();
}

// --- Deadlines ------------------------------------------------------------------

template <class>
void group_core::arm_timer(group_core* self) noexcept {
  context_timer* timer = self->deadlines_.timer();  // created with arm_timer_
  // Lock order: the timer's mutex, then the group's lock (to read armed).
  timer->with([self](net::steady_timer& t) {
    std::optional<deadline_clock::time_point> when;
    {
      std::lock_guard lock(self->mutex_);
      if (!self->closed_)
        when = self->deadlines_.armed();
    }
    try {
      if (!when) {
        t.cancel();
        return;
      }
      t.expires_at(*when);
      t.async_wait(deadline_handler{counted_ref<group_core>::share(self)});
    } catch (...) {
    }
  });
}

inline void group_core::on_deadline(error_code ec) noexcept {
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
      if (!t)
        break;
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

// --- Tasks leaving without being joined ------------------------------------------

template <class ForEach>
void group_core::orphan(ForEach&& for_each, orphan_reason why) noexcept {
  task_header* dropped = nullptr;
  task_header* unqueued = nullptr;
  after_unlock after;
  {
    std::lock_guard lock(mutex_);
    for_each([&](task_header* t) {
      if (!t->orphan())
        return;
      if (why == orphan_reason::replaced)
        t->mark_replaced();
      // A keyed join waiting for it no longer holds a task of the group,
      // though its completion is still to run: count it out now, or a
      // next-join would take the group for empty (the replacing task is
      // nobody's to wait for).
      if (t->key_wait().busy())
        keyed_joins_.fetch_sub(1, std::memory_order_relaxed);
      after.wake.add(t->key_wait().claim(), t);
      leave_locked(t, after);
      if (limit_.dequeue(t)) {
        task_header::list::chain_push(unqueued, t);
      } else if (on_ready_list(t)) {
        ready_.erase(t);
        task_header::list::chain_push(dropped, t);
      }
    });
  }
  post(after.wake);
  while (task_header* t = task_header::list::chain_pop(unqueued)) {
    if (why == orphan_reason::detached) {
      start_queued(t);
    } else {
      t->abort_quietly();  // not queued any more: only marks it
      t->finish_unstarted();
    }
  }
  run(after);  // the waits are posted already: promote, sync the timer
  while (task_header* t = task_header::list::chain_pop(dropped))
    drop(t);
}

template <class ForEach>
void group_core::close(ForEach&& for_each) noexcept {
  task_header* ready;
  task_header* queued;
  after_unlock after;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready = ready_.release_all();
    queued = limit_.take_queue();
    after.wake.add(next_.claim());
    for_each([&](task_header* t) { after.wake.add(t->key_wait().claim(), t); });
    limit_.spawners().claim_all([&](waiter* w) { after.wake.add_spawner(w); });
    after.sync_timer = deadlines_.clear();
  }
  run(after);
  while (task_header* t = task_header::list::chain_pop(queued)) {
    t->abort_quietly();
    t->finish_unstarted();
  }
  while (task_header* t = task_header::list::chain_pop(ready))
    drop(t);
}

// --- The join protocol --------------------------------------------------------------

inline bool group_core::begin_join(waiter* w, std::uint64_t seq, task_header* key,
                                   join_need need) noexcept {
  after_unlock after;
  bool now;
  {
    std::lock_guard lock(mutex_);
    slot(key).begin(w, seq);
    if (key && keyed_joins_.fetch_add(1, std::memory_order_relaxed) + 1 >= need.size)
      after.wake.add(next_.claim());  // it may have just lost the last task it could deliver
    now = news_for(w, key, need);
    if (now)
      slot(key).claim_now(w);
  }
  post(after.wake);
  return now;
}

inline group_core::resolution group_core::resolve_join(waiter* w, task_header* key, join_need need,
                                                       bool may_park) noexcept {
  resolution r;
  {
    std::lock_guard lock(mutex_);
    if (closed_ || w->cancel_requested()) {
      r.aborted = true;
    } else if (key && gone(key)) {
      r.not_found = true;
    } else if ((r.task = key ? (on_ready_list(key) ? key : nullptr) : first_unreserved())) {
      ready_.erase(r.task);
    } else if (key || !next_empty(need)) {
      if (may_park)
        slot(key).park(w);
      r.parked = true;
      return r;
    }
    end_locked(w, key);
  }
  if (key && !r.task)
    kick();  // a keyed join let its task go: a next-join may deliver it now
  return r;
}

inline void group_core::cancel_join(std::uint64_t seq, task_header* key) noexcept {
  after_unlock after;
  {
    std::lock_guard lock(mutex_);
    after.wake.add(slot(key).cancel(seq), key);
  }
  post(after.wake);
}

// --- The async_spawn wait -----------------------------------------------------------

inline void group_core::park_spawn_wait(waiter* w) noexcept {
  wake_list wake;
  {
    std::lock_guard lock(mutex_);
    wait_queue& q = limit_.spawners();
    q.park(w);
    if (closed_ || w->cancel_requested())  // cancelled while it started
      wake.add_spawner(q.claim(w));
    else
      limit_.wake_spawners([&wake](waiter* s) { wake.add_spawner(s); });
  }
  post(wake);
}

inline group_core::spawn_resolution group_core::resolve_spawn_wait(waiter* w) noexcept {
  spawn_resolution r;
  wake_list wake;
  {
    std::lock_guard lock(mutex_);
    wait_queue& q = limit_.spawners();
    q.unreserve(w);
    if (closed_ || w->cancel_requested()) {
      r = spawn_resolution::aborted;
      q.end(w);
      // The slot it held may serve the next.
      limit_.wake_spawners([&wake](waiter* s) { wake.add_spawner(s); });
    } else if (limit_.spawner_may_spawn()) {
      r = spawn_resolution::spawn;
      q.end(w);
    } else {
      r = spawn_resolution::parked;
      q.park(w);
    }
  }
  post(wake);
  return r;
}

inline void group_core::cancel_spawn_wait(std::uint64_t seq) noexcept {
  wake_list wake;
  {
    std::lock_guard lock(mutex_);
    if (waiter* w = limit_.spawners().cancel(seq))
      wake.add_spawner(w);
  }
  post(wake);
}

inline void group_core::end_spawn_wait(waiter* w) noexcept {
  wake_list wake;
  {
    std::lock_guard lock(mutex_);
    if (limit_.spawners().end(w))
      limit_.wake_spawners([&wake](waiter* s) { wake.add_spawner(s); });
  }
  post(wake);
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_IMPL_GROUP_CORE_HPP
