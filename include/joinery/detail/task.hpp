// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_TASK_HPP
#define JOINERY_DETAIL_TASK_HPP

// The record of one spawned task: its identity, its state, its outcome (and,
// in task_value<V>, the slot for its value), and every transition of its
// life. Nothing outside this header reads or writes the record's fields;
// each member says which thread or lock it needs.
//
// The record is shared by everything that refers to the task: its group's
// index (or its join_handle), the running body or blocking job, abort
// handles, the task's own executor copies (serialized_executor.hpp) and
// aborts in flight. It is reference counted, so any of them may outlive the
// others: an abort_handle used after its map is gone, or a task finishing
// on another thread after the map was destroyed, touches only this record.
//
// Life (docs/internals.md has the tables): launched with two references,
// the index's and the running one → try_start() by the runner (the body
// runs unless an abort came first) → the body ends, or its executor
// destroys the runner unrun → mark_finished() fixes the outcome → deliver()
// hands the running reference to the group (impl/task.hpp) → a join takes
// the outcome (take_result) → the index's reference goes. abort() may come
// at any time, from any thread. A task created unstarted (a concurrency
// limit, a deadline) is admitted by its group first: started at once, or
// queued until a slot frees.

#include <joinery/detail/config.hpp>
#include <joinery/detail/counted_ref.hpp>
#include <joinery/detail/intrusive_list.hpp>
#include <joinery/detail/spin_mutex.hpp>
#include <joinery/detail/waiters.hpp>
#include <joinery/join_error.hpp>
#include <joinery/task_id.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <thread>
#include <utility>

namespace joinery::detail {

class group_core;
class task_header;

// The operations that depend on the task's concrete type.
struct task_vtable {
  void (*destroy)(task_header*) noexcept;
  // Emits a cancellation of the given type to a started coroutine,
  // serialized with it. Null for blocking tasks, which cannot be
  // interrupted.
  void (*request_cancel)(task_header*, net::cancellation_type);
  // Destroys a stored value whose task turned out to be aborted.
  void (*discard_value)(task_header*) noexcept;
  // A task created unstarted: posts its runner, which takes over the
  // running reference and a new reference on the group. Throws if posting
  // fails; the running reference is then still the caller's.
  void (*start)(task_header*);
  // Fixes the outcome of a task whose runner never existed (aborted while
  // queued, or failing to start) and reports it with its running reference
  // and one reference on its group.
  void (*finish_unstarted)(task_header*) noexcept;
};

class task_header {
  // Bits of state_.
  static constexpr std::uint32_t abort_bit = 1;           // abort() was called
  static constexpr std::uint32_t started_bit = 2;         // the runner began
  static constexpr std::uint32_t finished_bit = 4;        // the outcome is fixed
  static constexpr std::uint32_t cancel_claimed_bit = 8;  // one abort emits the cancellation
  static constexpr std::uint32_t run_lock_bit = 16;       // serialized tasks: a handler runs
  static constexpr std::uint32_t queued_bit = 32;         // waiting for a concurrency slot
  static constexpr std::uint32_t timed_out_bit = 64;      // set with abort_bit by time_out()
  // The bits from here up count emitters: aborts reading the task's
  // executor, or asking its group about its queue (emitter_scope).
  static constexpr std::uint32_t emitter_unit = 1u << 8;

 public:
  task_header(const task_header&) = delete;
  task_header& operator=(const task_header&) = delete;

  // --- References (any thread) ---------------------------------------------
  // Relaxed increment: a new reference is made from one that keeps the
  // record alive already. acq_rel decrement: the releasing thread's writes
  // happen before the destruction.
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      vtable_->destroy(this);
  }

  task_id id() const noexcept { return task_id(id_); }

  // When the task was spawned (set before its launch, then constant).
  std::chrono::steady_clock::time_point spawned_at() const noexcept { return spawned_at_; }

  // --- Queries (any thread) ------------------------------------------------
  bool is_finished() const noexcept { return has(finished_bit); }
  bool has_started() const noexcept { return has(started_bit); }
  bool abort_requested() const noexcept { return has(abort_bit); }
  bool is_queued() const noexcept { return has(queued_bit); }

  // --- Aborts (any thread) -------------------------------------------------

  // Requests the task to stop. Idempotent; returns at once. A task that has
  // not started never runs its body (a queued one is reported at once); a
  // started coroutine is interrupted at its next suspension point; a
  // finished task keeps its outcome; a started blocking task runs to
  // completion. May throw std::bad_alloc when the cancellation cannot be
  // posted; the task is then marked aborted (it will be reported cancelled
  // when it ends) and calling abort() again retries the posting.
  void abort() { after_abort(state_.fetch_or(abort_bit, std::memory_order_acq_rel)); }

