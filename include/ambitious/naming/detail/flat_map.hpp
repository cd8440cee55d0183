#pragma once
// FlatMap<K, M, Hash, Eq>: an open-addressing hash map for the registry's tables, small enough
// to parse in every file that includes the umbrella header (Boost's unordered_flat_map costs a
// fifth of that header's compile time). Linear probing over a power-of-two array, one control
// byte per slot (0 when empty, else 7 bits of the hash with the high bit set) so that a probe
// reads the slots only where the tag matches, and backward-shift deletion (no tombstones: a
// probe stops at the first empty slot). Lookups are heterogeneous when Hash and Eq say
// `is_transparent`; a Hash that says `is_avalanching` is used as it is, any other is mixed.
// Single-threaded: the registry's shard locks guard it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ambitious/core/functional.hpp"

namespace ambitious::detail {

/// A 64-bit finalizer (murmur3's): spreads identity hashes of integers over every bit.
constexpr std::size_t mix_hash(std::size_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb93fe53d889bULL;
  h ^= h >> 33;
  return h;
}

template <class K, class M, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
class FlatMap {
 public:
  using value_type = std::pair<K, M>;

  template <bool Const>
  class Iter {
   public:
    using Map = std::conditional_t<Const, const FlatMap, FlatMap>;
    using Value = std::conditional_t<Const, const value_type, value_type>;
    Iter() = default;
    Iter(Map* map, std::size_t i) noexcept : map_(map), i_(i) { skip(); }
    /// At slot `i`, which holds an element or is the end (no scan for the next element).
    Iter(Map* map, std::size_t i, bool /*exact*/) noexcept : map_(map), i_(i) {}
    /// An iterator converts to a const_iterator.
    template <bool C>
      requires(Const && !C)
    Iter(const Iter<C>& o) noexcept  // NOLINT: implicit, as std's
        : map_(o.map_), i_(o.i_) {}
    Value& operator*() const noexcept { return map_->slots_[i_]; }
    Value* operator->() const noexcept { return &map_->slots_[i_]; }
    Iter& operator++() noexcept {
      ++i_;
      skip();
      return *this;
    }
    friend bool operator==(const Iter& a, const Iter& b) noexcept { return a.i_ == b.i_; }

   private:
    friend class FlatMap;
    friend class Iter<!Const>;
    void skip() noexcept {
      while (i_ < map_->capacity_ && map_->ctrl_[i_] == 0) ++i_;
    }
    Map* map_ = nullptr;
    std::size_t i_ = 0;
  };
  using iterator = Iter<false>;
  using const_iterator = Iter<true>;

  FlatMap() = default;
  FlatMap(FlatMap&& o) noexcept
      : ctrl_(std::exchange(o.ctrl_, nullptr)),
        slots_(std::exchange(o.slots_, nullptr)),
        capacity_(std::exchange(o.capacity_, 0)),
        size_(std::exchange(o.size_, 0)) {}
  FlatMap& operator=(FlatMap&& o) noexcept {
    FlatMap moved(std::move(o));
    swap(moved);
    return *this;
  }
  FlatMap(const FlatMap&) = delete;
  FlatMap& operator=(const FlatMap&) = delete;
  ~FlatMap() { release(); }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  iterator begin() noexcept { return iterator(this, 0); }
  iterator end() noexcept { return iterator(this, capacity_, true); }
  const_iterator begin() const noexcept { return const_iterator(this, 0); }
  const_iterator end() const noexcept { return const_iterator(this, capacity_, true); }

  template <class Probe>
  iterator find(const Probe& key) {
    return iterator(this, locate(key), true);
  }
  template <class Probe>
  const_iterator find(const Probe& key) const {
    return const_iterator(this, locate(key), true);
  }

  /// Inserts {key, M(args...)} unless `key` is there; the element and whether it is new.
  template <class... A>
  std::pair<iterator, bool> try_emplace(const K& key, A&&... args) {
    std::size_t h = hash_of(key);
    auto [i, found] = probe(key, h);
    if (found) return {iterator(this, i, true), false};
    // A probe that misses stops at the first empty slot of the cluster: where the key goes,
    // unless the array has to grow first.
    if ((size_ + 1) * 4 > capacity_ * 3) {
      grow(size_ + 1);
      i = free_slot(h);
    }
    ::new (static_cast<void*>(&slots_[i]))
        value_type(std::piecewise_construct, std::forward_as_tuple(key),
                   std::forward_as_tuple(std::forward<A>(args)...));
    ctrl_[i] = tag_of(h);
    ++size_;
    return {iterator(this, i, true), true};
  }
  /// Inserts {key, mapped} unless `key` is there.
  std::pair<iterator, bool> emplace(K key, M mapped) { return try_emplace(key, std::move(mapped)); }
  /// The value under `key`, default-constructed first if `key` is not there.
  M& operator[](const K& key) { return try_emplace(key).first->second; }

