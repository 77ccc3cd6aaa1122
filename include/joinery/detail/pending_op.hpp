// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_PENDING_OP_HPP
#define JOINERY_DETAIL_PENDING_OP_HPP

// pending_op: what every pending operation of the waiter protocol
// (waiters.hpp) does the same way, in Asio's manner: its memory comes from
// the handler's associated allocator; while it waits it holds work on the
// handler's executor and is linked into that context's context_service;
// whoever claims it posts its completion there (hand_over.hpp decides who
// acts when the post itself destroys it); the completion resolves what to
// deliver and, before invoking the handler, frees the operation, so that
// the handler may start the next one.
//
// Derived (join_op.hpp, spawn_op.hpp) provides, all on the owner's side but
// abandon_wait, and befriends pending_op:
//   std::optional<std::tuple<...>> resolve();  // the completion runs: the
//                                 // handler's arguments, or nullopt when
//                                 // the wait parked again
//   void end_wait() noexcept;     // the protocol's "end" for a wait that
//                                 // never completes (destroyed unrun)
//   bool abandon_wait() noexcept; // the protocol's "abandon" (its context
//                                 // shuts down while it is parked)
// State is what the operation waits on, reference counted (a group's core,
// or a join_handle's task): the operation holds a reference.

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/config.hpp>
#include <joinery/detail/context_service.hpp>
#include <joinery/detail/executor_target.hpp>
#include <joinery/detail/hand_over.hpp>
#include <joinery/detail/waiters.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

namespace joinery::detail {

template <class Derived, class State, class Handler, class WorkExecutor>
class pending_op : public waiter {
 public:
  using handler_allocator = net::associated_allocator_t<Handler>;
  using allocator_type = typename op_allocator<handler_allocator>::type;
  using self_allocator =
      typename std::allocator_traits<allocator_type>::template rebind_alloc<Derived>;

  // A new Derived(handler, ex, state, args...), in memory from the
  // handler's allocator. It holds a reference on `state`.
  template <class... Args>
  static Derived* create(Handler&& handler, const WorkExecutor& ex, State* state, Args&&... args) {
    self_allocator alloc(
        op_allocator<handler_allocator>::get(net::get_associated_allocator(handler)));
    Derived* mem = std::allocator_traits<self_allocator>::allocate(alloc, 1);
    try {
      return ::new (static_cast<void*>(mem))
          Derived(std::move(handler), ex, state, std::forward<Args>(args)...);
    } catch (...) {
      std::allocator_traits<self_allocator>::deallocate(alloc, mem, 1);
      throw;
    }
  }

  // Installs the cancellation handler Cancellation(args...) in the
  // handler's cancellation slot, if it has one. If that throws (out of
  // memory), the operation, which never began, is freed and the exception
  // propagates.
  template <class Cancellation, class... Args>
  void install_cancellation(Args&&... args) {
    auto s = slot();
    if (!s.is_connected())
      return;
    try {
      s.template emplace<Cancellation>(std::forward<Args>(args)...);
    } catch (...) {
      destroy_unstarted();
      throw;
    }
  }

  // Starts the wait: begin() registers it and says whether it must complete
  // at once; otherwise it prepares to wait (outside the group's lock: lock
  // order) and park() parks it, unless news came meanwhile (true). When it
  // must complete now, its completion is posted; if that throws, undo()
  // ends the wait, the operation is freed and the exception tells the
  // initiator (Asio's convention for an initiation that cannot start).
  template <class Begin, class Park, class Undo>
  void start(Begin&& begin, Park&& park, Undo&& undo) {
    bool post_now = begin();
    if (!post_now) {
      prepare_wait();
      post_now = park();
    }
    if (!post_now)
      return;
    try {
      post();
    } catch (...) {
      undo();
      destroy_unstarted();
      throw;
    }
  }

  // Before the operation first parks (on the owner's side): take
  // outstanding work on the handler's executor, and link into its context's
  // context_service. Failing either (out of memory) it waits without: it
  // then merely lets run() return early, or outlives a destroyed context.
  void prepare_wait() noexcept {
    if (prepared_)
      return;
    prepared_ = true;
    try {
      work_.emplace(ex_);
    } catch (...) {
    }
    try {
      net::use_service<context_service>(context_of(ex_)).link(this);
    } catch (...) {
    }
  }

