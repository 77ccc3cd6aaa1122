// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_SHUTDOWN_OP_HPP
#define JOINERY_DETAIL_SHUTDOWN_OP_HPP

// async_shutdown: a composed operation (Asio's async_compose) that aborts
// every task and joins until the group is empty, discarding outcomes; with a
// grace period, it asks first and aborts when the grace period ends.

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/context_service.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/join_op.hpp>
#include <joinery/detail/task.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace joinery::detail {

// The second phase of async_shutdown(grace): a context_timer on the group's
// executor that aborts, terminally, the tasks the shutdown asked to stop,
// unless the shutdown ended first. The timer's mutex serializes its expiry
// with the shutdown stopping it; the handler keeps the object alive.
class grace_period : public std::enable_shared_from_this<grace_period> {
 public:
  grace_period(const net::any_io_executor& ex, counted_ref<group_core> group,
               std::vector<task_ref<>> tasks)
      : timer_(ex), group_(std::move(group)), tasks_(std::move(tasks)) {}

  // Owner's thread, once.
  void start(std::chrono::steady_clock::duration grace) {
    timer_.with([&](net::steady_timer& t) {
      t.expires_after(grace);
      t.async_wait([self = shared_from_this()](error_code ec) { self->expired(ec); });
    });
  }

  // The shutdown ended (or was cancelled): no abort from now on, and the
  // timer no longer keeps its context busy.
  void stop() noexcept {
    timer_.with([this](net::steady_timer& t) {
      stopped_ = true;
      t.cancel();
    });
  }

 private:
  void expired(error_code ec) noexcept {
    std::vector<task_ref<>> tasks;
    timer_.with([&](net::steady_timer&) {
      if (!ec && !stopped_)
        tasks.swap(tasks_);
    });
    for (task_ref<>& t : tasks)
      group_->abort_if_in_group(t.get());  // a task detached meanwhile runs on
  }

  context_timer timer_;
  counted_ref<group_core> group_;
  std::vector<task_ref<>> tasks_;  // the timer's mutex
  bool stopped_ = false;           // the timer's mutex
};

// References to every task of `st`, for work that outlives the owner's call.
template <class State>
std::vector<task_ref<>> task_refs(State& st) {
  std::vector<task_ref<>> refs;
  refs.reserve(st.size());
  st.for_each_task([&](task_header* t) { refs.push_back(task_ref<>::share(t)); });
  return refs;
}

// async_shutdown: abort every task, then join until the group is empty,
// discarding outcomes. With a grace period (async_shutdown(grace)): ask
// every task to stop (total cancellation) first, and abort the rest when the
// grace period ends. Accepts any cancellation type, which stops the waiting
// (and the grace period).
template <class State, class Take, class Executor>
struct shutdown_op {
  counted_ref<State> state;
  Executor ex;
  std::optional<std::chrono::steady_clock::duration> grace{};
  std::shared_ptr<grace_period> timer{};
  bool started = false;

  template <class Self>
  void operator()(Self& self, error_code ec = {},
                  std::optional<typename Take::value_type> next = std::nullopt) {
    if (!started) {
      started = true;
      self.reset_cancellation_state(net::enable_total_cancellation());
      // Refused (another join is pending: the join below completes with
      // already_started), it aborts and asks nothing.
      if (!state->join_in_progress(nullptr))
        start();
    } else if (ec || !next) {
      if (timer)
        timer->stop();
      return ec ? self.complete(located(ec, Take::shutdown_location)) : self.complete({});
    }
    start_join<Take>(state.get(), std::move(self), ex, join_options{nullptr, false, true});
  }

 private:
  void start() {
    // Without a grace period (or with none left) every task is aborted at
    // once; abort_quietly marks each even when posting its cancellation
    // runs out of memory, so the drain below still ends.
    const bool now = !grace || *grace <= std::chrono::steady_clock::duration::zero();
    if (!now) {
      // Allocation failures here propagate out of the initiating call,
      // before any task was asked or aborted.
      timer = std::make_shared<grace_period>(
          net::any_io_executor(ex), counted_ref<group_core>::share(state.get()), task_refs(*state));
      timer->start(*grace);
    }
    state->for_each_task([now](task_header* t) {
      // A task that has not started has nothing to finish: it is aborted
      // at once (it never runs), rather than started only to be stopped.
      if (now || !t->has_started())
        return t->abort_quietly();
      try {
        t->abort(net::cancellation_type::total);
      } catch (...) {
        // Out of memory emitting the request: the terminal abort still comes.
      }
    });
  }
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_SHUTDOWN_OP_HPP
