#pragma once
// RegistryCore: the part of a registry that does not depend on its key and value types — its
// processes, its name and its meta data. Registry<K, V> derives its table from it.

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string_view>
#include <typeindex>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/naming/detail/shared_spin_mutex.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// Whether a key names one process at most (`unique`) or any number of entries (`duplicate`).
enum class Keys : unsigned char { unique, duplicate };

namespace detail {

/// Shared by the registry's processes and every handle to it. Who may call each member is said
/// beside it; "any process" means any thread running a process.
class RegistryCore {
 public:
  RegistryCore(Atom name, Keys keys, unsigned partitions, std::type_index key_type,
               std::type_index value_type);
  virtual ~RegistryCore();
  RegistryCore(const RegistryCore&) = delete;
  RegistryCore& operator=(const RegistryCore&) = delete;

  Atom name() const noexcept { return name_; }
  Keys keys() const noexcept { return keys_; }
  unsigned partitions() const noexcept { return partitions_; }
  std::type_index key_type() const noexcept { return key_type_; }
  std::type_index value_type() const noexcept { return value_type_; }

  /// The registry's own process (registered under name()). Set before the registry is
  /// published; read-only after.
  Pid owner() const noexcept { return owner_; }
  /// The partition process that watches `pid`'s registrations.
  unsigned partition_of(Pid pid) const noexcept {
    return static_cast<unsigned>(std::hash<Pid>{}(pid) >> 32) % partitions();
  }
  Pid partition_server(unsigned i) const noexcept { return servers_[i]; }

  /// Asks `pid`'s partition process to monitor it (sent once, with its first entry there).
  /// Any process.
  void watch(Pid pid) const;
  /// Throws BadArg when the registry has stopped (as Elixir raises "unknown registry").
  void require_running() const;

  /// Removes every entry of `pid`, which has ended. Its partition process only.
  virtual void purge(Pid pid) noexcept = 0;
  /// The registrants of partition `i` that have ended. Its partition process only.
  virtual std::vector<Pid> dead_registrants(unsigned i) const = 0;

  /// Meta data (Elixir's Registry.meta/put_meta/delete_meta). Any process.
  std::optional<Term> meta(const Term& key) const;
  void put_meta(Term key, Term value);
  bool delete_meta(const Term& key);

  // Set by the registry's start, before it is published.
  void set_processes(Pid owner, std::vector<Pid> servers) {
    owner_ = owner;
    servers_ = std::move(servers);
  }

 private:
  struct Meta;  // its table, in the source file: std::unordered_map stays out of this header

  Atom name_;
  Keys keys_;
  unsigned partitions_;
  std::type_index key_type_;
  std::type_index value_type_;
  Pid owner_;
  std::vector<Pid> servers_;
  mutable SharedSpinMutex meta_mutex_;
  std::unique_ptr<Meta> meta_;
};

/// Starts the registry's processes for `core` (its owner, registered as core->name() and linked
/// to the caller, and `partitions` partition processes linked to the owner), then publishes it
/// under its name. Inside a process.
Task<std::expected<Pid, ExitReason>> start_registry(std::shared_ptr<RegistryCore> core,
                                                    unsigned partitions);
/// The running registry named `name`, if any. Any process.
std::shared_ptr<RegistryCore> find_registry(Atom name);
/// Calls each partition process; each first removes the entries of its registrants that have
/// ended. Inside a process.
Task<> sync_registry(std::shared_ptr<RegistryCore> core);
/// Stops the registry's processes and waits for them. Inside a process.
Task<std::expected<void, ExitReason>> stop_registry(std::shared_ptr<RegistryCore> core);

}  // namespace detail
}  // namespace ambitious
