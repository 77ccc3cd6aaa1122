// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_BLOCKING_TASK_HPP
#define JOINERY_DETAIL_BLOCKING_TASK_HPP

// A blocking task: runs a synchronous `fn()` returning V on a thread pool.
// Aborted before it starts, it never runs; once started it runs to
// completion and keeps its value (it cannot be interrupted).

#include <joinery/detail/join_service.hpp>
#include <joinery/detail/running_ref.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/detail/task_value.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <functional>
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
      : task_value<V>(&vtable, false), ex_(ex), fn_(std::move(fn)) {}

  void run() noexcept {
    if (!this->try_start())
      return;
    try {
      if constexpr (std::is_void_v<V>) {
        std::invoke(fn_.get());
        this->set_value();
      } else {
        this->set_value(std::invoke(fn_.get()));
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
    // An abort of the queued task may still be asking its sink (task.hpp).
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
        t, [t] { return blocking_runner<blocking_task>(running_ref<blocking_task>(t)); },
        [t](blocking_runner<blocking_task>&& runner) { net::post(t->ex_, std::move(runner)); });
  }

 private:
  static constexpr task_vtable vtable{&do_destroy, nullptr, &task_value<V>::do_discard_value,
                                      &do_start, &do_finish_unstarted};

  Ex ex_;
  fn_holder<Fn> fn_;
};

// The job posted to the pool.
template <class Task>
class blocking_runner {
 public:
  explicit blocking_runner(running_ref<Task> running) noexcept : running_(std::move(running)) {}
  void operator()() {
    running_.get()->run();
    // What finishing starts or wakes is posted to contexts this pool thread
    // does not run: marked, so that those posts are counted (join_service.hpp).
    struct on_pool_scope {
      bool outer = std::exchange(finishing_on_pool(), true);
      ~on_pool_scope() { finishing_on_pool() = outer; }
    } scope;
    running_.finish();
  }

 private:
  running_ref<Task> running_;
};

// The pool spawn_blocking uses by default: started on first use, 2 threads
// per hardware thread (at least 4), joined at exit. Blocking work queues
// when all are busy; pass your own executor to spawn_blocking_on for more.
inline net::thread_pool& default_blocking_pool() {
  static net::thread_pool pool(std::max(4u, 2 * std::thread::hardware_concurrency()));
  return pool;
}

// Creates the blocking task for `f` run by `ex` (a thread pool), reporting
// to `sink`, and has `admit(t)` start or queue it (see launch_coro_task).
// Returns the task with one reference for the caller (the group's index).
// Strong guarantee.
template <class V, class Ex, class F, class Admit>
task_header* launch_blocking_task(task_sink* sink, const Ex& ex, F&& f, std::size_t slot,
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
  t->slot_ = slot;
  t->sink_ = sink;
  if constexpr (std::is_same_v<std::decay_t<Admit>, start_now_t>)
    task_type::do_start(t);
  else
    admit(static_cast<task_header*>(t));
  running.detach();
  return index_ref.detach();
}

template <class V, class Ex, class F>
task_header* launch_blocking_task(task_sink* sink, const Ex& ex, F&& f, std::size_t slot) {
  return launch_blocking_task<V>(sink, ex, std::forward<F>(f), slot, start_now_t{});
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_BLOCKING_TASK_HPP
