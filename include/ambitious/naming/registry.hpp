#pragma once
// Registry<K, V>: a local, partitioned key-value process registry, as Elixir's Registry.
//
//   Elixir                               | here (on a Registry<K, V> handle `r`)
//   -------------------------------------|-------------------------------------------------------
//   Registry.start_link(keys:, name:,    | co_await Registry<K, V>::start_link(name, keys, parts)
//     partitions:)                       |
//   register(reg, key, value)            | r.register_key(key, value) -> expected<void, Already..>
//   unregister / unregister_match        | r.unregister(key) / r.unregister_match(key, pred)
//   lookup(reg, key)                     | r.lookup(key) -> vector<Entry{pid, value}>
//   whereis_name({reg, key})             | r.whereis(key) -> optional<Pid>
//   keys(reg, pid) / values(reg, key, pid)| r.keys(pid) / r.values(key, pid)
//   update_value(reg, key, fun)          | r.update_value(key, f) -> optional<pair<new, old>>
//   count / count_match / match / select | r.count() / r.count_match(key, pred) / r.match(key,
//     / count_select                     |   pred) / r.select(pred) / r.count_select(pred)
//   dispatch(reg, key, fun)              | r.dispatch(key, f): f(span<const Entry>)
//   meta / put_meta / delete_meta        | r.meta(k) / r.put_meta(k, v) / r.delete_meta(k)
//
// Reads and writes are made by the calling process directly on a shared table (as Elixir's ETS
// reads), never through a server: keys are spread over shards by hash, each shard a flat hash
// map under its own reader-writer spin lock, so lookups take no global lock and run in
// parallel on every core. Every operation is for the calling process (inside a process).
//
// Entries of a process that ends are removed by the registry's partition process that watches
// it (each registrant is monitored from its first registration). Between the end and the
// handling of its Down there is a window, as in Elixir: lookup(), whereis() and the queries
// already skip processes known to have ended (a table lookup), and a unique key held by an
// ended process can be registered again at once; count(), keys() and values() still see the
// entries until the partition has run. `co_await r.sync()` closes the window for every process
// that had ended before it was called.
//
// Keys and values are C++ values with a Codec (any Term included); keys also need `==`, and are
// hashed with std::hash when they have one, else through their term.

#include <concepts>
#include <cstddef>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "ambitious/behaviours/child_spec.hpp"
#include "ambitious/core/codec.hpp"
#include "ambitious/core/functional.hpp"
#include "ambitious/naming/detail/registry_core.hpp"
#include "ambitious/naming/detail/registry_table.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/process.hpp"

namespace ambitious {

/// What a registry key must be: copyable, comparable with ==, and convertible to a term.
template <class K>
concept RegistryKey = std::copyable<K> && std::equality_comparable<K> && Encodable<K>;

/// What a registry value must be: copyable (lookups return copies) and convertible to a term.
template <class V>
concept RegistryValue = std::copyable<V> && Encodable<V>;

/// The error of a unique registration: the key is held by `holder` (Elixir's
/// `{:error, {:already_registered, pid}}`).
struct AlreadyRegistered {
  Pid holder;  ///< the process that holds the key
  /// `{already_registered, Pid}`.
  Term term() const { return Term::tuple(atoms::already_registered, holder); }
};

/// A handle to a running registry: cheap to copy, usable from any process.
template <class K = Term, class V = Term>
class Registry {
  static_assert(RegistryKey<K>,
                "Registry<K, V>: the key type K must be copyable, comparable with ==, and have a "
                "Codec (ambitious/core/codec.hpp: describe the type, or specialize Codec<K>)");
  static_assert(RegistryValue<V>,
                "Registry<K, V>: the value type V must be copyable and have a Codec "
                "(ambitious/core/codec.hpp: describe the type, or specialize Codec<V>)");
  using Table = detail::RegistryTable<K, V>;

