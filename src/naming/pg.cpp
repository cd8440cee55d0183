// pg: the scope process (joins, leaves, monitors, members' ends) and the direct table reads.

#include "ambitious/naming/pg.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/naming/detail/shared_spin_mutex.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/send.hpp"

namespace ambitious::pg {
namespace {

using detail::ExclusiveLock;
using detail::SharedLock;
using detail::SharedSpinMutex;

struct Members {
  std::vector<Pid> all;    // every member, this node's and (later) other nodes'
  std::vector<Pid> local;  // this node's members
};

// A scope's table: written by its process only, read by anyone (OTP's protected ETS table).
struct ScopeTable {
  Pid server;
  mutable SharedSpinMutex mutex;
  std::unordered_map<Term, Members> groups;
};

// The scopes by name. An entry is current while its process lives.
struct Scopes {
  SharedSpinMutex mutex;
  std::unordered_map<Atom, std::shared_ptr<ScopeTable>> by_name;
};
Scopes& scopes() {
  static Scopes s;
  return s;
}

std::shared_ptr<const ScopeTable> find_table(Atom scope) {
  std::shared_ptr<const ScopeTable> table;
  {
    SharedLock lock(scopes().mutex);
    auto it = scopes().by_name.find(scope);
    if (it == scopes().by_name.end()) return nullptr;
    table = it->second;
  }
  return alive(table->server) ? table : nullptr;
}

// Removes one occurrence of `pid` from `v`.
void erase_one(std::vector<Pid>& v, Pid pid) {
  auto it = std::find(v.begin(), v.end(), pid);
  if (it != v.end()) v.erase(it);
}

struct JoinRequest {
  Term group;
  std::vector<Pid> pids;
};
struct LeaveRequest {
  Term group;
  std::vector<Pid> pids;
};
struct MonitorScopeRequest {};
struct MonitorGroupRequest {
  Term group;
};
struct DemonitorRequest {
  Ref ref;
};

class Scope : public GenServer<Scope> {
 public:
  explicit Scope(Atom name) : name_(name), table_(std::make_shared<ScopeTable>()) {}

  using calls =
      Types<JoinRequest, LeaveRequest, MonitorScopeRequest, MonitorGroupRequest, DemonitorRequest>;
  using info = Types<Down>;

  InitResult init() {
    table_->server = self();
    ExclusiveLock lock(scopes().mutex);
    scopes().by_name[name_] = table_;
    return ok();
  }

  void terminate(const ExitReason&) {
    ExclusiveLock lock(scopes().mutex);
    auto it = scopes().by_name.find(name_);
    if (it != scopes().by_name.end() && it->second == table_) scopes().by_name.erase(it);
  }

  CallResult<bool> handle_call(JoinRequest r, const From&) {
    for (Pid pid : r.pids) {
      auto [it, fresh] = local_.try_emplace(pid);
      if (fresh) it->second.mref = ambitious::monitor(pid);
      it->second.groups.push_back(r.group);
    }
    {
      ExclusiveLock lock(table_->mutex);
      Members& m = table_->groups[r.group];
      // New members go first, as OTP prepends them.
      m.all.insert(m.all.begin(), r.pids.begin(), r.pids.end());
      m.local.insert(m.local.begin(), r.pids.begin(), r.pids.end());
    }
    notify(Notification::join, r.group, r.pids);
    return reply(true);
  }

  CallResult<Left> handle_call(LeaveRequest r, const From&) {
    std::vector<Pid> left;
    for (Pid pid : r.pids) {
      auto it = local_.find(pid);
      if (it == local_.end()) continue;
      auto& groups = it->second.groups;
      auto g = std::find(groups.begin(), groups.end(), r.group);
      if (g == groups.end()) continue;
      groups.erase(g);
      if (groups.empty()) {
        demonitor(it->second.mref, Flush::yes);
        local_.erase(it);
      }
      left.push_back(pid);
    }
    if (left.empty()) return reply(Left::not_joined);
    {
      ExclusiveLock lock(table_->mutex);
      remove_members(r.group, left);
    }
    notify(Notification::leave, r.group, left);
    return reply(Left::ok);
  }

