// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_FAIL_FAST_HPP
#define JOINERY_FAIL_FAST_HPP

// joinery::fail_fast: asks a join of everything (async_join_all) or a scope
// (joinery::scope, joinery::keyed_scope) to stop at the first failure.
//
// A task *fails* when its outcome is an exception or a timeout
// (join_error::is_exception() or is_timed_out()); a cancelled outcome is
// not a failure: an abort was asked for.
//
//   auto [ec, outcomes] = co_await set.async_join_all(joinery::fail_fast,
//                                                     asio::as_tuple(asio::deferred));
//   if (ec == joinery::error::task_failed) ...  // the others were aborted and joined
//
// This is what tokio's JoinSet::join_all, Go's errgroup, Python's TaskGroup
// and Asio's parallel_group with wait_for_one_error do; a plain
// async_join_all keeps every outcome and aborts nothing.

namespace joinery {

struct fail_fast_t {
  explicit fail_fast_t() = default;
};

// Passed as the first argument of join_map::async_join_all,
// join_set::async_join_all, joinery::scope and joinery::keyed_scope.
inline constexpr fail_fast_t fail_fast{};

}  // namespace joinery

#endif  // JOINERY_FAIL_FAST_HPP
