// global: the name server of each node (registrations through the leader, the table copy every
// node keeps, holders' ends, nodedown, and the exchange and conflict settling when name servers
// meet) and the direct table reads.

#include "ambitious/naming/global.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "ambitious/naming/detail/shared_spin_mutex.hpp"
#include "ambitious/process/detail/node_watch.hpp"
#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/spawn.hpp"

namespace ambitious::global {
namespace {

using ambitious::detail::SharedLock;
using ambitious::detail::SharedSpinMutex;

const Atom server_name("ambitious_global");
const Atom random_exit_atom("random_exit_name");
const Atom random_notify_atom("random_notify_name");
const Atom notify_all_atom("notify_all_name");
const Atom conflict_atom("global_name_conflict");

// The messages between name servers (plain sends of terms):
//   {discover, Server}                        to {ambitious_global, Node} on nodeup, and back
//   {sync, Server, [{Name, Pid, Method}]}     the names this node's processes hold
//   {reg, Name, Pid, Method, From, Tag}       to the leader: register, answer From
//   {unreg, Name, From, Tag}                  to the leader: unregister, answer From
//   {add, Name, Pid, Method}                  to every peer: Name is Pid's now
//   {del, Name, Pid}                          to every peer: Name is no longer Pid's
//   {answer, Tag, Yes}                        the leader's answer, after its add or del
//   {conflict, Server, Name, Pid, Method}     to the settling node: this node holds Name for
//                                             Pid (of a third node) where the settler's sync
//                                             says one of its own processes holds it
const Atom discover_atom("discover");
const Atom sync_atom("sync");
const Atom reg_atom("reg");
const Atom unreg_atom("unreg");
const Atom add_atom("add");
const Atom del_atom("del");
const Atom answer_atom("answer");
const Atom conflict_tag("conflict");

struct Entry {
  Pid pid;
  Atom method;
};

// A node's table: written by its name server only, read by anyone (OTP's protected ETS table).
struct Table {
  std::unordered_map<Term, Entry> names;
};

// The running name server's table (one name server per program: one node), behind a lock
// striped by thread: a lookup takes its own thread's stripe shared (no reference count to bump
// and no lock word shared with readers on other threads, which would bounce one cache line
// between cores on every lookup); the name server, which writes rarely, takes every stripe.
struct alignas(64) Stripe {
  SharedSpinMutex mutex;
};
constexpr std::size_t stripes = 16;
struct Slot {
  std::array<Stripe, stripes> stripe;
  std::shared_ptr<Table> table;
};
Slot& slot() {
  static Slot s;
  return s;
}

SharedSpinMutex& my_stripe() {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % stripes;
  return slot().stripe[mine].mutex;
}

// Holds every stripe exclusively: the name server's writes.
class WriteLock {
 public:
  WriteLock() noexcept {
    for (auto& s : slot().stripe) s.mutex.lock();
  }
  ~WriteLock() {
    for (auto& s : slot().stripe) s.mutex.unlock();
  }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;
};

struct Resolvers {
  std::mutex mutex;
  std::map<Atom, Resolver> by_name;
};
Resolvers& resolvers() {
  static Resolvers r;
  return r;
}

Resolver find_resolver(Atom method) {
  std::lock_guard lock(resolvers().mutex);
  auto it = resolvers().by_name.find(method);
  if (it != resolvers().by_name.end()) return it->second;
  if (method == random_notify_atom)
    return [](const Term& name, Pid a, Pid b) {
      ambitious::send(std::max(a, b), Term::tuple(conflict_atom, name));
      return std::min(a, b);
    };
  if (method == notify_all_atom)
    return [](const Term& name, Pid a, Pid b) {
      ambitious::send(a, Term::tuple(conflict_atom, name, b));
      ambitious::send(b, Term::tuple(conflict_atom, name, a));
      return Pid();
    };
  // random_exit_name, and a name this node does not know (OTP would fail with undef there; a
  // conflict must still end with one holder).
  return [](const Term&, Pid a, Pid b) {
    exit(std::max(a, b), ExitReason(atoms::kill));
    return std::min(a, b);
  };
}

// A caller's request to its node's name server, and the answer.
struct Request {
  Term msg;  // {reg, Name, Pid, Method} or {unreg, Name}
  Pid caller;
  Ref tag;
};
struct Answer {
  Ref tag;
  bool yes = false;
};

bool node_less(Atom a, Atom b) { return a.name() < b.name(); }

class Server {
 public:
  Server() : table_(std::make_shared<Table>()) {
    WriteLock lock;
    slot().table = table_;
  }
  ~Server() {
    WriteLock lock;
    if (slot().table == table_) slot().table = nullptr;
  }