  /// Removes the element at `pos` (a valid, dereferenceable iterator); other iterators and
  /// references are invalidated (elements after it may move back).
  void erase(const_iterator pos) noexcept {
    std::size_t hole = pos.i_;
    slots_[hole].~value_type();
    // Backward shift: move back every later element of the cluster whose home slot is not
    // between the hole and itself, so that no probe meets a gap before its element.
    for (std::size_t j = (hole + 1) & mask();; j = (j + 1) & mask()) {
      if (ctrl_[j] == 0) break;
      std::size_t home = hash_of(slots_[j].first) & mask();
      bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (stays) continue;
      ::new (static_cast<void*>(&slots_[hole])) value_type(std::move(slots_[j]));
      slots_[j].~value_type();
      ctrl_[hole] = ctrl_[j];
      hole = j;
    }
    ctrl_[hole] = 0;
    --size_;
  }
  /// As erase(const_iterator).
  void erase(iterator pos) noexcept { erase(const_iterator(pos)); }
  /// Removes the element under `key`, if there; whether it was.
  template <class Probe>
  bool erase(const Probe& key) {
    std::size_t i = locate(key);
    if (i == capacity_) return false;
    erase(const_iterator(this, i, true));
    return true;
  }

  /// Makes room for `n` elements without rehashing.
  void reserve(std::size_t n) {
    if (n * 4 > capacity_ * 3) grow(n);
  }

 private:
  static constexpr std::size_t hash_of_raw(std::size_t h) noexcept {
    if constexpr (requires { typename Hash::is_avalanching; })
      return h;
    else
      return mix_hash(h);
  }
  template <class Probe>
  static std::size_t hash_of(const Probe& key) noexcept(noexcept(Hash{}(key))) {
    return hash_of_raw(Hash{}(key));
  }
  // The tag comes from the top bits; the slot from the low bits. (The registry's key shards
  // take their index from bits 40 and up, so within one shard those bits are all alike.)
  static std::uint8_t tag_of(std::size_t h) noexcept {
    return static_cast<std::uint8_t>(0x80 | (h >> 57));
  }
  std::size_t mask() const noexcept { return capacity_ - 1; }

  template <class Probe>
  std::size_t locate(const Probe& key) const {
    if (size_ == 0) return capacity_;
    auto [i, found] = probe(key, hash_of(key));
    return found ? i : capacity_;
  }
  // The slot holding `key`, or the empty slot where its probe ended (capacity_ when the array
  // is not allocated yet).
  template <class Probe>
  std::pair<std::size_t, bool> probe(const Probe& key, std::size_t h) const {
    if (capacity_ == 0) return {0, false};
    std::uint8_t tag = tag_of(h);
    for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
      std::uint8_t c = ctrl_[i];
      if (c == 0) return {i, false};
      if (c == tag && Eq{}(slots_[i].first, key)) return {i, true};
    }
  }
  std::size_t free_slot(std::size_t h) const noexcept {
    std::size_t i = h & mask();
    while (ctrl_[i] != 0) i = (i + 1) & mask();
    return i;
  }

  // Rehashes into the smallest power of two that holds `n` elements under 3/4 load.
  void grow(std::size_t n) {
    std::size_t cap = 8;
    while (n * 4 > cap * 3) cap *= 2;
    FlatMap bigger;
    bigger.ctrl_ = new std::uint8_t[cap]();
    bigger.slots_ = std::allocator<value_type>().allocate(cap);
    bigger.capacity_ = cap;
    for (std::size_t i = 0; i < capacity_; ++i) {
      if (ctrl_[i] == 0) continue;
      std::size_t j = bigger.free_slot(hash_of(slots_[i].first));
      ::new (static_cast<void*>(&bigger.slots_[j])) value_type(std::move(slots_[i]));
      bigger.ctrl_[j] = ctrl_[i];
      ++bigger.size_;
    }
    swap(bigger);
  }
  void release() noexcept {
    if (!ctrl_) return;
    for (std::size_t i = 0; i < capacity_; ++i)
      if (ctrl_[i] != 0) slots_[i].~value_type();
    delete[] ctrl_;
    std::allocator<value_type>().deallocate(slots_, capacity_);
    ctrl_ = nullptr;
    slots_ = nullptr;
    capacity_ = size_ = 0;
  }
  void swap(FlatMap& o) noexcept {
    std::swap(ctrl_, o.ctrl_);
    std::swap(slots_, o.slots_);
    std::swap(capacity_, o.capacity_);
    std::swap(size_, o.size_);
  }

  std::uint8_t* ctrl_ = nullptr;
  value_type* slots_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

}  // namespace ambitious::detail
