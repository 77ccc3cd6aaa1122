// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_GROUP_CORE_HPP
#define JOINERY_DETAIL_GROUP_CORE_HPP

// group_core: the join protocol over a group's ready list (ready_core.hpp).
// Each transition of a join (begin, park, resolve, cancel, end, abandon)
// is one member here, taken under the group's lock, moving the join's wait
// through its wait_slot (waiters.hpp); join_op.hpp drives them. A keyed
// join (join_map::async_join) passes its task as `key`; a next-join passes
// null.

#include <joinery/detail/ready_core.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/detail/waiters.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace joinery::detail {

class group_core : public ready_core {
 public:
  // What a next-join considers an empty group: `size` tasks in the owner's
  // index, and whether it waits while empty (wait_if_empty). A keyed join
  // passes nothing.
  struct join_need {
    std::size_t size = 0;
    bool wait_if_empty = false;
  };

  // What a join's completion delivers (resolve_join).
  struct resolution {
    bool aborted = false;         // cancelled, or the group closed
    bool not_found = false;       // a keyed join's task left the group unfinished
    task_header* task = nullptr;  // a finished task (with the ready list's reference)
    bool parked = false;          // nothing yet: the join waits on
  };

  // --- The join protocol (join_op.hpp) --------------------------------------
  // `key` is the task a keyed join waits for; null for a next-join.

  // Owner's thread, without the lock: whether a join is in progress there.
  bool join_in_progress(const task_header* key) const noexcept { return slot(key).busy(); }

  // Owner's thread: the name of the next join (its cancellation handler is
  // installed with it before the join begins).
  std::uint64_t next_join_seq() noexcept { return ++seq_; }

  // Starts the join `w` named `seq`. True when it must complete at once (a
  // task to deliver, an empty or closed group, a keyed join's task gone):
  // it is then claimed, for the caller to post. Otherwise it is
  // registered, not yet parked. (A keyed join passes the index's size too.)
  bool begin_join(waiter* w, std::uint64_t seq, task_header* key, join_need need) noexcept {
    waiter* kicked = nullptr;
    bool now;
    {
      std::lock_guard lock(mutex_);
      slot(key).begin(w, seq);
      if (key && keyed_joins_.fetch_add(1, std::memory_order_relaxed) + 1 >= need.size)
        kicked = next_.claim();  // it may have just lost the last task it could deliver
      now = news_for(w, key, need);
      if (now)
        slot(key).claim_now(w);
    }
    if (kicked)
      post_or_requeue(kicked, nullptr);
    return now;
  }

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
  // its join_service); then nothing is decided and it calls again.
  resolution resolve_join(waiter* w, task_header* key, join_need need, bool may_park) noexcept {
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

  // The cancellation handler of the join named `seq`.
  void cancel_join(std::uint64_t seq, task_header* key) noexcept {
    waiter* wake;
    {
      std::lock_guard lock(mutex_);
      wake = slot(key).cancel(seq);
    }
    if (wake)
      post_or_requeue(wake, key);
  }

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
      if (key && !key->orphaned_)
        keyed_joins_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (key)
      kick();
    return true;
  }

  // --- The async_spawn wait (spawn_op.hpp): a spawner waiting for a slot.
  // The same phases as a join's, in the admission's wait_queue.

  // Owner's thread: may an async_spawn spawn at once (nobody waits before
  // it, and a slot is free for it)?
  bool spawner_may_start_now() const noexcept {
    if (!counting())
      return true;
    std::lock_guard lock(mutex_);
    return adm_.spawners.empty() && adm_.free_for_spawners() > 0;
  }

  // Starts the wait `w`, named `seq`, at the back of the queue.
  void begin_spawn_wait(waiter* w, std::uint64_t seq) noexcept {
    std::lock_guard lock(mutex_);
    adm_.spawners.begin(w, seq);
  }

