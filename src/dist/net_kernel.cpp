#include "net_kernel.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "ambitious/core/node.hpp"
#include "ambitious/naming/global.hpp"
#include "ambitious/process/detail/alias.hpp"
#include "ambitious/process/detail/node_watch.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "running_node.hpp"

namespace ambitious::dist::detail {

namespace {

const Atom net_kernel_name("net_kernel");
const Atom nodeup_atom("nodeup");
const Atom nodedown_atom("nodedown");

// What the node's thread posts.
struct NodeEvent {
  Atom node;
  bool up = false;
  bool hidden = false;
  Atom reason;
};
struct ConnectOutcome {
  Atom node;
  bool ok = false;
};
struct StopKernel {};

// The running net_kernel. Set by start_net_kernel, cleared by the process itself as it ends (or
// is destroyed with its runtime). What is posted to it is posted under the lock: a runtime's
// teardown destroys the kernel (and takes the lock) only after such a post, so a pid of a
// runtime that is gone is never posted to (the next runtime may give that pid to another).
std::mutex slot_mutex;
Pid slot;

Pid current() {
  std::lock_guard lock(slot_mutex);
  return slot;
}

template <class T>
void post_to_kernel(T message) {
  std::lock_guard lock(slot_mutex);
  if (!slot.is_null()) post(slot, std::move(message));
}

// Clears the slot when the kernel's frame goes, however it ends.
struct SlotGuard {
  Pid me;
  ~SlotGuard() {
    std::lock_guard lock(slot_mutex);
    if (slot == me) slot = Pid();
  }
};

Term type_term(bool hidden) { return Term(Atom(hidden ? "hidden" : "visible")); }

// NodeMonitorOptions as the runtime keeps them (NodeSubscription::options): node_type in the
// low two bits (0: absent, else Types + 1), nodedown_reason in bit 2.
std::uint8_t encode(const NodeMonitorOptions& o) {
  std::uint8_t bits = o.node_type ? static_cast<std::uint8_t>(*o.node_type) + 1 : 0;
  return o.nodedown_reason ? bits | 4 : bits;
}
NodeMonitorOptions decode(std::uint8_t bits) {
  NodeMonitorOptions o;
  if ((bits & 3) != 0) o.node_type = static_cast<NodeMonitorOptions::Types>((bits & 3) - 1);
  o.nodedown_reason = (bits & 4) != 0;
  return o;
}

// Tells the monitor_nodes subscribers, which the runtime keeps (they outlive net_kernel).
void report(Atom node, bool up, bool hidden, Atom reason) {
  for (const auto& s : ambitious::detail::node_subscriptions()) {
    const NodeMonitorOptions options = decode(s.options);
    using T = NodeMonitorOptions::Types;
    const T types = options.node_type.value_or(T::visible);
    if (types != T::all && (types == T::hidden) != hidden) continue;
    const Atom tag = up ? nodeup_atom : nodedown_atom;
    if (!options.with_info()) {
      send(s.who, Term::tuple(tag, node));
      continue;
    }
    std::vector<Term> info;
    if (!up && options.nodedown_reason)
      info.push_back(Term::tuple(Atom("nodedown_reason"), reason));
    if (options.node_type) info.push_back(Term::tuple(Atom("node_type"), type_term(hidden)));
    send(s.who, Term::tuple(tag, node, Term::list_from(std::span<Term>(info))));
  }
}

class Kernel {
 public:
  explicit Kernel(Atom me) : me_(me) {}

  bool stopping = false;

  // Distribution stops: the peers still up go down (the node's thread reported them already,
  // unless their reports were lost), then this node, all for net_kernel_terminated as OTP.
  void stop() {
    stopping = true;
    const Atom reason("net_kernel_terminated");
    auto left = up_;
    for (const auto& [node, hidden] : left) on(NodeEvent{node, false, hidden, reason});
    report(me_, false, false, reason);
  }

  // A message from another node: the `{is_auth, Node}` call of net_adm:ping is answered
  // `yes` (the handshake proved the cookie already); anything else is dropped, as OTP's
  // net_kernel drops what it does not know.
  void on(const Term& m) {
    if (!m.is_tuple() || m.size() != 3 || m[0] != Term(Atom("$gen_call"))) return;
    const Term& from = m[1];
    const Term& request = m[2];
    if (!from.is_tuple() || from.size() != 2 || !from[0].is_pid()) return;
    if (!request.is_tuple() || request.size() != 2 || request[0] != Term(Atom("is_auth"))) return;
    const Term& tag = from[1];
    Term reply = Term::tuple(tag, Atom("yes"));
    // [alias | Ref] (OTP 24+): the reply goes to the alias; a plain ref: to the pid.
    if (tag.is_cons() && tag.head() == Term(Atom("alias")) && tag.tail().is_ref())
      ambitious::detail::send_to_alias(from[0].as_pid(), tag.tail().as_ref(),
                                       ambitious::detail::make_message<Term>(std::move(reply)));
    else
      send(from[0].as_pid(), std::move(reply));
  }

