// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_TASK_HPP
#define JOINERY_DETAIL_TASK_HPP

// The record of one spawned task and its whole lifecycle.
//
// The record is shared by everything that refers to the task: its group's
// index, the running body (or blocking job), abort_handles, the task's own
// executor copies (serialized_executor.hpp) and aborts in flight. It is
// reference counted, so any of them may outlive the others: an abort_handle
// used after its map is gone, or a task finishing on another thread after
// the map was destroyed, touches only this record.
//
// Lifecycle (docs/internals.md has the tables): a launched task starts with
// two references, the group index's and the running one. The runner calls
// try_start() before the body; the body's end (or its executor destroying
// it unrun) calls mark_finished() once, then deliver() hands the running
// reference to the task's sink (its group), which queues the task for a
// join or drops it. abort() may come at any time, from any thread.

#include <joinery/detail/config.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/intrusive_list.hpp>
#include <joinery/detail/spin_lock.hpp>
#include <joinery/detail/task_sink.hpp>
#include <joinery/detail/waiters.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>

#include <boost/asio/cancellation_type.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>

namespace joinery::detail {

class task_header;

// Bits of task_header::state_.
inline constexpr std::uint32_t abort_bit = 1;  // abort() was called
inline constexpr std::uint32_t started_bit =
    2;  // the runner began (the body runs unless aborted first)
inline constexpr std::uint32_t finished_bit =
    4;  // the outcome is fixed; no body code runs any more
inline constexpr std::uint32_t cancel_claimed_bit =
    8;                                             // one abort claimed emitting the cancellation
inline constexpr std::uint32_t run_lock_bit = 16;  // serialized tasks: a handler or an emit runs
inline constexpr std::uint32_t queued_bit =
    32;  // waiting in its group's queue for a concurrency slot (admission.hpp)
inline constexpr std::uint32_t timed_out_bit =
    64;  // its deadline aborted it (set with abort_bit, never after it)
// The bits from here up count emitters reading the task's executor (see
// coro_task::finish).
inline constexpr std::uint32_t emitter_unit = 1u << 8;

// The operations that depend on the task's concrete type.
struct task_vtable {
  void (*destroy)(task_header*) noexcept;
  // Emits a cancellation of the given type to a started coroutine,
  // serialized with it. Null for blocking tasks, which cannot be
  // interrupted.
  void (*request_cancel)(task_header*, net::cancellation_type);
  // Destroys a stored value whose task turned out to be aborted.
  void (*discard_value)(task_header*) noexcept;
  // A task created unstarted (queued, or with a deadline to register
  // first): posts its runner, which takes over the running reference and a
  // new reference on the sink. Throws if posting fails; the running
  // reference is then gone (hand_over's strong guarantee).
  void (*start)(task_header*);
  // Fixes the outcome of a task whose runner never existed (aborted while
  // queued, or failing to start) and reports it with its running reference
  // and one reference on its sink.
  void (*finish_unstarted)(task_header*) noexcept;
};

enum class outcome : unsigned char { none, value, exception };

class task_header {
 public:
  task_header(const task_header&) = delete;
  task_header& operator=(const task_header&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }  // see task_sink
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      vtable_->destroy(this);
  }

  task_id id() const noexcept { return task_id(id_); }

  bool is_finished() const noexcept {
    return (state_.load(std::memory_order_acquire) & finished_bit) != 0;
  }

  // Whether the runner began (the body runs unless it was aborted first).
  bool has_started() const noexcept {
    return (state_.load(std::memory_order_acquire) & started_bit) != 0;
  }

  // Requests the task to stop. Idempotent; returns at once. A task that has
  // not started never runs its body; a started coroutine is interrupted at
  // its next suspension point; a finished task keeps its outcome; a started
  // blocking task runs to completion. May throw std::bad_alloc when the
  // cancellation cannot be posted; the task is then marked aborted (it will
  // be reported cancelled when it ends) and calling abort() again retries
  // the posting.
  void abort() { abort_with(abort_bit); }

  // The task's deadline passed (deadlines.hpp): abort() it, to be reported
  // timed out, unless it was aborted or finished first (then nothing
  // changes: an explicit abort stays a cancellation, a finished task keeps
  // its outcome). May throw std::bad_alloc as abort() does.
  void time_out() {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    do {
      if (s & (abort_bit | finished_bit))
        return;
    } while (
        !state_.compare_exchange_weak(s, s | abort_bit | timed_out_bit, std::memory_order_acq_rel));
    after_abort(s);
  }

