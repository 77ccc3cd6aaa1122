// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_ERROR_HPP
#define JOINERY_ERROR_HPP

// joinery::error: what the error codes of joinery's operations mean.
//
// A join completes with an error_code only when the *wait* went wrong; a
// task's own failure travels in its join_result. joinery completes with
// Asio's codes, because that is what Asio users compare against (`asio` is
// boost::asio, or ::asio with JOINERY_STANDALONE_ASIO):
//   - asio::error::operation_aborted: the wait was cancelled, or the group
//     was destroyed while it waited;
//   - asio::error::already_started: another wait of the same kind is
//     pending (one async_join_next per group, one async_join per key, one
//     async_wait per join_handle);
//   - asio::error::not_found: there is nothing to wait for (a key that is
//     not in the map, a join_handle whose outcome was already delivered);
//   - asio::error::no_memory: async_spawn could not spawn its task when its
//     slot came.
// With Boost, every such code carries a source location whose function is
// the joinery operation that returned it, so ec.what() says which
// ("... [system:114 at ... in function 'joinery::join_map::async_join_next']");
// std::error_code (standalone Asio) has no room for it.
//
// The conditions below name the two that Asio's generic messages do not
// explain, and compare equal to the Asio code joinery returns for them:
//
//   if (ec == joinery::error::join_in_progress) ...  // same as already_started
//
// NOTE: they are error *conditions* (like std::errc), not codes, so that
// comparisons with Asio's codes keep working.
//
// One code of joinery's own, for an outcome no Asio code describes:
//   - joinery::error::task_failed: async_join_all(joinery::fail_fast) saw a
//     task fail (an exception or a timeout), aborted the others and joined
//     them; the outcomes it delivers say which failed (the first failed one
//     is the cause).
//
//   if (ec == joinery::error::task_failed) ...

#include <joinery/detail/config.hpp>

#include <string>
#include <type_traits>

namespace joinery::error {

enum condition {
  // A second wait of the same kind while one is pending: a second
  // async_join_next (or async_join_next_with_id) on a group, a second
  // async_join on the same key, a second async_wait on a join_handle.
  // Matches asio::error::already_started.
  join_in_progress = 1,

  // Nothing to wait for: async_join on a key that is not in the map (or
  // whose task left it without finishing), async_wait on a join_handle with
  // no task or whose outcome was already delivered. Matches
  // asio::error::not_found.
  nothing_to_join,
};

// joinery's own error codes (see above): a value of joinery's category.
enum code {
  task_failed = 100,
};

namespace detail {

class category_impl final : public joinery::detail::error_category {
 public:
  const char* name() const noexcept override { return "joinery"; }

  std::string message(int ev) const override {
    switch (ev) {
      case join_in_progress:
        return "joinery: a wait of this kind is already pending (one async_join_next per group, "
               "one async_join per key, one async_wait per join_handle)";
      case nothing_to_join:
        return "joinery: nothing to join (the key is not in the map, or the task's outcome was "
               "already delivered)";
      case task_failed:
        return "joinery: a task failed, and the join aborted the others (fail_fast)";
      default:
        return "joinery: unknown error";
    }
  }

  bool equivalent(const joinery::detail::error_code& code, int condition) const noexcept override {
    switch (condition) {
      case join_in_progress:
        return code == asio::error::already_started;
      case nothing_to_join:
        return code == asio::error::not_found;
      default:
        return false;
    }
  }
};

}  // namespace detail

// The category of joinery's error conditions ("joinery"): a
// boost::system::error_category, or a std::error_category with
// JOINERY_STANDALONE_ASIO.
inline const joinery::detail::error_category& category() noexcept {
  static const detail::category_impl instance;
  return instance;
}

inline joinery::detail::error_condition make_error_condition(condition c) noexcept {
  return joinery::detail::error_condition(static_cast<int>(c), category());
}

inline joinery::detail::error_code make_error_code(code c) noexcept {
  return joinery::detail::error_code(static_cast<int>(c), category());
}

}  // namespace joinery::error

#if defined(JOINERY_STANDALONE_ASIO)
template <>
struct std::is_error_condition_enum<joinery::error::condition> : std::true_type {};
template <>
struct std::is_error_code_enum<joinery::error::code> : std::true_type {};
#else
template <>
struct boost::system::is_error_condition_enum<joinery::error::condition> : std::true_type {};
template <>
struct boost::system::is_error_code_enum<joinery::error::code> : std::true_type {};
#endif

#endif  // JOINERY_ERROR_HPP
