#include "ambitious/dist/nodes.hpp"

#include <memory>
#include <mutex>

#include "ambitious/core/node.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/send.hpp"
#include "net_kernel.hpp"
#include "rpc_service.hpp"
#include "running_node.hpp"

namespace ambitious::dist {

namespace {

bool has(NodeSet set, NodeSet bit) {
  return (static_cast<std::uint8_t>(set) & static_cast<std::uint8_t>(bit)) != 0;
}

// What the node's thread posts to a process waiting in connect().
struct ConnectReply {
  Ref ref;
  bool ok = false;
};

// The node dist::start started.
std::mutex started_mutex;
std::unique_ptr<Node> started;

}  // namespace

Task<std::expected<void, NodeError>> start(NodeOptions options) {
  ambitious::detail::check_in_process("dist::start");
  // Registering with epmd blocks for a moment: on the blocking pool, not a worker.
  auto job = blocking([o = std::move(options)]() mutable { return Node::start(std::move(o)); });
  auto n = co_await job;
  if (!n) co_return std::unexpected(std::move(n.error()));
  detail::start_net_kernel(/*report_up=*/true);
  detail::start_rpc_server();
  std::lock_guard lock(started_mutex);
  started = std::move(*n);
  co_return std::expected<void, NodeError>();
}

Task<bool> stop() {
  ambitious::detail::check_in_process("dist::stop");
  std::unique_ptr<Node> n;
  {
    std::lock_guard lock(started_mutex);
    n = std::move(started);
  }
  if (!n) co_return false;
  auto job = blocking([&n] { n.reset(); });  // joins the node's thread
  co_await job;
  co_return true;
}

Atom node() noexcept { return nodes::get(nodes::local).name; }

std::vector<Atom> nodes(NodeSet which) {
  std::vector<Atom> out;
  if (has(which, NodeSet::this_node)) out.push_back(node());
  for (const auto& p : detail::running_peers())
    if (has(which, p.hidden ? NodeSet::hidden : NodeSet::visible)) out.emplace_back(p.name);
  return out;
}

void monitor_node(Atom node, bool on) {
  ambitious::detail::check_in_process("dist::monitor_node");
  Pid kernel = detail::net_kernel_pid();
  if (kernel.is_null()) throw BadArg("dist::monitor_node: this node is not alive (notalive)");
  send(kernel, detail::MonitorNodeRequest{self(), node, on});
}

bool monitor_nodes(bool on, NodeMonitorOptions options) {
  ambitious::detail::check_in_process("dist::monitor_nodes");
  detail::subscribe_nodes(on, options);
  return true;
}

bool set_cookie(Atom node, std::string cookie) {
  if (cookie.empty()) throw BadArg("dist::set_cookie: an empty cookie");
  return detail::set_running_cookie(node.name(), std::move(cookie));
}

Task<bool> connect(Atom node) {
  ambitious::detail::check_in_process("dist::connect");
  if (node == dist::node()) co_return !detail::net_kernel_pid().is_null();
  const auto setuptime = detail::running_setuptime();
  Ref ref = make_ref();
  Pid me = self();
  if (!detail::connect_running(std::string(node.name()), [me, ref](bool ok) {
        post(me, ConnectReply{ref, ok});
      }))
    co_return false;
  // The node answers within twice net_setuptime (the epmd lookup, then the connection and its
  // handshake, each bounded by it), unless it stops meanwhile, which may drop the question:
  // wait no longer than that, and a second more.
  auto reply = co_await receive_if<ConnectReply>(
      [&](const ConnectReply& r) { return r.ref == ref; }, 2 * setuptime + std::chrono::seconds(1));
  co_return reply && reply->ok;
}

}  // namespace ambitious::dist

namespace ambitious {

namespace {

const Atom nodeup_atom("nodeup");
const Atom nodedown_atom("nodedown");

Term info_term(const dist::NodeInfo& info) {
  std::vector<Term> items;
  if (info.nodedown_reason)
    items.push_back(Term::tuple(Atom("nodedown_reason"), *info.nodedown_reason));
  if (info.node_type)
    items.push_back(Term::tuple(
        Atom("node_type"), Atom(*info.node_type == dist::NodeType::hidden ? "hidden" : "visible")));
  return Term::list_from(std::span<Term>(items));
}

std::expected<dist::NodeInfo, CodecError> info_from(const Term& t) {
  dist::NodeInfo info;
  if (!t.is_list()) return std::unexpected(CodecError{"[2]", "expected a list"});
  for (Term rest = t; rest.is_cons(); rest = rest.tail()) {
    const Term& item = rest.head();
    if (!item.is_tuple() || item.size() != 2 || !item[0].is_atom()) continue;  // OTP may add more
    if (item[0] == Term(Atom("nodedown_reason"))) {
      info.nodedown_reason = item[1];
    } else if (item[0] == Term(Atom("node_type")) && item[1].is_atom()) {
      if (item[1] == Term(Atom("visible")))
        info.node_type = dist::NodeType::visible;
      else if (item[1] == Term(Atom("hidden")))
        info.node_type = dist::NodeType::hidden;
    }
  }
  return info;
}

// {Tag, Node} or {Tag, Node, Info}.
template <class T>
std::expected<T, CodecError> node_event_from(const Term& t, Atom tag) {
  if (!t.is_tuple() || (t.size() != 2 && t.size() != 3) || t[0] != Term(tag))
    return std::unexpected(CodecError{"", "expected {" + std::string(tag.name()) + ", Node} or {" +
                                              std::string(tag.name()) + ", Node, Info}"});
  if (!t[1].is_atom()) return std::unexpected(CodecError{"[1]", "expected an atom"});
  T v{t[1].as_atom(), std::nullopt};
  if (t.size() == 3) {
    auto info = info_from(t[2]);
    if (!info) return std::unexpected(info.error());
    v.info = std::move(*info);
  }
  return v;
}

template <class T>
Term node_event_term(const T& v, Atom tag) {
  if (!v.info) return Term::tuple(tag, v.node);
  return Term::tuple(tag, v.node, info_term(*v.info));
}

}  // namespace

Term Codec<dist::NodeUp>::to_term(const dist::NodeUp& v) { return node_event_term(v, nodeup_atom); }
std::expected<dist::NodeUp, CodecError> Codec<dist::NodeUp>::from_term(const Term& t) {
  return node_event_from<dist::NodeUp>(t, nodeup_atom);
}
Term Codec<dist::NodeDown>::to_term(const dist::NodeDown& v) {
  return node_event_term(v, nodedown_atom);
}
std::expected<dist::NodeDown, CodecError> Codec<dist::NodeDown>::from_term(const Term& t) {
  return node_event_from<dist::NodeDown>(t, nodedown_atom);
}

}  // namespace ambitious
