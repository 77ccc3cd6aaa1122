// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_DEADLINES_HPP
#define JOINERY_DETAIL_DEADLINES_HPP

// deadlines: a group's per-task deadlines, the deadline heap under them, and
// the group's one timer.
//
// A task spawned with a deadline is in the heap until it finishes, leaves
// the group or is timed out; the heap is guarded by the group's lock (tasks
// finish on any thread and take themselves out). One timer per group is
// armed for the earliest deadline (`armed`): a later deadline arms nothing,
// a task finishing early disarms nothing (the timer fires, finds nothing due
// and re-arms for what is left), and an empty heap cancels the timer so that
// it does not keep its context busy. The timer is a context_timer
// (context_service.hpp): it goes with its execution context, and the group's
// deadlines stop firing then. The group (impl/group_core.hpp, sync_timer and
// on_deadline) brings the timer in line with `armed` after releasing its
// lock, and times out the tasks the timer finds due.

#include <joinery/detail/config.hpp>
#include <joinery/detail/context_service.hpp>
#include <joinery/detail/task.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace joinery::detail {

using deadline_clock = std::chrono::steady_clock;

// The deadline `timeout` from now, saturated at time_point::max() (a
// timeout too long to represent never fires). A negative timeout is due now.
template <class Rep, class Period>
deadline_clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) {
  const deadline_clock::time_point now = deadline_clock::now();
  if (timeout <= timeout.zero())
    return now;
  using d = deadline_clock::duration;
  const auto room = deadline_clock::time_point::max() - now;
  if (std::chrono::duration_cast<std::chrono::duration<double>>(timeout) >=
      std::chrono::duration_cast<std::chrono::duration<double>>(room))
    return deadline_clock::time_point::max();
  return now + std::chrono::ceil<d>(timeout);
}

// A binary min-heap of (deadline, task); each task knows its position
// (task_header::deadline_position, 1-based). A task that leaves before its
// deadline only blanks its entry: O(1), without walking the heap, which for
// a group of short tasks with long timeouts would be most of the cost.
// Blank entries are dropped when they reach the top, and all at once when
// they outnumber the live ones (so the heap stays within twice the live
// entries, plus a constant).
class deadline_heap {
 public:
  // No live entry (blank ones may remain).
  bool empty() const noexcept { return heap_.size() == blank_; }
  std::size_t size() const noexcept { return heap_.size() - blank_; }

  // Room for one more entry, so that push cannot fail. May throw.
  void reserve_one_more() {
    if (heap_.size() == heap_.capacity())
      heap_.reserve(heap_.empty() ? 16 : 2 * heap_.size());
  }

  // After reserve_one_more().
  void push(task_header* t, deadline_clock::time_point when) noexcept {
    heap_.push_back({when, t});
    sift_up(heap_.size() - 1);
  }

  // The earliest deadline of a live entry; the heap must not be empty().
  deadline_clock::time_point earliest() noexcept {
    drop_blank_tops();
    return heap_.front().when;
  }

  // The task due first, if its deadline is at or before `now`, out of the
  // heap; null otherwise.
  task_header* pop_due(deadline_clock::time_point now) noexcept {
    drop_blank_tops();
    if (heap_.empty() || heap_.front().when > now)
      return nullptr;
    task_header* t = heap_.front().task;
    t->set_deadline_position(0);
    remove_top();
    return t;
  }

  // Takes `t` (in the heap) out: its entry is blanked.
  void erase(task_header* t) noexcept {
    heap_[t->deadline_position() - 1].task = nullptr;
    t->set_deadline_position(0);
    ++blank_;
    if (blank_ == heap_.size()) {
      heap_.clear();  // keeps the capacity for the next deadlines
      blank_ = 0;
    } else if (blank_ > 64 && blank_ > heap_.size() / 2) {
      compact();
    }
  }

  // Empties the heap and frees its memory.
  void clear() noexcept {
    for (entry& e : heap_)
      if (e.task)
        e.task->set_deadline_position(0);
    std::vector<entry>().swap(heap_);
    blank_ = 0;
  }

  // The deadline of `t`, which is in the heap.
  deadline_clock::time_point deadline_of(const task_header* t) const noexcept {
    return heap_[t->deadline_position() - 1].when;
  }

