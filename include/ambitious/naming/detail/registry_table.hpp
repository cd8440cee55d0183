#pragma once
// RegistryTable<K, V>: a registry's entries. Keys are spread over shards by hash, each shard a
// flat hash map under its own reader-writer lock; each registrant's keys are kept in the shard
// of its partition, so that its partition process can remove them when it ends.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "ambitious/core/codec.hpp"
#include "ambitious/core/functional.hpp"
#include "ambitious/naming/detail/flat_map.hpp"
#include "ambitious/naming/detail/registry_core.hpp"
#include "ambitious/naming/detail/shared_spin_mutex.hpp"
#include "ambitious/naming/detail/small_vector.hpp"
#include "ambitious/process/process.hpp"

namespace ambitious::detail {

/// The hash of a registry key: std::hash when the type has one, else the hash of its term.
template <class K>
std::size_t hash_key(const K& key) {
  if constexpr (requires { std::hash<K>{}(key); })
    return mix_hash(std::hash<K>{}(key));
  else
    return mix_hash(to_term(key).hash());
}

/// True when `pid` names a local process that has ended. Remote pids are not known dead (the
/// distribution layer will tell their ends by other means).
inline bool known_dead(Pid pid) { return pid.is_local() && !alive(pid); }

/// A key with its hash, as stored; a probe is a key to look up, hashed once.
template <class K>
struct StoredKey {
  K key;
  std::size_t hash;
};
template <class K>
struct KeyProbe {
  const K* key;
  std::size_t hash;
};

template <class K>
struct KeyHash {
  using is_transparent = void;
  using is_avalanching = void;  // hash_key already mixed it
  std::size_t operator()(const StoredKey<K>& k) const noexcept { return k.hash; }
  std::size_t operator()(const KeyProbe<K>& k) const noexcept { return k.hash; }
};
template <class K>
struct KeyEq {
  using is_transparent = void;
  static const K& key(const StoredKey<K>& k) noexcept { return k.key; }
  static const K& key(const KeyProbe<K>& k) noexcept { return *k.key; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return a.hash == b.hash && key(a) == key(b);
  }
};

/// A small vector of items with distinct ids, found by a linear scan while small and through a
/// hash index once large (a topic with 10,000 subscribers; a process with 10,000 keys), so that
/// removing one item never costs a scan of a large bucket. Order is not kept (swap-remove).
template <class Item, class Traits>
class IndexedVector {
 public:
  using Items = SmallVector<Item>;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  const Items& items() const noexcept { return items_; }
  /// Items may be changed in place, but not their ids.
  Item& operator[](std::size_t i) noexcept { return items_[i]; }
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }

  template <class Probe>
  std::size_t find(const Probe& probe) const {
    if (index_) {
      auto it = index_->find(probe);
      return it == index_->end() ? npos : it->second;
    }
    for (std::size_t i = 0; i < items_.size(); ++i)
      if (Traits::matches(items_[i], probe)) return i;
    return npos;
  }
  void push(Item item) {
    items_.push_back(std::move(item));
    if (index_)
      index_->emplace(Traits::id(items_.back()), static_cast<std::uint32_t>(items_.size() - 1));
    else if (items_.size() > index_threshold)
      build_index();
  }
  void erase_at(std::size_t i) {
    std::size_t last = items_.size() - 1;
    if (index_) index_->erase(Traits::id(items_[i]));
    if (i != last) {
      items_[i] = std::move(items_[last]);
      if (index_) (*index_)[Traits::id(items_[i])] = static_cast<std::uint32_t>(i);
    }
    items_.pop_back();
  }

 private:
  static constexpr std::size_t index_threshold = 8;
  using Index =
      FlatMap<typename Traits::Id, std::uint32_t, typename Traits::Hash, typename Traits::Eq>;
  void build_index() {
    index_ = std::make_unique<Index>();
    index_->reserve(items_.size() * 2);
    for (std::size_t i = 0; i < items_.size(); ++i)
      index_->emplace(Traits::id(items_[i]), static_cast<std::uint32_t>(i));
  }

  Items items_;
  std::unique_ptr<Index> index_;
};