  void start() {
    for (Atom node : ambitious::detail::watch_nodes()) {
      up_.insert(node);
      discover(node);
    }
  }

  // Answers the sync() callers once every connected node's name server is met, or known to
  // be absent (an Erlang node runs none).
  void check_sync() {
    if (sync_waiters_.empty()) return;
    for (Atom n : up_)
      if (!peers_.contains(n) && !without_.contains(n)) return;
    for (const auto& [caller, tag] : sync_waiters_) ambitious::send(caller, Answer{tag, true});
    sync_waiters_.clear();
  }

  void on(const Request& r) {
    const Term& m = r.msg;
    if (m[0] == Term(sync_atom)) {
      sync_waiters_.emplace_back(r.caller, r.tag);
      return;
    }
    if (m[0] == Term(reg_atom)) {
      Pid pid = m[2].as_pid();
      if (!pid.is_local() && !peers_.contains(pid.node())) {
        ambitious::send(r.caller, Answer{r.tag, false});
        return;
      }
    }
    pending_.emplace(r.tag, Pending{r.caller, m});
    forward(r.tag, m);
  }

  void on(const ambitious::detail::NodeChange& c) {
    if (ambitious::detail::is_local_node(c.node)) return;
    if (c.up) {
      up_.insert(c.node);
      discover(c.node);
    } else {
      up_.erase(c.node);
      without_.erase(c.node);
    }
  }

  void on(const Down& d) {
    if (auto p = probes_.find(d.ref); p != probes_.end()) {
      // The node has no name server (noproc), or it went (noconnection), or its server ended.
      if (d.reason.term() == Term(atoms::noproc)) without_.insert(p->second);
      probes_.erase(p);
      return;
    }
    for (auto it = peers_.begin(); it != peers_.end(); ++it) {
      if (it->second.mref != d.ref) continue;
      // A peer's name server ended or its node went down: the names of that node's processes
      // go, and what was waiting for it as leader goes to the new leader.
      Atom gone = it->first;
      peers_.erase(it);
      std::vector<std::pair<Term, Pid>> drop;
      for (const auto& [name, e] : table_->names)
        if (e.pid.node() == gone) drop.emplace_back(name, e.pid);
      for (const auto& [name, pid] : drop) apply_del(name, pid);
      std::vector<Ref> again;
      for (const auto& [tag, p] : pending_)
        if (p.leader == gone) again.push_back(tag);
      for (const Ref& tag : again)
        if (auto p = pending_.find(tag); p != pending_.end()) forward(tag, p->second.msg);
      return;
    }
    auto h = holders_.find(d.pid);
    if (h == holders_.end() || h->second.mref != d.ref) return;
    holders_.erase(h);
    std::vector<Term> names;
    for (const auto& [name, e] : table_->names)
      if (e.pid == d.pid) names.push_back(name);
    for (const Term& name : names) {
      remove(name);
      broadcast(Term::tuple(del_atom, name, d.pid));
    }
  }

  // A message of the protocol from a peer (or from this server to itself); anything of the
  // wrong shape is dropped: a peer never crashes the name server.
  void on(const Term& m) {
    if (!m.is_tuple() || m.size() < 2 || !m[0].is_atom()) return;
    const Term& tag = m[0];
    if (tag == Term(discover_atom) && m.size() == 2 && m[1].is_pid()) {
      on_discover(m[1].as_pid());
    } else if (tag == Term(sync_atom) && m.size() == 3 && m[1].is_pid() && m[2].is_proper_list()) {
      on_sync(m[1].as_pid(), m[2].list_elements());
    } else if (tag == Term(reg_atom) && m.size() == 6 && m[2].is_pid() && m[3].is_atom() &&
               m[4].is_pid()) {
      lead_register(m[1], m[2].as_pid(), m[3].as_atom(), m[4].as_pid(), m[5]);
    } else if (tag == Term(unreg_atom) && m.size() == 4 && m[2].is_pid()) {
      lead_unregister(m[1], m[2].as_pid(), m[3]);
    } else if (tag == Term(add_atom) && m.size() == 4 && m[2].is_pid() && m[3].is_atom()) {
      apply_add(m[1], m[2].as_pid(), m[3].as_atom());
    } else if (tag == Term(del_atom) && m.size() == 3 && m[2].is_pid()) {
      auto it = table_->names.find(m[1]);
      if (it != table_->names.end() && it->second.pid == m[2].as_pid()) remove(m[1]);
    } else if (tag == Term(conflict_tag) && m.size() == 5 && m[1].is_pid() && m[3].is_pid() &&
               m[4].is_atom()) {
      on_conflict(m[1].as_pid(), m[2], m[3].as_pid(), m[4].as_atom());
    } else if (tag == Term(answer_atom) && m.size() == 3 && m[1].is_ref() && m[2].is_atom()) {
      auto it = pending_.find(m[1].as_ref());
      if (it == pending_.end()) return;
      ambitious::send(it->second.caller, Answer{it->first, m[2] == Term(atoms::true_)});
      pending_.erase(it);
    }
  }

