// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_GROUP_OPS_HPP
#define JOINERY_DETAIL_GROUP_OPS_HPP

// The operations every group offers on top of its join policy: the
// initiation object of a join, the composed async_join_all and
// async_shutdown, and try_join_next.

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/join_op.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace joinery::detail {

// An owning pointer to a group state.
template <class State>
using core_ref = counted_ref<State>;

// async_initiate's initiation for a next-join with policy Take. Holds the
// state, not the container, so a deferred join outlives a move of the
// container.
template <class State, class Take, class Executor>
class initiate_join {
 public:
  using executor_type = Executor;
  initiate_join(core_ref<State> state, const Executor& ex, bool wait_if_empty = false)
      : state_(std::move(state)), ex_(ex), wait_if_empty_(wait_if_empty) {}
  executor_type get_executor() const noexcept { return ex_; }

  template <class Handler>
  void operator()(Handler&& handler) {
    start_join<Take>(state_.get(), std::forward<Handler>(handler), ex_,
                     join_options{nullptr, wait_if_empty_});
  }

 private:
  core_ref<State> state_;
  Executor ex_;
  bool wait_if_empty_;
};

// The initiation of a keyed join (join_map::async_join): waits for `task`,
// the task under the key when the call was made; null when there was none
// (the join then completes with not_found).
template <class State, class Take, class Executor>
class initiate_key_join {
 public:
  using executor_type = Executor;
  initiate_key_join(core_ref<State> state, const Executor& ex, task_ref<> task)
      : state_(std::move(state)), ex_(ex), task_(std::move(task)) {}
  executor_type get_executor() const noexcept { return ex_; }

  template <class Handler>
  void operator()(Handler&& handler) {
    if (!task_)
      return post_empty<Take>(std::forward<Handler>(handler), ex_,
                              located(net::error::not_found, Take::location));
    start_join<Take>(state_.get(), std::forward<Handler>(handler), ex_,
                     join_options{task_.get(), false});
  }

 private:
  core_ref<State> state_;
  Executor ex_;
  task_ref<> task_;
};

// The second phase of async_shutdown(grace): a timer on a strand of the
// group's executor that aborts, terminally, the tasks the shutdown asked to
// stop, unless the shutdown ended first. The strand serializes its expiry
// with the shutdown stopping it.
class grace_timer : public std::enable_shared_from_this<grace_timer> {
 public:
  grace_timer(net::any_io_executor strand, std::vector<task_ref<>> tasks)
      : timer_(std::move(strand)), tasks_(std::move(tasks)) {}

  // Owner's thread, before anything else touches the timer.
  void start(std::chrono::steady_clock::duration grace) {
    timer_.expires_after(grace);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->stopped_)
        for (task_ref<>& t : self->tasks_)
          t->abort_quietly();
      self->tasks_.clear();
    });
  }

  // The shutdown ended (or was cancelled): no abort from now on, and the
  // timer no longer keeps its context busy. Posting can fail only for lack
  // of memory; the timer then simply expires and aborts tasks that have
  // ended already, or that a cancelled shutdown left behind.
  void stop() noexcept {
    try {
      net::post(timer_.get_executor(), [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
      });
    } catch (...) {
    }
  }

 private:
  net::steady_timer timer_;
  std::vector<task_ref<>> tasks_;
  bool stopped_ = false;  // on the strand
};

// async_shutdown: abort every task, then join until the group is empty,
// discarding outcomes. With a grace period (async_shutdown(grace)): ask
// every task to stop (total cancellation) first, and abort the rest when the
// grace period ends. Accepts any cancellation type, which stops the waiting
// (and the grace timer).
template <class State, class Take, class Executor>
struct shutdown_op {
  core_ref<State> state;
  Executor ex;
  std::optional<std::chrono::steady_clock::duration> grace{};
  std::shared_ptr<grace_timer> timer{};
  bool started = false;

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {},
                  std::optional<typename Take::value_type> next = std::nullopt) {
    if (!started) {
      started = true;
      self.reset_cancellation_state(net::enable_total_cancellation());
      start();
    } else if (ec || !next) {
      if (timer)
        timer->stop();
      return ec ? self.complete(located(ec, Take::shutdown_location)) : self.complete({});
    }
    start_join<Take>(state.get(), std::move(self), ex);
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
      timer = std::make_shared<grace_timer>(net::any_io_executor(net::make_strand(ex)),
                                            state->task_refs());
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

// async_join_all: join until the group is empty, collecting every outcome in
// completion order. Cancellation (any type) ends it with operation_aborted
// and the outcomes collected so far; the rest stay in the group.
template <class State, class Take, class Executor>
struct join_all_op {
  using value_type = typename Take::value_type;
  core_ref<State> state;
  Executor ex;
  std::vector<value_type> results{};
  bool started = false;

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {},
                  std::optional<value_type> next = std::nullopt) {
    if (!started) {
      started = true;
      self.reset_cancellation_state(net::enable_total_cancellation());
      results.reserve(state->size());
    } else if (ec) {
      return self.complete(located(ec, Take::join_all_location), std::move(results));
    } else if (!next) {
      return self.complete(ec, std::move(results));
    } else {
      results.push_back(std::move(*next));
    }
    start_join<Take>(state.get(), std::move(self), ex);
  }
};

// try_join_next: a finished task's outcome, if any, without waiting. If this
// empties the group, a pending join completes ("empty").
template <class Take, class State>
std::optional<typename Take::value_type> try_join(State* state) {
  if (!state)
    return std::nullopt;
  task_header* t = state->pop_ready();
  if (!t)
    return std::nullopt;
  std::optional<typename Take::value_type> next(Take::take(*state, t));
  // A pending next-join may now find nothing it could deliver.
  if (state->size() <= state->keyed_joins())
    state->kick();
  return next;
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_GROUP_OPS_HPP
