// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_JOIN_OP_HPP
#define JOINERY_DETAIL_JOIN_OP_HPP

// The pending join: the machinery behind async_join_next, async_join_next_with_id
// and join_handle::async_wait.
//
// Life of one operation:
//   1. The initiating call (on the owner's thread) allocates the operation
//      with the handler's associated allocator, installs a cancellation
//      handler in the handler's slot, and either registers it as the group's
//      waiter or, when there is already something to report (a finished task,
//      an empty or closed group), claims it at once.
//   2. Whoever claims it (a task finishing on any thread, a cancellation, the
//      owner kicking it) moves it from waiter_ to inflight_ under the group's
//      mutex and posts its completion to the handler's associated executor.
//      Exactly one party can claim, so exactly one completion is posted.
//   3. The completion runs on the handler's executor, i.e. on the owner's
//      side, and decides there what to deliver: operation_aborted if the wait
//      was cancelled meanwhile or the group closed, else the oldest finished
//      task (taking it out of the owner's indexes), else "empty" if the group
//      has no task, else it registers again and keeps waiting (another join,
//      e.g. try_join_next, took the result it was woken for).
//   4. Before invoking the handler it clears the slot, moves the handler out
//      and frees its own memory (Asio's rule, so the handler can start the
//      next join at once).
// Because the result is taken only in step 3, a wait cancelled after being
// woken (a `||` whose other branch won first) gives nothing up: the result
// stays queued for the next join. That is the cancel-safety promise.

#include <joinery/detail/config.hpp>
#include <joinery/detail/group_core.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace joinery::detail {

// Outstanding work on the handler's executor while a join waits (a join may
// wait on tasks running on another context, and its io_context must not run
// out of work meanwhile). Taken only when the join actually waits: a join
// completed at once is kept alive by the post itself.
template <class Executor, class = void>
class work_tracker {
 public:
  explicit work_tracker(const Executor& ex)
      : ex_(net::prefer(ex, net::execution::outstanding_work.tracked)) {}

 private:
  std::decay_t<decltype(net::prefer(std::declval<const Executor&>(),
                                    net::execution::outstanding_work.tracked))>
      ex_;
};

template <class Executor>
class work_tracker<Executor, std::enable_if_t<!net::execution::is_executor<Executor>::value>> {
 public:
  explicit work_tracker(const Executor& ex) : guard_(ex) {}

 private:
  net::executor_work_guard<Executor> guard_;
};

// The executor to post a completion through: `ex` without outstanding work.
// A join's completion is often posted from a task's thread; once queued it
// may run, and its io_context be destroyed, before post returns there, so
// post's own copies of a tracked executor would report work finished to a
// dead context. (An untracked io_context executor, the usual case, is used
// as it is: asking a type-erased executor for an untracked copy costs more.)
template <class Executor>
Executor untracked(const Executor& ex) {
  if constexpr (std::is_same_v<Executor, net::any_io_executor>) {
    if (ex.template target<net::io_context::executor_type>())
      return ex;
    return net::prefer(ex, net::execution::outstanding_work.untracked);
  } else if constexpr (net::execution::is_executor<Executor>::value) {
    return Executor(net::prefer(ex, net::execution::outstanding_work.untracked));
  } else {
    return ex;  // Networking TS executors carry no tracking of their own
  }
}

// The allocator the operation uses: the handler's, or Asio's per-thread
// recycling allocator when the handler has none of its own.
template <class Alloc>
struct op_allocator {
  using type = Alloc;
  static type get(const Alloc& a) noexcept { return a; }
};
template <class T>
struct op_allocator<std::allocator<T>> {
  using type = net::recycling_allocator<void>;
  static type get(const std::allocator<T>&) noexcept { return {}; }
};

// Pending joins waiting on a given execution context. When the context
// shuts down (an io_context being destroyed), Asio destroys the operations
// queued in it; a join waiting in a joinery group is not among them, so
// this service destroys those instead. Without it, a coroutine suspended in
// async_join_next would outlive its io_context (and, if it owns the map,
// leak in a cycle with it).
//
// Locking: this service's mutex, then a group's mutex, never the reverse.
// Operations link and unlink themselves without holding a group's mutex.
class join_service final : public net::execution_context::service {
 public:
  // The service's identity for use_service (Asio's public way of defining
  // a service: a static execution_context::id member named `id`).
  static inline net::execution_context::id id;

