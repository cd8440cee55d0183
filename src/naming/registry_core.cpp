// The processes behind a registry: an owner (named, linked to the starter) and its partitions,
// each watching the registrants of its share of pids and removing their entries when they end.

#include "ambitious/naming/detail/registry_core.hpp"

#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/send.hpp"

namespace ambitious::detail {
namespace {

/// A registrant's first registration in a partition: monitor it.
struct Watch {
  Pid pid;
};
/// The call behind sync(): purge the registrants that have ended, then reply.
struct Sweep {};

class Partition : public GenServer<Partition> {
 public:
  Partition(std::shared_ptr<RegistryCore> core, unsigned index)
      : core_(std::move(core)), index_(index) {}

  using calls = Types<Sweep>;
  using info = Types<Watch, Down>;

  Action handle_info(Watch w) {
    if (!monitors_.contains(w.pid)) monitors_.emplace(w.pid, monitor(w.pid));
    return noreply();
  }
  Action handle_info(Down d) {
    auto it = monitors_.find(d.pid);
    if (it != monitors_.end() && it->second == d.ref) {
      monitors_.erase(it);
      core_->purge(d.pid);
    }
    return noreply();
  }
  CallResult<bool> handle_call(Sweep, const From&) {
    for (Pid pid : core_->dead_registrants(index_)) {
      if (auto it = monitors_.find(pid); it != monitors_.end()) {
        demonitor(it->second, Flush::yes);
        monitors_.erase(it);
      }
      core_->purge(pid);
    }
    return reply(true);
  }

 private:
  std::shared_ptr<RegistryCore> core_;
  unsigned index_;
  std::unordered_map<Pid, Ref> monitors_;
};

// The registries by name, for Registry::whereis(name). An entry is current while its owner
// holds the name in the local name table (an owner killed leaves a stale entry behind).
struct Published {
  std::shared_mutex mutex;
  std::unordered_map<Atom, std::shared_ptr<RegistryCore>> by_name;
};
Published& published() {
  static Published p;
  return p;
}

class Owner : public GenServer<Owner> {
 public:
  Owner(std::shared_ptr<RegistryCore> core, unsigned partitions)
      : core_(std::move(core)), partitions_(partitions) {}

  using info = Types<Exit>;

  Task<InitResult> init() {
    trap_exit(true);  // a partition's end is an Exit message: the registry ends with it
    std::vector<Pid> servers;
    for (unsigned i = 0; i < partitions_; ++i) {
      auto started = co_await Partition::start_link(core_, i);
      if (!started) {
        stop_partitions(servers);
        co_return stop(started.error());
      }
      servers.push_back(*started->pid());
    }
    core_->set_processes(self(), servers);
    servers_ = std::move(servers);
    {
      std::unique_lock lock(published().mutex);
      published().by_name[core_->name()] = core_;
    }
    co_return ok();
  }

  Action handle_info(Exit e) {
    if (e.reason.is_normal()) return noreply();
    return stop(e.reason);
  }

  void terminate(const ExitReason&) {
    {
      std::unique_lock lock(published().mutex);
      auto it = published().by_name.find(core_->name());
      if (it != published().by_name.end() && it->second == core_) published().by_name.erase(it);
    }
    stop_partitions(servers_);
  }

 private:
  static void stop_partitions(const std::vector<Pid>& servers) {
    for (Pid p : servers) ambitious::exit(p, atoms::shutdown);
  }

  std::shared_ptr<RegistryCore> core_;
  unsigned partitions_;
  std::vector<Pid> servers_;
};

}  // namespace

struct RegistryCore::Meta {
  std::unordered_map<Term, Term> entries;
};

RegistryCore::RegistryCore(Atom name, Keys keys, unsigned partitions, std::type_index key_type,
                           std::type_index value_type)
    : name_(name),
      keys_(keys),
      partitions_(partitions),
      key_type_(key_type),
      value_type_(value_type),
      meta_(std::make_unique<Meta>()) {}

RegistryCore::~RegistryCore() = default;

void RegistryCore::watch(Pid pid) const { send(partition_server(partition_of(pid)), Watch{pid}); }

void RegistryCore::require_running() const {
  if (!alive(owner_))
    throw BadArg("unknown registry: " + std::string(name_.name()) + " (it has stopped)");
}

std::optional<Term> RegistryCore::meta(const Term& key) const {
  SharedLock lock(meta_mutex_);
  auto it = meta_->entries.find(key);
  if (it == meta_->entries.end()) return std::nullopt;
  return it->second;
}

void RegistryCore::put_meta(Term key, Term value) {
  ExclusiveLock lock(meta_mutex_);
  meta_->entries.insert_or_assign(std::move(key), std::move(value));
}

bool RegistryCore::delete_meta(const Term& key) {
  ExclusiveLock lock(meta_mutex_);
  return meta_->entries.erase(key) > 0;
}

Task<std::expected<Pid, ExitReason>> start_registry(std::shared_ptr<RegistryCore> core,
                                                    unsigned partitions) {
  Atom name = core->name();
  // Checked here too: OTP's start_link fails with {already_started, Pid} and the child ends
  // `normal`, so a linked caller survives; GenServer's child ends with the error instead.
  if (auto holder = ambitious::whereis(name))
    co_return std::unexpected(ExitReason(Term::tuple(atoms::already_started, *holder)));
  StartOptions options{.name = ServerName(name)};
  auto started = co_await Owner::start_link(std::move(options), std::move(core), partitions);
  if (!started) co_return std::unexpected(std::move(started.error()));
  co_return *started->pid();
}

std::shared_ptr<RegistryCore> find_registry(Atom name) {
  std::shared_ptr<RegistryCore> core;
  {
    std::shared_lock lock(published().mutex);
    auto it = published().by_name.find(name);
    if (it == published().by_name.end()) return nullptr;
    core = it->second;
  }
  if (ambitious::whereis(name) != core->owner()) return nullptr;  // a stale entry
  return core;
}

Task<> sync_registry(std::shared_ptr<RegistryCore> core) {
  for (unsigned i = 0; i < core->partitions(); ++i) {
    ServerRef<Partition> partition(core->partition_server(i));
    (void)co_await gen_server::call(partition, Sweep{}, infinity);
  }
}

Task<std::expected<void, ExitReason>> stop_registry(std::shared_ptr<RegistryCore> core) {
  return gen_server::stop(ServerRef<Owner>(core->owner()));
}

}  // namespace ambitious::detail