  // The task's deadline passed: abort() it, to be reported timed out, unless
  // it was aborted or finished first (then nothing changes: an explicit
  // abort stays a cancellation, a finished task keeps its outcome). May
  // throw std::bad_alloc as abort() does.
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
  // call emits again. May throw std::bad_alloc when the emit cannot be
  // posted; nothing changed.
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

  // --- Emitting to the task (coro_task.hpp) --------------------------------

  // Counts an emitter in for its lifetime: finish_body() waits for it before
  // the task's executor is dropped, so while it is counted in and saw the
  // task unfinished (unfinished()), the executor stays. acq_rel: the count
  // and finished_bit are RMWs on one word, so either the emitter sees
  // finished_bit or the finishing runner sees the count.
  class emitter_scope {
   public:
    explicit emitter_scope(task_header* t) noexcept
        : t_(t), prev_(t->state_.fetch_add(emitter_unit, std::memory_order_acq_rel)) {}
    emitter_scope(const emitter_scope&) = delete;
    emitter_scope& operator=(const emitter_scope&) = delete;
    ~emitter_scope() { t_->state_.fetch_sub(emitter_unit, std::memory_order_acq_rel); }
    bool unfinished() const noexcept { return (prev_ & finished_bit) == 0; }
    bool was_queued() const noexcept { return (prev_ & queued_bit) != 0; }

   private:
    task_header* t_;
    std::uint32_t prev_;
  };

  // Whether an emit of `type`, serialized with the task, may go to its
  // coroutine now. A request (non-terminal) after an abort is skipped:
  // Asio's cancellation state keeps only the last type it was given, so a
  // later filtered-out request would erase the terminal one. Both emits are
  // serialized with the task, and abort() sets abort_bit before it emits,
  // so a request that does not see the bit is emitted before the abort.
  bool may_emit(net::cancellation_type type) const noexcept {
    const std::uint32_t skip =
        type == net::cancellation_type::terminal ? finished_bit : finished_bit | abort_bit;
    return (state_.load(std::memory_order_acquire) & skip) == 0;
  }

  // --- The run lock (serialized tasks, serialized_executor.hpp) ------------
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

  // --- The runner (coro_task.hpp, blocking_task.hpp) ------------------------

  // Before the body: false when aborted first (then the body never runs).
  // acq_rel on both sides of the started/abort handshake: the RMWs on
  // state_ are totally ordered, so exactly one of try_start() and abort()
  // sees the other's bit.
  bool try_start() noexcept {
    return (state_.fetch_or(started_bit, std::memory_order_acq_rel) & abort_bit) == 0;
  }

  void set_exception(std::exception_ptr e) noexcept {
    exception_ = std::move(e);
    outcome_ = outcome::exception;
  }

  // Fixes the outcome. Runs exactly once per launched task, when its body is
  // over (or its executor destroyed it unrun). acq_rel pairs with abort():
  // whether the abort bit is in `prev` decides, once and for all, whether an
  // interruptible task counts as cancelled.
  void mark_finished() noexcept {
    const std::uint32_t prev = state_.fetch_or(finished_bit, std::memory_order_acq_rel);
    if (interruptible_ && (prev & abort_bit) != 0)
      drop_outcome();  // whatever it did on its way out, it was aborted
  }

  // After mark_finished(): waits until no emitter counted in before it is
  // still at work (emitter_scope), so that the caller may drop the task's
  // executor. Emitters are short: a post, or a look at the group's queue.
  void wait_for_emitters() const noexcept {
    while ((state_.load(std::memory_order_acquire) & ~(emitter_unit - 1)) != 0)
      std::this_thread::yield();
  }

  // Hands the finished task to its group (or to its join_handle's wait),
  // with the running reference and the task's reference on the group. The
  // task must not be touched after. Defined in impl/task.hpp.
  void deliver() noexcept;

  // --- Launching (coro_task.hpp, blocking_task.hpp, group_core.hpp) --------

  // A task created unstarted (queued, or admitted under a limit or with a
  // deadline): posts its runner (task_vtable::start). Throws if posting
  // fails; the running reference is then still the caller's.
  void start() { vtable_->start(this); }

  // Reports a task whose runner never existed (aborted while queued, or
  // failing to start), with its running reference and its reference on its
  // group (task_vtable::finish_unstarted).
  void finish_unstarted() noexcept { vtable_->finish_unstarted(this); }

  // Before the launch: the group the task reports to (null: a join_handle's
  // task, which reports to its own wait slot) and the owner's slot (see
  // owner_slot()); the spawn's time is taken now (task_info::spawned_at).
  void bind(group_core* group, std::size_t owner_slot) noexcept {
    group_ = group;
    owner_slot_ = owner_slot;
    spawned_at_ = std::chrono::steady_clock::now();
  }
  group_core* group() const noexcept { return group_; }