 private:
  // This node's name now (a server started before distribution sees the node's name change).
  static Atom me() { return self().node(); }

  struct Peer {
    Pid server;
    Ref mref;
  };
  struct Holder {
    Ref mref;
    int names = 0;
  };
  struct Pending {
    Pid caller;
    Term msg;
    Atom leader;
  };

  Atom leader() const {
    Atom best = me();
    for (const auto& [node, peer] : peers_)
      if (node_less(node, best)) best = node;
    return best;
  }

  // Sends a caller's request to the leader, as {reg, ..., Self, Tag} or {unreg, ..., Self, Tag}.
  void forward(const Ref& tag, const Term& m) {
    Atom l = leader();
    pending_[tag].leader = l;
    std::vector<Term> elems(m.elements().begin(), m.elements().end());
    elems.push_back(self());
    elems.push_back(tag);
    Term out = Term::tuple_from(std::span<Term>(elems));
    if (l == me())
      on(out);
    else
      ambitious::send(peers_.at(l).server, std::move(out));
  }

  // Sends {discover, Self} to the name server of `node`, and monitors it by name: a node with
  // none (noproc) is not waited for by sync().
  void discover(Atom node) {
    RegisteredName there{server_name, node};
    probes_.emplace(monitor(there), node);
    ambitious::send(there, Term::tuple(discover_atom, self()));
  }

  void broadcast(const Term& msg) {
    for (const auto& [node, peer] : peers_) ambitious::send(peer.server, msg);
  }

  // Tells `from` (a name server, maybe this one) the answer to its request `tag`.
  void answer(Pid from, const Term& tag, bool yes) {
    Term msg = Term::tuple(answer_atom, tag, Term(yes ? atoms::true_ : atoms::false_));
    if (from == self())
      on(msg);
    else
      ambitious::send(from, std::move(msg));
  }

  // The leader's part: decide, apply, tell every peer (the requester's node among them, before
  // the answer, so that its table has the name when its caller hears yes).
  void lead_register(const Term& name, Pid pid, Atom method, Pid from, const Term& tag) {
    // As OTP's default (global_multi_name_action deny): a name is one process's, and a process
    // holds one name.
    if (table_->names.contains(name) || held_.contains(pid)) return answer(from, tag, false);
    apply_add(name, pid, method);
    broadcast(Term::tuple(add_atom, name, pid, method));
    answer(from, tag, true);
  }
  void lead_unregister(const Term& name, Pid from, const Term& tag) {
    auto it = table_->names.find(name);
    if (it != table_->names.end()) {
      Pid pid = it->second.pid;
      remove(name);
      broadcast(Term::tuple(del_atom, name, pid));
    }
    answer(from, tag, true);
  }

  void on_discover(Pid peer) {
    if (peer.is_local()) return;
    ambitious::send(peer, Term::tuple(sync_atom, self(), own_names()));
    if (know(peer)) return;
    ambitious::send(peer, Term::tuple(discover_atom, self()));
  }

  // Adds `peer` unless known; false when it was new.
  bool know(Pid peer) {
    auto it = peers_.find(peer.node());
    if (it != peers_.end() && it->second.server == peer) return true;
    if (it != peers_.end()) demonitor(it->second.mref, Flush::yes);
    peers_[peer.node()] = Peer{peer, monitor(peer)};
    return false;
  }

  // The names this node's processes hold, as {Name, Pid, Method}.
  Term own_names() const {
    std::vector<Term> out;
    for (const auto& [name, e] : table_->names)
      if (e.pid.is_local()) out.push_back(Term::tuple(name, e.pid, e.method));
    return Term::list_from(std::span<Term>(out));
  }

