// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// The waiter protocol on its own (detail/waiters.hpp): no io_context, no
// tasks, just the transitions of waits through a wait_slot, and through a
// wait_queue with its reserved slots (checked against a simple model).

#include <joinery/detail/waiters.hpp>

#include "support/catch.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <random>
#include <vector>

namespace {

using joinery::detail::wait_queue;
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

// --- wait_queue ------------------------------------------------------------

TEST_CASE("wait queue: free slots wake parked waits in order, each reserving one",
          "[waiters][unit]") {
  wait_queue q;
  fake_wait a, b, c;
  q.begin(&a, 1);
  q.begin(&b, 2);
  q.begin(&c, 3);
  q.park(&a);
  q.park(&c);  // b is still starting: skipped
  std::vector<waiter*> woken;
  q.reserve_first(5, [&](waiter* w) { woken.push_back(w); });
  CHECK(woken == std::vector<waiter*>{&a, &c});
  CHECK(q.reserved() == 2);
  woken.clear();
  q.reserve_first(5, [&](waiter* w) { woken.push_back(w); });
  CHECK(woken.empty());    // claimed already
  CHECK(q.unreserve(&a));  // a's completion runs: its slot is given back
  CHECK_FALSE(q.unreserve(&a));
  CHECK(q.reserved() == 1);
  CHECK(q.end(&c));  // c ends holding its slot: given back too
  CHECK(q.reserved() == 0);
}

TEST_CASE("wait queue: a wait whose post failed gives back its slot and waits again",
          "[waiters][unit]") {
  wait_queue q;
  fake_wait a;
  q.begin(&a, 1);
  q.park(&a);
  q.reserve_first(1, [](waiter*) {});
  CHECK(q.reserved() == 1);
  q.requeue(&a);
  CHECK(q.reserved() == 0);
  std::vector<waiter*> woken;
  q.reserve_first(1, [&](waiter* w) { woken.push_back(w); });
  CHECK(woken == std::vector<waiter*>{&a});
}

TEST_CASE("wait queue: a cancellation claims its wait only when parked, by name",
          "[waiters][unit][cancel]") {
  wait_queue q;
  fake_wait a, b;
  q.begin(&a, 1);
  q.begin(&b, 2);
  CHECK(q.cancel(1) == nullptr);  // starting: marked only
  CHECK(a.cancel_requested());
  q.park(&b);
  CHECK(q.cancel(2) == &b);
  CHECK(q.cancel(2) == nullptr);  // claimed already
  CHECK(q.cancel(9) == nullptr);  // no such wait: a late cancellation
  CHECK_FALSE(q.abandon(&b));     // claimed: its completion is queued
  q.park(&a);
  CHECK(q.abandon(&a));
  q.end(&b);
  CHECK(q.empty());
}

namespace {

// The model of a wait_queue: waits in begin order with their phase.
struct model_wait {
  std::unique_ptr<fake_wait> w;
  std::uint64_t seq;
  enum { starting, parked, claimed } phase = starting;
  bool reserved = false;
  bool cancel = false;
};

}  // namespace

TEST_CASE("wait queue: matches a model under random transitions", "[waiters][unit]") {
  std::mt19937 rng(2026);
  for (int round = 0; round < 50; ++round) {
    wait_queue q;
    std::vector<model_wait> m;
    std::uint64_t next_seq = 1;
    auto find = [&](waiter* w) {
      return std::find_if(m.begin(), m.end(), [w](const model_wait& x) { return x.w.get() == w; });
    };
    for (int step = 0; step < 400; ++step) {
      const int op = static_cast<int>(rng() % 8);
      if (op == 0 || m.empty()) {  // begin
        m.push_back({std::make_unique<fake_wait>(), next_seq});
        q.begin(m.back().w.get(), next_seq++);
        continue;
      }
      model_wait& x = m[rng() % m.size()];
      switch (op) {
        case 1:  // park (a starting wait, or one whose completion found no slot)
          if (x.phase != model_wait::parked && !x.reserved) {
            q.park(x.w.get());
            x.phase = model_wait::parked;
          }
          break;
        case 2: {  // slots free: wake up to n
          const std::size_t n = rng() % 3;
          std::vector<waiter*> woken;
          q.reserve_first(n, [&](waiter* w) { woken.push_back(w); });
          std::vector<waiter*> expected;
          for (model_wait& y : m) {
            if (expected.size() == n)
              break;
            if (y.phase == model_wait::parked) {
              y.phase = model_wait::claimed;
              y.reserved = true;
              expected.push_back(y.w.get());
            }
          }
          CHECK(woken == expected);
          break;
        }
        case 3:  // its post failed
          if (x.phase == model_wait::claimed) {
            q.requeue(x.w.get());
            x.phase = model_wait::parked;
            x.reserved = false;
          }
          break;
        case 4: {  // cancellation by name (sometimes of a wait long gone)
          const std::uint64_t seq = rng() % 4 == 0 ? next_seq + 100 : x.seq;
          waiter* got = q.cancel(seq);
          waiter* want = nullptr;
          if (seq == x.seq) {
            x.cancel = true;
            if (x.phase == model_wait::parked) {
              x.phase = model_wait::claimed;
              want = x.w.get();
            }
          }
          CHECK(got == want);
          if (seq == x.seq)
            CHECK(x.w->cancel_requested());
          break;
        }
        case 5:  // its completion runs: gives back a reservation
          if (x.phase == model_wait::claimed) {
            CHECK(q.unreserve(x.w.get()) == x.reserved);
            x.reserved = false;
          }
          break;
        case 6: {  // it ends (completes, or is destroyed unrun)
          CHECK(q.end(x.w.get()) == x.reserved);
          m.erase(find(x.w.get()));
          break;
        }
        case 7: {  // its context shuts down
          const bool parked = x.phase == model_wait::parked;
          CHECK(q.abandon(x.w.get()) == parked);
          if (parked)
            m.erase(find(x.w.get()));
          break;
        }
      }
      std::size_t reserved = 0;
      for (const model_wait& y : m)
        reserved += y.reserved ? 1 : 0;
      REQUIRE(q.reserved() == reserved);
      REQUIRE(q.empty() == m.empty());
    }
    // The group closes: every parked wait is claimed, in order.
    std::vector<waiter*> claimed, expected;
    q.claim_all([&](waiter* w) { claimed.push_back(w); });
    for (const model_wait& y : m)
      if (y.phase == model_wait::parked)
        expected.push_back(y.w.get());
    CHECK(claimed == expected);
    for (const model_wait& y : m)
      q.end(y.w.get());
    CHECK(q.reserved() == 0);
  }
}
