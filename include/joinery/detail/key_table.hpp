// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_DETAIL_KEY_TABLE_HPP
#define JOINERY_DETAIL_KEY_TABLE_HPP

// key_table<K, Hash, KeyEqual>: join_map's keys, an open-addressing hash
// table of {key, task} slots in abseil's layout (docs/internals.md, "The key
// table"): a control byte per slot (ctrl_group.hpp), groups of 8 probed
// triangularly, at most 7/8 of the slots live or deleted.
//
// Each slot's hash is the user's hash of its key, computed once at spawn
// and kept in the task (task_header::slot_): a finished task's slot is found
// by (stored hash, task pointer), so the key's hash and equality never run
// again and colliding keys (even under a constant Hash) are told apart by
// task; rebuilding reuses the stored hashes. The stored hash is mixed (a
// multiply by a 64-bit odd constant, folded) before it picks a group and a
// tag, so that a weak user hash (an identity std::hash) still spreads.
//
// Erasing leaves a tombstone only when the slot's group has no empty byte
// (else no probe went past the group); tombstones take room until a
// rebuild, in place when at most half of the table is live. Only reserve
// and rehash allocate or move slots; if allocating throws, the table is
// unchanged.

#include <joinery/detail/ctrl_group.hpp>
#include <joinery/detail/task.hpp>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

namespace joinery::detail {

template <class K>
struct key_slot {
  K key;
  task_header* task;  // the task under this key; the table holds one reference to it
};

template <class K, class Hash, class KeyEqual>
class key_table {
 public:
  using slot_type = key_slot<K>;

  // Iterates the live slots, in no particular order.
  class const_iterator {
   public:
    const_iterator() = default;
    const slot_type& operator*() const noexcept { return t_->slots_[i_]; }
    const slot_type* operator->() const noexcept { return &t_->slots_[i_]; }
    const_iterator& operator++() noexcept {
      ++i_;
      skip();
      return *this;
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) noexcept {
      return a.i_ == b.i_;
    }

   private:
    friend class key_table;
    const_iterator(const key_table* t, std::size_t i) noexcept : t_(t), i_(i) { skip(); }
    void skip() noexcept {
      while (i_ < t_->cap_ && (t_->ctrl_[i_] & 0x80) != 0)
        ++i_;
    }
    const key_table* t_ = nullptr;
    std::size_t i_ = 0;
  };

  key_table(const Hash& h, const KeyEqual& e) : hash_(h), eq_(e) {}
  key_table(const key_table&) = delete;
  key_table& operator=(const key_table&) = delete;
  ~key_table() { destroy(release_storage()); }