 protected:
  pending_op(Handler&& handler, const WorkExecutor& ex, State* state)
      : waiter(&ops), handler_(std::move(handler)), ex_(ex), state_(state) {
    state->add_ref();
  }
  ~pending_op() = default;

  net::associated_cancellation_slot_t<Handler> slot() const noexcept {
    return net::get_associated_cancellation_slot(handler_);
  }

  Handler handler_;
  WorkExecutor ex_;
  State* state_;           // a reference is held
  bool prepared_ = false;  // owner's side only

 private:
  // Posted to the handler's executor; owns the operation until it runs.
  class completion {
   public:
    using allocator_type = handler_allocator;
    explicit completion(Derived* op) noexcept
        : op_(op), alloc_(net::get_associated_allocator(op->handler_)) {}
    completion(completion&& o) noexcept
        : op_(std::exchange(o.op_, nullptr)), alloc_(std::move(o.alloc_)) {}
    completion& operator=(completion&&) = delete;
    ~completion() {
      if (op_ && !dropped_during_handover(op_))
        op_->discard();  // destroyed unrun by its executor
    }
    allocator_type get_allocator() const noexcept { return alloc_; }
    void operator()() { pending_op::run(std::exchange(op_, nullptr)); }

   private:
    Derived* op_;
    handler_allocator alloc_;
  };

  // The completion runs, on the handler's side: resolve, then complete
  // unless the wait parked again.
  static void run(Derived* self) {
    auto args = self->resolve();
    if (args)
      self->complete(std::move(*args));
  }

  // Frees the operation, then invokes the handler with `args` (a tuple).
  // Inside the completion posted to the handler's associated executor:
  // invoking the handler here is invoking it there.
  template <class Args>
  void complete(Args args) {
    context_service::unlink(this);
    auto s = slot();
    if (s.is_connected())
      s.clear();
    Handler handler(std::move(handler_));
    auto work(std::move(work_));  // released after the handler ran
    State* state = state_;
    destroy();
    state->release();
    std::apply(std::move(handler), std::move(args));
  }

  // Posts the completion. If this throws, the operation is intact and still
  // claimed: the caller requeues or frees it. Once the post succeeded the
  // completion may already have run on another thread, so `self` is not
  // touched again.
  static void do_post(waiter* base) {
    auto* self = static_cast<Derived*>(base);
    // Read before the post: once it is enqueued the completion may run and
    // unlink the wait. The scope outlives the post (context_service.hpp).
    context_service::post_scope in_flight(self->service());
    bool dropped;
    {
      handover_scope scope(self);
      // The operation's own tracked work (work_), if any, is released by the
      // completion, on the handler's thread (see untracked()).
      post_direct(untracked(self->ex_), completion(self));
      dropped = scope.dropped();
    }
    if (dropped)
      self->discard();  // dropped unrun without an error: the executor was shut down
  }

  // The context shut down while we waited (context_service.hpp).
  static bool do_abandon(waiter* base) noexcept {
    auto* self = static_cast<Derived*>(base);
    State* state = self->state_;
    if (!self->abandon_wait())
      return false;
    self->destroy();
    state->release();
    return true;
  }

  // The posted completion was destroyed unrun (its executor was shut down).
  void discard() noexcept {
    context_service::unlink(this);
    State* state = state_;
    static_cast<Derived*>(this)->end_wait();
    destroy();
    state->release();
  }

  // Frees an operation that never began, or whose start failed after it
  // began (then it ended first).
  void destroy_unstarted() noexcept {
    auto s = slot();
    if (s.is_connected())
      s.clear();
    context_service::unlink(this);
    State* state = state_;
    destroy();
    state->release();
  }

  void destroy() noexcept {
    self_allocator alloc(
        op_allocator<handler_allocator>::get(net::get_associated_allocator(handler_)));
    Derived* self = static_cast<Derived*>(this);
    self->~Derived();
    std::allocator_traits<self_allocator>::deallocate(alloc, self, 1);
  }

  std::optional<work_tracker<WorkExecutor>> work_;

  static constexpr operations ops{&do_post, &do_abandon};
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_PENDING_OP_HPP