  // The task's reference on its group: taken when the task is handed to its
  // executor or queued, given back when it reports (deliver) or when the
  // hand-over fails. Nothing for a join_handle's task. impl/task.hpp.
  void hold_group() noexcept;
  void release_group() noexcept;

  // --- The owner's index (owner's thread) ----------------------------------
  // A join_map keeps its key's mixed hash here (so the task is found again
  // in the key index without hashing the key), a join_set the task's
  // position in its vector.
  std::size_t owner_slot() const noexcept { return owner_slot_; }
  void set_owner_slot(std::size_t s) noexcept { owner_slot_ = s; }

  // --- The outcome (the owner, after taking the task off the ready list;
  // ordered after the runner's writes by the group's lock) ------------------

  bool has_value() const noexcept { return outcome_ == outcome::value; }

  // What a finished task's outcome is, without building its join_error (the
  // group counts outcomes as tasks end, on their own threads).
  enum class outcome_kind : unsigned char { value, exception, timed_out, cancelled };
  outcome_kind kind() const noexcept {
    if (outcome_ == outcome::value)
      return outcome_kind::value;
    if (outcome_ == outcome::exception)
      return outcome_kind::exception;
    return has(timed_out_bit) ? outcome_kind::timed_out : outcome_kind::cancelled;
  }

  // Why a finished task has no value: it threw, its deadline passed, or it
  // was cancelled.
  join_error error() const noexcept {
    if (outcome_ == outcome::exception)
      return join_error::from_exception(id(), exception_);
    if (has(timed_out_bit))
      return join_error::timed_out(id());
    return join_error::cancelled(id());
  }

  // Destroys the outcome of a finished task that will never be delivered
  // (its group is gone, or it was replaced or detached), so that an
  // abort_handle keeping the record alive does not keep its value alive.
  // Whoever owns the finished task's data: the runner before it reports, or
  // the group after taking the task off its ready list.
  void drop_outcome() noexcept {
    if (outcome_ == outcome::value)
      vtable_->discard_value(this);
    outcome_ = outcome::none;
    exception_ = nullptr;
  }

  // --- The group's bookkeeping (caller holds the group's lock; for a
  // join_handle's task, the task's own lock, wait_lock()) --------------------

  // The join waiting for this task only (join_map::async_join,
  // join_handle::async_wait).
  wait_slot& key_wait() noexcept { return key_wait_; }
  const wait_slot& key_wait() const noexcept { return key_wait_; }

  // Reported to its group: it was queued on the ready list once (and may
  // have been taken since).
  bool reported() const noexcept { return has(reported_flag); }
  void mark_reported() noexcept { flags_ |= reported_flag; }

  // No longer owned by its group (replaced, detached, or its join_handle is
  // gone): it reports to nobody. True when it was not already.
  bool orphaned() const noexcept { return has(orphaned_flag); }
  bool orphan() noexcept {
    const bool was = has(orphaned_flag);
    flags_ |= orphaned_flag;
    return !was;
  }

  // Orphaned because a spawn on its key replaced it (its outcome counts as
  // cancelled in the group's stats).
  bool replaced() const noexcept { return has(replaced_flag); }
  void mark_replaced() noexcept { flags_ |= replaced_flag; }

  // A join_handle's task (no group): its outcome was taken by a wait.
  bool outcome_taken() const noexcept { return has(taken_flag); }
  void mark_outcome_taken() noexcept { flags_ |= taken_flag; }

  // Holds one of its group's concurrency slots (concurrency_limit.hpp).
  bool holds_slot() const noexcept { return has(holds_slot_flag); }
  void take_slot() noexcept { flags_ |= holds_slot_flag; }
  bool give_back_slot() noexcept {
    const bool had = has(holds_slot_flag);
    flags_ &= static_cast<std::uint8_t>(~holds_slot_flag);
    return had;
  }

  // Waiting for a slot in its group's queue (concurrency_limit.hpp). The
  // bit is also read by abort() on any thread, hence its place in state_.
  void mark_queued() noexcept { state_.fetch_or(queued_bit, std::memory_order_acq_rel); }
  void clear_queued() noexcept { state_.fetch_and(~queued_bit, std::memory_order_acq_rel); }

  // Its position + 1 in its group's deadline heap (deadlines.hpp); 0: none.
  std::uint32_t deadline_position() const noexcept { return deadline_pos_; }
  void set_deadline_position(std::uint32_t p) noexcept { deadline_pos_ = p; }

  // A join_handle's task has no group: its key_wait(), reported() and
  // orphaned() are guarded by this lock instead (task_wait.hpp).
  spin_mutex& wait_lock() noexcept { return wait_lock_; }

 protected:
  task_header(const task_vtable* vtable, bool interruptible) noexcept
      : vtable_(vtable), id_(task_id::next().value()), interruptible_(interruptible) {}
  ~task_header() = default;

