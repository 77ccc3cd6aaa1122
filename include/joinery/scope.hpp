// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_SCOPE_HPP
#define JOINERY_SCOPE_HPP

// joinery::scope and joinery::keyed_scope: a group that outlives none of its
// tasks.
//
// clang-format off
// Synopsis (`asio` is boost::asio, or ::asio with JOINERY_STANDALONE_ASIO):
//
//   template <class V, class Body>
//   asio::awaitable<R> scope(Body body);              // body(join_set<V>&) -> asio::awaitable<R>
//   template <class V, class Body>
//   asio::awaitable<R> scope(fail_fast_t, Body body);
//   template <class K, class V, class Hash = default_hash<K>,
//             class KeyEqual = default_key_equal<K>, class Body>
//   asio::awaitable<R> keyed_scope(Body body);        // body(join_map<K, V, Hash, KeyEqual>&)
//   template <class K, class V, class Hash = default_hash<K>,
//             class KeyEqual = default_key_equal<K>, class Body>
//   asio::awaitable<R> keyed_scope(fail_fast_t, Body body);
// clang-format on
//
// Destroying a join_map or join_set aborts its tasks but cannot wait for
// them (a destructor cannot co_await): an aborted coroutine runs until its
// next suspension point and then unwinds, so a task that captured a
// reference to a local of the spawning coroutine may still touch it after
// that coroutine's frame is gone. A scope closes that gap, as Python's
// TaskGroup, Trio's nursery, Kotlin's coroutineScope and C++26's
// counting_scope do: `co_await joinery::scope<V>(body)` creates a
// join_set<V> (keyed_scope: a join_map<K, V>) on the awaiting coroutine's
// executor, calls `body(group)`, and completes only when the body has ended
// AND every task in the group has ended (its coroutine frame destroyed: its
// locals' destructors ran). That is what makes capturing by reference safe,
// and it is the recommended way to fan out from a coroutine when tasks
// capture references.
//
//   std::vector<std::string> pages = ...;          // a local of the caller
//   std::size_t total = co_await joinery::scope<std::size_t>(
//       [&](joinery::join_set<std::size_t>& group) -> asio::awaitable<std::size_t> {
//         for (auto& page : pages)                  // tasks may use `pages`:
//           group.spawn(count_words(page));         // the scope outlives them
//         std::size_t sum = 0;
//         while (auto n = co_await group.async_join_next()) sum += n->value();
//         co_return sum;
//       });
//
// How it completes (R is what the body's awaitable produces):
//   - the body returns r: the scope joins whatever the body left in the
//     group; if any of those outcomes is an exception, the first one (in
//     completion order) is rethrown once all tasks ended; otherwise the
//     scope returns r. (Outcomes the body joined itself are the body's
//     business.)
//   - the body throws: every task is aborted, the scope waits for all of
//     them to end, then rethrows the body's exception.
//   - the awaiting coroutine is cancelled (terminal cancellation of the
//     co_await): every task is aborted at once, the body is cancelled as any
//     awaited coroutine is, and the scope still waits for all of them to end
//     before it completes with the cancellation (it throws
//     system_error(operation_aborted)).
//   - with fail_fast: the first task to fail (its outcome is an exception or
//     a timeout; a cancellation is not a failure) aborts the other tasks and
//     the body (terminal cancellation), and once everything ended the scope
//     throws the failed task's exception (task_timed_out for a timeout).
//
// Threading: the body runs on a strand of the awaiting coroutine's executor
// (the executor itself when it already runs one handler at a time: a strand,
// an io_context with concurrency hint 1), as one coroutine; the group's
// tasks run on the executor itself, in parallel when several threads run it.
// The group is the body's to use from that strand, as any group is used
// from one thread at a time. Spawns after the body ended are impossible
// (the group is not reachable), but a task that spawns into the group while
// the scope drains it (capturing the group) is joined too: on a serial
// executor any task may; on a multi-threaded one, a task must use the group
// from the body's strand (`co_await this_coro::executor` in the body, then
// `co_await asio::dispatch(strand)` in the task before it spawns).
//
// NOTE: decisions where the other scopes differ or the design was open:
//   - The body must not leave a join pending on the group when it returns
//     (the scope joins what is left itself; a join left pending completes
//     with already_started, and the scope waits for the tasks regardless).
//   - detach(key) and detach_all() hand tasks out of the scope on purpose:
//     the scope no longer waits for a detached task.
//   - A scope costs two tasks of joinery's own (the scope's, which owns the
//     group and joins it, and the body's, so that the body can be cancelled
//     by itself) and, when the awaiting coroutine's executor is not serial,
//     a strand; no thread. docs/guide.md gives the measured cost.

#include <joinery/detail/config.hpp>
#include <joinery/detail/scope_run.hpp>
#include <joinery/fail_fast.hpp>
#include <joinery/join_map.hpp>
#include <joinery/join_set.hpp>

#include <utility>

namespace joinery {

// Runs `body(group)` with a join_set<V> and completes when the body and
// every task in the group have ended (see above).
template <class V, class Body>
auto scope(Body body) -> asio::awaitable<detail::scope_result_t<Body, join_set<V>>> {
  return detail::run_scope<join_set<V>>(std::move(body), false);
}

// As scope(body), failing fast: the first failed task aborts the others and
// the body, and its exception is thrown once everything ended.
template <class V, class Body>
auto scope(fail_fast_t, Body body) -> asio::awaitable<detail::scope_result_t<Body, join_set<V>>> {
  return detail::run_scope<join_set<V>>(std::move(body), true);
}

// As scope(body), with a join_map<K, V, Hash, KeyEqual>.
template <class K, class V, class Hash = default_hash<K>, class KeyEqual = default_key_equal<K>,
          class Body>
auto keyed_scope(Body body)
    -> asio::awaitable<detail::scope_result_t<Body, join_map<K, V, Hash, KeyEqual>>> {
  return detail::run_scope<join_map<K, V, Hash, KeyEqual>>(std::move(body), false);
}

// As scope(fail_fast, body), with a join_map<K, V, Hash, KeyEqual>.
template <class K, class V, class Hash = default_hash<K>, class KeyEqual = default_key_equal<K>,
          class Body>
auto keyed_scope(fail_fast_t, Body body)
    -> asio::awaitable<detail::scope_result_t<Body, join_map<K, V, Hash, KeyEqual>>> {
  return detail::run_scope<join_map<K, V, Hash, KeyEqual>>(std::move(body), true);
}

}  // namespace joinery

#endif  // JOINERY_SCOPE_HPP
