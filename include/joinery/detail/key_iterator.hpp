// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_KEY_ITERATOR_HPP
#define JOINERY_DETAIL_KEY_ITERATOR_HPP

// key_iterator: join_map::keys()'s iterator, a forward iterator over the
// keys of a key table (key_table.hpp), whose own iterator yields slots.

#include <cstddef>
#include <iterator>

namespace joinery::detail {

// Iterates a key table as a range of const K&.
template <class K, class Table>
class key_iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = K;
  using difference_type = std::ptrdiff_t;
  using pointer = const K*;
  using reference = const K&;

  key_iterator() = default;
  explicit key_iterator(typename Table::const_iterator it) : it_(it) {}

  reference operator*() const { return it_->key; }
  pointer operator->() const { return &it_->key; }
  key_iterator& operator++() {
    ++it_;
    return *this;
  }
  key_iterator operator++(int) {
    key_iterator old = *this;
    ++it_;
    return old;
  }
  friend bool operator==(const key_iterator& a, const key_iterator& b) { return a.it_ == b.it_; }

 private:
  typename Table::const_iterator it_{};
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_KEY_ITERATOR_HPP
