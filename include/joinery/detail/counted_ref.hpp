// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_COUNTED_REF_HPP
#define JOINERY_DETAIL_COUNTED_REF_HPP

// counted_ref<T>: owns one reference to an intrusively counted object (one
// with add_ref() and release()): a task, a group's core, a task's
// serializer.

#include <utility>

namespace joinery::detail {

template <class T>
class counted_ref {
 public:
  counted_ref() noexcept = default;
  // Adopts one reference the caller already owns.
  explicit counted_ref(T* p) noexcept : p_(p) {}
  counted_ref(const counted_ref& o) noexcept : p_(o.p_) {
    if (p_)
      p_->add_ref();
  }
  counted_ref(counted_ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  // Copy and move assignment are written out, not one by-value swap: clang
  // 16 omits the destructor of a by-value parameter initialized from `{}`
  // in a template (`task_ = {};` leaked the task). Self-assignment is safe.
  counted_ref& operator=(const counted_ref& o) noexcept {
    if (o.p_)
      o.p_->add_ref();
    if (T* old = std::exchange(p_, o.p_))
      old->release();
    return *this;
  }
  counted_ref& operator=(counted_ref&& o) noexcept {
    T* p = std::exchange(o.p_, nullptr);
    if (T* old = std::exchange(p_, p))
      old->release();
    return *this;
  }
  ~counted_ref() { reset(); }

  // A new reference to `p`, which the caller keeps alive meanwhile.
  static counted_ref share(T* p) noexcept {
    p->add_ref();
    return counted_ref(p);
  }

  // Drops the reference held, if any.
  void reset() noexcept {
    if (T* old = std::exchange(p_, nullptr))
      old->release();
  }
  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  // Gives up the reference without releasing it.
  T* detach() noexcept { return std::exchange(p_, nullptr); }

 private:
  T* p_ = nullptr;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_COUNTED_REF_HPP