  explicit join_service(net::execution_context& ctx) : net::execution_context::service(ctx) {}

  // Links a waiting operation. Does nothing once the context shut down.
  void link(join_op_base* op) {
    std::lock_guard lock(mutex_);
    if (shut_down_)
      return;
    op->svc_prev_ = nullptr;
    op->svc_next_ = head_;
    if (head_)
      head_->svc_prev_ = op;
    head_ = op;
    op->service_.store(this, std::memory_order_release);
  }

  // Unlinks `op` if it is linked. Called by the operation itself when it
  // completes or is discarded. That never overlaps the service's shutdown
  // and destruction: both happen while nothing runs the context, and the
  // operation completes on that context (or is discarded by its shutdown,
  // which comes after this service's, and then service_ is already null).
  static void unlink(join_op_base* op) noexcept {
    join_service* svc = op->service_.load(std::memory_order_acquire);
    if (!svc)
      return;
    std::lock_guard lock(svc->mutex_);
    if (op->service_.load(std::memory_order_relaxed) != svc)
      return;
    (op->svc_prev_ ? op->svc_prev_->svc_next_ : svc->head_) = op->svc_next_;
    if (op->svc_next_)
      op->svc_next_->svc_prev_ = op->svc_prev_;
    op->svc_prev_ = op->svc_next_ = nullptr;
    op->service_.store(nullptr, std::memory_order_relaxed);
  }

  // Destroys (without invoking) every operation still waiting; operations
  // already woken are in the context's queues and die with them.
  void shutdown() override {
    join_op_base* doomed = nullptr;
    {
      std::lock_guard lock(mutex_);
      shut_down_ = true;
      for (join_op_base* op = head_; op;) {
        join_op_base* next = op->svc_next_;
        op->svc_prev_ = op->svc_next_ = nullptr;
        op->service_.store(nullptr, std::memory_order_relaxed);
        group_core* core = op->core();
        {
          std::lock_guard core_lock(core->mutex_);
          if (core->waiter_ == op) {
            core->waiter_ = nullptr;
            core->op_seq_.store(0, std::memory_order_relaxed);
            core->cancel_requested_ = false;
            op->svc_next_ = doomed;
            doomed = op;
          }
        }
        op = next;
      }
      head_ = nullptr;
    }
    // Outside the locks: destroying a handler may destroy a coroutine frame,
    // and with it a map whose destructor locks its group.
    while (doomed) {
      join_op_base* next = doomed->svc_next_;
      doomed->svc_next_ = nullptr;
      doomed->abandon();
      doomed = next;
    }
  }

 private:
  std::mutex mutex_;
  join_op_base* head_ = nullptr;
  bool shut_down_ = false;
};

template <class Executor>
net::execution_context& context_of(const Executor& ex) {
  if constexpr (net::execution::is_executor<Executor>::value)
    return net::query(ex, net::execution::context);
  else
    return ex.context();
}

// Set while join_op::do_post is inside net::post on this thread. A
// completion destroyed there, unrun, was destroyed by the post itself: post
// failed (bad_alloc, after Asio had already moved the completion into its
// own storage) or the target executor is shut down and dropped it at once.
// It must then not discard the operation; it tells do_post, which knows
// which of the two happened.
struct posting_marker {
  const join_op_base* op = nullptr;
  bool* dropped = nullptr;
};

// This thread's posting_marker, reached the way launching() is (task.hpp):
// a completion may be destroyed inside a coroutine resumed on another
// thread than the one that started it.
JOINERY_NOINLINE inline posting_marker& posting() noexcept {
  static thread_local posting_marker marker;
  JOINERY_COMPILER_BARRIER();
  return marker;
}

