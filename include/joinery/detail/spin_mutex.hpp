// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_SPIN_MUTEX_HPP
#define JOINERY_DETAIL_SPIN_MUTEX_HPP

// spin_mutex: the group's lock. Its critical sections are a few pointer
// moves (link a finished task, claim a waiter), taken once or twice per
// task and mostly uncontended: a spin lock costs a fraction of a pthread
// mutex there. Under contention it spins briefly, then yields (several task
// threads may share few cores). Satisfies Lockable (std::lock_guard).

#include <atomic>
#include <thread>

namespace joinery::detail {

// Spins `spins` times (pausing the core), then yields the thread.
inline void spin_pause(unsigned spins) noexcept {
  if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  } else {
    std::this_thread::yield();
  }
}

class spin_mutex {
 public:
  void lock() noexcept {
    // acquire/release: the lock orders the critical sections (the usual
    // mutex semantics).
    if (!flag_.exchange(true, std::memory_order_acquire))
      return;
    for (unsigned spins = 0;; ++spins) {
      if (!flag_.load(std::memory_order_relaxed) &&
          !flag_.exchange(true, std::memory_order_acquire))
        return;
      spin_pause(spins);
    }
  }
  bool try_lock() noexcept {
    return !flag_.load(std::memory_order_relaxed) &&
           !flag_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_SPIN_MUTEX_HPP
