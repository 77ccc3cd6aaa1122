// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_TASK_SINK_HPP
#define JOINERY_DETAIL_TASK_SINK_HPP

// task_sink: the interface through which a task reports to its group.

#include <atomic>
#include <cstdint>

namespace joinery::detail {

class task_header;

// Where a finished task reports: its group's core (group_core.hpp). The
// sink is reference counted; each launched task holds one reference on it
// until it has reported.
class task_sink {
 public:
  task_sink(const task_sink&) = delete;
  task_sink& operator=(const task_sink&) = delete;

  void add_ref() noexcept {
    // Relaxed: a new reference is always made from an existing one, which
    // already keeps the object alive (the usual shared_ptr argument).
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: the releasing thread's writes happen before the destructor.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete this;
  }

  // A finished task's last act, on any thread. Takes over the task's
  // running reference. Never throws.
  virtual void take_finished(task_header* t) noexcept = 0;

  // The queued task `t` (queued_bit) was aborted, on any thread: takes it
  // out of the queue. True when it was still there; the caller then owns
  // the queue's running reference and finishes the task unstarted.
  virtual bool dequeue_aborted(task_header* t) noexcept = 0;

 protected:
  task_sink() noexcept = default;
  virtual ~task_sink() = default;

 private:
  std::atomic<std::uint32_t> refs_{1};
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_TASK_SINK_HPP