// The cancellation handler installed in the handler's slot. It names the
// operation by sequence number, not by pointer: the operation may already be
// gone when a late emit arrives, and a new one may live at the same address.
class join_cancellation {
 public:
  join_cancellation(group_core* core, std::uint64_t seq) noexcept : core_(core), seq_(seq) {
    core_->add_ref();
  }
  join_cancellation(const join_cancellation&) = delete;
  join_cancellation& operator=(const join_cancellation&) = delete;
  ~join_cancellation() { core_->release(); }

  // Any cancellation type (terminal, partial, total) ends the wait; it has no
  // effect on the tasks. A wait already woken is told to give up at
  // completion time, leaving the result it was woken for in the queue.
  void operator()(net::cancellation_type_t) noexcept {
    join_op_base* wake;
    {
      std::lock_guard lock(core_->mutex_);
      if (core_->op_seq_.load(std::memory_order_relaxed) != seq_)
        return;
      core_->cancel_requested_ = true;
      wake = core_->claim_waiter();
    }
    if (wake)
      core_->post_or_requeue(wake);
  }

 private:
  group_core* core_;
  std::uint64_t seq_;
};

// `code` carrying the source location `where`, whose function names the
// joinery operation (ec.what() prints it; comparisons ignore it). `where`
// must have static storage duration.
inline boost::system::error_code located(boost::system::error_code code,
                                         const boost::source_location& where) noexcept {
  return boost::system::error_code(code, &where);
}

// A static source location `var` for the joinery operation `name`, declared
// at (file, line).
#define JOINERY_LOCATION(var, name)             \
  static constexpr boost::source_location var { \
    __FILE__, __LINE__, name                    \
  }
#define JOINERY_OPERATION_LOCATION(name) JOINERY_LOCATION(location, name)

// Delivery as `void(error_code, std::optional<Value>)`, nullopt meaning
// "nothing to deliver" (an empty group, or an error): the usual policy base.
template <class Value>
struct optional_delivery {
  using value_type = Value;
  using signature = void(boost::system::error_code, std::optional<Value>);
  static std::tuple<boost::system::error_code, std::optional<Value>> completion_args(
      boost::system::error_code ec, std::optional<Value> value) {
    return {ec, std::move(value)};
  }
};

// State must derive from group_core. Take is a policy:
//   JOINERY_OPERATION_LOCATION("joinery::...");   // names the operation in its error codes
//   using value_type = ...;                       // what the join takes
//   using signature = void(error_code, ...);      // the completion signature
//   static bool is_empty(const State&) noexcept;  // the group has no task
//   static value_type take(State&, task_header*) noexcept;  // consumes the list reference
//   static std::tuple<...> completion_args(error_code, std::optional<value_type>);
//                                                 // the handler's arguments
template <class State, class Take, class Handler, class WorkExecutor>
class join_op final : public join_op_base {
 public:
  using value_type = typename Take::value_type;
  using handler_allocator = net::associated_allocator_t<Handler>;
  using allocator_type = typename op_allocator<handler_allocator>::type;
  using self_allocator =
      typename std::allocator_traits<allocator_type>::template rebind_alloc<join_op>;

  static join_op* create(Handler&& handler, const WorkExecutor& ex, State* state,
                         std::uint64_t seq) {
    self_allocator alloc(
        op_allocator<handler_allocator>::get(net::get_associated_allocator(handler)));
    join_op* mem = std::allocator_traits<self_allocator>::allocate(alloc, 1);
    try {
      return ::new (static_cast<void*>(mem)) join_op(std::move(handler), ex, state, seq);
    } catch (...) {
      std::allocator_traits<self_allocator>::deallocate(alloc, mem, 1);
      throw;
    }
  }

  net::associated_cancellation_slot_t<Handler> slot() const noexcept {
    return net::get_associated_cancellation_slot(handler_);
  }

  // Frees an operation that was never registered (its initiation failed).
  void destroy_unregistered() noexcept {
    auto s = slot();
    if (s.is_connected())
      s.clear();
    join_service::unlink(this);
    group_core* core = core_;
    destroy();
    core->release();
  }

  // Before the operation first waits (on the owner's side): take outstanding
  // work on the handler's executor, and link into its context's
  // join_service. Failing either (out of memory) it waits without: it then
  // merely lets run() return early, or outlives a destroyed context.
  void prepare_wait() noexcept {
    if (link_tried_)
      return;
    link_tried_ = true;
    try {
      work_.emplace(ex_);
    } catch (...) {
    }
    try {
      net::use_service<join_service>(context_of(ex_)).link(this);
    } catch (...) {
    }
  }

