// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_TASK_VALUE_HPP
#define JOINERY_DETAIL_TASK_VALUE_HPP

// task_value<V>: a task record (task.hpp) with the slot for its value, and
// take_result, which turns a finished task's outcome into a join_result.

#include <joinery/detail/task.hpp>
#include <joinery/join_error.hpp>

#include <new>
#include <utility>

namespace joinery::detail {

// Storage for the task's value; empty for void.
template <class V>
class task_value : public task_header {
 public:
  using output_type = V;

  template <class U>
  void set_value(U&& u) {
    ::new (static_cast<void*>(&value_)) V(std::forward<U>(u));
    outcome_ = outcome::value;
  }

  // The outcome as a join_result. Called once, by the group, after the
  // task finished. V is nothrow-move-constructible (the groups require it),
  // so moving the value out cannot fail half-way.
  join_result<V> take_result() noexcept {
    if (outcome_ != outcome::value)
      return join_result<V>(boost::system::in_place_error, error());
    // The moved-from value goes as soon as the result is built (not when the
    // last abort_handle lets go of the record).
    struct discard_after {
      task_value* self;
      ~discard_after() { do_discard_value(self); }
    } guard{this};
    return join_result<V>(boost::system::in_place_value, std::move(value_));
  }

 protected:
  task_value(const task_vtable* vt, bool interruptible) noexcept : task_header(vt, interruptible) {}
  ~task_value() {
    if (outcome_ == outcome::value)
      value_.~V();
  }

  static void do_discard_value(task_header* h) noexcept {
    auto* self = static_cast<task_value*>(h);
    self->value_.~V();
    self->outcome_ = outcome::none;
  }

 private:
  union {
    V value_;
  };
};

template <>
class task_value<void> : public task_header {
 public:
  using output_type = void;

  void set_value() noexcept { outcome_ = outcome::value; }

  join_result<void> take_result() noexcept {
    if (outcome_ == outcome::value)
      return {};
    return join_result<void>(boost::system::in_place_error, error());
  }

 protected:
  task_value(const task_vtable* vt, bool interruptible) noexcept : task_header(vt, interruptible) {}
  ~task_value() = default;

  static void do_discard_value(task_header* h) noexcept { h->outcome_ = outcome::none; }
};

// The outcome of the finished task `t` of a group producing V.
template <class V>
join_result<V> take_result(task_header* t) noexcept {
  return static_cast<task_value<V>*>(t)->take_result();
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_TASK_VALUE_HPP
