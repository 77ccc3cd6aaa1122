// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_CORO_TASK_HPP
#define JOINERY_DETAIL_CORO_TASK_HPP

// A coroutine task: its record, its runner, and its launch.
//
// Tasks are not started with co_spawn (asio_internals.hpp says why): joinery
// builds the coroutine's "thread" from the pieces co_spawn uses, an entry
// frame (run_coro_task) and an awaitable_thread bound to the task's own
// cancellation signal, and posts its first resume (coro_launcher):
//   - the task never runs inside spawn();
//   - its cancellation state is attached to a signal the task owns, so any
//     abort, however late, finds a live signal;
//   - the entry frame reports the outcome directly, with no extra hop.

#include <joinery/detail/asio_internals.hpp>
#include <joinery/detail/context_service.hpp>
#include <joinery/detail/executor_target.hpp>
#include <joinery/detail/hand_over.hpp>
#include <joinery/detail/serialized_executor.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/detail/task_executor.hpp>

#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace joinery::detail {

// The part of a coroutine task that depends on its executor type only, so
// that it is compiled once per executor type, not once per task type (every
// lambda spawned is a task type of its own): the executor, the cancellation
// signal, ending the body, and emitting an abort.
template <class E>
class coro_control {
 public:
  // Before launch: the executor the task runs on (task_executor.hpp);
  // `serialized` says whether it is a serialized_executor over the task.
  // A serialized executor refers to the task: until end() drops it,
  // executor_ keeps the record alive (the launch drops it on failure).
  void set_executor(E ex, bool serialized) {
    executor_.emplace(std::move(ex));
    serialized_ = serialized;
  }
  void drop_executor() noexcept { executor_.reset(); }

  const E& executor() const noexcept { return *executor_; }
  net::cancellation_slot slot() noexcept { return signal_.slot(); }

  // The body of `t` is over (or its executor destroyed it unrun), and its
  // callable is gone: fix the outcome and report. On the task's executor, or
  // on the thread destroying that executor.
  void end(task_header* t) noexcept {
    // Destroyed unrun, a serialized task takes its run lock itself, so that
    // an abort emitting meanwhile sees either a live slot or the task
    // finished.
    const bool lock = serialized_ && running_task() != t;
    if (lock)
      t->lock_run();
    // Drop the coroutine's cancellation state now: it refers to the last
    // operation the task awaited, which may be gone. Emits after this see
    // the task finished (next) and leave the slot alone.
    signal_.slot().clear();
    t->mark_finished();
    if (lock)
      t->unlock_run();
    // Drop the executor while its context is surely alive: a strand must not
    // outlive its io_context, and the task record may (abort_handles, a map
    // destroyed after the io_context). An abort racing with this may be
    // reading executor_ to post its cancellation: wait for those that saw
    // the task unfinished (a post is short; later ones see it finished).
    t->wait_for_emitters();
    executor_.reset();
    t->deliver();
  }

  // Emits cancellation of `type` to `t`, serialized with its coroutine.
  void request_cancel(task_header* t, net::cancellation_type type) {
    // Counted in before looking at the task's state, so that end() either
    // sees us and waits before dropping executor_, or we see it finished
    // and back off.
    task_header::emitter_scope counted(t);
    if (!counted.unfinished())
      return;
    if (serialized_) {
      if (running_task() == t)
        return emit(t, type);  // inside the task's own handler: serialized already
      if (t->try_lock_run()) {
        run_lock_scope scope(t);
        return emit(t, type);
      }
      // A handler of the task runs now: queue the emit behind it (below).
    } else if (running_in_this_thread(*executor_)) {
      // On the task's serial executor, which runs one handler at a time: the
      // task is suspended (or it is the caller itself, between two
      // operations), so emitting here is serialized with it.
      return emit(t, type);
    }
    // Posted through the task's executor, which serializes it with the
    // task. The function owns a reference, so the signal outlives it. A
    // plain post (not post_direct): this path is rare (an abort racing a
    // running handler, or from outside a strand), and a post per known
    // target would be compiled into every translation unit for nothing.
    net::post(*executor_, [this, type, ref = task_ref<>::share(t)] { emit(ref.get(), type); });
  }

 private:
  // Serialized with the task (see task_header::may_emit).
  void emit(task_header* t, net::cancellation_type type) {
    if (t->may_emit(type))
      signal_.emit(type);
  }

  std::optional<E> executor_;
  net::cancellation_signal signal_;
  bool serialized_ = false;
};

// Runs `fn()` (an awaitable<V2, E>) on executor E, reporting as V.
template <class V, class E, class Fn>
class coro_task final : public task_value<V> {
 public:
  using executor_type = E;

  explicit coro_task(Fn&& fn) : task_value<V>(&vtable, true), fn_(std::in_place, std::move(fn)) {}

  // The task's running reference, as its entry frame holds it: finishes the
  // task when the frame is destroyed, after the body ran or unrun (its
  // executor destroyed it first: reported cancelled), unless the post that
  // handed it over destroyed it (hand_over.hpp decides then).
  class running {
   public:
    explicit running(coro_task* t) noexcept : t_(t) {}
    running(running&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
    running& operator=(running&&) = delete;
    ~running() {
      if (t_ && !dropped_during_handover(t_))
        t_->finish();
    }
    coro_task* get() const noexcept { return t_; }

   private:
    coro_task* t_;
  };

  decltype(auto) invoke() { return invoke_factory(*fn_, this->id()); }

  coro_control<E>& control() noexcept { return control_; }

