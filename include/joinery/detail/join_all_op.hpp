// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_JOIN_ALL_OP_HPP
#define JOINERY_DETAIL_JOIN_ALL_OP_HPP

// async_join_all: a composed operation (Asio's async_compose) of joins,
// collecting every outcome in completion order until the group is empty.

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/join_op.hpp>

#include <optional>
#include <utility>
#include <vector>

namespace joinery::detail {

// Joins until the group is empty, collecting every outcome in completion
// order. Cancellation (any type) ends it with operation_aborted and the
// outcomes collected so far; the rest stay in the group.
template <class State, class Take, class Executor>
struct join_all_op {
  using value_type = typename Take::value_type;
  counted_ref<State> state;
  Executor ex;
  std::vector<value_type> results{};
  bool started = false;

  template <class Self>
  void operator()(Self& self, error_code ec = {}, std::optional<value_type> next = std::nullopt) {
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

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_JOIN_ALL_OP_HPP