/// The shared table of a Registry<K, V>. Writers change only the calling process's own entries
/// (plus, for unique keys, an entry left by a holder that has ended); the partition processes
/// remove the entries of registrants that ended. No lock is held while another is taken.
template <class K, class V>
class RegistryTable final : public RegistryCore {
 public:
  struct Entry {
    Pid pid;
    V value;
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  RegistryTable(Atom name, Keys keys, unsigned partitions)
      : RegistryCore(name, keys, partitions, typeid(K), typeid(V)),
        key_shards_(std::bit_ceil(std::max(64u, 16u * partitions))),
        pid_shards_(partitions) {}

  // ---- the calling process's own entries ------------------------------------------------------

  /// Adds `self`'s entry; for unique keys, the live holder of the key when it is taken.
  std::optional<Pid> insert(Pid self, const K& key, V value) {
    std::size_t h = hash_key(key);
    // The registrant's record first (as Elixir writes its pid table first): whoever cleans up
    // after it finds every key it may hold.
    if (add_owned(self, key, h, 1)) watch(self);
    std::optional<Pid> conflict;
    KeyShard& shard = key_shard(h);
    {
      ExclusiveLock lock(shard.mutex);
      auto it = shard.map.find(KeyProbe<K>{&key, h});
      if (it == shard.map.end()) it = shard.map.emplace(StoredKey<K>{key, h}, Bucket{}).first;
      Bucket& bucket = it->second;
      if (keys() == Keys::unique && !bucket.empty()) {
        Pid holder = bucket.items()[0].pid;
        if (holder == self || !known_dead(holder)) {
          conflict = holder;
        } else {
          // The holder ended and its partition has not cleaned up yet: the key is free (its
          // purge removes only entries that are still its own).
          shard.entries -= bucket.items()[0].values.size();
          bucket.erase_at(0);
        }
      }
      if (!conflict) {
        std::size_t i = bucket.find(self);
        if (i == Bucket::npos) {
          Slot slot{self, {}};
          slot.values.push_back(std::move(value));
          bucket.push(std::move(slot));
        } else {
          bucket[i].values.push_back(std::move(value));
        }
        ++shard.entries;
      }
    }
    if (conflict) remove_owned(self, key, h, 1);
    return conflict;
  }

  /// Removes `self`'s entries under `key` whose value `remove` accepts (all when it is null);
  /// returns how many.
  template <class Pred>
  std::size_t erase(Pid self, const K& key, Pred&& remove) {
    std::size_t h = hash_key(key);
    KeyShard& shard = key_shard(h);
    std::vector<char> drop;  // per value of self's slot; decided outside the lock
    if constexpr (!std::is_same_v<std::decay_t<Pred>, std::nullptr_t>) {
      std::vector<V> values = values_of(key, self);
      if (values.empty()) return 0;
      drop.reserve(values.size());
      for (const V& v : values) drop.push_back(detail::invoke(remove, std::as_const(v)) ? 1 : 0);
    }
    std::size_t removed = 0;
    {
      ExclusiveLock lock(shard.mutex);
      auto it = shard.map.find(KeyProbe<K>{&key, h});
      if (it == shard.map.end()) return 0;
      Bucket& bucket = it->second;
      std::size_t i = bucket.find(self);
      if (i == Bucket::npos) return 0;
      auto& values = bucket[i].values;
      if constexpr (std::is_same_v<std::decay_t<Pred>, std::nullptr_t>) {
        removed = values.size();
        bucket.erase_at(i);
      } else {
        // Only self changes self's values, so they are the ones `drop` was computed from.
        if (drop.size() != values.size()) return 0;
        std::size_t kept = 0;
        for (std::size_t j = 0; j < values.size(); ++j)
          if (!drop[j]) values[kept++] = std::move(values[j]);
        removed = values.size() - kept;
        values.erase(values.begin() + static_cast<std::ptrdiff_t>(kept), values.end());
        if (values.empty()) bucket.erase_at(i);
      }
      shard.entries -= removed;
      if (bucket.empty()) shard.map.erase(it);
    }
    if (removed) remove_owned(self, key, h, static_cast<std::uint32_t>(removed));
    return removed;
  }