  CallResult<ScopeMonitor> handle_call(MonitorScopeRequest, const From& from) {
    ScopeMonitor out;
    {
      SharedLock lock(table_->mutex);
      for (const auto& [group, members] : table_->groups) out.groups.emplace(group, members.all);
    }
    out.ref = ambitious::monitor(from.pid);
    scope_monitors_.emplace(out.ref, from.pid);
    return reply(std::move(out));
  }

  CallResult<GroupMonitor> handle_call(MonitorGroupRequest r, const From& from) {
    GroupMonitor out;
    {
      SharedLock lock(table_->mutex);
      auto it = table_->groups.find(r.group);
      if (it != table_->groups.end()) out.members = it->second.all;
    }
    out.ref = ambitious::monitor(from.pid);
    group_monitors_.emplace(out.ref, std::make_pair(from.pid, r.group));
    monitored_groups_[r.group].emplace_back(from.pid, out.ref);
    return reply(std::move(out));
  }

  CallResult<bool> handle_call(DemonitorRequest r, const From&) {
    if (scope_monitors_.erase(r.ref)) {
      demonitor(r.ref, Flush::yes);
      return reply(true);
    }
    if (drop_group_monitor(r.ref)) {
      demonitor(r.ref, Flush::yes);
      return reply(true);
    }
    return reply(false);
  }

  Action handle_info(Down d) {
    if (scope_monitors_.erase(d.ref) || drop_group_monitor(d.ref)) return noreply();
    auto it = local_.find(d.pid);
    if (it == local_.end() || it->second.mref != d.ref) return noreply();
    std::vector<Term> groups = std::move(it->second.groups);
    local_.erase(it);
    // One leave per membership, as OTP does for a member that ends.
    for (const Term& group : groups) {
      {
        ExclusiveLock lock(table_->mutex);
        remove_members(group, std::span<const Pid>(&d.pid, 1));
      }
      notify(Notification::leave, group, {d.pid});
    }
    return noreply();
  }

 private:
  struct LocalMember {
    Ref mref;
    std::vector<Term> groups;  // one element per membership
  };

  // Under the table's write lock.
  void remove_members(const Term& group, std::span<const Pid> pids) {
    auto it = table_->groups.find(group);
    if (it == table_->groups.end()) return;
    for (Pid pid : pids) {
      erase_one(it->second.all, pid);
      erase_one(it->second.local, pid);
    }
    if (it->second.all.empty()) table_->groups.erase(it);
  }

  bool drop_group_monitor(const Ref& ref) {
    auto it = group_monitors_.find(ref);
    if (it == group_monitors_.end()) return false;
    auto watchers = monitored_groups_.find(it->second.second);
    if (watchers != monitored_groups_.end()) {
      std::erase_if(watchers->second, [&](const auto& w) { return w.second == ref; });
      if (watchers->second.empty()) monitored_groups_.erase(watchers);
    }
    group_monitors_.erase(it);
    return true;
  }

  void notify(Notification::Event event, const Term& group, const std::vector<Pid>& pids) {
    for (const auto& [ref, pid] : scope_monitors_) send(pid, Notification{ref, event, group, pids});
    auto it = monitored_groups_.find(group);
    if (it == monitored_groups_.end()) return;
    for (const auto& [pid, ref] : it->second) send(pid, Notification{ref, event, group, pids});
  }