  // A peer's names (those of its own processes): new ones are taken; a name held here by
  // another process is a conflict, settled by the node of the smaller pid. A conflict this node
  // cannot settle, between the peer's process and a third node's, may be one the peer does not
  // know of (it settled the name with that third node before it met this one, or never met
  // it): the peer is told, so that its decision reaches this node too.
  void on_sync(Pid peer, const std::vector<Term>& entries) {
    if (peer.is_local()) return;
    know(peer);
    for (const Term& e : entries) {
      if (!e.is_tuple() || e.size() != 3 || !e[1].is_pid() || !e[2].is_atom()) continue;
      const Term& name = e[0];
      Pid theirs = e[1].as_pid();
      auto it = table_->names.find(name);
      if (it == table_->names.end()) {
        apply_add(name, theirs, e[2].as_atom());
        continue;
      }
      Pid ours = it->second.pid;
      if (ours == theirs) continue;
      const Atom settler = std::min(ours, theirs).node();
      if (settler == me()) {
        settle(name, theirs, e[2].as_atom());
      } else if (settler == peer.node() && !ours.is_local() && ours.node() != peer.node()) {
        ambitious::send(peer, Term::tuple(conflict_tag, self(), name, ours, it->second.method));
      }
      // Any other settler: it meets both holders' nodes, and its add or del comes here.
    }
  }

  // A peer holds `name` for `pid` (a third node's process) where this node holds it: settled
  // here when this node is the settler; no conflict any more, nothing to do.
  void on_conflict(Pid peer, const Term& name, Pid pid, Atom method) {
    if (peer.is_local()) return;
    auto it = table_->names.find(name);
    if (it == table_->names.end() || it->second.pid == pid) return;
    if (std::min(it->second.pid, pid).node() != me()) return;
    settle(name, pid, method);
  }

  // `name`, held here by the table's pid, is claimed for `theirs` too; this node (that of the
  // smaller pid) decides with the resolver of the registration and tells every peer. A conflict
  // settled before (reported again by a node that met this one later) gets the same decision,
  // without the resolver again: it kills or tells the loser once.
  void settle(const Term& name, Pid theirs, Atom their_method) {
    auto it = table_->names.find(name);
    const Pid ours = it->second.pid;
    const Pid low = std::min(ours, theirs), high = std::max(ours, theirs);
    Pid keep = low;
    auto past = settled_.find(name);
    if (past != settled_.end() && past->second.low == low && past->second.high == high) {
      keep = past->second.keep;
    } else {
      Atom method = ours.is_local() ? it->second.method : their_method;
      try {
        keep = find_resolver(method)(name, low, high);
      } catch (...) {
        // A resolver that throws keeps the smaller pid, as the default would.
      }
      settled_[name] = Settled{low, high, keep};
    }
    if (keep == ours || keep == theirs) {
      apply_add(name, keep, keep == ours ? it->second.method : their_method);
      broadcast(Term::tuple(add_atom, name, keep, table_->names.at(name).method));
    } else {
      remove(name);
      broadcast(Term::tuple(del_atom, name, ours));
      broadcast(Term::tuple(del_atom, name, theirs));
    }
  }

  // Name is pid's now (replacing any holder); the node of a local holder monitors it.
  void apply_add(const Term& name, Pid pid, Atom method) {
    auto it = table_->names.find(name);
    if (it != table_->names.end()) {
      if (it->second.pid == pid) return;
      remove(name);
    }
    {
      WriteLock lock;
      table_->names[name] = Entry{pid, method};
    }
    ++held_[pid];
    if (!pid.is_local()) return;
    auto [h, fresh] = holders_.try_emplace(pid);
    if (fresh) h->second.mref = monitor(pid);
    ++h->second.names;
  }

  void apply_del(const Term& name, Pid pid) {
    auto it = table_->names.find(name);
    if (it != table_->names.end() && it->second.pid == pid) remove(name);
  }

  void remove(const Term& name) {
    auto it = table_->names.find(name);
    if (it == table_->names.end()) return;
    Pid pid = it->second.pid;
    {
      WriteLock lock;
      table_->names.erase(it);
    }
    if (auto n = held_.find(pid); n != held_.end() && --n->second == 0) held_.erase(n);
    auto h = holders_.find(pid);
    if (h == holders_.end() || --h->second.names > 0) return;
    demonitor(h->second.mref, Flush::yes);
    holders_.erase(h);
  }

