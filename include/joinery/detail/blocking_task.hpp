// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_BLOCKING_TASK_HPP
#define JOINERY_DETAIL_BLOCKING_TASK_HPP

// A blocking task: runs a synchronous `fn()` returning V on a thread pool.
// Aborted before it starts, it never runs; once started it runs to
// completion and keeps its value (it cannot be interrupted).

#include <joinery/detail/config.hpp>
#include <joinery/detail/context_service.hpp>
#include <joinery/detail/hand_over.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/detail/task.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace joinery::detail {

template <class Task>
class blocking_runner;

template <class V, class Ex, class Fn>
class blocking_task final : public task_value<V> {
 public:
  blocking_task(const Ex& ex, Fn&& fn)
      : task_value<V>(&vtable, false), ex_(ex), fn_(std::in_place, std::move(fn)) {}

  void run() noexcept {
    if (!this->try_start())
      return;
    try {
      if constexpr (std::is_void_v<V>) {
        std::invoke(*fn_);
        this->set_value();
      } else {
        this->set_value(std::invoke(*fn_));
      }
    } catch (...) {
      this->set_exception(std::current_exception());
    }
  }

  // After run(), or when the pool destroyed the job unrun (or it never had
  // one: aborted while queued).
  void finish() noexcept {
    fn_.reset();
    this->mark_finished();
    // An abort of the queued task may still be asking its group (task.hpp).
    this->wait_for_emitters();
    this->deliver();
  }

 private:
  static void do_destroy(task_header* h) noexcept { delete static_cast<blocking_task*>(h); }
  static void do_finish_unstarted(task_header* h) noexcept {
    static_cast<blocking_task*>(h)->finish();
  }

 public:
  // Posts the job to the pool (task_vtable::start).
  static void do_start(task_header* h) {
    auto* t = static_cast<blocking_task*>(h);
    hand_over(
        t, [t] { return blocking_runner<blocking_task>(t); },
        [t](blocking_runner<blocking_task>&& runner) { net::post(t->ex_, std::move(runner)); });
  }

 private:
  static constexpr task_vtable vtable{&do_destroy, nullptr, &task_value<V>::do_discard_value,
                                      &do_start, &do_finish_unstarted};

  Ex ex_;
  // The user's callable, destroyed as soon as the body is over, so that
  // its captures die before the outcome is reported (as a tokio future is
  // dropped before its output is delivered).
  std::optional<Fn> fn_;
};

// The job posted to the pool. It holds the task's running reference and
// finishes the task when it has run it, or when it is destroyed unrun (the
// pool shut down: reported cancelled), unless the post that handed it over
// destroyed it (hand_over.hpp decides then).
template <class Task>
class blocking_runner {
 public:
  explicit blocking_runner(Task* t) noexcept : t_(t) {}
  blocking_runner(blocking_runner&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  blocking_runner& operator=(blocking_runner&&) = delete;
  ~blocking_runner() {
    if (t_ && !dropped_during_handover(t_))
      t_->finish();
  }

  void operator()() {
    Task* t = std::exchange(t_, nullptr);
    t->run();
    // What finishing starts or wakes is posted to contexts this pool thread
    // does not run: marked, so that those posts are counted
    // (context_service.hpp).
    struct on_pool_scope {
      bool outer = std::exchange(finishing_on_pool(), true);
      ~on_pool_scope() { finishing_on_pool() = outer; }
    } scope;
    t->finish();
  }

 private:
  Task* t_;
};

// The pool spawn_blocking uses by default: started on first use, 2 threads
// per hardware thread (at least 4), joined at exit. Blocking work queues
// when all are busy; pass your own executor to spawn_blocking_on for more.
inline net::thread_pool& default_blocking_pool() {
  static net::thread_pool pool(std::max(4u, 2 * std::thread::hardware_concurrency()));
  return pool;
}

// Creates the blocking task for `f` run by `ex` (a thread pool), reporting
// to `group` (null: a join_handle's task), and has `admit(t)` start or queue
// it (see launch_coro_task). Returns the task with one reference for the
// caller (the group's index, or the join_handle). Strong guarantee.
template <class V, class Ex, class F, class Admit>
task_header* launch_blocking_task(group_core* group, const Ex& ex, F&& f, std::size_t slot,
                                  Admit&& admit) {
  using fn_type = std::decay_t<F>;
  static_assert(std::is_invocable_v<fn_type&>,
                "joinery: spawn_blocking needs a callable taking no arguments");
  static_assert(result_compatible_v<V, std::invoke_result_t<fn_type&>>,
                "joinery: a blocking task must return the group's V (or void for V = void)");
  using task_type = blocking_task<V, Ex, fn_type>;
  auto* t = new task_type(ex, fn_type(std::forward<F>(f)));
  task_ref<> index_ref(t);
  task_ref<> running(t);
  t->bind(group, slot);
  if constexpr (std::is_same_v<std::decay_t<Admit>, start_now_t>)
    task_type::do_start(t);
  else
    admit(static_cast<task_header*>(t));
  running.detach();
  return index_ref.detach();
}

template <class V, class Ex, class F>
task_header* launch_blocking_task(group_core* group, const Ex& ex, F&& f, std::size_t slot) {
  return launch_blocking_task<V>(group, ex, std::forward<F>(f), slot, start_now_t{});
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_BLOCKING_TASK_HPP
