#pragma once
// FlatSet and FlatMap: the small hash tables that hold a process's links and monitors.

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

namespace ambitious::detail {

/// An open-addressing hash table with linear probing and backward-shift deletion (no
/// tombstones). A process links and monitors often and briefly: every gen_server call monitors
/// the server and demonitors it, every spawn_link links two processes. Node-based std containers
/// allocate on each insert; this table allocates only when it grows, keeps entries in one array,
/// and stays O(1) for a supervisor with thousands of children.
///
/// The key's default value (a null Pid or Ref) marks a free slot, so it can never be a key.
/// `Traits` gives the entry type and its key. Iteration order is unspecified.
template <class Traits>
class FlatTable {
 public:
  using Entry = typename Traits::Entry;
  using Key = typename Traits::Key;

  FlatTable() = default;
  /// A moved-from table is empty.
  FlatTable(FlatTable&& o) noexcept
      : slots_(std::move(o.slots_)),
        mask_(std::exchange(o.mask_, 0)),
        shift_(std::exchange(o.shift_, 0)),
        size_(std::exchange(o.size_, 0)) {}
  FlatTable& operator=(FlatTable&& o) noexcept {
    slots_ = std::move(o.slots_);
    mask_ = std::exchange(o.mask_, 0);
    shift_ = std::exchange(o.shift_, 0);
    size_ = std::exchange(o.size_, 0);
    return *this;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// The entry for `key`, or null.
  Entry* find(const Key& key) noexcept {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(key);; i = (i + 1) & mask_) {
      Entry& e = slots_[i];
      if (free(e)) return nullptr;
      if (Traits::key(e) == key) return &e;
    }
  }
  const Entry* find(const Key& key) const noexcept {
    return const_cast<FlatTable*>(this)->find(key);
  }
  bool contains(const Key& key) const noexcept { return find(key) != nullptr; }

  /// Adds `entry` unless its key is present; true if added.
  bool insert(Entry entry) {
    assert(!(Traits::key(entry) == Key{}));
    if ((size_ + 1) * 4 > capacity() * 3) grow();
    for (std::size_t i = home(Traits::key(entry));; i = (i + 1) & mask_) {
      Entry& e = slots_[i];
      if (free(e)) {
        e = std::move(entry);
        ++size_;
        return true;
      }
      if (Traits::key(e) == Traits::key(entry)) return false;
    }
  }

  /// Removes the entry for `key`; true if there was one.
  bool erase(const Key& key) noexcept {
    Entry* found = find(key);
    if (!found) return false;
    std::size_t hole = static_cast<std::size_t>(found - slots_.get());
    // Pull back every later entry of the probe run that may sit in the hole, so that a lookup
    // never meets a free slot before its entry.
    for (std::size_t j = (hole + 1) & mask_; !free(slots_[j]); j = (j + 1) & mask_) {
      std::size_t want = home(Traits::key(slots_[j]));
      if (((j - want) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = std::move(slots_[j]);
        hole = j;
      }
    }
    slots_[hole] = Entry{};
    --size_;
    return true;
  }

  /// Iterates the entries (in no particular order).
  template <class E>
  class Iterator {
   public:
    Iterator(E* at, E* end) noexcept : at_(at), end_(end) { skip(); }
    E& operator*() const noexcept { return *at_; }
    E* operator->() const noexcept { return at_; }
    Iterator& operator++() noexcept {
      ++at_;
      skip();
      return *this;
    }
    bool operator==(const Iterator& o) const noexcept { return at_ == o.at_; }

   private:
    void skip() noexcept {
      while (at_ != end_ && free(*at_)) ++at_;
    }
    E* at_;
    E* end_;
  };
  Iterator<Entry> begin() noexcept { return {slots_.get(), slots_.get() + capacity()}; }
  Iterator<Entry> end() noexcept { return {slots_.get() + capacity(), slots_.get() + capacity()}; }
  Iterator<const Entry> begin() const noexcept { return {slots_.get(), slots_.get() + capacity()}; }
  Iterator<const Entry> end() const noexcept {
    return {slots_.get() + capacity(), slots_.get() + capacity()};
  }

 private:
  static constexpr std::size_t first_capacity = 4;

  static bool free(const Entry& e) noexcept { return Traits::key(e) == Key{}; }
  std::size_t capacity() const noexcept { return slots_ ? mask_ + 1 : 0; }
  std::size_t home(const Key& key) const noexcept {
    // Fibonacci hashing spreads the hash's high bits over the table.
    std::uint64_t h = std::hash<Key>{}(key)*0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(h >> (64 - shift_));
  }

  void grow() {
    std::size_t old_capacity = capacity();
    std::size_t new_capacity = old_capacity ? old_capacity * 2 : first_capacity;
    std::unique_ptr<Entry[]> old = std::exchange(slots_, std::make_unique<Entry[]>(new_capacity));
    mask_ = new_capacity - 1;
    shift_ = static_cast<unsigned>(std::countr_zero(new_capacity));
    size_ = 0;
    for (std::size_t i = 0; i < old_capacity; ++i)
      if (!free(old[i])) insert(std::move(old[i]));
  }

  std::unique_ptr<Entry[]> slots_;
  std::size_t mask_ = 0;
  unsigned shift_ = 0;  // log2(capacity)
  std::size_t size_ = 0;
};

template <class K>
struct FlatSetTraits {
  using Key = K;
  using Entry = K;
  static const K& key(const Entry& e) noexcept { return e; }
};

template <class K, class V>
struct FlatMapTraits {
  using Key = K;
  using Entry = std::pair<K, V>;
  static const K& key(const Entry& e) noexcept { return e.first; }
};

/// A set of keys, e.g. a process's links.
template <class K>
using FlatSet = FlatTable<FlatSetTraits<K>>;

/// A map from key to value, e.g. a process's monitors (ref -> pid).
template <class K, class V>
using FlatMap = FlatTable<FlatMapTraits<K, V>>;

}  // namespace ambitious::detail
