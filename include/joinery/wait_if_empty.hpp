// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_WAIT_IF_EMPTY_HPP
#define JOINERY_WAIT_IF_EMPTY_HPP

// joinery::wait_if_empty: asks a join to wait while its group is empty.
//
// `co_await map.async_join_next()` on an empty group completes at once with
// std::nullopt (as tokio's join_next returns None), so a loop that races it
// against other events must guard it with `!map.empty()` or spin.
// `co_await map.async_join_next(joinery::wait_if_empty)` instead stays
// pending until a task is spawned and finishes, and delivers it: the join a
// server's reaping loop wants (docs/guide.md, "Joining in a server loop").

namespace joinery {

struct wait_if_empty_t {
  explicit wait_if_empty_t() = default;
};

// Passed as the first argument of join_map::async_join_next,
// join_set::async_join_next and join_set::async_join_next_with_id.
inline constexpr wait_if_empty_t wait_if_empty{};

}  // namespace joinery

#endif  // JOINERY_WAIT_IF_EMPTY_HPP