  // Parks `w` (after it prepared to wait); it may be woken at once.
  void park_spawn_wait(waiter* w) noexcept {
    waiter_batch wake;
    {
      std::lock_guard lock(mutex_);
      adm_.spawners.park(w);
      if (closed_ || w->cancel_requested())  // cancelled while it started
        wake.add_spawner(adm_.spawners.claim(w));
      else
        claim_spawners(wake);
    }
    wake.post(*this);
  }

  enum class spawn_resolution { aborted, spawn, parked };

  // The completion of the claimed wait `w`, on the owner's side: aborted
  // (cancelled, or the group closed), or free to spawn now (it leaves the
  // queue either way), or parked again (the slot it was woken for was taken
  // by a plain spawn meanwhile).
  spawn_resolution resolve_spawn_wait(waiter* w) noexcept {
    spawn_resolution r;
    waiter_batch wake;
    {
      std::lock_guard lock(mutex_);
      if (std::exchange(w->reserved_, false))
        --adm_.reserved;
      if (closed_ || w->cancel_requested()) {
        r = spawn_resolution::aborted;
        adm_.spawners.end(w);
        claim_spawners(wake);  // the slot it held may serve the next
      } else if (adm_.queue.empty() &&
                 (adm_.limit == 0 || adm_.running + adm_.reserved < adm_.limit)) {
        r = spawn_resolution::spawn;
        adm_.spawners.end(w);
      } else {
        r = spawn_resolution::parked;
        adm_.spawners.park(w);
      }
    }
    wake.post(*this);
    return r;
  }

  // The cancellation handler of the wait named `seq`.
  void cancel_spawn_wait(std::uint64_t seq) noexcept {
    waiter* wake;
    {
      std::lock_guard lock(mutex_);
      wake = adm_.spawners.cancel(seq);
    }
    if (wake)
      post_or_requeue_spawner(wake);
  }

  // The wait `w` ends without completing (its completion was destroyed
  // unrun, or its initiation failed): it leaves the queue and gives back
  // the slot it held.
  void end_spawn_wait(waiter* w) noexcept {
    waiter_batch wake;
    {
      std::lock_guard lock(mutex_);
      adm_.spawners.end(w);
      if (std::exchange(w->reserved_, false)) {
        --adm_.reserved;
        claim_spawners(wake);
      }
    }
    wake.post(*this);
  }

  // The context of the parked wait `w` shut down: true if it was parked
  // (it left the queue; the caller destroys it).
  bool abandon_spawn_wait(waiter* w) noexcept {
    std::lock_guard lock(mutex_);
    return adm_.spawners.abandon(w);
  }

 protected:
  group_core() noexcept = default;

 private:
  // Caller holds mutex_. Whether a next-join finds nothing it could ever
  // deliver: no task, or only tasks keyed joins wait for.
  bool next_empty(join_need need) const noexcept {
    return !need.wait_if_empty && need.size <= keyed_joins_.load(std::memory_order_relaxed);
  }

  // Caller holds mutex_. Whether `w` has something to complete with now.
  bool news_for(const waiter* w, const task_header* key, join_need need) const noexcept {
    if (closed_ || w->cancel_requested())
      return true;
    if (key)
      return gone(key) || on_ready_list(key);
    return first_unreserved() != nullptr || next_empty(need);
  }

  // Caller holds mutex_. Whether the task a keyed join waits for left the
  // group without the join: replaced, detached, or already taken by
  // another join.
  bool gone(const task_header* key) const noexcept {
    return key->orphaned_ || (key->reported_ && !ready_.contains(key));
  }

  // Caller holds mutex_.
  void end_locked(waiter* w, task_header* key) noexcept {
    if (key && key->key_wait_.holds(w) && !key->orphaned_)
      keyed_joins_.fetch_sub(1, std::memory_order_relaxed);
    slot(key).end(w);
  }

  // --- Owner's thread only. ------------------------------------------------
  std::uint64_t seq_ = 0;  // the last join's name
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_GROUP_CORE_HPP