  const Hash& hasher() const noexcept { return hash_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const_iterator begin() const noexcept { return const_iterator(this, 0); }
  const_iterator end() const noexcept { return const_iterator(this, cap_); }

  // How many keys fit before the table grows (with no tombstones).
  std::size_t capacity() const noexcept { return max_load(cap_); }

  // The slot holding a key equal to `key` (whose user hash is `h`), or null.
  template <class Q>
  slot_type* find(const Q& key, std::size_t h) const {
    return probe(h, [&](const slot_type& s) { return eq_(s.key, key); });
  }

  // The slot of `t`, which is in the table.
  slot_type* find_task(task_header* t) const noexcept {
    slot_type* s = probe(t->slot_, [t](const slot_type& x) noexcept { return x.task == t; });
    assert(s && "a task of the map is in its key table");
    return s;
  }

  // The slot of `key` (user hash `h`), inserted with task `t` if the key was
  // absent (second: true). Needs room: reserve(size() + 1) first; then it
  // does not throw (K's move constructor does not).
  std::pair<slot_type*, bool> try_emplace(K&& key, std::size_t h, task_header* t) {
    // One walk both looks for the key and notes the first free slot on its
    // way (a spawn is the hot path).
    std::size_t i = no_slot;
    slot_type* found = nullptr;
    if (cap_ != 0) {
      const std::uint8_t tag = h2(h);
      auto same_key = [&](const slot_type& s) { return eq_(s.key, key); };
      walk(h, [&](std::size_t base, std::uint64_t w) {
        if ((found = match_in(base, w, tag, same_key)) != nullptr)
          return true;
        if (const std::uint64_t free = ctrl::match_free(w); i == no_slot && free != 0)
          i = base + ctrl::first_byte(free);
        return false;
      });
    }
    if (found)
      return {found, false};
    if (i == no_slot || (growth_left_ == 0 && ctrl_[i] == ctrl::empty)) {
      reserve(size_ + 1);  // not reached when the caller reserved
      i = free_index(h);
    }
    if (ctrl_[i] == ctrl::empty)
      --growth_left_;
    ctrl_[i] = h2(h);
    slot_type* s = std::construct_at(slots_ + i, slot_type{std::move(key), t});
    ++size_;
    return {s, true};
  }

  void erase(slot_type* s) noexcept {
    const std::size_t i = static_cast<std::size_t>(s - slots_);
    std::destroy_at(s);
    --size_;
    // A probe stops at the first group with an empty byte: if this group
    // has one, no probe ever went past it, and the slot may become empty.
    if (ctrl::match_empty(ctrl::load(ctrl_ + (i & ~std::size_t{7}))) != 0) {
      ctrl_[i] = ctrl::empty;
      ++growth_left_;
    } else {
      ctrl_[i] = ctrl::deleted;
    }
  }

  // Moves the key out of `s` and erases the slot.
  K take_key(slot_type* s) noexcept {
    K key(std::move(s->key));
    erase(s);
    return key;
  }

  // Makes room for `n` keys in total.
  void reserve(std::size_t n) {
    if (n <= size_ + growth_left_)
      return;
    std::size_t want = slots_for(n);
    if (want <= cap_)  // room taken by tombstones: rebuild, in place if at most half is live
      want = size_ <= max_load(cap_) / 2 ? cap_ : cap_ * 2;
    rebuild(want);
  }

  // Shrinks to the smallest table holding max(n, size()) keys, if smaller.
  void rehash(std::size_t n) {
    const std::size_t want = slots_for(n > size_ ? n : size_);
    if (want < cap_)
      rebuild(want);
  }

  // Empties the table first, then calls f(task) for each task it held.
  template <class F>
  void clear_then(F&& f) noexcept {
    storage old = release_storage();
    for (std::size_t i = 0; i < old.cap; ++i)
      if ((old.ctrl[i] & 0x80) == 0)
        f(old.slots[i].task);
    destroy(old);
  }

 private:
  struct storage {
    slot_type* slots = nullptr;
    std::uint8_t* ctrl = nullptr;
    std::size_t cap = 0;
  };

  static constexpr std::size_t no_slot = static_cast<std::size_t>(-1);

  static constexpr std::size_t max_load(std::size_t cap) noexcept { return cap - cap / 8; }

  // The smallest table (a power of two, at least one group) holding n keys.
  static std::size_t slots_for(std::size_t n) noexcept {
    if (n == 0)
      return 0;
    std::size_t cap = 8;
    while (max_load(cap) < n)
      cap *= 2;
    return cap;
  }

  // The hash mixed, so that its group and its 7 control bits come from all
  // of its bits.
  static std::uint64_t mix(std::size_t h) noexcept {
    const std::uint64_t m = static_cast<std::uint64_t>(h) * 0x9E3779B97F4A7C15ull;
    return m ^ (m >> 32);
  }
  static std::uint8_t h2(std::size_t h) noexcept {
    return static_cast<std::uint8_t>(mix(h) & 0x7F);
  }

  // The group h's probe sequence starts at (the table has slots).
  std::size_t first_group(std::size_t h) const noexcept {
    return static_cast<std::size_t>(mix(h) >> 7) & (cap_ / 8 - 1);
  }

  // Walks h's probe sequence group by group (triangular: it visits every
  // group), calling f(first slot of the group, its control word) until f
  // returns true or a group with an empty byte has been seen.
  template <class F>
  void walk(std::size_t h, F&& f) const {
    const std::size_t gmask = cap_ / 8 - 1;
    std::size_t g = first_group(h);
    JOINERY_PREFETCH(slots_ + g * 8);  // read or written next: overlap the misses
    for (std::size_t step = 1;; ++step) {
      const std::uint64_t w = ctrl::load(ctrl_ + g * 8);
      if (f(g * 8, w) || ctrl::match_empty(w) != 0)
        return;
      g = (g + step) & gmask;
    }
  }

  // In the group at `base` with word w: the first slot tagged h2(h) for
  // which eq holds, or null.
  template <class Eq>
  slot_type* match_in(std::size_t base, std::uint64_t w, std::uint8_t tag, Eq& eq) const {
    for (std::uint64_t bits = ctrl::match(w, tag); bits != 0; bits &= bits - 1) {
      slot_type* s = slots_ + base + ctrl::first_byte(bits);
      if (eq(*s))
        return s;
    }
    return nullptr;
  }

  // The first slot on h's probe sequence for which eq holds, or null.
  template <class Eq>
  slot_type* probe(std::size_t h, Eq&& eq) const {
    slot_type* found = nullptr;
    if (size_ != 0) {
      const std::uint8_t tag = h2(h);
      walk(h, [&](std::size_t base, std::uint64_t w) {
        return (found = match_in(base, w, tag, eq)) != nullptr;
      });
    }
    return found;
  }

  // The first empty or deleted slot on h's probe sequence (there is one:
  // at most 7/8 of the slots are live or tombstones).
  std::size_t free_index(std::size_t h) const noexcept {
    std::size_t i = no_slot;
    walk(h, [&i](std::size_t base, std::uint64_t w) noexcept {
      const std::uint64_t bits = ctrl::match_free(w);
      if (bits != 0)
        i = base + ctrl::first_byte(bits);
      return bits != 0;
    });
    return i;
  }

  // Moves every live slot into a new table of `cap` slots (cap == 0: none).
  // Allocates first: if that throws, the table is unchanged.
  void rebuild(std::size_t cap) {
    storage fresh;
    if (cap != 0) {
      fresh.slots = std::allocator<slot_type>().allocate(blocks(cap));
      fresh.ctrl = reinterpret_cast<std::uint8_t*>(fresh.slots + cap);
      fresh.cap = cap;
      std::memset(fresh.ctrl, ctrl::empty, cap);
    }
    const std::size_t live = size_;
    storage old = release_storage();
    slots_ = fresh.slots;
    ctrl_ = fresh.ctrl;
    cap_ = fresh.cap;
    size_ = live;
    growth_left_ = max_load(cap_) - live;
    // Each move reads a task record (its hash) and writes a random group, both
    // misses at scale: prefetch records 16 entries ahead, groups 8 ahead.
    const auto live_at = [&old](std::size_t i) { return i < old.cap && !(old.ctrl[i] & 0x80); };
    for (std::size_t i = 0; i < old.cap; ++i) {
      if (live_at(i + 16))
        JOINERY_PREFETCH(old.slots[i + 16].task);
      if (live_at(i + 8)) {
        const std::size_t g = first_group(old.slots[i + 8].task->slot_);
        JOINERY_PREFETCH(ctrl_ + g * 8);
        JOINERY_PREFETCH(slots_ + g * 8);
      }
      if (!live_at(i))
        continue;
      slot_type& s = old.slots[i];
      const std::size_t h = s.task->slot_;
      const std::size_t j = free_index(h);
      ctrl_[j] = h2(h);
      std::construct_at(slots_ + j, std::move(s));
      std::destroy_at(&s);
    }
    deallocate(old);
  }

  // Leaves the table empty and returns what it held.
  storage release_storage() noexcept {
    storage s{slots_, ctrl_, cap_};
    slots_ = nullptr;
    ctrl_ = nullptr;
    cap_ = size_ = growth_left_ = 0;
    return s;
  }

  // Destroys the live slots of `s` and frees it.
  static void destroy(storage s) noexcept {
    for (std::size_t i = 0; i < s.cap; ++i)
      if ((s.ctrl[i] & 0x80) == 0)
        std::destroy_at(s.slots + i);
    deallocate(s);
  }

  // Frees `s`, whose slots are already destroyed.
  static void deallocate(storage s) noexcept {
    if (s.cap != 0)
      std::allocator<slot_type>().deallocate(s.slots, blocks(s.cap));
  }

  // One allocation holds `cap` slots, then `cap` control bytes.
  static std::size_t blocks(std::size_t cap) noexcept {
    return cap + (cap + sizeof(slot_type) - 1) / sizeof(slot_type);
  }

  slot_type* slots_ = nullptr;
  std::uint8_t* ctrl_ = nullptr;
  std::size_t cap_ = 0;          // slots: 0 or a power of two >= 8
  std::size_t size_ = 0;         // live slots
  std::size_t growth_left_ = 0;  // empty slots usable before the table must grow
  [[no_unique_address]] Hash hash_;
  [[no_unique_address]] KeyEqual eq_;
};

}  // namespace joinery::detail

#endif  // JOINERY_DETAIL_KEY_TABLE_HPP