  std::shared_ptr<Table> table_;
  std::map<Atom, Peer> peers_;               // by node: the name servers met
  std::unordered_map<Pid, Holder> holders_;  // this node's holders, monitored
  std::unordered_map<Pid, int> held_;        // every holder: its names in the table
  std::map<Ref, Pending> pending_;           // this node's callers waiting for the leader
  std::set<Atom> up_;                        // the nodes connected now
  std::set<Atom> without_;                   // connected nodes that run no name server
  std::map<Ref, Atom> probes_;               // the monitors by name of discover()
  std::vector<std::pair<Pid, Ref>> sync_waiters_;
  // The conflicts this node settled, by name: the two pids and the one kept (a null pid:
  // neither), the last per name.
  struct Settled {
    Pid low, high, keep;
  };
  std::map<Term, Settled> settled_;
};

// Sent by ensure_server once the server holds its name: a server that lost the race to
// register never makes its table current.
struct Start {};

Task<> server_body() {
  co_await receive<Start>();
  Server s;
  s.start();
  for (;;) {
    co_await receive([&](Request r) { s.on(r); }, [&](ambitious::detail::NodeChange c) { s.on(c); },
                     [&](Down d) { s.on(d); }, [&](Term m) { s.on(m); });
    s.check_sync();
  }
}

// Asks this node's name server and waits for its answer (or its end: then no).
Task<bool> ask(Term msg) {
  detail::ensure_server();
  auto pid = ambitious::whereis(server_name);
  if (!pid) co_return false;
  Ref mref = monitor(*pid);
  Ref tag = make_ref();
  ambitious::send(*pid, Request{std::move(msg), self(), tag});
  bool yes = co_await receive(
      match<Answer>([&](const Answer& a) { return a.tag == tag; },
                    [](const Answer& a) { return a.yes; }),
      match<Down>([&](const Down& d) { return d.ref == mref; }, [](const Down&) { return false; }));
  demonitor(mref, Flush::yes);
  co_return yes;
}

class GlobalVia final : public ViaName {
 public:
  explicit GlobalVia(Term name) : name_(std::move(name)) {}
  std::optional<Pid> whereis() const override { return whereis_name(name_); }
  bool register_self(Pid*) const override {
    throw BadArg(
        "global::via: a global name cannot be claimed at once (the leader decides): "
        "co_await global::register_name(name, self())");
  }
  // OTP's {via, global, Name} start: register_name(Name, self()), and `no` is already_started.
  Task<bool> claim(Pid* holder) const override {
    // The answer in a variable: as `if (co_await register_name(name_, self()))`, g++ 12
    // registered a name that was not name_ (the Term argument's copy, a temporary of the
    // co_await's full-expression, mishandled as in GCC bug 101976).
    bool yes = co_await register_name(name_, self());
    if (yes) co_return true;
    if (holder) *holder = whereis_name(name_).value_or(Pid());
    co_return false;
  }
  Term describe() const override { return Term::tuple(Atom("global"), name_); }

 private:
  Term name_;
};

}  // namespace

Atom random_exit_name() { return random_exit_atom; }
Atom random_notify_name() { return random_notify_atom; }
Atom notify_all_name() { return notify_all_atom; }

void register_resolver(Atom method, Resolver resolver) {
  std::lock_guard lock(resolvers().mutex);
  resolvers().by_name[method] = std::move(resolver);
}

Task<bool> register_name(Term name, Pid pid, Atom method) {
  co_return co_await ask(Term::tuple(reg_atom, std::move(name), pid, method));
}

Task<> sync() { co_await ask(Term::tuple(sync_atom)); }

Task<> unregister_name(Term name) { co_await ask(Term::tuple(unreg_atom, std::move(name))); }

std::optional<Pid> whereis_name(const Term& name) {
  SharedLock lock(my_stripe());
  const Table* t = slot().table.get();
  if (!t) return std::nullopt;
  auto it = t->names.find(name);
  if (it == t->names.end()) return std::nullopt;
  return it->second.pid;
}

std::vector<Term> registered_names() {
  std::vector<Term> out;
  SharedLock lock(my_stripe());
  const Table* t = slot().table.get();
  if (!t) return out;
  for (const auto& [name, e] : t->names) out.push_back(name);
  return out;
}

std::shared_ptr<const ViaName> via(Term name) {
  return std::make_shared<GlobalVia>(std::move(name));
}

namespace detail {
void ensure_server() {
  if (ambitious::whereis(server_name)) return;
  Pid pid = spawn([] { return server_body(); });
  try {
    ambitious::register_name(server_name, pid);
  } catch (const BadArg&) {
    // Another process started one first: ours goes before it made anything.
    exit(pid, ExitReason(atoms::kill));
    return;
  }
  ambitious::send(pid, Start{});
}
}  // namespace detail

}  // namespace ambitious::global