 private:
  // Posted to the handler's executor; owns the operation until it runs.
  class completion {
   public:
    using allocator_type = handler_allocator;
    explicit completion(join_op* op) noexcept
        : op_(op), alloc_(net::get_associated_allocator(op->handler_)) {}
    completion(completion&& o) noexcept
        : op_(std::exchange(o.op_, nullptr)), alloc_(std::move(o.alloc_)) {}
    completion& operator=(completion&&) = delete;
    ~completion() {
      if (!op_)
        return;
      posting_marker& marker = posting();
      if (marker.op == op_)
        *marker.dropped = true;  // see posting_marker
      else
        op_->discard();
    }
    allocator_type get_allocator() const noexcept { return alloc_; }
    void operator()() { std::exchange(op_, nullptr)->run(); }

   private:
    join_op* op_;
    handler_allocator alloc_;
  };

  join_op(Handler&& handler, const WorkExecutor& ex, State* state, std::uint64_t seq)
      : join_op_base(state, seq, &do_post, &do_abandon), handler_(std::move(handler)), ex_(ex) {
    state->add_ref();
  }

  // Posts the completion. If this throws, the operation is intact and still
  // claimed: the caller requeues it or frees it. Once the post succeeded the
  // completion may already have run on another thread, so `self` is not
  // touched again.
  static void do_post(join_op_base* base) {
    auto* self = static_cast<join_op*>(base);
    bool dropped = false;
    posting_marker& marker = posting();
    const posting_marker outer = marker;
    marker = {self, &dropped};
    try {
      // The operation's tracked work (work_), if any, is released by the
      // completion, on the handler's thread (see untracked()).
      post_direct(untracked(self->ex_), completion(self));
    } catch (...) {
      marker = outer;
      throw;
    }
    marker = outer;
    // Dropped unrun without an error: the executor was shut down.
    if (dropped)
      self->discard();
  }

  // The context shut down while we waited (join_service::shutdown, which
  // already unregistered us from the group).
  static void do_abandon(join_op_base* base) {
    auto* self = static_cast<join_op*>(base);
    group_core* core = self->core_;
    self->destroy();
    core->release();
  }

  void run() {
    auto* state = static_cast<State*>(core_);
    boost::system::error_code ec;
    task_header* t = nullptr;
    for (;;) {
      std::unique_lock lock(state->mutex_);
      state->inflight_ = nullptr;
      if (state->closed_ || state->cancel_requested_) {
        ec = located(net::error::operation_aborted, Take::location);
      } else if (!(t = state->pop_ready_locked()) && !Take::is_empty(*state)) {
        // Woken for a result someone else took (try_join_next): wait on,
        // linked into our context's join_service first (outside the lock;
        // anything that happens meanwhile is seen by the next round).
        if (link_tried_) {
          state->waiter_ = this;
          return;
        }
        lock.unlock();
        prepare_wait();
        continue;
      }
      state->op_seq_.store(0, std::memory_order_relaxed);
      state->cancel_requested_ = false;
      break;
    }
    std::optional<value_type> value;
    if (t)
      value.emplace(Take::take(*state, t));
    complete(Take::completion_args(ec, std::move(value)));
  }

  template <class Args>
  void complete(Args args) {
    join_service::unlink(this);
    auto s = slot();
    if (s.is_connected())
      s.clear();
    Handler handler(std::move(handler_));
    auto work(std::move(work_));  // released after the handler ran
    group_core* core = core_;
    destroy();
    core->release();
    // We are running inside a function posted to the handler's associated
    // executor, so invoking the handler here is invoking it there.
    std::apply(std::move(handler), std::move(args));
  }

  // The posted completion was destroyed unrun (its executor was shut down).
  void discard() noexcept {
    join_service::unlink(this);
    group_core* core = core_;
    {
      auto* state = static_cast<State*>(core);
      std::lock_guard lock(state->mutex_);
      if (state->inflight_ == this) {
        state->inflight_ = nullptr;
        state->op_seq_.store(0, std::memory_order_relaxed);
        state->cancel_requested_ = false;
      }
    }
    destroy();
    core->release();
  }

