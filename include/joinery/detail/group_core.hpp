// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_GROUP_CORE_HPP
#define JOINERY_DETAIL_GROUP_CORE_HPP

// group_core: the part of a group that its tasks, its waits and its owner
// share, under the group's one lock.
//
// A task finishes on its own executor, which may be another thread. It must
// not touch the owner's index of tasks (map_state.hpp, set_state.hpp: the
// owner's thread only), so it appends itself to the core's ready list and
// wakes the join waiting for it, whose completion then takes the result on
// the owner's side (join_op.hpp). Joins wait in one of two places:
//   - the next-join slot (async_join_next): any finished task but those a
//     keyed join waits for;
//   - a task's own key slot (join_map::async_join): that task only. A task
//     with a keyed join stays on the ready list in completion order but is
//     reserved for its keyed join, which every other join skips.
// The core also admits tasks under the group's concurrency limit
// (concurrency_limit.hpp) and keeps their deadlines (deadlines.hpp), because
// a task finishing gives back its slot and leaves the deadline heap under
// the same lock as it joins the ready list: "a task leaves the group" is
// one member, leave_locked().
//
// The core is reference counted: the owner, every task that has not
// reported yet, every pending wait and every cancellation handler installed
// for one hold a reference. So a task finishing after its map was destroyed,
// or a join cancelled late, still finds it alive; it is merely closed. The
// owner's index derives from it (map_state, set_state) and is destroyed with
// it.
//
// Out-of-line members: impl/group_core.hpp. Locking: the core's lock is a
// leaf but for Asio's own locks; it is taken under a task's run lock (a
// finishing task) and under a context_timer's mutex (sync_timer), and
// posts happen after it is released.

#include <joinery/detail/concurrency_limit.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/deadlines.hpp>
#include <joinery/detail/spin_mutex.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/detail/waiters.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_info.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

namespace joinery::detail {

class group_core {
 public:
  group_core(const group_core&) = delete;
  group_core& operator=(const group_core&) = delete;

  // Relaxed increment: a new reference is always made from an existing one.
  // acq_rel decrement: the releasing thread's writes happen before the
  // destructor.
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete this;
  }

  // --- Tasks (any thread) ---------------------------------------------------

  // A task's last act (task_header::deliver), with its running reference:
  // it leaves the group's running tasks, then joins the ready list and
  // wakes the join waiting for it, or is dropped when its group no longer
  // wants it (orphaned or closed). Never throws.
  void take_finished(task_header* t) noexcept;

  // The queued task `t` was aborted (any thread): out of the queue, if it is
  // still there. True when it was: the caller then owns the queue's running
  // reference and finishes the task unstarted.
  bool dequeue_aborted(task_header* t) noexcept {
    std::lock_guard lock(mutex_);
    return limit_.dequeue(t);
  }

  // --- Admission: the concurrency limit and deadlines (owner's thread) -------

  // Whether spawns must go through admit(): a limit was set once. A spawn
  // with a deadline always does.
  bool counting() const noexcept { return limit_.counting(); }

  // Admits the task `t`, created unstarted (its running reference held by
  // the caller): registers its deadline, if any, then starts it (taking a
  // slot when counting) or queues it. On success the running reference
  // belongs to the runner or to the queue; if this throws, nothing changed
  // and it is still the caller's.
  void admit(task_header* t, const deadline_clock::time_point* deadline);

  // Sets the limit (0: none). Raising it starts queued tasks (their first
  // step posted) before it returns, and wakes async_spawn waiters for what
  // is left. The first limit makes the group count the tasks running now
  // (visit(f) calls f(task) for every task the owner holds).
  template <class Visit>
  void set_limit(std::size_t n, Visit&& visit) {
    {
      std::lock_guard lock(mutex_);
      limit_.set(n, visit);
    }
    promote();
  }

  std::size_t limit() const noexcept {
    std::lock_guard lock(mutex_);
    return limit_.limit();
  }

  // spawn and try_spawn: may a new task start without queueing now?
  bool can_start_now() const noexcept {
    if (!limit_.counting())
      return true;
    std::lock_guard lock(mutex_);
    return limit_.can_start_now();
  }

  std::size_t queued_count() const noexcept {
    std::lock_guard lock(mutex_);
    return limit_.queued();
  }

  // Makes sure the group has its deadline timer, on `ex`, before the first
  // deadline is admitted. The timer's code (arming it, its handler) is
  // reached through arm_timer_, set here, and compiled where this template
  // is: a translation unit that spawns no task with a deadline compiles
  // none of it (docs/performance.md). Written once, before any deadline
  // exists; read by sync_timer() only once one did (under mutex_ since).
  template <class Executor>
  void enable_deadlines(const Executor& ex) {
    deadlines_.enable(ex);
    if (!arm_timer_)
      arm_timer_ = &group_core::arm_timer<Executor>;
  }