  // Entries held, blank ones included (for tests of the compaction).
  std::size_t entries() const noexcept { return heap_.size(); }

 private:
  struct entry {
    deadline_clock::time_point when;
    task_header* task;  // null: blank (the task left before its deadline)
  };

  void place(std::size_t i, entry e) noexcept {
    heap_[i] = e;
    if (e.task)
      e.task->set_deadline_position(static_cast<std::uint32_t>(i + 1));
  }

  void remove_top() noexcept {
    const std::size_t last = heap_.size() - 1;
    if (last != 0) {
      heap_[0] = heap_[last];
      heap_.pop_back();
      sift_down(0);
    } else {
      heap_.pop_back();
    }
  }

  void drop_blank_tops() noexcept {
    while (!heap_.empty() && !heap_.front().task) {
      --blank_;
      remove_top();
    }
  }

  // Drops every blank entry and rebuilds the heap (linear).
  void compact() noexcept {
    std::size_t n = 0;
    for (const entry& e : heap_)
      if (e.task)
        heap_[n++] = e;
    heap_.resize(n);
    blank_ = 0;
    for (std::size_t i = n / 2; i-- > 0;)
      sift_down(i);
    for (std::size_t i = 0; i < n; ++i)
      heap_[i].task->set_deadline_position(static_cast<std::uint32_t>(i + 1));
  }

  void sift_up(std::size_t i) noexcept {
    entry e = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!(e.when < heap_[parent].when))
        break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, e);
  }

  void sift_down(std::size_t i) noexcept {
    entry e = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n)
        break;
      if (child + 1 < n && heap_[child + 1].when < heap_[child].when)
        ++child;
      if (!(heap_[child].when < e.when))
        break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, e);
  }

  std::vector<entry> heap_;
  std::size_t blank_ = 0;  // entries whose task left
};

// A group's deadlines: the heap, what the timer should wait for, and the
// timer. Every member but timer() and enable() is called with the group's
// lock held; each returns whether the timer must then be brought in line
// (group_core::sync_timer, after the lock is released).
class deadlines {
 public:
  // Registers `t`'s deadline `when`. Throws (out of memory) before anything
  // changed.
  bool add(task_header* t, deadline_clock::time_point when) {
    heap_.reserve_one_more();
    heap_.push(t, when);
    if (armed_ && *armed_ <= when)
      return false;
    armed_ = when;
    return true;
  }

  // `t` no longer runs in the group (it reported, left, or failed to start):
  // its deadline, if any, is gone. The timer is cancelled when nothing is
  // left to wait for.
  bool remove(task_header* t) noexcept {
    if (!t->deadline_position())
      return false;
    heap_.erase(t);
    if (!heap_.empty() || !armed_)
      return false;
    armed_.reset();
    return true;
  }

  // The timer fired at `now`: the next task due, out of the heap; null when
  // none is, and then `armed` is what is left to wait for.
  task_header* pop_due(deadline_clock::time_point now) noexcept {
    if (task_header* t = heap_.pop_due(now))
      return t;
    armed_.reset();
    if (!heap_.empty())
      armed_ = heap_.earliest();
    return nullptr;
  }

  // The group closes: every deadline is forgotten.
  bool clear() noexcept {
    const bool had = !heap_.empty() || armed_;
    heap_.clear();
    armed_.reset();
    return had;
  }

  // The deadline of `t`, which is in the heap.
  deadline_clock::time_point deadline_of(const task_header* t) const noexcept {
    return heap_.deadline_of(t);
  }

  // What the timer should wait for; none: it should be cancelled.
  std::optional<deadline_clock::time_point> armed() const noexcept { return armed_; }

  // The owner's thread, before the first deadline: creates the timer on
  // `ex` (then constant).
  template <class Executor>
  void enable(const Executor& ex) {
    if (!timer_)
      timer_ = std::make_unique<context_timer>(ex);
  }
  context_timer* timer() const noexcept { return timer_.get(); }

 private:
  deadline_heap heap_;
  std::optional<deadline_clock::time_point> armed_;
  std::unique_ptr<context_timer> timer_;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_DEADLINES_HPP