  void on(const MonitorNodeRequest& r) {
    if (r.node == nodes::get(nodes::local).name) return;  // this node never goes down alone
    if (!r.on) {
      auto it = node_monitors_.find(r.node);
      if (it == node_monitors_.end()) return;
      auto& who = it->second;
      auto one = std::find(who.begin(), who.end(), r.who);
      if (one == who.end()) return;
      who.erase(one);
      if (who.empty()) node_monitors_.erase(it);
      unwatch(r.who);
      return;
    }
    node_monitors_[r.node].push_back(r.who);
    watch(r.who);
    if (connected(r.node) || dialing_.contains(r.node)) return;
    // Not connected: dial, as monitor_node does; a failure fires the monitors at once. The
    // node's thread answers with ConnectOutcome.
    dialing_[r.node] = true;
    Atom node = r.node;
    if (!connect_running(std::string(node.name()), [node](bool ok) {
          post_to_kernel(ConnectOutcome{node, ok});
        }))
      on(ConnectOutcome{node, false});
  }

  void on(const NodeEvent& e) {
    if (e.up) {
      up_[e.node] = e.hidden;
    } else {
      up_.erase(e.node);
      fire_node_monitors(e.node);
    }
    // The process layer's watchers (pg's scopes) hear of every node, hidden ones too.
    ambitious::detail::node_changed(e.node, e.up);
    report(e.node, e.up, e.hidden, e.reason);
  }

  void on(const ConnectOutcome& o) {
    dialing_.erase(o.node);
    // Connected: the monitors wait for its nodedown. Not: they fire now (unless the node came
    // up meanwhile by another way, and is connected after all).
    if (!o.ok && !connected(o.node)) fire_node_monitors(o.node);
  }

  void on(const Down& d) {
    if (watched_.erase(d.pid) == 0) return;
    for (auto it = node_monitors_.begin(); it != node_monitors_.end();) {
      std::erase(it->second, d.pid);
      it = it->second.empty() ? node_monitors_.erase(it) : std::next(it);
    }
  }

 private:
  struct Watch {
    Ref ref;
    std::size_t uses = 0;
  };

  static bool connected(Atom node) {
    auto peers = running_peers();
    return std::any_of(peers.begin(), peers.end(),
                       [&](const ConnectedPeer& p) { return p.name == node.name(); });
  }

  // Each monitor_node fires once, one message per call that made it.
  void fire_node_monitors(Atom node) {
    auto it = node_monitors_.find(node);
    if (it == node_monitors_.end()) return;
    std::vector<Pid> who = std::move(it->second);
    node_monitors_.erase(it);
    for (Pid p : who) {
      send(p, Term::tuple(nodedown_atom, node));
      unwatch(p);
    }
  }

  // One monitor per subscriber, however many subscriptions it holds.
  void watch(Pid p) {
    Watch& w = watched_[p];
    if (w.uses++ == 0) w.ref = monitor(p);
  }
  void unwatch(Pid p) {
    auto it = watched_.find(p);
    if (it == watched_.end() || --it->second.uses > 0) return;
    demonitor(it->second.ref);
    watched_.erase(it);
  }

  std::map<Atom, std::vector<Pid>> node_monitors_;  // monitor_node: a pid once per call
  std::map<Atom, bool> up_;                         // the peers up now: hidden or not
  Atom me_;                                         // this node, as it was at start
  std::unordered_map<Pid, Watch> watched_;
  std::map<Atom, bool> dialing_;
};

Task<> kernel_body(Atom me) {
  SlotGuard guard{self()};
  Kernel k(me);
  while (!k.stopping) {
    co_await receive([&](MonitorNodeRequest r) { k.on(r); }, [&](NodeEvent e) { k.on(e); },
                     [&](ConnectOutcome o) { k.on(o); }, [&](Down d) { k.on(d); },
                     [&](StopKernel) { k.stop(); }, [&](Term m) { k.on(m); });
  }
}

}  // namespace

void start_net_kernel(bool report_up) {
  // This node's name now: the kernel may first run after a quick stop cleared it.
  const Atom me = nodes::get(nodes::local).name;
  Pid pid = spawn([me] { return kernel_body(me); });
  register_name(net_kernel_name, pid);
  // This node is up (a visible node, even a hidden one, as OTP reports it at start), before
  // the slot is set: the kernel's reports of peers, which need the slot, come after this.
  if (report_up) report(me, true, false, Atom());
  std::lock_guard lock(slot_mutex);
  slot = pid;
  // The global name server runs beside net_kernel, so that peers find it from the first nodeup.
  global::detail::ensure_server();
}

void stop_net_kernel() noexcept {
  std::lock_guard lock(slot_mutex);  // see slot_mutex
  Pid pid = std::exchange(slot, Pid());
  if (pid.is_null()) return;
  try {
    if (in_process())
      send(pid, StopKernel{});
    else
      post(pid, StopKernel{});
  } catch (...) {
    // Only an allocation failure: the kernel then ends with its runtime.
  }
}

Pid net_kernel_pid() noexcept { return current(); }

void subscribe_nodes(bool on, const NodeMonitorOptions& options) {
  if (on)
    ambitious::detail::subscribe_nodes(encode(options));
  else
    ambitious::detail::unsubscribe_nodes(encode(options));
}

void net_kernel_up(const std::string& node, bool hidden) noexcept {
  post_to_kernel(NodeEvent{Atom(node), true, hidden, Atom()});
}

void net_kernel_down(const std::string& node, bool hidden, Atom reason) noexcept {
  post_to_kernel(NodeEvent{Atom(node), false, hidden, reason});
}

}  // namespace ambitious::dist::detail