  // --- Counters (task_info.hpp's group_stats) ----------------------------------

  // Owner's thread: a task was spawned, and the group now holds `size`.
  void count_spawned(std::size_t size) noexcept {
    ++stats_.spawned;
    if (size > stats_.peak_size)
      stats_.peak_size = size;
  }

  // Owner's thread: `n` tasks were detached.
  void count_detached(std::size_t n) noexcept { stats_.detached += n; }

  // Owner's thread: the counters since construction.
  group_stats stats() const noexcept {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  // Owner's thread, before the group has tasks: `hook(error)` is called
  // once, on the thread of the task whose failure it is (outside the
  // group's lock), for the first task whose outcome is an exception or a
  // timeout (a fail_fast scope: scope.hpp).
  void on_first_failure(std::function<void(const join_error&)> hook) {
    failure_hook_ = std::move(hook);
  }

  // Owner's thread: what a snapshot tells of `t` (in the owner's index).
  task_info info(const task_header* t) const noexcept;

  // Any thread: aborts `t` (quietly) unless it left the group meanwhile
  // (detached or replaced: not the group's to abort any more) or finished
  // (its outcome stands; info(key) should not show an abort nobody made).
  void abort_if_in_group(task_header* t) noexcept {
    {
      std::lock_guard lock(mutex_);
      if (t->orphaned() || t->is_finished())
        return;
    }
    t->abort_quietly();
  }

  // --- The ready list (owner's thread) ---------------------------------------

  // Takes the oldest finished task no keyed join waits for off the ready
  // list; the caller receives the list's reference. Null when none.
  task_header* pop_ready() noexcept {
    std::lock_guard lock(mutex_);
    task_header* t = first_unreserved();
    if (t)
      ready_.erase(t);
    return t;
  }

  // How many tasks have finished and await joining (keyed ones included).
  std::size_t ready_count() const noexcept {
    std::lock_guard lock(mutex_);
    return ready_.size();
  }

  // How many keyed joins are pending (a snapshot).
  std::size_t keyed_joins() const noexcept { return keyed_joins_.load(std::memory_order_relaxed); }

  // Whether `t` (in the owner's index) has finished and awaits joining.
  bool is_ready(const task_header* t) const noexcept {
    std::lock_guard lock(mutex_);
    return on_ready_list(t);
  }

  // The group changed (it became empty, or a keyed join let a task go):
  // wakes the pending next-join so that it looks again.
  void kick() noexcept;

  // --- Tasks leaving without being joined (owner's thread) --------------------

  // Why tasks leave the group without being joined.
  enum class orphan_reason {
    detached,  // detach(key), detach_all(): they run on, reported to nobody
    replaced,  // a spawn on the same key: aborted, never reported
  };

  // Marks the tasks that for_each(f) visits as no longer owned by this
  // group: their outcomes go to nobody, finished ones leave the ready list
  // now (so an unjoined replaced or detached task does not keep its
  // memory), and a keyed join waiting for one is woken (it completes with
  // not_found). They leave the group's running tasks (leave_locked). A
  // queued one leaves the queue: detached, it starts at once, outside the
  // group; replaced, it is aborted and never runs.
  template <class ForEach>
  void orphan(ForEach&& for_each, orphan_reason why) noexcept;

  // Closes the group: later reports are dropped, finished tasks are freed,
  // queued tasks are aborted (they never run), deadlines are forgotten, and
  // the pending waits (the next-join, the keyed joins of the tasks
  // for_each(f) visits, the async_spawn waiters) complete with
  // operation_aborted.
  template <class ForEach>
  void close(ForEach&& for_each) noexcept;

  // --- The join protocol (join_op.hpp) ---------------------------------------
  // Each transition of a join moves its wait through its wait_slot
  // (waiters.hpp) under the lock. `key` is the task a keyed join waits for;
  // null for a next-join.

  // What a next-join considers an empty group: `size` tasks in the owner's
  // index; whether it waits while empty (wait_if_empty); whether it is a
  // join of everything (async_join_all, async_shutdown), for which a group
  // still holding tasks that keyed joins wait for is not empty: it waits
  // until they are gone. A keyed join passes the index's size too.
  struct join_need {
    std::size_t size = 0;
    bool wait_if_empty = false;
    bool until_empty = false;
  };

  // What a join's completion delivers (resolve_join).
  struct resolution {
    bool aborted = false;         // cancelled, or the group closed
    bool not_found = false;       // a keyed join's task left the group unfinished
    task_header* task = nullptr;  // a finished task (with the ready list's reference)
    bool parked = false;          // nothing yet: the join waits on
  };

  // Owner's thread, without the lock: whether a join is in progress there.
  bool join_in_progress(const task_header* key) const noexcept { return slot(key).busy(); }

  // Owner's thread: the name of the next wait (its cancellation handler is
  // installed with it before the wait begins).
  std::uint64_t next_wait_seq() noexcept { return ++seq_; }

  // Starts the join `w` named `seq`. True when it must complete at once (a
  // task to deliver, an empty or closed group, a keyed join's task gone):
  // it is then claimed, for the caller to post. Otherwise it is
  // registered, not yet parked.
  bool begin_join(waiter* w, std::uint64_t seq, task_header* key, join_need need) noexcept;

  // Parks the join `w` (after begin_join, or again from its completion).
  // True when news arrived meanwhile: it is then claimed, to be posted.
  bool park_join(waiter* w, task_header* key, join_need need) noexcept {
    std::lock_guard lock(mutex_);
    if (news_for(w, key, need)) {
      slot(key).claim_now(w);
      return true;
    }
    slot(key).park(w);
    return false;
  }

  // The completion of the claimed join `w`, on the owner's side: aborted,
  // not found, or a task, and then it is over; or nothing, and then it is
  // over when a next-join finds its group empty, and parked again otherwise
  // (another join, e.g. try_join_next, took the task it was woken for).
  // `may_park` false means the caller must first prepare to wait (link into
  // its context_service); then nothing is decided and it calls again.
  resolution resolve_join(waiter* w, task_header* key, join_need need, bool may_park) noexcept;

  // The cancellation handler of the join named `seq`.
  void cancel_join(std::uint64_t seq, task_header* key) noexcept;

  // The join `w` ends without completing: its completion was destroyed
  // unrun, or its initiation failed.
  void end_join(waiter* w, task_header* key) noexcept {
    {
      std::lock_guard lock(mutex_);
      end_locked(w, key);
    }
    if (key)
      kick();
  }

  // The context of the parked join `w` shut down: true if it was parked
  // (it is then unregistered, and the caller destroys it).
  bool abandon_join(waiter* w, task_header* key) noexcept {
    {
      std::lock_guard lock(mutex_);
      if (!slot(key).abandon(w))
        return false;
      if (key && !key->orphaned())
        keyed_joins_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (key)
      kick();
    return true;
  }

  // --- The async_spawn wait (spawn_op.hpp): a spawner waiting for a slot ------
  // The same phases as a join's, in the concurrency limit's wait_queue.

  // Owner's thread: may an async_spawn spawn at once (nobody waits before
  // it, and a slot is free for it)?
  bool spawner_may_start_now() const noexcept {
    if (!limit_.counting())
      return true;
    std::lock_guard lock(mutex_);
    return limit_.spawner_may_start_now();
  }

  // Starts the wait `w`, named `seq`, at the back of the queue.
  void begin_spawn_wait(waiter* w, std::uint64_t seq) noexcept {
    std::lock_guard lock(mutex_);
    limit_.spawners().begin(w, seq);
  }

  // Parks `w` (after it prepared to wait); it may be woken at once.
  void park_spawn_wait(waiter* w) noexcept;

  enum class spawn_resolution { aborted, spawn, parked };

  // The completion of the claimed wait `w`, on the owner's side: aborted
  // (cancelled, or the group closed), or free to spawn now (it leaves the
  // queue either way), or parked again (the slot it was woken for was taken
  // by a plain spawn meanwhile).
  spawn_resolution resolve_spawn_wait(waiter* w) noexcept;

  // The cancellation handler of the wait named `seq`.
  void cancel_spawn_wait(std::uint64_t seq) noexcept;

  // The wait `w` ends without completing (its completion was destroyed
  // unrun, or its initiation failed): it leaves the queue and gives back
  // the slot it held.
  void end_spawn_wait(waiter* w) noexcept;

  // The context of the parked wait `w` shut down: true if it was parked
  // (it left the queue; the caller destroys it).
  bool abandon_spawn_wait(waiter* w) noexcept {
    std::lock_guard lock(mutex_);
    return limit_.spawners().abandon(w);
  }

 protected:
  group_core() noexcept = default;
  virtual ~group_core();

 private:
  // What a change under the lock sets off once it is released: waits to
  // post, queued tasks to promote, the timer to bring in line.
  struct after_unlock {
    wake_list wake;
    bool promote = false;
    bool sync_timer = false;
  };

  // Caller holds mutex_. `t` stops running in the group (it reported, was
  // orphaned, or could not be started): gives back its concurrency slot and
  // leaves the deadline heap; what that sets off is noted in `after`.
  void leave_locked(task_header* t, after_unlock& after) noexcept;

  // Without the lock: does what `after` noted.
  void run(after_unlock& after) noexcept;

  // Without the lock: posts the claimed waits; a post that fails (out of
  // memory) leaves its wait registered, so that the next news wakes it
  // again instead of losing it. Nothing to post, the common case, stays
  // inline.
  void post(wake_list& wake) noexcept {
    if (!wake.empty())
      post_claimed(wake);
  }
  void post_claimed(wake_list& wake) noexcept;

  // The place a join waits in: `key`'s own slot for a keyed join, else the
  // next-join slot.
  wait_slot& slot(task_header* key) noexcept;
  const wait_slot& slot(const task_header* key) const noexcept;

  // Caller holds mutex_. The oldest finished task no keyed join waits for.
  task_header* first_unreserved() const noexcept;

  // Caller holds mutex_. Whether `t` finished and is on the ready list (a
  // queued task uses the same hook, but has never reported).
  bool on_ready_list(const task_header* t) const noexcept;

  // Caller holds mutex_. Whether a next-join finds nothing it could ever
  // deliver: no task, or only tasks keyed joins wait for.
  bool next_empty(join_need need) const noexcept;

  // Caller holds mutex_. Whether `w` has something to complete with now.
  bool news_for(const waiter* w, const task_header* key, join_need need) const noexcept;

  // Caller holds mutex_. Whether the task a keyed join waits for left the
  // group without the join: replaced, detached, or already taken by
  // another join.
  bool gone(const task_header* key) const noexcept;

  // Caller holds mutex_. The join `w` ends: its slot is free.
  void end_locked(waiter* w, task_header* key) noexcept;

  // Caller holds mutex_. Counts the outcome of `t`, which ends now.
  void count_outcome(const task_header* t) noexcept;

  // Caller holds mutex_, a failure hook is set and no failure was seen:
  // true (and the failure kept) if `t`'s outcome is one.
  bool note_failure(const task_header* t) noexcept;

  // Without the lock, after note_failure said yes.
  void call_failure_hook() noexcept;

  // A task whose outcome goes to nobody: free its value now, and its
  // reference (outside the lock: a value's destructor may do anything).
  static void drop(task_header* t) noexcept;

  // Starts queued tasks while slots are free, then wakes async_spawn
  // waiters for the slots left. Any thread. One thread promotes at a time:
  // a start that finishes its task at once (a shut-down executor) reports
  // it and calls this again, which returns, and the promoting thread looks
  // again after each start, so a freed slot is never missed.
  void promote() noexcept;

  // Starts the task `t`, taken out of the queue (with the queue's running
  // reference and its reference on this core). If it cannot be posted, it
  // is reported with the exception (std::bad_alloc) as its outcome.
  void start_queued(task_header* t) noexcept;

  // Brings the timer in line with deadlines_.armed(): waits for it, or is
  // cancelled when nothing is due. Any thread, without the lock. Out of
  // memory, the timer stays as it was and a deadline may fire late (at the
  // next arming). Nothing before enable_deadlines().
  void sync_timer() noexcept {
    if (arm_timer_)
      arm_timer_(this);
  }

  // sync_timer()'s work (a template only so that it is compiled where
  // enable_deadlines is).
  template <class>
  static void arm_timer(group_core* self) noexcept;

  // The timer fired (or was cancelled: ec): times out every task due, then
  // arms for the next deadline.
  void on_deadline(error_code ec) noexcept;

  // The handler of the group's timer; holds a reference on the core.
  struct deadline_handler {
    counted_ref<group_core> core;
    void operator()(error_code ec) const noexcept { core->on_deadline(ec); }
  };

  std::atomic<std::uint32_t> refs_{1};
  mutable spin_mutex mutex_;
  // --- Guarded by mutex_. ----------------------------------------------------
  // Finished tasks whose outcome the owner has not taken, oldest first. Each
  // holds the reference its runner handed over.
  task_header::list ready_;
  wait_slot next_;  // the pending async_join_next
  // Tasks still in the group (not orphaned) whose key slot holds a join.
  // Written under mutex_; atomic so the owner may read a snapshot without it.
  std::atomic<std::size_t> keyed_joins_{0};
  bool closed_ = false;     // the owner is gone
  bool promoting_ = false;  // a thread is in promote()'s loop
  concurrency_limit limit_;
  deadlines deadlines_;  // its timer: created by the owner, then constant
  void (*arm_timer_)(group_core*) noexcept = nullptr;  // set with the timer
  // The outcome counters and peak_queued under mutex_ (tasks end on any
  // thread); spawned, detached and peak_size on the owner's thread only.
  group_stats stats_;
  // Set before the group has tasks, then constant; called once, with the
  // first failure (written once under mutex_, by the thread that calls the
  // hook).
  std::function<void(const join_error&)> failure_hook_;
  std::optional<join_error> first_failure_;
  // --- Owner's thread only. -------------------------------------------------
  std::uint64_t seq_ = 0;  // the last wait's name
};

}  // namespace joinery::detail

#include <joinery/detail/impl/group_core.hpp>
#include <joinery/detail/impl/task.hpp>

#endif  // JOINERY_DETAIL_GROUP_CORE_HPP
