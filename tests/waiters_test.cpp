// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// The waiter protocol on its own (detail/waiters.hpp): no io_context, no
// tasks, just the transitions of one wait through a wait_slot.

#include <joinery/detail/waiters.hpp>

#include "support/catch.hpp"

#include <new>

namespace {

using joinery::detail::wait_slot;
using joinery::detail::waiter;

// A wait that counts what is done to it instead of posting a completion.
struct fake_wait : waiter {
  int posts = 0;
  int abandons = 0;
  bool fail_post = false;

  fake_wait() : waiter(&ops) {}

  static void post_fn(waiter* w) {
    auto* self = static_cast<fake_wait*>(w);
    if (self->fail_post)
      throw std::bad_alloc();
    ++self->posts;
  }
  static bool abandon_fn(waiter* w) noexcept {
    ++static_cast<fake_wait*>(w)->abandons;
    return true;
  }
  static constexpr operations ops{&post_fn, &abandon_fn};
};

}  // namespace

TEST_CASE("waiters: a parked wait is claimed once by the first news", "[waiters]") {
  wait_slot slot;
  fake_wait w;
  CHECK_FALSE(slot.busy());
  slot.begin(&w, 1);
  CHECK(slot.busy());
  CHECK(slot.claim() == nullptr);  // starting, not parked: news waits for its park
  slot.park(&w);
  CHECK(slot.claim() == &w);
  CHECK(slot.claim() == nullptr);  // claimed already: exactly one party posts
  slot.end(&w);
  CHECK_FALSE(slot.busy());
}

TEST_CASE("waiters: a cancellation marks the wait and claims it only when parked",
          "[waiters][cancel]") {
  wait_slot slot;
  fake_wait w;
  slot.begin(&w, 7);
  CHECK(slot.cancel(7) == nullptr);  // starting: marked only
  CHECK(w.cancel_requested());
  slot.park(&w);
  fake_wait v;
  slot.end(&w);
  slot.begin(&v, 8);
  CHECK_FALSE(v.cancel_requested());  // a new wait starts unmarked
  slot.park(&v);
  CHECK(slot.cancel(8) == &v);
  CHECK(v.cancel_requested());
  CHECK(slot.cancel(8) == nullptr);  // claimed already
}

TEST_CASE("waiters: a late cancellation of a finished wait is ignored", "[waiters][cancel]") {
  wait_slot slot;
  fake_wait first, second;
  slot.begin(&first, 1);
  slot.park(&first);
  CHECK(slot.claim() == &first);
  slot.end(&first);
  slot.begin(&second, 2);  // a new wait, possibly at the same address
  slot.park(&second);
  CHECK(slot.cancel(1) == nullptr);
  CHECK_FALSE(second.cancel_requested());
  CHECK(slot.claim() == &second);
}

TEST_CASE("waiters: a wait whose post failed is requeued for the next news", "[waiters]") {
  wait_slot slot;
  fake_wait w;
  slot.begin(&w, 3);
  slot.park(&w);
  waiter* claimed = slot.claim();
  REQUIRE(claimed == &w);
  w.fail_post = true;
  CHECK_THROWS_AS(claimed->post(), std::bad_alloc);
  slot.requeue(&w);
  CHECK(slot.claim() == &w);  // parked again: the next news claims it
  w.fail_post = false;
  w.post();
  CHECK(w.posts == 1);
}

TEST_CASE("waiters: claim_now completes a wait without parking it", "[waiters]") {
  wait_slot slot;
  fake_wait w;
  slot.begin(&w, 4);
  slot.claim_now(&w);
  CHECK(slot.claim() == nullptr);
  CHECK(slot.busy());
  slot.requeue(&w);  // its post failed: it parks, to be retried
  CHECK(slot.claim() == &w);
}

TEST_CASE("waiters: only a parked wait can be abandoned", "[waiters]") {
  wait_slot slot;
  fake_wait w;
  slot.begin(&w, 5);
  CHECK_FALSE(slot.abandon(&w));  // starting
  slot.park(&w);
  CHECK(slot.claim() == &w);
  CHECK_FALSE(slot.abandon(&w));  // claimed: its completion is queued somewhere
  slot.requeue(&w);
  CHECK(slot.abandon(&w));
  CHECK_FALSE(slot.busy());
  fake_wait other;
  slot.begin(&other, 6);
  slot.park(&other);
  CHECK_FALSE(slot.abandon(&w));  // not this slot's wait any more
  CHECK(slot.busy());
}
