// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_GROUP_STATE_HPP
#define JOINERY_DETAIL_GROUP_STATE_HPP

// group_state<V, Derived>: the shared state of a group, owner side: the
// core (group_core.hpp) plus the owner's index of the group's tasks, which
// Derived keeps (set_state, handle_state, map_state: tokio's JoinMap is a
// key index over a JoinSet in the same way). The index belongs to the
// owner's thread; tasks finishing elsewhere touch only the core.
//
// Derived provides:
//   template <class F> void for_each_task(F f);  // f(task_header*), every indexed task
//   void release_index() noexcept;                // empties the index, dropping its references
//   bool is_empty() const noexcept;
// Each indexed task holds one reference (the one its launch returned). A
// task leaves the index when its result is taken, when it is replaced
// (join_map) or detached, or when the group closes.

#include <joinery/detail/group_core.hpp>
#include <joinery/detail/task.hpp>

#include <vector>

namespace joinery::detail {

template <class V, class Derived>
class group_state : public group_core {
 public:
  using output_type = V;

  // Asks every task to stop; they stay in the index until joined. Throws
  // std::bad_alloc if a cancellation cannot be posted (that task is marked
  // aborted all the same; the rest are not asked).
  void abort_all(net::cancellation_type type) {
    derived().for_each_task([type](task_header* t) { t->abort(type); });
  }

  // References to every task, for work that outlives the owner's call.
  std::vector<task_ref<>> task_refs() {
    std::vector<task_ref<>> refs;
    refs.reserve(derived().size());
    derived().for_each_task([&](task_header* t) { refs.push_back(task_ref<>::share(t)); });
    return refs;
  }

  // Forgets every task without aborting it: they run on and report to
  // nobody. A pending join then sees an empty group and completes.
  void detach_all() noexcept {
    orphan(each_task(), true);
    derived().release_index();
    kick();
  }

  // A join_handle is gone: close (its pending wait completes with
  // operation_aborted, later reports are dropped) but let the task run on.
  void detach_owner() noexcept {
    close(each_task());
    derived().release_index();
  }

  // The owner is gone: close, abort everything, free what is left.
  void shutdown_owner() noexcept {
    close(each_task());
    derived().for_each_task([](task_header* t) { t->abort_quietly(); });
    derived().release_index();
  }

 protected:
  group_state() = default;

  Derived& derived() noexcept { return static_cast<Derived&>(*this); }

  // A visitor of every indexed task, as the core's orphan and close take.
  auto each_task() noexcept {
    return [this](auto&& f) { derived().for_each_task(f); };
  }
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_GROUP_STATE_HPP
