// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_JOIN_ERROR_HPP
#define JOINERY_JOIN_ERROR_HPP

// join_error, task_cancelled and join_result: how a task's outcome is reported.
//
// A task either produces a value of its result type V or it does not, and
// then join_error says why: it was aborted (is_cancelled), its deadline
// passed (is_timed_out), or it let an exception escape (is_exception). A
// task's outcome travels as join_result<V>, which works for V = void and for
// move-only V. Calling value() on a join_result that holds an error
// rethrows the task's own exception (with its original type), or throws
// task_cancelled (task_timed_out) for a cancelled (timed-out) task.
//
// With Boost, join_result<V> is boost::system::result<V, join_error> (value()
// throws through the ADL hook throw_exception_from_error below). With
// JOINERY_STANDALONE_ASIO, no Boost header is included and join_result<V>
// is joinery's own class template (below) with the same members and
// behaviour: code written against these docs compiles in both modes.

#include <joinery/detail/config.hpp>
#include <joinery/task_id.hpp>

#if !defined(JOINERY_STANDALONE_ASIO)
#include <boost/system/result.hpp>
#endif

#include <cstdio>
#include <exception>
#include <new>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

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

namespace detail {
// How joinery builds a join_result: from a value, or from an error.
#if defined(JOINERY_STANDALONE_ASIO)
struct result_value_t {
  explicit result_value_t() = default;
};
struct result_error_t {
  explicit result_error_t() = default;
};
inline constexpr result_value_t result_value{};
inline constexpr result_error_t result_error{};
#endif

// What join_result<V>::value() throws for the error `e`: the task's own
// exception, task_timed_out for a task whose deadline passed, or
// task_cancelled (also for a default join_error, which a join_result never
// holds as an error unless built so explicitly).
[[noreturn]] inline void throw_join_error(const join_error& e) {
  if (e.is_exception())
    std::rethrow_exception(e.exception());
  if (e.is_timed_out())
    throw task_timed_out(e.id());
  throw task_cancelled(e.id());
}
}  // namespace detail

}  // namespace joinery

#if defined(JOINERY_STANDALONE_ASIO)
namespace joinery {

// The outcome of one task: its value, or the join_error saying why there is
// none. Without Boost, joinery's own class with the members (and the
// behaviour) of boost::system::result<V, join_error> that joinery's docs
// use:
//   has_value(), has_error(), explicit operator bool  which one it holds;
//   value()             the value, or throws what the error says (the task's
//                       own exception, task_cancelled, task_timed_out);
//   error()             the join_error (a default one when it holds a value);
//   operator*, operator->  the value, unchecked;
//   ==, !=, <<          as boost::system::result's ("value:..." / "error:...").
template <class V>
class join_result {
 public:
  using value_type = V;
  using error_type = join_error;

  // A default-constructed V.
  join_result() noexcept(std::is_nothrow_default_constructible_v<V>)
    requires std::is_default_constructible_v<V>
      : has_value_(true) {
    ::new (static_cast<void*>(&value_)) V();
  }
  // Holds a value, or an error (implicitly, as boost::system::result).
  template <class A = V>
    requires(std::is_convertible_v<A, V> && !std::is_convertible_v<A, join_error> &&
             !std::is_same_v<std::remove_cvref_t<A>, join_result>)
  join_result(A&& a) noexcept(std::is_nothrow_constructible_v<V, A>) : has_value_(true) {
    ::new (static_cast<void*>(&value_)) V(std::forward<A>(a));
  }
  join_result(join_error e) noexcept : has_value_(false), error_(std::move(e)) {}
  template <class... A>
  explicit join_result(detail::result_value_t, A&&... a) : has_value_(true) {
    ::new (static_cast<void*>(&value_)) V(std::forward<A>(a)...);
  }
  join_result(detail::result_error_t, join_error e) noexcept
      : has_value_(false), error_(std::move(e)) {}