 public:
  /// One registration: the process and the value it registered.
  using Entry = typename Table::Entry;

  /// Starts a registry named `name` (the name of its own process, and the name whereis()
  /// finds it by) with `partitions` partition processes, linked to the caller. The error is
  /// `{already_started, Pid}` when the name is taken. Inside a process.
  static Task<std::expected<Registry, ExitReason>> start_link(Atom name, Keys keys,
                                                              unsigned partitions = 1) {
    if (partitions == 0) partitions = 1;
    auto table = std::make_shared<Table>(name, keys, partitions);
    auto started = co_await detail::start_registry(table, partitions);
    if (!started) co_return std::unexpected(std::move(started.error()));
    co_return Registry(std::move(table));
  }

  /// A child spec that starts the registry with start_link(name, keys, partitions): a registry
  /// in a supervision tree with no start function to write (Elixir's `{Registry, keys:
  /// :unique, name: Name}`). Its id is `name` and its type ChildType::supervisor, as in
  /// Elixir; processes find it with whereis(name).
  static ChildSpec child_spec(Atom name, Keys keys, unsigned partitions = 1) {
    ChildSpec spec;
    spec.id = Term(name);
    spec.type = ChildType::supervisor;
    spec.start = ChildStart(detail::SelfContained{}, [name, keys, partitions] {
      return start_as_child(name, keys, partitions);
    });
    return spec;
  }

  /// The running registry named `name`, when it has these key and value types.
  static std::optional<Registry> whereis(Atom name) {
    auto core = detail::find_registry(name);
    if (!core || core->key_type() != typeid(K) || core->value_type() != typeid(V))
      return std::nullopt;
    return Registry(std::static_pointer_cast<Table>(std::move(core)));
  }

  /// The registry's name.
  Atom name() const noexcept { return table_->name(); }
  /// Unique or duplicate keys.
  Keys keys() const noexcept { return table_->keys(); }
  /// How many partition processes watch the registrants.
  unsigned partitions() const noexcept { return table_->partitions(); }
  /// The registry's own process.
  Pid pid() const noexcept { return table_->owner(); }

  /// Registers the calling process under `key` with `value`. Unique keys: the error names the
  /// live process holding the key (the caller itself, if it does). Duplicate keys never fail,
  /// and a process may register the same key several times. Throws BadArg when the registry has
  /// stopped.
  std::expected<void, AlreadyRegistered> register_key(const K& key, V value) const {
    table_->require_running();
    if (auto holder = table_->insert(self(), key, std::move(value)))
      return std::unexpected(AlreadyRegistered{*holder});
    return {};
  }

  /// Removes every entry of the calling process under `key` (none: nothing happens).
  void unregister(const K& key) const { table_->erase(self(), key, nullptr); }

  /// Removes the calling process's entries under `key` whose value satisfies `pred`.
  template <std::predicate<const V&> Pred>
  void unregister_match(const K& key, Pred pred) const {
    table_->erase(self(), key, std::move(pred));
  }

  /// The entries under `key`, without those of processes known to have ended.
  std::vector<Entry> lookup(const K& key) const { return table_->lookup(key); }

  /// The process under `key` (the first, for duplicate keys), if any is alive.
  std::optional<Pid> whereis(const K& key) const { return table_->whereis(key); }

  /// The keys `pid` registered (repeated as often as it registered each), in no order.
  std::vector<K> keys(Pid pid) const { return table_->keys_of(pid); }

  /// The values `pid` registered under `key`.
  std::vector<V> values(const K& key, Pid pid) const { return table_->values_of(key, pid); }

  /// Unique keys: replaces the value of the caller's entry under `key` with `f(old)` and
  /// returns {new, old}; nothing when the caller does not hold `key`. `f` runs outside the
  /// registry's locks. Throws BadArg for a duplicate registry (as Elixir raises).
  template <class F>
    requires std::convertible_to<std::invoke_result_t<F&, const V&>, V>
  std::optional<std::pair<V, V>> update_value(const K& key, F f) const {
    if (keys() != Keys::unique) throw BadArg("Registry::update_value: only for unique keys");
    return table_->update(self(), key, std::move(f));
  }

