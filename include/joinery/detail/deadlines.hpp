// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_DEADLINES_HPP
#define JOINERY_DETAIL_DEADLINES_HPP

// deadlines: the per-task deadlines of a group, and its one timer.
//
// A task spawned with a deadline is in the group's deadline heap until it
// finishes or leaves the group; the heap is guarded by the group's lock
// (tasks finish on any thread and take themselves out). One timer per group
// is armed for the earliest deadline (`armed`, under the group's lock);
// a later deadline arms nothing, a task finishing early disarms nothing
// (the timer fires, finds nothing due and re-arms for what is left), and
// an empty heap cancels the timer so that it does not keep its context
// busy. Operations on the timer object itself are serialized by its own
// mutex (taken without the group's lock held; the group's lock may be
// taken under it): the owner arming an earlier deadline and the timer's
// handler re-arming may run on two threads.

#include <joinery/detail/config.hpp>
#include <joinery/detail/intrusive_list.hpp>
#include <joinery/detail/join_service.hpp>
#include <joinery/detail/task.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>
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
// (task_header::deadline_pos_, 1-based). A task that leaves before its
// deadline (it finished, or left the group) only blanks its entry: O(1),
// without walking the heap, which for a group of short tasks with long
// timeouts would be most of the cost. Blank entries are dropped when they
// reach the top, and all at once when they outnumber the live ones (so the
// heap stays within twice the live entries, plus a constant).
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
    t->deadline_pos_ = 0;
    remove_top();
    return t;
  }

  // Takes `t` (in the heap) out: its entry is blanked.
  void erase(task_header* t) noexcept {
    heap_[t->deadline_pos_ - 1].task = nullptr;
    t->deadline_pos_ = 0;
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
        e.task->deadline_pos_ = 0;
    std::vector<entry>().swap(heap_);
    blank_ = 0;
  }

 private:
  struct entry {
    deadline_clock::time_point when;
    task_header* task;  // null: blank (the task left before its deadline)
  };

  void place(std::size_t i, entry e) noexcept {
    heap_[i] = e;
    if (e.task)
      e.task->deadline_pos_ = static_cast<std::uint32_t>(i + 1);
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
      heap_[i].task->deadline_pos_ = static_cast<std::uint32_t>(i + 1);
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

class timer_service;

// The group's one timer, created on the first deadline (on the group's
// executor) and owned by the group's core. A group may outlive its
// execution context (joins on a map after its io_context was destroyed
// deliver what the tasks left), but an Asio timer may not: the context's
// timer_service destroys the timer when the context shuts down, and the
// group's deadlines stop firing then (the context runs nothing any more).
class deadline_timer {
 public:
  explicit deadline_timer(const net::any_io_executor& ex);
  ~deadline_timer();
  deadline_timer(const deadline_timer&) = delete;
  deadline_timer& operator=(const deadline_timer&) = delete;

  // Serializes the operations on the timer, and its destruction by the
  // service.
  std::mutex mutex;
  // Empty once the context shut down.
  std::optional<net::steady_timer> timer;

 private:
  friend class timer_service;
  std::atomic<timer_service*> service_{nullptr};
  list_hook<deadline_timer> hook_;
};

// The deadline timers of the groups on one execution context: destroyed
// when it shuts down (before the services they belong to are destroyed).
// Locking: this service's mutex, then a timer's mutex.
class timer_service final : public net::execution_context::service {
 public:
  static inline net::execution_context::id id;

  explicit timer_service(net::execution_context& ctx) : net::execution_context::service(ctx) {}

  void link(deadline_timer* t) {
    std::lock_guard lock(mutex_);
    if (shut_down_) {
      t->timer.reset();  // the context is going: no deadline fires
      return;
    }
    timers_.push_back(t);
    t->service_.store(this, std::memory_order_release);
  }

  // Called by the timer's destructor (its group's core is gone), which never
  // overlaps the context's shutdown and destruction unless the context is
  // destroyed while objects on it are still in use elsewhere.
  static void unlink(deadline_timer* t) noexcept {
    timer_service* svc = t->service_.load(std::memory_order_acquire);
    if (!svc)
      return;
    std::lock_guard lock(svc->mutex_);
    if (t->service_.load(std::memory_order_relaxed) != svc)
      return;
    svc->timers_.erase(t);
    t->service_.store(nullptr, std::memory_order_relaxed);
  }

 private:
  void shutdown() override {
    // The timers are moved out under the locks and destroyed after them:
    // destroying one cancels its pending wait, and a handler destroyed then
    // may release the last reference to its group, whose destruction
    // unlinks (and destroys) the deadline_timer.
    std::vector<net::steady_timer> doomed;
    {
      std::lock_guard lock(mutex_);
      shut_down_ = true;
      while (deadline_timer* t = timers_.pop_front()) {
        t->service_.store(nullptr, std::memory_order_relaxed);
        std::lock_guard timer_lock(t->mutex);
        if (t->timer) {
          try {
            doomed.push_back(std::move(*t->timer));
          } catch (...) {
            // Out of memory: destroyed here, under the locks, instead.
          }
          t->timer.reset();
        }
      }
    }
  }

  std::mutex mutex_;
  intrusive_list<deadline_timer, &deadline_timer::hook_> timers_;
  bool shut_down_ = false;
};

inline deadline_timer::deadline_timer(const net::any_io_executor& ex) {
  // The service first: it is then registered before the timer's own
  // services (unless they exist already), so those are still there when it
  // destroys the timer.
  timer_service& svc = net::use_service<timer_service>(context_of(ex));
  timer.emplace(ex);
  svc.link(this);
}

inline deadline_timer::~deadline_timer() {
  timer_service::unlink(this);
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_DEADLINES_HPP
