// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_PENDING_OP_HPP
#define JOINERY_DETAIL_PENDING_OP_HPP

// pending_op: what every pending operation of the waiter protocol
// (waiters.hpp) does the same way, in Asio's manner: its memory comes from
// the handler's associated allocator; while it waits it holds work on the
// handler's executor and is linked into that context's join_service; whoever
// claims it posts its completion there (handover.hpp decides who acts when
// the post itself destroys it); the completion frees the operation before
// invoking the handler, so that the handler may start the next one.
//
// Derived (join_op.hpp, spawn_op.hpp) provides, all on the owner's side but
// abandon_wait:
//   void run();                   // the completion runs: resolve, complete()
//   void end_wait() noexcept;     // the protocol's "end" for a wait that
//                                 // never completes (destroyed unrun)
//   bool abandon_wait() noexcept; // the protocol's "abandon" (its context
//                                 // shuts down while it is parked)
// and befriends pending_op.

#include <joinery/detail/completion_support.hpp>
#include <joinery/detail/executor_target.hpp>
#include <joinery/detail/handover.hpp>
#include <joinery/detail/join_service.hpp>
#include <joinery/detail/waiters.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>

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

  net::associated_cancellation_slot_t<Handler> slot() const noexcept {
    return net::get_associated_cancellation_slot(handler_);
  }

  // Frees an operation that never began, or whose initiation failed after
  // it began (then it ended first).
  void destroy_unstarted() noexcept {
    auto s = slot();
    if (s.is_connected())
      s.clear();
    join_service::unlink(this);
    State* state = state_;
    destroy();
    state->release();
  }

  // Before the operation first parks (on the owner's side): take
  // outstanding work on the handler's executor, and link into its context's
  // join_service. Failing either (out of memory) it waits without: it then
  // merely lets run() return early, or outlives a destroyed context.
  void prepare_wait() noexcept {
    if (prepared_)
      return;
    prepared_ = true;
    try {
      work_.emplace(ex_);
    } catch (...) {
    }
    try {
      net::use_service<join_service>(context_of(ex_)).link(this);
    } catch (...) {
    }
  }

 protected:
  pending_op(Handler&& handler, const WorkExecutor& ex, State* state)
      : waiter(&ops), handler_(std::move(handler)), ex_(ex), state_(state) {
    state->add_ref();
  }
  ~pending_op() = default;

  // Frees the operation, then invokes the handler with `args` (a tuple).
  // Called from run(), inside the completion posted to the handler's
  // associated executor: invoking the handler here is invoking it there.
  template <class Args>
  void complete(Args args) {
    join_service::unlink(this);
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

  // Posts the completion. If this throws, the operation is intact and still
  // claimed: the caller requeues or frees it. Once the post succeeded the
  // completion may already have run on another thread, so `self` is not
  // touched again.
  static void do_post(waiter* base) {
    auto* self = static_cast<Derived*>(base);
    // Read before the post: once it is enqueued the completion may run and
    // unlink the wait. The scope outlives the post (join_service.hpp).
    join_service::post_scope in_flight(self->service_.load(std::memory_order_acquire));
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

  // The context shut down while we waited (join_service.hpp).
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
    join_service::unlink(this);
    State* state = state_;
    static_cast<Derived*>(this)->end_wait();
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

  static void run(Derived* self) { self->run(); }

  std::optional<work_tracker<WorkExecutor>> work_;

  static constexpr operations ops{&do_post, &do_abandon};
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_PENDING_OP_HPP