  // abort() with a cancellation type. A type with the terminal bit is
  // abort(). Any other (partial, total) is a request, not an abort: it is
  // emitted to a started, unfinished coroutine, which sees it only if it
  // enabled that type, and whose outcome stays whatever it then produces;
  // it does nothing to a task that has not started (or is queued), that has
  // finished, that was already aborted, or that is a blocking task. Each
  // call emits again (a request is not claimed once like the abort). May
  // throw std::bad_alloc when the emit cannot be posted; nothing changed.
  void abort(net::cancellation_type type) {
    if ((type & net::cancellation_type::terminal) != net::cancellation_type::none)
      return abort();
    const std::uint32_t s = state_.load(std::memory_order_acquire);
    if (type == net::cancellation_type::none || (s & (abort_bit | finished_bit)) != 0 ||
        (s & started_bit) == 0 || !vtable_->request_cancel)
      return;
    vtable_->request_cancel(this, type);
  }

  // abort() for paths that cannot report failure (destruction, replacement,
  // shutdown): out of memory, the task is still marked aborted, so it is
  // reported cancelled (or to nobody) when it ends; it only runs longer.
  void abort_quietly() noexcept {
    try {
      abort();
    } catch (...) {
    }
  }

  // Called by the runner before the body: false when aborted first.
  bool try_start() noexcept {
    return (state_.fetch_or(started_bit, std::memory_order_acq_rel) & abort_bit) == 0;
  }

  void set_exception(std::exception_ptr e) noexcept {
    exception_ = std::move(e);
    outcome_ = outcome::exception;
  }

  // Destroys the outcome of a finished task that will never be delivered
  // (its group is gone, or it was replaced or detached), so that an
  // abort_handle keeping the record alive does not keep its value alive.
  // Only whoever owns the finished task's data may call it: the runner
  // before it reports, or the group after taking the task off its ready list.
  void drop_outcome() noexcept {
    if (outcome_ == outcome::value)
      vtable_->discard_value(this);
    outcome_ = outcome::none;
    exception_ = nullptr;
  }

  // Why a finished task has no value: it threw, its deadline passed, or it
  // was cancelled.
  join_error error() const noexcept {
    if (outcome_ == outcome::exception)
      return join_error::from_exception(id(), exception_);
    if (state_.load(std::memory_order_relaxed) & timed_out_bit)
      return join_error::timed_out(id());
    return join_error::cancelled(id());
  }

  // --- The run lock (serialized tasks, serialized_executor.hpp). ----------
  // acquire on taking and release on giving back: the usual mutex order
  // between the task's handlers and the cancellations emitted to it.
  bool try_lock_run() noexcept {
    return (state_.fetch_or(run_lock_bit, std::memory_order_acquire) & run_lock_bit) == 0;
  }
  void lock_run() noexcept {
    for (unsigned spins = 0;; ++spins) {
      if ((state_.load(std::memory_order_relaxed) & run_lock_bit) == 0 && try_lock_run())
        return;
      spin_pause(spins);
    }
  }
  void unlock_run() noexcept { state_.fetch_and(~run_lock_bit, std::memory_order_release); }

  // --- The runner's side (coro_task.hpp, blocking_task.hpp). -------------

  // Fixes the outcome. Runs exactly once per launched task, when its body is
  // over (or its executor destroyed it unrun).
  void mark_finished() noexcept {
    // acq_rel pairs with abort(): whether the abort bit is in `prev` decides,
    // once and for all, whether an interruptible task counts as cancelled.
    const std::uint32_t prev = state_.fetch_or(finished_bit, std::memory_order_acq_rel);
    if (interruptible_ && (prev & abort_bit) != 0)
      drop_outcome();  // whatever it did on its way out, it was aborted
  }

  // Waits until no abort is reading the task's executor or asking its sink
  // about its queue (bits from emitter_unit up): after this, such an abort
  // sees finished_bit and backs off. A post or a queue check is short.
  void wait_for_emitters() const noexcept {
    while ((state_.load(std::memory_order_acquire) & ~(emitter_unit - 1)) != 0)
      std::this_thread::yield();
  }