  /// Replaces the value of `self`'s entry under the unique `key` by `f(old)`: {new, old}.
  template <class F>
  std::optional<std::pair<V, V>> update(Pid self, const K& key, F&& f) {
    std::size_t h = hash_key(key);
    KeyShard& shard = key_shard(h);
    std::vector<V> old = values_of(key, self);
    if (old.empty()) return std::nullopt;
    V fresh = detail::invoke(f, std::as_const(old.front()));  // user code: outside any lock
    ExclusiveLock lock(shard.mutex);
    auto it = shard.map.find(KeyProbe<K>{&key, h});
    if (it == shard.map.end()) return std::nullopt;
    std::size_t i = it->second.find(self);
    if (i == Bucket::npos) return std::nullopt;
    it->second[i].values.front() = fresh;
    return std::pair<V, V>(std::move(fresh), std::move(old.front()));
  }

  // ---- reads, from any process ------------------------------------------------------------------

  /// The entries under `key` whose processes are not known to have ended.
  std::vector<Entry> lookup(const K& key) const {
    std::vector<Entry> out;
    std::size_t h = hash_key(key);
    const KeyShard& shard = key_shard(h);
    SharedLock lock(shard.mutex);
    auto it = shard.map.find(KeyProbe<K>{&key, h});
    if (it == shard.map.end()) return out;
    out.reserve(it->second.size());
    for (const Slot& s : it->second.items())
      if (!known_dead(s.pid))
        for (const V& v : s.values) out.push_back(Entry{s.pid, v});
    return out;
  }

  /// The first live holder of `key`.
  std::optional<Pid> whereis(const K& key) const {
    std::size_t h = hash_key(key);
    const KeyShard& shard = key_shard(h);
    SharedLock lock(shard.mutex);
    auto it = shard.map.find(KeyProbe<K>{&key, h});
    if (it == shard.map.end()) return std::nullopt;
    for (const Slot& s : it->second.items())
      if (!known_dead(s.pid)) return s.pid;
    return std::nullopt;
  }

  /// The values `pid` registered under `key`.
  std::vector<V> values_of(const K& key, Pid pid) const {
    std::size_t h = hash_key(key);
    const KeyShard& shard = key_shard(h);
    SharedLock lock(shard.mutex);
    auto it = shard.map.find(KeyProbe<K>{&key, h});
    if (it == shard.map.end()) return {};
    std::size_t i = it->second.find(pid);
    if (i == Bucket::npos) return {};
    const auto& values = it->second.items()[i].values;
    return std::vector<V>(values.begin(), values.end());
  }

  /// The keys `pid` registered, each as many times as it registered it.
  std::vector<K> keys_of(Pid pid) const {
    std::vector<K> out;
    const PidShard& shard = pid_shards_[partition_of(pid)];
    SharedLock lock(shard.mutex);
    auto it = shard.map.find(pid);
    if (it == shard.map.end()) return out;
    for (const Owned& o : it->second.items())
      for (std::uint32_t n = 0; n < o.count; ++n) out.push_back(o.key.key);
    return out;
  }

  /// Every entry, live or not yet cleaned up.
  std::size_t count() const {
    std::size_t n = 0;
    for (const KeyShard& shard : key_shards_) {
      SharedLock lock(shard.mutex);
      n += shard.entries;
    }
    return n;
  }

  /// Calls `visit(key, pid, value)` for every entry of live processes, shard by shard, from
  /// copies taken under the shard's lock (so `visit` may use the registry).
  template <class F>
  void scan(F&& visit) const {
    struct Item {
      std::size_t key;  // index into keys
      Entry entry;
    };
    std::vector<K> keys;
    std::vector<Item> batch;
    for (const KeyShard& shard : key_shards_) {
      keys.clear();
      batch.clear();
      {
        SharedLock lock(shard.mutex);
        for (const auto& [k, bucket] : shard.map) {
          keys.push_back(k.key);
          for (const Slot& s : bucket.items())
            if (!known_dead(s.pid))
              for (const V& v : s.values) batch.push_back(Item{keys.size() - 1, Entry{s.pid, v}});
        }
      }
      for (const Item& item : batch)
        detail::invoke(visit, std::as_const(keys[item.key]), item.entry.pid, item.entry.value);
    }
  }

  // ---- the partition processes ----------------------------------------------------------------

