// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_EXECUTOR_TARGET_HPP
#define JOINERY_DETAIL_EXECUTOR_TARGET_HPP

// What joinery looks for inside a type-erased executor.
//
// An any_io_executor usually holds one of a few concrete executors. Acting
// on the concrete one (asking whether it runs in this thread or one handler
// at a time, posting to it) saves a level of type erasure and, for a post,
// an allocation. Queries go through visit_target(), which knows
// io_context's executor, a strand of it or of an any_io_executor, and a
// task's serialized executor over io_context's; posts (post_direct) only
// unwrap io_context's executor, the common case.

#include <joinery/detail/config.hpp>
#include <joinery/detail/serialized_executor.hpp>

#include <type_traits>
#include <utility>

namespace joinery::detail {

using io_executor = net::io_context::executor_type;

// Whether T is a type-erased executor (any_io_executor, any_executor<...>).
template <class T>
struct is_type_erased_executor : std::false_type {};
template <class... Props>
struct is_type_erased_executor<net::execution::any_executor<Props...>> : std::true_type {};
template <>
struct is_type_erased_executor<net::any_io_executor> : std::true_type {};

// Whether T is an executor of either Asio model (standard or Networking TS).
template <class T>
inline constexpr bool is_executor_v =
    net::execution::is_executor<T>::value || net::is_executor<T>::value;

template <class T>
struct is_strand : std::false_type {};
template <class E>
struct is_strand<net::strand<E>> : std::true_type {};
template <>
struct is_strand<net::io_context::strand> : std::true_type {};
template <class T>
inline constexpr bool is_strand_v = is_strand<std::remove_cvref_t<T>>::value;

// f(target) with the concrete executor inside `ex` when `ex` is an
// any_io_executor holding one of the known types; f(ex) otherwise.
template <class Ex, class F>
decltype(auto) visit_target(const Ex& ex, F&& f) {
  if constexpr (std::is_same_v<Ex, net::any_io_executor>) {
    if (const auto* io = ex.template target<io_executor>())
      return f(*io);
    if (const auto* s = ex.template target<serialized_executor<io_executor>>())
      return f(*s);
    if (const auto* s = ex.template target<net::strand<io_executor>>())
      return f(*s);
    if (const auto* s = ex.template target<net::strand<net::any_io_executor>>())
      return f(*s);
  }
  return f(ex);
}

// Whether the calling thread is running a handler of `ex`. Conservative: an
// executor that cannot tell says no (and the caller then posts).
template <class Ex>
bool running_in_this_thread(const Ex& ex) noexcept {
  return visit_target(ex, [](const auto& e) {
    if constexpr (requires { e.running_in_this_thread(); })
      return static_cast<bool>(e.running_in_this_thread());
    else
      return false;
  });
}

// net::post(ex, f), posting straight to an io_context's executor when `ex`
// holds one. Only that target: a post is compiled for every target it
// names, once per function type: for the two types joinery posts (a task's
// launch, an operation's completion) the other four targets cost 7% of an
// optimised build of a translation unit that spawns and joins (g++ -O2,
// bench/compile/join_map.cpp). The other targets (a task's serialized
// executor, strands) are reached through any_io_executor, one allocation
// more (docs/performance.md, "Compile cost").
template <class Ex, class F>
void post_direct(const Ex& ex, F&& f) {
  if constexpr (std::is_same_v<Ex, net::any_io_executor>) {
    if (const auto* io = ex.template target<io_executor>())
      return static_cast<void>(net::post(*io, std::forward<F>(f)));
  }
  net::post(ex, std::forward<F>(f));
}

// `ex` without outstanding work, to post a completion through: once queued,
// the completion may run (and its io_context be destroyed) before post
// returns on the posting thread, so post's own copies of a tracked executor
// would report work finished to a dead context. The known targets are
// untracked already; asking a type-erased executor for an untracked copy
// costs more, so it is asked only when needed.
template <class Executor>
Executor untracked(const Executor& ex) {
  if constexpr (std::is_same_v<Executor, net::any_io_executor>) {
    if (ex.template target<io_executor>() || ex.template target<serialized_executor<io_executor>>())
      return ex;
    return net::prefer(ex, net::execution::outstanding_work.untracked);
  } else if constexpr (net::execution::is_executor<Executor>::value) {
    return Executor(net::prefer(ex, net::execution::outstanding_work.untracked));
  } else {
    return ex;  // Networking TS executors carry no tracking of their own
  }
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_EXECUTOR_TARGET_HPP
