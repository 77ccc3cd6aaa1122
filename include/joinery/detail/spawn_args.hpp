// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_SPAWN_ARGS_HPP
#define JOINERY_DETAIL_SPAWN_ARGS_HPP

// What the spawn functions accept: an awaitable, or a task factory (a
// callable returning an awaitable, taking nothing or the task's own
// task_id). Both become "a callable returning an awaitable", which the task
// keeps alive until its body ends.

#include <joinery/detail/config.hpp>
#include <joinery/task_id.hpp>

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

namespace joinery::detail {

template <class T>
struct awaitable_traits : std::false_type {};
template <class T, class E>
struct awaitable_traits<net::awaitable<T, E>> : std::true_type {
  using value_type = T;
  using executor_type = E;
};

template <class T>
inline constexpr bool is_awaitable_v = awaitable_traits<std::remove_cvref_t<T>>::value;

// What a task factory returns when invoked the way joinery invokes it: with
// no arguments if it takes none, else with the task's own task_id.
template <class F, bool nullary = std::invocable<F&>>
struct factory_result {
  using type = std::invoke_result_t<F&>;
};
template <class F>
struct factory_result<F, false> {
  using type = std::invoke_result_t<F&, task_id>;
};
template <class F>
using factory_result_t = typename factory_result<std::decay_t<F>>::type;

// A callable returning an awaitable, taking no arguments or the task's id.
template <class F>
concept task_factory =
    !is_awaitable_v<F> &&
    (std::invocable<std::decay_t<F>&> ||
     std::invocable<std::decay_t<F>&, task_id>)&&is_awaitable_v<factory_result_t<F>>;

// What a spawn takes: an awaitable, or a task factory.
template <class T>
concept task_like = is_awaitable_v<std::decay_t<T>> || task_factory<T>;

// What a spawn cannot take: neither an awaitable nor a task factory (a
// plain function returning a value, say). The spawn functions have an
// overload for it whose static_assert says what to do instead.
template <class F>
concept not_a_task = !is_awaitable_v<F> && !task_factory<F>;

template <class>
inline constexpr bool always_false_v = false;

#define JOINERY_NOT_A_TASK_MESSAGE(function)                                                     \
  "joinery::" function                                                                           \
  " takes an asio::awaitable<T> (e.g. a coroutine call: spawn(key, "                             \
  "work(x))) or a callable returning one (a coroutine lambda, or a task factory taking nothing " \
  "or a task_id); this argument is neither. For a plain synchronous function that returns a "    \
  "value, use spawn_blocking, which runs it on a thread pool"

// Invokes a task factory (see factory_result).
template <class F>
decltype(auto) invoke_factory(F& f, task_id id) {
  if constexpr (std::invocable<F&>)
    return std::invoke(f);
  else
    return std::invoke(f, id);
}

// A ready awaitable as a factory that can be invoked once.
template <class T, class E>
class awaitable_fn {
 public:
  explicit awaitable_fn(net::awaitable<T, E>&& a) noexcept : a_(std::move(a)) {}
  net::awaitable<T, E> operator()() { return std::move(a_); }

 private:
  net::awaitable<T, E> a_;
};

// A spawn argument as the callable a task keeps.
template <class TaskOrFactory>
decltype(auto) as_task_fn(TaskOrFactory&& task) {
  if constexpr (is_awaitable_v<TaskOrFactory>) {
    using traits = awaitable_traits<std::remove_cvref_t<TaskOrFactory>>;
    return awaitable_fn<typename traits::value_type, typename traits::executor_type>(
        std::move(task));
  } else {
    return std::forward<TaskOrFactory>(task);
  }
}

// The awaitable type a spawn argument produces.
template <class TaskOrFactory>
using spawned_awaitable_t = factory_result_t<decltype(as_task_fn(std::declval<TaskOrFactory>()))>;

// Whether a task producing Produced may report into a group of V.
template <class V, class Produced>
inline constexpr bool result_compatible_v =
    std::is_void_v<V> ? std::is_void_v<Produced>
                      : (!std::is_void_v<Produced> && std::is_constructible_v<V, Produced>);

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_SPAWN_ARGS_HPP
