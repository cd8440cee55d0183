// pg: the scope process (joins, leaves, monitors, members' ends, and the exchange with the
// same scope on other nodes: OTP 25 pg.erl's protocol) and the direct table reads.

#include "ambitious/naming/pg.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/naming/detail/shared_spin_mutex.hpp"
#include "ambitious/process/detail/node_watch.hpp"
#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/send.hpp"

namespace ambitious::pg {
namespace {

using detail::ExclusiveLock;
using detail::SharedLock;
using detail::SharedSpinMutex;

struct Members {
  std::vector<Pid> all;    // every member, this node's and other nodes'
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

// The messages of pg.erl's protocol between the scopes of one name on different nodes:
//   {discover, Peer}                         plain send to {Scope, Node}, or to a peer scope
//   {'$gen_cast', {sync, Peer, [{G, Pids}]}}  gen_server:cast to the peer scope: my members
//   {join, Peer, G, PidOrPids}               plain send to each peer scope
//   {leave, Peer, PidOrPids, [G]}            plain send to each peer scope
const Atom discover_atom("discover");
const Atom sync_atom("sync");
const Atom join_atom("join");
const Atom leave_atom("leave");

// A pid, or a proper list of pids (pg.erl's PidOrPids); nullopt for anything else.
std::optional<std::vector<Pid>> pids_of(const Term& t) {
  if (t.is_pid()) return std::vector<Pid>{t.as_pid()};
  if (!t.is_proper_list()) return std::nullopt;
  std::vector<Pid> out;
  for (const Term& e : t.list_elements()) {
    if (!e.is_pid()) return std::nullopt;
    out.push_back(e.as_pid());
  }
  return out;
}

Term pids_term(const std::vector<Pid>& pids) {
  std::vector<Term> elems(pids.begin(), pids.end());
  return Term::list_from(std::span<Term>(elems));
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
  using info = Types<Down, ambitious::detail::NodeChange, Term>;

  InitResult init() {
    table_->server = self();
    {
      ExclusiveLock lock(scopes().mutex);
      scopes().by_name[name_] = table_;
    }
    // As pg.erl's init: watch the nodes first, then discover the scope on each node connected
    // now; every later nodeup discovers too (handle_info(NodeChange)).
    for (Atom node : ambitious::detail::watch_nodes()) discover(node);
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
    broadcast(Term::tuple(join_atom, self(), r.group, pids_term(r.pids)));
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
    broadcast(Term::tuple(leave_atom, self(), pids_term(left), Term::list(r.group)));
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
    if (auto peer = remote_.find(d.pid); peer != remote_.end()) {
      // A peer scope ended, or its node went down (noconnection): its members leave.
      if (peer->second.mref != d.ref) return noreply();
      RemoteGroups groups = std::move(peer->second.groups);
      remote_.erase(peer);
      for (const auto& [group, pids] : groups) remove_remote(group, pids);
      return noreply();
    }
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
    broadcast(
        Term::tuple(leave_atom, self(), d.pid, Term::list_from(std::span<const Term>(groups))));
    return noreply();
  }

  // A node came up: its scope of this name, if it runs one, is a peer. A node that went down
  // needs nothing here: the monitor of its peer scope fires (noconnection), as in pg.erl.
  Action handle_info(ambitious::detail::NodeChange c) {
    if (c.up && !ambitious::detail::is_local_node(c.node)) discover(c.node);
    return noreply();
  }

  // The protocol's messages from peer scopes (the table above JoinRequest). Anything
  // else, or a message of the wrong shape, is dropped: a peer never crashes the scope.
  Action handle_info(Term m) {
    if (!m.is_tuple() || m.size() < 2) return noreply();
    const Term& tag = m[0];
    if (tag == Term(discover_atom) && (m.size() == 2 || m.size() == 3) && m[1].is_pid()) {
      // {discover, Peer, Version}: the form a later pg sends, taken as OTP 26 takes it.
      on_discover(m[1].as_pid());
    } else if (tag == Term(atoms::gen_cast) && m.size() == 2) {
      const Term& c = m[1];
      if (c.is_tuple() && c.size() == 3 && c[0] == Term(sync_atom) && c[1].is_pid())
        on_sync(c[1].as_pid(), c[2]);
    } else if (tag == Term(join_atom) && m.size() == 4 && m[1].is_pid()) {
      if (auto pids = pids_of(m[3])) on_join(m[1].as_pid(), m[2], std::move(*pids));
    } else if (tag == Term(leave_atom) && m.size() == 4 && m[1].is_pid() && m[3].is_proper_list()) {
      if (auto pids = pids_of(m[2])) on_leave(m[1].as_pid(), *pids, m[3].list_elements());
    }
    return noreply();
  }

 private:
  struct LocalMember {
    Ref mref;
    std::vector<Term> groups;  // one element per membership
  };
  // A peer scope's members, by group (one element per membership), as it told us.
  using RemoteGroups = std::unordered_map<Term, std::vector<Pid>>;
  struct Peer {
    Ref mref;  // our monitor of the peer scope
    RemoteGroups groups;
  };

  // Sends {discover, Self} to the scope of this name on `node` (REG_SEND).
  void discover(Atom node) {
    send(RegisteredName{name_, node}, Term::tuple(discover_atom, self()));
  }

  // `msg` to every peer scope.
  void broadcast(const Term& msg) {
    for (const auto& [pid, peer] : remote_) send(pid, msg);
  }

  // A scope of another node looks for us: it gets our members (sync), and, if it is new to us,
  // we monitor it and discover it in turn, so that it sends us its members.
  void on_discover(Pid peer) {
    if (peer.is_local()) return;  // a scope of this node is never its own peer
    std::vector<Term> groups;
    // Read without the lock: only this process writes the table.
    for (const auto& [group, members] : table_->groups)
      if (!members.local.empty()) groups.push_back(Term::tuple(group, pids_term(members.local)));
    // gen_server:cast(Peer, {sync, Self, Groups}): the '$gen_cast' form of OTP's gen_server.
    send(peer, Term::tuple(atoms::gen_cast, Term::tuple(sync_atom, self(),
                                                        Term::list_from(std::span<Term>(groups)))));
    if (remote_.contains(peer)) return;
    remote_.emplace(peer, Peer{ambitious::monitor(peer), {}});
    send(peer, Term::tuple(discover_atom, self()));
  }

  // A peer's whole membership, which replaces what we knew of it.
  void on_sync(Pid peer, const Term& groups_term) {
    if (peer.is_local() || !groups_term.is_proper_list()) return;
    RemoteGroups fresh;
    for (const Term& g : groups_term.list_elements()) {
      if (!g.is_tuple() || g.size() != 2) return;
      auto pids = pids_of(g[1]);
      if (!pids) return;
      auto& into = fresh[g[0]];
      into.insert(into.end(), pids->begin(), pids->end());
    }
    auto [it, is_new] = remote_.try_emplace(peer);
    if (is_new) it->second.mref = ambitious::monitor(peer);
    RemoteGroups old = std::exchange(it->second.groups, fresh);
    for (auto& [group, pids] : fresh) {
      auto was = old.find(group);
      if (was != old.end()) {
        if (was->second == pids) {
          old.erase(was);
          continue;
        }
        // Changed (rare: a second sync from the same peer). pg.erl rewrites the entry without
        // telling the monitors; here they hear the leave of the old pids and the join of the
        // new ones, so that their view stays the table's.
        remove_remote(group, was->second);
        old.erase(was);
      }
      add_remote(group, pids);
    }
    for (const auto& [group, pids] : old) remove_remote(group, pids);
  }

  void on_join(Pid peer, const Term& group, std::vector<Pid> pids) {
    // A join from a scope we do not know (its node flickered, or it is no peer) is dropped,
    // as pg.erl drops it.
    auto it = remote_.find(peer);
    if (it == remote_.end() || pids.empty()) return;
    auto& mine = it->second.groups[group];
    mine.insert(mine.begin(), pids.begin(), pids.end());
    add_remote(group, pids);
  }

  void on_leave(Pid peer, const std::vector<Pid>& pids, const std::vector<Term>& groups) {
    auto it = remote_.find(peer);
    if (it == remote_.end()) return;
    for (const Term& group : groups) {
      auto g = it->second.groups.find(group);
      if (g == it->second.groups.end()) continue;
      // Only the peer's own members leave: one occurrence of each pid it has in the group.
      std::vector<Pid> left;
      for (Pid pid : pids) {
        auto one = std::find(g->second.begin(), g->second.end(), pid);
        if (one == g->second.end()) continue;
        g->second.erase(one);
        left.push_back(pid);
      }
      if (g->second.empty()) it->second.groups.erase(g);
      remove_remote(group, left);
    }
  }

  // Remote members joined or left the table; the monitors hear of it.
  void add_remote(const Term& group, const std::vector<Pid>& pids) {
    if (pids.empty()) return;
    {
      ExclusiveLock lock(table_->mutex);
      Members& m = table_->groups[group];
      m.all.insert(m.all.begin(), pids.begin(), pids.end());
    }
    notify(Notification::join, group, pids);
  }
  void remove_remote(const Term& group, const std::vector<Pid>& pids) {
    if (pids.empty()) return;
    {
      ExclusiveLock lock(table_->mutex);
      remove_members(group, pids, false);
    }
    notify(Notification::leave, group, pids);
  }

  // Under the table's write lock. `local`: the pids are this node's members (else a peer's,
  // which never touch the local list, whatever pids a peer sends).
  void remove_members(const Term& group, std::span<const Pid> pids, bool local = true) {
    auto it = table_->groups.find(group);
    if (it == table_->groups.end()) return;
    for (Pid pid : pids) {
      erase_one(it->second.all, pid);
      if (local) erase_one(it->second.local, pid);
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
  std::unordered_map<Pid, Peer> remote_;  // the peer scopes, each monitored
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
