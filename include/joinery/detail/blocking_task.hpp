// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_BLOCKING_TASK_HPP
#define JOINERY_DETAIL_BLOCKING_TASK_HPP

// A blocking task: runs a synchronous `fn()` returning V on a thread pool.
// Aborted before it starts, it never runs; once started it runs to
// completion and keeps its value (it cannot be interrupted).

#include <joinery/detail/running_ref.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/detail/task.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <functional>
#include <thread>
#include <type_traits>
#include <utility>

namespace joinery::detail {

template <class V, class Fn>
class blocking_task final : public task_value<V> {
 public:
  explicit blocking_task(Fn&& fn) : task_value<V>(&vtable, false), fn_(std::move(fn)) {}

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

  // After run(), or when the pool destroyed the job unrun.
  void finish() noexcept {
    fn_.reset();
    this->mark_finished();
    this->deliver();
  }

 private:
  static void do_destroy(task_header* h) noexcept { delete static_cast<blocking_task*>(h); }

  static constexpr task_vtable vtable{&do_destroy, nullptr, &task_value<V>::do_discard_value};

  fn_holder<Fn> fn_;
};

// The job posted to the pool.
template <class Task>
class blocking_runner {
 public:
  explicit blocking_runner(running_ref<Task> running) noexcept : running_(std::move(running)) {}
  void operator()() {
    running_.get()->run();
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
// to `sink`, and posts it. Returns the task with one reference for the
// caller (the group's index). Strong guarantee.
template <class V, class Ex, class F>
task_header* launch_blocking_task(task_sink* sink, const Ex& ex, F&& f, std::size_t slot) {
  using fn_type = std::decay_t<F>;
  static_assert(std::is_invocable_v<fn_type&>,
                "joinery: spawn_blocking needs a callable taking no arguments");
  static_assert(result_compatible_v<V, std::invoke_result_t<fn_type&>>,
                "joinery: a blocking task must return the group's V (or void for V = void)");
  using task_type = blocking_task<V, fn_type>;
  auto* t = new task_type(fn_type(std::forward<F>(f)));
  task_ref<> index_ref(t);
  t->slot_ = slot;
  t->sink_ = sink;
  hand_over(
      t, [t] { return blocking_runner<task_type>(running_ref<task_type>(t)); },
      [&ex](blocking_runner<task_type>&& runner) { net::post(ex, std::move(runner)); });
  return index_ref.detach();
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_BLOCKING_TASK_HPP