  // For task_value<V>: the value is the outcome.
  void set_value_outcome() noexcept { outcome_ = outcome::value; }
  void clear_value_outcome() noexcept { outcome_ = outcome::none; }
  const task_vtable* vtable() const noexcept { return vtable_; }

 private:
  enum class outcome : unsigned char { none, value, exception };

  bool has(std::uint32_t bit) const noexcept {
    return (state_.load(std::memory_order_acquire) & bit) != 0;
  }

  // The abort bits are set; `prev` is the state before. Interrupts a started
  // coroutine, or takes a queued task out of its queue and reports it. If
  // abort sees no started bit, try_start will see the abort bit and skip
  // the body, so nothing needs interrupting.
  void after_abort(std::uint32_t prev) {
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
  // an emitter, so that the task cannot report (and its group go) while the
  // group is asked; if the queue let go of it meanwhile, its runner will
  // see abort_bit and skip the body. Defined in impl/task.hpp.
  void abort_queued() noexcept;

  std::atomic<std::uint32_t> refs_{2};  // the index's and the running reference
  std::atomic<std::uint32_t> state_{0};
  const task_vtable* vtable_;
  const std::uint64_t id_;
  std::size_t owner_slot_ = 0;   // owner's thread only
  group_core* group_ = nullptr;  // set before launch (bind)
  // Guarded by the group's lock (or wait_lock_ for a join_handle's task).
  list_hook<task_header> hook_;
  wait_slot key_wait_;
  // The flags above, in one byte. Not bit-fields: a bit-field's default
  // initializer is a read-modify-write, and on a task just allocated that
  // read misses the cache (cachegrind, W1: 0.73 last-level read misses per
  // spawn, all in this constructor; 0.00 with one byte stored).
  enum : std::uint8_t {
    orphaned_flag = 1,
    reported_flag = 2,
    holds_slot_flag = 4,
    taken_flag = 8,
    replaced_flag = 16
  };
  std::uint8_t flags_ = 0;
  bool has(std::uint8_t flag) const noexcept { return (flags_ & flag) != 0; }
  // Written by the runner before it reports, read by the owner after
  // taking the task off the ready list (ordered by the group's lock).
  const bool interruptible_;
  outcome outcome_ = outcome::none;
  spin_mutex wait_lock_;            // a join_handle's task only (in what was padding)
  std::uint32_t deadline_pos_ = 0;  // group's lock
  std::exception_ptr exception_;    // as outcome_
  std::chrono::steady_clock::time_point spawned_at_;  // set before launch

 public:
  // The list a task is linked into through its hook: its group's ready list
  // once finished; before it started, its group's queue of tasks waiting
  // for a slot instead (a task is never on both, so they share the hook).
  // Guarded by the group's lock.
  using list = intrusive_list<task_header, &task_header::hook_>;
};

// Owns a reference to a task_header (or a type derived from it).
template <class T = task_header>
using task_ref = counted_ref<T>;

// A task record with the slot for its value (empty for void), and the turn
// of its outcome into a join_result.
template <class V>
class task_value : public task_header {
 public:
  using output_type = V;

  template <class U>
  void set_value(U&& u) {
    ::new (static_cast<void*>(&value_)) V(std::forward<U>(u));
    set_value_outcome();
  }

  // The outcome as a join_result. Called once, by the owner, after the task
  // finished. V is nothrow-move-constructible (the groups require it), so
  // moving the value out cannot fail half-way.
  join_result<V> take_result() noexcept {
    if (!has_value())
      return join_result<V>(result_error, error());
    // The moved-from value goes as soon as the result is built (not when the
    // last abort_handle lets go of the record).
    struct discard_after {
      task_value* self;
      ~discard_after() { do_discard_value(self); }
    } guard{this};
    return join_result<V>(result_value, std::move(value_));
  }

 protected:
  task_value(const task_vtable* vt, bool interruptible) noexcept : task_header(vt, interruptible) {}
  ~task_value() {
    if (has_value())
      value_.~V();
  }

  static void do_discard_value(task_header* h) noexcept {
    auto* self = static_cast<task_value*>(h);
    self->value_.~V();
    self->clear_value_outcome();
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

  void set_value() noexcept { set_value_outcome(); }

  join_result<void> take_result() noexcept {
    if (has_value())
      return {};
    return join_result<void>(result_error, error());
  }

 protected:
  task_value(const task_vtable* vt, bool interruptible) noexcept : task_header(vt, interruptible) {}
  ~task_value() = default;

  static void do_discard_value(task_header* h) noexcept {
    static_cast<task_value*>(h)->clear_value_outcome();
  }
};

// The outcome of the finished task `t` of a group producing V.
template <class V>
join_result<V> take_result(task_header* t) noexcept {
  return static_cast<task_value<V>*>(t)->take_result();
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_TASK_HPP
