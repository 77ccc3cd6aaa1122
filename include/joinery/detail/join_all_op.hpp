// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_JOIN_ALL_OP_HPP
#define JOINERY_DETAIL_JOIN_ALL_OP_HPP

// async_join_all: a composed operation (Asio's async_compose) of joins,
// collecting every outcome in completion order until the group is empty;
// with fail_fast, the first failed outcome aborts every other task.

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/join_op.hpp>
#include <joinery/detail/task.hpp>
#include <joinery/error.hpp>
#include <joinery/join_error.hpp>

#include <optional>
#include <utility>
#include <vector>

namespace joinery::detail {

// The outcome inside what a join delivers: a join_result, or the second of
// a (key or id, join_result) pair.
template <class R>
const R& outcome_of(const R& r) noexcept {
  return r;
}
template <class K, class R>
const R& outcome_of(const std::pair<K, R>& p) noexcept {
  return p.second;
}

// Whether an outcome is a failure for fail_fast: an exception or a timeout
// (a cancellation was asked for, so it is not one).
template <class R>
bool is_failure(const R& outcome) noexcept {
  if (outcome.has_value())
    return false;
  const join_error e = outcome.error();
  return e.is_exception() || e.is_timed_out();
}

// Joins until the group is empty, collecting every outcome in completion
// order. Cancellation (any type) ends it with operation_aborted and the
// outcomes collected so far; the rest stay in the group. With `fail_fast`,
// the first failed outcome aborts every task still in the group
// (terminally), the join goes on until the group is empty, and it completes
// with error::task_failed.
template <class State, class Take, class Executor>
struct join_all_op {
  using value_type = typename Take::value_type;
  counted_ref<State> state;
  Executor ex;
  bool fail_fast = false;
  std::vector<value_type> results{};
  bool started = false;
  bool failed = false;

  template <class Self>
  void operator()(Self& self, error_code ec = {}, std::optional<value_type> next = std::nullopt) {
    if (!started) {
      started = true;
      self.reset_cancellation_state(net::enable_total_cancellation());
      results.reserve(state->size());
    } else if (ec) {
      return self.complete(located(ec, Take::join_all_location), std::move(results));
    } else if (!next) {
      return self.complete(
          failed ? located(make_error_code(error::task_failed), Take::join_all_location) : ec,
          std::move(results));
    } else {
      if (fail_fast && !failed && is_failure(outcome_of(*next))) {
        failed = true;
        // The others are aborted now; they are joined (cancelled, or with
        // the outcome they had reached) before the operation completes.
        state->for_each_task([](task_header* t) { t->abort_quietly(); });
      }
      results.push_back(std::move(*next));
    }
    start_join<Take>(state.get(), std::move(self), ex, join_options{nullptr, false, true});
  }
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_JOIN_ALL_OP_HPP