  // Hands the finished task to its sink, with the running reference and
  // the task's reference on the sink. The task must not be touched after.
  void deliver() noexcept {
    task_sink* sink = sink_;
    sink->take_finished(this);
    sink->release();
  }

 private:
  // abort() and time_out(): `bits` include abort_bit.
  void abort_with(std::uint32_t bits) {
    after_abort(state_.fetch_or(bits, std::memory_order_acq_rel));
  }

  // The abort bits are set; `prev` is the state before. Interrupts a started
  // coroutine, or takes a queued task out of its queue and reports it.
  void after_abort(std::uint32_t prev) {
    // acq_rel on both sides of the started/abort handshake: the RMWs on
    // state_ are totally ordered, so exactly one of try_start() and abort()
    // sees the other's bit. If abort sees no started bit, try_start will see
    // the abort bit and skip the body, so nothing needs interrupting.
    if ((prev & (queued_bit | abort_bit)) == queued_bit)
      return abort_queued();
    if ((prev & finished_bit) != 0 || (prev & started_bit) == 0 || !vtable_->request_cancel)
      return;
    // One cancellation per task is enough: claim emitting it.
    if (state_.fetch_or(cancel_claimed_bit, std::memory_order_acq_rel) & cancel_claimed_bit)
      return;
    try {
      vtable_->request_cancel(this, net::cancellation_type::terminal);
    } catch (...) {
      state_.fetch_and(~cancel_claimed_bit, std::memory_order_acq_rel);  // a retry may emit
      throw;
    }
  }

  // A queued task was aborted (any thread, possibly with no reference on
  // its group): it must not wait for a slot to be reported. Counted in as
  // an emitter, so that the task cannot report (and its sink go) while the
  // sink is asked; if the queue let go of it meanwhile, its runner will
  // see abort_bit and skip the body.
  void abort_queued() noexcept {
    bool dequeued = false;
    if (state_.fetch_add(emitter_unit, std::memory_order_acq_rel) & queued_bit)
      dequeued = sink_->dequeue_aborted(this);
    state_.fetch_sub(emitter_unit, std::memory_order_acq_rel);
    if (dequeued)
      vtable_->finish_unstarted(this);
  }

 protected:
  task_header(const task_vtable* vtable, bool interruptible) noexcept
      : vtable_(vtable), id_(task_id::next().value()), interruptible_(interruptible) {}
  ~task_header() = default;

 public:
  // --- Shared by the task's runner and its group. ------------------------
  std::atomic<std::uint32_t> refs_{2};  // the group's index and the running reference
  std::atomic<std::uint32_t> state_{0};
  const task_vtable* vtable_;
  const std::uint64_t id_;
  // The group's slot for the task, written and read by the owner only: a
  // join_map keeps the key's hash here (so a finished task is found again
  // without rehashing), a join_set the task's position in its member list.
  std::size_t slot_ = 0;
  // Where the task reports. Set before it is launched, with a reference.
  task_sink* sink_ = nullptr;

  // --- Guarded by the sink's lock. ----------------------------------------
  // On its group's ready list once finished; before it started, on its
  // group's queue (admission.hpp) instead: a task is never on both.
  list_hook<task_header> ready_hook_;
  wait_slot key_wait_;  // a join_map's async_join waiting for this task
  // Three flags in one byte (all under the same lock), beside the two
  // runner-written bytes and the heap position: the record stays 80 bytes.
  bool orphaned_ : 1 = false;  // no longer owned by its group: reports to nobody
  bool reported_ : 1 = false;  // queued on the ready list once (then taken, or still there)
  bool counted_ : 1 = false;   // holds one of its group's concurrency slots (admission.hpp)

  // --- Written by the runner before reporting, read by the group after
  // taking the task off the ready list (ordered by the sink's lock). -------
  const bool interruptible_;
  outcome outcome_ = outcome::none;

  // --- Guarded by the sink's lock. ----------------------------------------
  // Its position + 1 in its group's deadline heap (deadlines.hpp); 0: none.
  std::uint32_t deadline_pos_ = 0;

  // --- As outcome_. ------------------------------------------------------
  std::exception_ptr exception_;
};

// Owns a reference to a task_header (or a type derived from it).
template <class T = task_header>
using task_ref = counted_ref<T>;

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_TASK_HPP