  void purge(Pid pid) noexcept override {
    PidShard& ps = pid_shards_[partition_of(pid)];
    PidRecord record;
    {
      ExclusiveLock lock(ps.mutex);
      auto it = ps.map.find(pid);
      if (it == ps.map.end()) return;
      record = std::move(it->second);
      ps.map.erase(it);
    }
    for (const Owned& o : record.items()) {
      KeyShard& shard = key_shard(o.key.hash);
      ExclusiveLock lock(shard.mutex);
      auto it = shard.map.find(KeyProbe<K>{&o.key.key, o.key.hash});
      if (it == shard.map.end()) continue;
      std::size_t i = it->second.find(pid);
      if (i == Bucket::npos) continue;  // a new holder took the key over
      shard.entries -= it->second.items()[i].values.size();
      it->second.erase_at(i);
      if (it->second.empty()) shard.map.erase(it);
    }
  }

  std::vector<Pid> dead_registrants(unsigned i) const override {
    std::vector<Pid> out;
    const PidShard& ps = pid_shards_[i];
    SharedLock lock(ps.mutex);
    for (const auto& [pid, record] : ps.map)
      if (known_dead(pid)) out.push_back(pid);
    return out;
  }

 private:
  // A process's values under one key.
  struct Slot {
    Pid pid;
    SmallVector<V> values;
  };
  struct SlotTraits {
    using Id = Pid;
    using Hash = std::hash<Pid>;
    using Eq = std::equal_to<Pid>;
    static const Pid& id(const Slot& s) noexcept { return s.pid; }
    static bool matches(const Slot& s, Pid pid) noexcept { return s.pid == pid; }
  };
  using Bucket = IndexedVector<Slot, SlotTraits>;

  // A key a process registered, and how many times.
  struct Owned {
    StoredKey<K> key;
    std::uint32_t count;
  };
  struct OwnedTraits {
    using Id = StoredKey<K>;
    using Hash = KeyHash<K>;
    using Eq = KeyEq<K>;
    static const StoredKey<K>& id(const Owned& o) noexcept { return o.key; }
    static bool matches(const Owned& o, const KeyProbe<K>& p) {
      return o.key.hash == p.hash && o.key.key == *p.key;
    }
  };
  // Kept, even when empty, until the process ends: its partition monitors it from its first
  // registration on, so a later registration needs no message.
  using PidRecord = IndexedVector<Owned, OwnedTraits>;

  struct alignas(64) KeyShard {
    mutable SharedSpinMutex mutex;
    FlatMap<StoredKey<K>, Bucket, KeyHash<K>, KeyEq<K>> map;
    std::size_t entries = 0;
  };
  struct alignas(64) PidShard {
    mutable SharedSpinMutex mutex;
    FlatMap<Pid, PidRecord, std::hash<Pid>> map;
  };

  KeyShard& key_shard(std::size_t h) noexcept {
    return key_shards_[(h >> 40) & (key_shards_.size() - 1)];
  }
  const KeyShard& key_shard(std::size_t h) const noexcept {
    return key_shards_[(h >> 40) & (key_shards_.size() - 1)];
  }

  // Counts `n` more registrations of `key` by `self`; true when this is its first record here.
  bool add_owned(Pid self, const K& key, std::size_t h, std::uint32_t n) {
    PidShard& ps = pid_shards_[partition_of(self)];
    ExclusiveLock lock(ps.mutex);
    auto [it, fresh] = ps.map.try_emplace(self);
    PidRecord& record = it->second;
    std::size_t i = record.find(KeyProbe<K>{&key, h});
    if (i == PidRecord::npos)
      record.push(Owned{StoredKey<K>{key, h}, n});
    else
      record[i].count += n;
    return fresh;
  }
  void remove_owned(Pid self, const K& key, std::size_t h, std::uint32_t n) {
    PidShard& ps = pid_shards_[partition_of(self)];
    ExclusiveLock lock(ps.mutex);
    auto it = ps.map.find(self);
    if (it == ps.map.end()) return;
    std::size_t i = it->second.find(KeyProbe<K>{&key, h});
    if (i == PidRecord::npos) return;
    Owned& o = it->second[i];
    o.count = o.count > n ? o.count - n : 0;
    if (o.count == 0) it->second.erase_at(i);
  }

  std::vector<KeyShard> key_shards_;
  std::vector<PidShard> pid_shards_;
};

}  // namespace ambitious::detail