  join_result(const join_result& o) : has_value_(o.has_value_), error_(o.error_) {
    if (has_value_)
      ::new (static_cast<void*>(&value_)) V(o.value_);
  }
  join_result(join_result&& o) noexcept(std::is_nothrow_move_constructible_v<V>)
      : has_value_(o.has_value_), error_(std::move(o.error_)) {
    if (has_value_)
      ::new (static_cast<void*>(&value_)) V(std::move(o.value_));
  }
  join_result& operator=(const join_result& o) {
    if (this != &o) {
      reset();
      error_ = o.error_;
      if (o.has_value_)
        ::new (static_cast<void*>(&value_)) V(o.value_);
      has_value_ = o.has_value_;
    }
    return *this;
  }
  join_result& operator=(join_result&& o) noexcept(std::is_nothrow_move_constructible_v<V>) {
    if (this != &o) {
      reset();
      error_ = std::move(o.error_);
      if (o.has_value_)
        ::new (static_cast<void*>(&value_)) V(std::move(o.value_));
      has_value_ = o.has_value_;
    }
    return *this;
  }
  ~join_result() { reset(); }

  bool has_value() const noexcept { return has_value_; }
  bool has_error() const noexcept { return !has_value_; }
  explicit operator bool() const noexcept { return has_value_; }

  V& value() & {
    check();
    return value_;
  }
  const V& value() const& {
    check();
    return value_;
  }
  V value() && {
    check();
    return std::move(value_);
  }

  V* operator->() noexcept { return has_value_ ? &value_ : nullptr; }
  const V* operator->() const noexcept { return has_value_ ? &value_ : nullptr; }
  V& operator*() & noexcept { return value_; }
  const V& operator*() const& noexcept { return value_; }
  V operator*() && noexcept(std::is_nothrow_move_constructible_v<V>) { return std::move(value_); }

  join_error error() const& noexcept { return has_value_ ? join_error() : error_; }
  join_error error() && noexcept { return has_value_ ? join_error() : std::move(error_); }

  friend bool operator==(const join_result& a, const join_result& b) {
    if (a.has_value_ != b.has_value_)
      return false;
    return a.has_value_ ? static_cast<bool>(a.value_ == b.value_) : a.error_ == b.error_;
  }
  friend bool operator!=(const join_result& a, const join_result& b) { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& os, const join_result& r)
    requires requires(std::ostream& o, const V& v) { o << v; }
  {
    if (r.has_value_)
      return os << "value:" << r.value_;
    return os << "error:" << r.error_;
  }

 private:
  void check() const {
    if (!has_value_)
      detail::throw_join_error(error_);
  }
  void reset() noexcept {
    if (has_value_)
      value_.~V();
    has_value_ = false;
  }

  bool has_value_;
  union {
    V value_;
  };
  join_error error_;
};

// join_result<void>: a task with no value succeeded, or the join_error why not.
template <>
class join_result<void> {
 public:
  using value_type = void;
  using error_type = join_error;

  join_result() noexcept = default;
  join_result(join_error e) noexcept : has_value_(false), error_(std::move(e)) {}
  explicit join_result(detail::result_value_t) noexcept {}
  join_result(detail::result_error_t, join_error e) noexcept
      : has_value_(false), error_(std::move(e)) {}

  bool has_value() const noexcept { return has_value_; }
  bool has_error() const noexcept { return !has_value_; }
  explicit operator bool() const noexcept { return has_value_; }

  void value() const {
    if (!has_value_)
      detail::throw_join_error(error_);
  }
  void operator*() const noexcept {}

  join_error error() const noexcept { return has_value_ ? join_error() : error_; }

  friend bool operator==(const join_result& a, const join_result& b) noexcept {
    return a.has_value_ == b.has_value_ && (a.has_value_ || a.error_ == b.error_);
  }
  friend bool operator!=(const join_result& a, const join_result& b) noexcept { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& os, const join_result& r) {
    if (r.has_value_)
      return os << "value:";
    return os << "error:" << r.error_;
  }

 private:
  bool has_value_ = true;
  join_error error_;
};

}  // namespace joinery
#else
namespace joinery {

// The ADL hook boost::system::result<V, join_error>::value() calls on error.
[[noreturn]] inline void throw_exception_from_error(const join_error& e,
                                                    const boost::source_location&) {
  detail::throw_join_error(e);
}

// The outcome of one task: its value, or the join_error saying why there is none.
template <class V>
using join_result = boost::system::result<V, join_error>;

namespace detail {
inline constexpr auto& result_value = boost::system::in_place_value;
inline constexpr auto& result_error = boost::system::in_place_error;
}  // namespace detail

}  // namespace joinery
#endif

#endif  // JOINERY_JOIN_ERROR_HPP