  /// The number of entries (those of ended processes included until their partition removed
  /// them).
  std::size_t count() const { return table_->count(); }

  /// The entries under `key` whose value satisfies `pred` (Elixir's match/3 with a predicate
  /// for the pattern and guards).
  template <std::predicate<const V&> Pred>
  std::vector<Entry> match(const K& key, Pred pred) const {
    std::vector<Entry> out = lookup(key);
    std::erase_if(out, [&](const Entry& e) { return !detail::invoke(pred, e.value); });
    return out;
  }
  /// How many entries under `key` have a value satisfying `pred`.
  template <std::predicate<const V&> Pred>
  std::size_t count_match(const K& key, Pred pred) const {
    return match(key, std::move(pred)).size();
  }

  /// One entry as select() returns it.
  struct Selected {
    K key;    ///< the key
    Pid pid;  ///< the process registered under it
    V value;  ///< the value it registered
  };
  /// Every entry (of live processes) for which `pred(key, pid, value)` holds, in no order
  /// (Elixir's select/2, with a predicate for the match spec). Scans the whole registry.
  template <std::predicate<const K&, Pid, const V&> Pred>
  std::vector<Selected> select(Pred pred) const {
    std::vector<Selected> out;
    table_->scan([&](const K& k, Pid p, const V& v) {
      if (detail::invoke(pred, k, p, v)) out.push_back(Selected{k, p, v});
    });
    return out;
  }
  /// How many entries select(pred) would return.
  template <std::predicate<const K&, Pid, const V&> Pred>
  std::size_t count_select(Pred pred) const {
    std::size_t n = 0;
    table_->scan(
        [&](const K& k, Pid p, const V& v) { n += detail::invoke(pred, k, p, v) ? 1 : 0; });
    return n;
  }

  /// Calls `f` once with the entries under `key` (not at all when there are none), from a copy
  /// taken under the shard's lock: `f` may use the registry. Returns whether `f` was called.
  template <std::invocable<std::span<const Entry>> F>
  bool dispatch(const K& key, F&& f) const {
    std::vector<Entry> entries = lookup(key);
    if (entries.empty()) return false;
    detail::invoke(f, std::span<const Entry>(entries));
    return true;
  }

  /// Meta data stored with the registry (any terms; Elixir allows atom and tuple keys).
  std::optional<Term> meta(const Term& key) const { return table_->meta(key); }
  /// Stores `value` under `key` in the meta data, replacing what was there.
  void put_meta(Term key, Term value) const { table_->put_meta(std::move(key), std::move(value)); }
  /// Returns whether `key` was there.
  bool delete_meta(const Term& key) const { return table_->delete_meta(key); }

  /// Waits until every partition has removed the entries of the processes that had ended when
  /// sync() was called (for instance after the caller saw a registrant's Down). Inside a
  /// process.
  Task<> sync() const { return detail::sync_registry(table_); }

  /// Stops the registry's processes (reason `normal`) and waits for them; the table is left as
  /// it was, and register_key() then throws BadArg.
  Task<std::expected<void, ExitReason>> stop() const { return detail::stop_registry(table_); }

  friend bool operator==(const Registry& a, const Registry& b) noexcept {
    return a.table_ == b.table_;
  }

 private:
  explicit Registry(std::shared_ptr<Table> table) noexcept : table_(std::move(table)) {}
  static Task<StartChildResult> start_as_child(Atom name, Keys keys, unsigned partitions) {
    auto started = co_await start_link(name, keys, partitions);
    if (!started) co_return std::unexpected(std::move(started.error()));
    co_return started->pid();
  }
  std::shared_ptr<Table> table_;
};

}  // namespace ambitious