  // The body is over: the callable goes first (its captures die before the
  // outcome is reported), then the rest (coro_control::end).
  void finish() noexcept {
    fn_.reset();
    control_.end(this);
  }

 private:
  static void do_destroy(task_header* h) noexcept { delete static_cast<coro_task*>(h); }
  static void do_request_cancel(task_header* h, net::cancellation_type type) {
    static_cast<coro_task*>(h)->control_.request_cancel(h, type);
  }
  static void do_finish_unstarted(task_header* h) noexcept { static_cast<coro_task*>(h)->finish(); }

 public:
  // Posts the task's first resume (task_vtable::start). Defined below,
  // after the runner it posts.
  static void do_start(task_header* h);

 private:
  static constexpr task_vtable vtable{&do_destroy, &do_request_cancel,
                                      &task_value<V>::do_discard_value, &do_start,
                                      &do_finish_unstarted};

  coro_control<E> control_;
  // The user's callable, destroyed as soon as the body is over, so that
  // its captures die before the outcome is reported (as a tokio future is
  // dropped before its output is delivered).
  std::optional<Fn> fn_;
};

// The bottom frame of a task's coroutine stack. `running` reports the
// outcome when this frame is destroyed: after the body ran, or unrun when
// the executor is destroyed first (then the task is reported cancelled).
template <class Task>
net::awaitable<entry_point, typename Task::executor_type> run_coro_task(
    typename Task::running running) {
  Task* t = running.get();
  if (t->try_start()) {
    try {
      if constexpr (std::is_void_v<typename Task::output_type>) {
        co_await t->invoke();
        t->set_value();
      } else {
        t->set_value(co_await t->invoke());
      }
    } catch (...) {
      t->set_exception(std::current_exception());
    }
  }
}

// The handler posted to start a coroutine task (one type per executor type).
template <class E>
class coro_launcher {
  static_assert(check_awaitable_thread<E>());

 public:
  coro_launcher(task_header* t, coro_control<E>* control,
                net::awaitable<entry_point, E> entry) noexcept
      : task_(t), control_(control), entry_(std::move(entry)) {}

  void operator()() {
    net::cancellation_slot slot = control_->slot();
    net::cancellation_state state;
    try {
      // Terminal cancellation only (the state's default filter): abort is
      // terminal, and a task's own operations keep their usual filters.
      state = net::cancellation_state(slot);
    } catch (...) {
      // The entry frame is destroyed with this handler and reports this.
      task_->set_exception(std::current_exception());
      return;
    }
    awaitable_thread<E> thread(std::move(entry_), control_->executor(), slot, state);
    thread.launch();
  }

 private:
  task_header* task_;  // kept alive by the entry frame's running reference
  coro_control<E>* control_;
  net::awaitable<entry_point, E> entry_;
};

template <class V, class E, class Fn>
void coro_task<V, E, Fn>::do_start(task_header* h) {
  auto* t = static_cast<coro_task*>(h);
  coro_control<E>& control = t->control_;
  hand_over(
      t,
      [t, &control] { return coro_launcher<E>(t, &control, run_coro_task<coro_task>(running(t))); },
      [&control](coro_launcher<E>&& launcher) {
        // Started by a blocking task finishing on its pool thread: count the
        // post, so that the context is not destroyed under it
        // (context_service.hpp).
        context_service::post_scope in_flight(
            finishing_on_pool() ? context_service_of(control.executor()) : nullptr);
        post_direct(control.executor(), std::move(launcher));
      });
}

// Creates the coroutine task for the factory `fn` on `ex` (`serial`: see
// task_executor_for), reporting to `group` (null: a join_handle's task) as
// V, and has `admit(t)` start it (task_vtable::start) or queue it; admit
// takes over the running reference when it returns, and leaves it to us
// when it throws. Returns the task with one reference for the caller (the
// group's index, or the join_handle). Strong guarantee: on failure throws
// and leaves nothing behind.
template <class V, class Ex, class Fn, class Admit>
task_header* launch_coro_task(group_core* group, const Ex& ex, bool serial, Fn&& fn,
                              std::size_t slot, Admit&& admit) {
  using fn_type = std::decay_t<Fn>;
  using traits = awaitable_traits<factory_result_t<fn_type>>;
  using E = typename traits::executor_type;
  static_assert(result_compatible_v<V, typename traits::value_type>,
                "joinery: the task's awaitable must produce the group's V (or void for V = void)");
  using task_type = coro_task<V, E, fn_type>;

  auto* t = new task_type(fn_type(std::forward<Fn>(fn)));
  task_ref<> index_ref(t);  // the caller's reference, until success
  task_ref<> running(t);    // the running reference, until handed over
  t->bind(group, slot);
  bool serialized = false;
  coro_control<E>& control = t->control();
  control.set_executor(task_executor_for<E>(ex, serial, t, serialized), serialized);
  try {
    if constexpr (std::is_same_v<std::decay_t<Admit>, start_now_t>)
      task_type::do_start(t);
    else
      admit(static_cast<task_header*>(t));
  } catch (...) {
    control.drop_executor();  // its reference to the task, if serialized
    throw;
  }
  running.detach();
  return index_ref.detach();
}

// launch_coro_task that starts the task at once.
template <class V, class Ex, class Fn>
task_header* launch_coro_task(group_core* group, const Ex& ex, bool serial, Fn&& fn,
                              std::size_t slot) {
  return launch_coro_task<V>(group, ex, serial, std::forward<Fn>(fn), slot, start_now_t{});
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_CORO_TASK_HPP
