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
#include <joinery/detail/executor_target.hpp>
#include <joinery/detail/running_ref.hpp>
#include <joinery/detail/serial_executor.hpp>
#include <joinery/detail/serialized_executor.hpp>
#include <joinery/detail/spawn_args.hpp>
#include <joinery/detail/task.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/cancellation_type.hpp>

#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace joinery::detail {

// Runs `fn()` (an awaitable<V2, E>) on executor E, reporting as V.
template <class V, class E, class Fn>
class coro_task final : public task_value<V> {
 public:
  using executor_type = E;

  explicit coro_task(Fn&& fn) : task_value<V>(&vtable, true), fn_(std::move(fn)) {}

  // Before launch: the executor the task runs on (serial_executor.hpp);
  // `serialized` says whether it is a serialized_executor over this task.
  // A serialized executor refers to the task: until finish() drops it,
  // executor_ keeps the record alive (the launch drops it on failure).
  void set_executor(E ex, bool serialized) {
    executor_.emplace(std::move(ex));
    serialized_ = serialized;
  }
  void drop_executor() noexcept { executor_.reset(); }

  decltype(auto) invoke() { return invoke_factory(fn_.get(), this->id()); }

  const E& executor() const noexcept { return *executor_; }

  net::cancellation_slot slot() noexcept { return signal_.slot(); }

  // Runs once when the body is over (or its executor destroyed it unrun):
  // on the task's executor, or on the thread destroying that executor.
  void finish() noexcept {
    // Destroyed unrun, a serialized task takes its run lock itself, so that
    // an abort emitting meanwhile sees either a live slot or finished_bit.
    const bool lock = serialized_ && running_task() != this;
    if (lock)
      this->lock_run();
    fn_.reset();
    // Drop the coroutine's cancellation state now: it refers to the last
    // operation the task awaited, which may be gone. Emits after this see
    // finished_bit (set next) and leave the slot alone.
    signal_.slot().clear();
    this->mark_finished();
    if (lock)
      this->unlock_run();
    // Drop the executor while its context is surely alive: a strand must not
    // outlive its io_context, and the task record may (abort_handles, a map
    // destroyed after the io_context). An abort racing with this may be
    // reading executor_ to post its cancellation: wait for those that saw
    // the task unfinished (a post is short; later ones see finished_bit).
    while ((this->state_.load(std::memory_order_acquire) & ~(emitter_unit - 1)) != 0)
      std::this_thread::yield();
    executor_.reset();
    this->deliver();
  }

 private:
  static void do_destroy(task_header* h) noexcept { delete static_cast<coro_task*>(h); }

  static void emit(coro_task* self) {
    if (!(self->state_.load(std::memory_order_acquire) & finished_bit))
      self->signal_.emit(net::cancellation_type::terminal);
  }

  // Emits terminal cancellation, serialized with the coroutine.
  static void do_request_cancel(task_header* h) {
    auto* self = static_cast<coro_task*>(h);
    // Count ourselves in before looking at finished_bit, so that finish()
    // either sees us and waits before dropping executor_, or we see
    // finished_bit and back off.
    const std::uint32_t prev = self->state_.fetch_add(emitter_unit, std::memory_order_acq_rel);
    struct count_out {
      coro_task* t;
      ~count_out() { t->state_.fetch_sub(emitter_unit, std::memory_order_acq_rel); }
    } guard{self};
    if (prev & finished_bit)
      return;
    if (self->serialized_) {
      if (running_task() == self)
        return emit(self);  // inside the task's own handler: serialized already
      if (self->try_lock_run()) {
        run_lock_scope scope(self);
        return emit(self);
      }
      // A handler of the task runs now: queue the emit behind it (below).
    } else if (running_in_this_thread(*self->executor_)) {
      // On the task's serial executor, which runs one handler at a time: the
      // task is suspended (or it is the caller itself, between two
      // operations), so emitting here is serialized with it.
      return emit(self);
    }
    // Posted through the task's executor, which serializes it with the
    // task. The function owns a reference, so the signal outlives it.
    post_direct(*self->executor_, [ref = task_ref<coro_task>::share(self)] { emit(ref.get()); });
  }

  static constexpr task_vtable vtable{&do_destroy, &do_request_cancel,
                                      &task_value<V>::do_discard_value};

  std::optional<E> executor_;
  fn_holder<Fn> fn_;
  net::cancellation_signal signal_;
  bool serialized_ = false;
};

// The bottom frame of a task's coroutine stack. `running` reports the
// outcome when this frame is destroyed: after the body ran, or unrun when
// the executor is destroyed first (then the task is reported cancelled).
template <class Task>
net::awaitable<entry_point, typename Task::executor_type> run_coro_task(running_ref<Task> running) {
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

// The handler posted to start a coroutine task.
template <class Task>
class coro_launcher {
  // Not named executor_type: that would make Asio look for an associated
  // executor on this handler.
  using task_executor = typename Task::executor_type;
  static_assert(check_awaitable_thread<task_executor>());

 public:
  coro_launcher(Task* t, net::awaitable<entry_point, task_executor> entry) noexcept
      : task_(t), entry_(std::move(entry)) {}

  void operator()() {
    net::cancellation_slot slot = task_->slot();
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
    awaitable_thread<task_executor> thread(std::move(entry_), task_->executor(), slot, state);
    thread.launch();
  }

 private:
  Task* task_;  // kept alive by the entry frame's running_ref
  net::awaitable<entry_point, task_executor> entry_;
};

// Creates the coroutine task for the factory `fn` on `ex` (`serial`: see
// task_executor_for), reporting to `sink` as V, and posts its first resume.
// Returns the task with one reference for the caller (the group's index).
// Strong guarantee: on failure throws and leaves nothing behind.
template <class V, class Ex, class Fn>
task_header* launch_coro_task(task_sink* sink, const Ex& ex, bool serial, Fn&& fn,
                              std::size_t slot) {
  using fn_type = std::decay_t<Fn>;
  using traits = awaitable_traits<factory_result_t<fn_type>>;
  using E = typename traits::executor_type;
  static_assert(result_compatible_v<V, typename traits::value_type>,
                "joinery: the task's awaitable must produce the group's V (or void for V = void)");
  using task_type = coro_task<V, E, fn_type>;

  auto* t = new task_type(fn_type(std::forward<Fn>(fn)));
  task_ref<> index_ref(t);  // the caller's reference, until success
  task_ref<> running(t);    // the running reference, until handed over
  t->slot_ = slot;
  t->sink_ = sink;
  bool serialized = false;
  t->set_executor(task_executor_for<E>(ex, serial, t, serialized), serialized);
  try {
    hand_over(
        static_cast<task_type*>(running.detach()),
        [t] { return coro_launcher<task_type>(t, run_coro_task(running_ref<task_type>(t))); },
        [t](coro_launcher<task_type>&& launcher) {
          post_direct(t->executor(), std::move(launcher));
        });
  } catch (...) {
    t->drop_executor();  // its reference to the task, if serialized
    throw;
  }
  return index_ref.detach();
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_CORO_TASK_HPP