  void destroy() noexcept {
    self_allocator alloc(
        op_allocator<handler_allocator>::get(net::get_associated_allocator(handler_)));
    this->~join_op();
    std::allocator_traits<self_allocator>::deallocate(alloc, this, 1);
  }

  Handler handler_;
  WorkExecutor ex_;
  std::optional<work_tracker<WorkExecutor>> work_;
  bool link_tried_ = false;  // owner's side only
};

// Completes `handler` at once with `ec` and nothing to deliver, through its
// associated executor (never inside the initiating call).
template <class Take, class Handler, class DefaultExecutor>
void post_empty(Handler&& handler, const DefaultExecutor& ex, boost::system::error_code ec) {
  auto hex = net::get_associated_executor(handler, ex);
  auto args = Take::completion_args(ec, std::nullopt);
#if defined(__GNUC__) && !defined(__clang__)
  // g++ 12 at -O1 and above reports that moving this empty optional reads
  // the pair inside it uninitialized. It does not: an empty optional's move
  // constructor never touches its payload (a known false positive, see
  // NOTES.md); the warning is silenced for this statement only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
  std::apply(
      [&](auto&&... a) {
        net::post(hex, net::append(std::forward<Handler>(handler), std::move(a)...));
      },
      std::move(args));
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
}

// Starts a join on `state` (null means an empty group that never had a
// task). See the file comment for the protocol.
template <class Take, class State, class Handler, class DefaultExecutor>
void start_join(State* state, Handler&& handler, const DefaultExecutor& ex) {
  using handler_type = std::decay_t<Handler>;
  using work_executor = net::associated_executor_t<handler_type, DefaultExecutor>;
  using op_type = join_op<State, Take, handler_type, work_executor>;

  if (!state)
    return post_empty<Take>(std::forward<Handler>(handler), ex, {});

  // Only the owner (this thread) makes op_seq_ non-zero, so seeing zero here
  // means no join is in progress, lock or not.
  if (state->op_seq_.load(std::memory_order_acquire) != 0) {
    // One waiter at a time, like tokio's &mut self: a second concurrent join
    // is refused rather than queued, so results cannot be split unpredictably
    // between two consumers.
    return post_empty<Take>(std::forward<Handler>(handler), ex,
                            located(net::error::already_started, Take::location));
  }
  const std::uint64_t seq = ++state->next_seq_;

  handler_type h(std::forward<Handler>(handler));
  work_executor wex = net::get_associated_executor(h, ex);
  op_type* op = op_type::create(std::move(h), wex, state, seq);
  auto slot = op->slot();
  if (slot.is_connected()) {
    try {
      slot.template emplace<join_cancellation>(state, seq);
    } catch (...) {
      op->destroy_unregistered();
      throw;
    }
  }

  bool post_now;
  {
    std::lock_guard lock(state->mutex_);
    state->op_seq_.store(seq, std::memory_order_relaxed);
    state->cancel_requested_ = false;
    post_now = state->closed_ || state->ready_head_ || Take::is_empty(*state);
    if (post_now)
      state->inflight_ = op;
  }
  if (!post_now) {
    // About to wait: link into the context's join_service first, outside
    // the group's lock (lock order), then look again.
    op->prepare_wait();
    std::lock_guard lock(state->mutex_);
    post_now =
        state->closed_ || state->cancel_requested_ || state->ready_head_ || Take::is_empty(*state);
    if (post_now)
      state->inflight_ = op;
    else
      state->waiter_ = op;
  }
  if (post_now) {
    try {
      op->post();
    } catch (...) {
      // The operation was never completed: undo it; the exception tells the
      // initiator (Asio's convention for an initiation that cannot start).
      {
        std::lock_guard lock(state->mutex_);
        state->inflight_ = nullptr;
        state->op_seq_.store(0, std::memory_order_relaxed);
      }
      op->destroy_unregistered();
      throw;
    }
  }
}

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_JOIN_OP_HPP
