// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_JOIN_ERROR_HPP
#define JOINERY_JOIN_ERROR_HPP

// join_error, task_cancelled and join_result: how a task's outcome is reported.
//
// A task either produces a value of its result type V or it does not, and
// then join_error says why: it was aborted (is_cancelled) or it let an
// exception escape (is_exception). A task's outcome travels as
// join_result<V> = boost::system::result<V, join_error>, which works for
// V = void and for move-only V. Calling value() on a join_result that holds an
// error rethrows the task's own exception (with its original type), or throws
// task_cancelled for a cancelled task, through the ADL hook
// throw_exception_from_error that boost::system::result looks up.

#include <joinery/task_id.hpp>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstdio>
#include <exception>
#include <ostream>
#include <string>

namespace joinery {

namespace detail {

// What task_cancelled and task_timed_out share: the task's id and a
// message made from it (no allocation: thrown from noexcept contexts' callers).
class task_exception : public std::exception {
 public:
  const char* what() const noexcept override { return what_; }

  // The task the exception is about.
  task_id id() const noexcept { return id_; }

 protected:
  // what() is `before` + the id + `after`.
  task_exception(task_id id, const char* before, const char* after) noexcept : id_(id) {
    std::snprintf(what_, sizeof what_, "%s%llu%s", before,
                  static_cast<unsigned long long>(id.value()), after);
  }

 private:
  task_id id_;
  char what_[64];
};

}  // namespace detail

// Thrown by join_result<V>::value() when the task was cancelled (aborted
// before it finished). Carries the task's id (id()); what() is
// "joinery: task #<id> was cancelled".
struct task_cancelled : detail::task_exception {
  explicit task_cancelled(task_id id) noexcept
      : task_exception(id, "joinery: task #", " was cancelled") {}
};

// Thrown by join_result<V>::value() when the task's deadline passed
// (spawn_with_timeout, spawn_with_deadline) before it finished. Carries the
// task's id (id()); what() is join_error::message(): "task #<id> timed out".
struct task_timed_out : detail::task_exception {
  explicit task_timed_out(task_id id) noexcept : task_exception(id, "task #", " timed out") {}
};

// Why a task produced no value. Cheap to copy (an id, a kind, and a
// shared std::exception_ptr).
class join_error {
 public:
  // No error: neither cancelled nor an exception, id 0, message "no error".
  // This is what join_result<V>::error() returns for a result that holds a
  // value, so such a result can never pass for a cancelled or failed task.
  join_error() noexcept = default;

  // A task that was aborted before it finished.
  static join_error cancelled(task_id id) noexcept { return join_error(id, kind::cancelled, {}); }

  // A task aborted by its deadline before it finished.
  static join_error timed_out(task_id id) noexcept { return join_error(id, kind::timed_out, {}); }

  // A task that let the exception `e` escape. A null `e` means cancelled.
  static join_error from_exception(task_id id, std::exception_ptr e) noexcept {
    if (!e)
      return cancelled(id);
    return join_error(id, kind::exception, std::move(e));
  }

  // True when the task was aborted (by key, predicate, abort_all, its
  // abort_handle, replacement or the group's destruction) before it finished,
  // or could never run because its executor was destroyed first.
  bool is_cancelled() const noexcept { return kind_ == kind::cancelled; }

  // True when the task's deadline (spawn_with_timeout, spawn_with_deadline)
  // aborted it before it finished. Such a task is not is_cancelled(): an
  // explicit abort that came first makes it cancelled instead.
  bool is_timed_out() const noexcept { return kind_ == kind::timed_out; }

  // True when the task ended by throwing; exception() holds what it threw.
  bool is_exception() const noexcept { return kind_ == kind::exception; }

  // The exception the task threw; null for any other kind of error.
  std::exception_ptr exception() const noexcept { return exception_; }

  // The task this error belongs to (task_id{} for a default join_error).
  task_id id() const noexcept { return id_; }

  // A readable description: "task #7 was cancelled", "task #7 timed out",
  // "task #7 failed:
  // <what()>" ("<unknown exception>" when the thrown object is not a
  // std::exception), or "no error" for a default join_error.
  std::string message() const {
    if (kind_ == kind::none)
      return "no error";
    std::string text = "task #" + std::to_string(id_.value());
    if (kind_ == kind::cancelled)
      return text + " was cancelled";
    if (kind_ == kind::timed_out)
      return text + " timed out";
    try {
      std::rethrow_exception(exception_);
    } catch (const std::exception& e) {
      return text + " failed: " + e.what();
    } catch (...) {
      return text + " failed: <unknown exception>";
    }
  }

  // Same task, same kind, same exception object.
  friend bool operator==(const join_error& a, const join_error& b) noexcept {
    return a.id_ == b.id_ && a.kind_ == b.kind_ && a.exception_ == b.exception_;
  }

  friend std::ostream& operator<<(std::ostream& os, const join_error& e) {
    return os << e.message();
  }

 private:
  enum class kind : unsigned char { none, cancelled, exception, timed_out };

  join_error(task_id id, kind k, std::exception_ptr e) noexcept
      : id_(id), kind_(k), exception_(std::move(e)) {}

  task_id id_;
  kind kind_ = kind::none;
  std::exception_ptr exception_;
};

// The ADL hook boost::system::result<V, join_error>::value() calls on error:
// rethrows the task's own exception, throws task_timed_out for a task whose
// deadline passed, or throws task_cancelled (also for a
// default join_error, which boost::system::result never holds as an error
// unless built so explicitly).
[[noreturn]] inline void throw_exception_from_error(const join_error& e,
                                                    const boost::source_location&) {
  if (e.is_exception())
    std::rethrow_exception(e.exception());
  if (e.is_timed_out())
    throw task_timed_out(e.id());
  throw task_cancelled(e.id());
}

// The outcome of one task: its value, or the join_error saying why there is none.
template <class V>
using join_result = boost::system::result<V, join_error>;

}  // namespace joinery

#endif  // JOINERY_JOIN_ERROR_HPP
