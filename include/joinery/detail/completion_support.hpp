// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_COMPLETION_SUPPORT_HPP
#define JOINERY_DETAIL_COMPLETION_SUPPORT_HPP

// What a pending operation needs from its handler, in Asio's manner: the
// handler's allocator for its own memory, outstanding work on the handler's
// executor while it waits, error codes that say which joinery operation
// produced them, and completing at once with nothing to deliver.

#include <joinery/detail/config.hpp>

#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace joinery::detail {

// The allocator an operation uses: the handler's, or Asio's per-thread
// recycling allocator when the handler has none of its own.
template <class Alloc>
struct op_allocator {
  using type = Alloc;
  static type get(const Alloc& a) noexcept { return a; }
};
template <class T>
struct op_allocator<std::allocator<T>> {
  using type = net::recycling_allocator<void>;
  static type get(const std::allocator<T>&) noexcept { return {}; }
};

// Outstanding work on the handler's executor while a join waits (a join may
// wait on tasks running on another context, and its io_context must not run
// out of work meanwhile). Taken only when the join actually waits: a join
// completed at once is kept alive by the post itself.
template <class Executor, class = void>
class work_tracker {
 public:
  explicit work_tracker(const Executor& ex)
      : ex_(net::prefer(ex, net::execution::outstanding_work.tracked)) {}

 private:
  std::decay_t<decltype(net::prefer(std::declval<const Executor&>(),
                                    net::execution::outstanding_work.tracked))>
      ex_;
};

template <class Executor>
class work_tracker<Executor, std::enable_if_t<!net::execution::is_executor<Executor>::value>> {
 public:
  explicit work_tracker(const Executor& ex) : guard_(ex) {}

 private:
  net::executor_work_guard<Executor> guard_;
};

#if defined(JOINERY_STANDALONE_ASIO)
// std::error_code has no room for a source location: the operation's name
// is not carried (the code and its message are the same as with Boost).
struct op_location {
  const char* file;
  int line;
  const char* function;
};
inline error_code located(error_code code, const op_location&) noexcept {
  return code;
}
#else
using op_location = boost::source_location;

// `code` carrying the source location `where`, whose function names the
// joinery operation (ec.what() prints it; comparisons ignore it). `where`
// must have static storage duration.
inline error_code located(error_code code, const op_location& where) noexcept {
  return error_code(code, &where);
}
#endif

// A static location `var` for the joinery operation `name`, declared at
// (file, line).
#define JOINERY_LOCATION(var, name)                     \
  static constexpr ::joinery::detail::op_location var { \
    __FILE__, __LINE__, name                            \
  }
#define JOINERY_OPERATION_LOCATION(name) JOINERY_LOCATION(location, name)

// Completes `handler` at once with `ec` and nothing to deliver, through its
// associated executor (never inside the initiating call).
template <class Take, class Handler, class DefaultExecutor>
void post_empty(Handler&& handler, const DefaultExecutor& ex, error_code ec) {
  auto hex = net::get_associated_executor(handler, ex);
  auto args = Take::completion_args(ec, std::nullopt);
#if defined(__GNUC__) && !defined(__clang__)
  // g++ 12 at -O1 and above reports that moving this empty optional reads
  // the pair inside it uninitialized. It does not: an empty optional's move
  // constructor never touches its payload (a known false positive); the
  // warning is silenced for this statement only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
  std::apply(
      [&](auto&&... a) {
        net::post(hex, net::append(std::forward<Handler>(handler), std::move(a)...));
      },
      std::move(args));
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_COMPLETION_SUPPORT_HPP