  Atom name_;
  std::shared_ptr<ScopeTable> table_;
  std::unordered_map<Pid, LocalMember> local_;
  std::unordered_map<Ref, Pid> scope_monitors_;
  std::unordered_map<Ref, std::pair<Pid, Term>> group_monitors_;
  std::unordered_map<Term, std::vector<std::pair<Pid, Ref>>> monitored_groups_;
};

void require_local(const std::vector<Pid>& pids, const char* function) {
  for (Pid pid : pids)
    if (!pid.is_local())
      throw BadArg(std::string("pg::") + function + ": {nolocal, " + to_string(pid) + "}");
}

Task<std::expected<Pid, ExitReason>> start_scope(bool link, Atom scope) {
  StartOptions options{.name = ServerName(scope)};
  auto r =
      link ? co_await Scope::start_link(options, scope) : co_await Scope::start(options, scope);
  if (!r) co_return std::unexpected(std::move(r.error()));
  co_return *r->pid();
}

std::vector<Pid> read_members(Atom scope, const Term& group, bool local) {
  auto table = find_table(scope);
  if (!table) return {};
  SharedLock lock(table->mutex);
  auto it = table->groups.find(group);
  if (it == table->groups.end()) return {};
  return local ? it->second.local : it->second.all;
}

std::vector<Term> read_groups(Atom scope, bool local) {
  std::vector<Term> out;
  auto table = find_table(scope);
  if (!table) return out;
  SharedLock lock(table->mutex);
  for (const auto& [group, members] : table->groups)
    if (!local || !members.local.empty()) out.push_back(group);
  return out;
}

}  // namespace

Atom default_scope() { return atoms::pg; }

Task<std::expected<Pid, ExitReason>> start_link(Atom scope) { return start_scope(true, scope); }
Task<std::expected<Pid, ExitReason>> start(Atom scope) { return start_scope(false, scope); }

ChildSpec child_spec(Atom scope) {
  ChildSpec spec;
  spec.id = Term(scope);
  spec.start = [scope] { return start_scope(true, scope); };
  return spec;
}

Task<> join(Atom scope, Term group, std::vector<Pid> pids) {
  require_local(pids, "join");
  // The request is built before the co_await: g++ 12 destroys a braced temporary inside a
  // co_await expression twice.
  JoinRequest request{std::move(group), std::move(pids)};
  ServerRef<Scope> server(scope);
  (void)co_await gen_server::call(server, std::move(request), infinity);
}
Task<> join(Atom scope, Term group, Pid pid) {
  return join(scope, std::move(group), std::vector<Pid>{pid});
}
Task<> join(Term group, Pid pid) { return join(default_scope(), std::move(group), pid); }
Task<> join(Term group, std::vector<Pid> pids) {
  return join(default_scope(), std::move(group), std::move(pids));
}

Task<Left> leave(Atom scope, Term group, std::vector<Pid> pids) {
  require_local(pids, "leave");
  LeaveRequest request{std::move(group), std::move(pids)};
  ServerRef<Scope> server(scope);
  co_return co_await gen_server::call(server, std::move(request), infinity);
}
Task<Left> leave(Atom scope, Term group, Pid pid) {
  return leave(scope, std::move(group), std::vector<Pid>{pid});
}
Task<Left> leave(Term group, Pid pid) { return leave(default_scope(), std::move(group), pid); }
Task<Left> leave(Term group, std::vector<Pid> pids) {
  return leave(default_scope(), std::move(group), std::move(pids));
}

std::vector<Pid> get_members(Atom scope, const Term& group) {
  return read_members(scope, group, false);
}
std::vector<Pid> get_members(const Term& group) { return get_members(default_scope(), group); }
std::vector<Pid> get_local_members(Atom scope, const Term& group) {
  return read_members(scope, group, true);
}
std::vector<Pid> get_local_members(const Term& group) {
  return get_local_members(default_scope(), group);
}
std::vector<Term> which_groups(Atom scope) { return read_groups(scope, false); }
std::vector<Term> which_local_groups(Atom scope) { return read_groups(scope, true); }

Task<ScopeMonitor> monitor_scope(Atom scope) {
  ServerRef<Scope> server(scope);
  co_return co_await gen_server::call(server, MonitorScopeRequest{}, infinity);
}
Task<GroupMonitor> monitor(Atom scope, Term group) {
  MonitorGroupRequest request{std::move(group)};
  ServerRef<Scope> server(scope);
  co_return co_await gen_server::call(server, std::move(request), infinity);
}
Task<GroupMonitor> monitor(Term group) { return monitor(default_scope(), std::move(group)); }

Task<bool> demonitor(Atom scope, Ref ref) {
  ServerRef<Scope> server(scope);
  DemonitorRequest request{ref};
  bool was = co_await gen_server::call(server, request, infinity);
  if (was) {
    // The scope sent nothing more after its reply: what is queued is all there is to flush.
    auto mine = [&](const Notification& n) { return n.ref == ref; };
    while (co_await receive_if<Notification>(mine, std::chrono::milliseconds(0))) {
    }
  }
  co_return was;
}
Task<bool> demonitor(Ref ref) { return demonitor(default_scope(), ref); }

}  // namespace ambitious::pg
