// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_INTRUSIVE_LIST_HPP
#define JOINERY_DETAIL_INTRUSIVE_LIST_HPP

// intrusive_list<T, Hook>: a doubly linked list threaded through a
// list_hook<T> member of T, so that linking and unlinking never allocate
// (a finishing task must never fail to report). It owns nothing and is
// not thread-safe: whoever owns the list guards it (a group's lock).
// An element is in at most one list per hook; erase() leaves it unlinked.

#include <cstddef>

namespace joinery::detail {

template <class T>
struct list_hook {
  T* prev = nullptr;
  T* next = nullptr;
};

template <class T, list_hook<T> T::*Hook>
class intrusive_list {
 public:
  intrusive_list() = default;
  intrusive_list(const intrusive_list&) = delete;
  intrusive_list& operator=(const intrusive_list&) = delete;

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  T* front() const noexcept { return head_; }
  static T* next(const T* t) noexcept { return (t->*Hook).next; }

  // Whether `t` is in this list (O(1): it is the head, or has a predecessor).
  bool contains(const T* t) const noexcept { return t == head_ || (t->*Hook).prev != nullptr; }

  void push_back(T* t) noexcept {
    list_hook<T>& h = t->*Hook;
    h.prev = tail_;
    h.next = nullptr;
    (tail_ ? (tail_->*Hook).next : head_) = t;
    tail_ = t;
    ++size_;
  }

  void erase(T* t) noexcept {
    list_hook<T>& h = t->*Hook;
    (h.prev ? (h.prev->*Hook).next : head_) = h.next;
    (h.next ? (h.next->*Hook).prev : tail_) = h.prev;
    h.prev = h.next = nullptr;
    --size_;
  }

  T* pop_front() noexcept {
    T* t = head_;
    if (t)
      erase(t);
    return t;
  }

  // Empties the list in O(1) and returns its former first element; the
  // elements stay chained through their hooks, for the caller to take one
  // by one with chain_pop (they must not be erased from this list any more).
  T* release_all() noexcept {
    T* first = head_;
    head_ = tail_ = nullptr;
    size_ = 0;
    return first;
  }

  // A chain of elements that are in no list (taken out under a lock, to be
  // acted on after it), threaded through the same hook: push one on `head`,
  // or take the first off it (its hook cleared; null when empty).
  static void chain_push(T*& head, T* t) noexcept {
    (t->*Hook).prev = nullptr;
    (t->*Hook).next = head;
    head = t;
  }
  static T* chain_pop(T*& head) noexcept {
    T* t = head;
    if (t) {
      head = (t->*Hook).next;
      (t->*Hook).prev = (t->*Hook).next = nullptr;
    }
    return t;
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_INTRUSIVE_LIST_HPP
