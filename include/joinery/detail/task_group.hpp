// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_TASK_GROUP_HPP
#define JOINERY_DETAIL_TASK_GROUP_HPP

// task_group<V>: the owner-side state of a group of tasks, shared by
// join_set (which is just this) and join_map (this plus a key table), the
// way tokio's JoinMap is a key index over a JoinSet.
//
// Threading: the index below belongs to the owner's thread (the thread, or
// strand, that calls the container's members and runs its join handlers).
// Tasks finishing elsewhere touch only group_core's ready list.

#include <joinery/detail/group_core.hpp>
#include <joinery/detail/launch.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/task_id.hpp>

#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

#include <cstdint>
#include <mutex>

namespace joinery::detail {

// The id index hashes and compares tasks by id, and looks them up by
// task_id directly (transparent), so contains_task(id) is one probe.
struct task_id_hash {
  using is_transparent = void;
  std::size_t operator()(const task_header* t) const noexcept {
    return absl::Hash<std::uint64_t>{}(t->id_);
  }
  std::size_t operator()(task_id id) const noexcept {
    return absl::Hash<std::uint64_t>{}(id.value());
  }
};

struct task_id_eq {
  using is_transparent = void;
  bool operator()(const task_header* a, const task_header* b) const noexcept { return a == b; }
  bool operator()(const task_header* a, task_id b) const noexcept { return a->id_ == b.value(); }
  bool operator()(task_id a, const task_header* b) const noexcept { return a.value() == b->id_; }
};

// An owning pointer to a group state (or anything derived from group_core).
template <class State>
using core_ref = counted_ref<State>;

// The id index of a group's tasks: hashed and compared by task id, looked up
// by task_id directly (transparent), so contains_task(id) is one probe.
using id_index = absl::flat_hash_set<task_header*, task_id_hash, task_id_eq>;

// Derived (CRTP) owns the index of the group's tasks, each entry holding one
// reference (the one the launch returned), and provides:
//   template <class F> void for_each_task(F f);  // f(task_header*)
//   void release_index() noexcept;  // empties the index, dropping its references
// A task leaves the index when its result is taken, when it is replaced
// (join_map) or detached, or when the group closes.
template <class V, class Derived>
class task_group : public group_core {
 public:
  using value_type = V;

  // Asks every task to stop; they stay in the index until joined.
  void abort_all() {
    derived().for_each_task([](task_header* t) { t->abort(); });
  }

  // Forgets every task without aborting it: they run on and report to nobody.
  // A pending join then sees an empty group and completes with "empty".
  void detach_all() noexcept {
    orphan_all();
    derived().release_index();
    kick();
  }

  // A join_handle is gone: close (its pending wait completes with
  // operation_aborted, later reports are dropped) but let the task run on.
  void detach_owner() noexcept {
    close();
    derived().release_index();
  }

  // The owner is gone: close, abort everything, free what is left.
  void shutdown_owner() noexcept {
    close();
    derived().for_each_task([](task_header* t) {
      try {
        t->abort();
      } catch (...) {
        // Out of memory posting the cancellation: the task is marked aborted
        // and reports to nobody (the group is closed); it only runs longer.
      }
    });
    derived().release_index();
  }

 protected:
  task_group() = default;

  Derived& derived() noexcept { return static_cast<Derived&>(*this); }

  // Marks every task orphaned under one lock; frees the finished ones' list
  // references after unlocking (a value's destructor must not run under it).
  void orphan_all() noexcept {
    task_header* drop = nullptr;
    {
      std::lock_guard lock(mutex_);
      derived().for_each_task([&](task_header* t) {
        if (task_header* d = orphan_locked(t)) {
          d->next_ = drop;  // unlinked: the links are free to chain the drop list
          drop = d;
        }
      });
    }
    while (drop) {
      task_header* next = drop->next_;
      drop->next_ = nullptr;
      drop->drop_outcome();
      drop->release();
      drop = next;
    }
  }
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_TASK_GROUP_HPP
