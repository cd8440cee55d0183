#pragma once
// Node life as a process sees it: this node's name, the nodes it is connected to, nodeup and
// nodedown messages, and connecting on purpose. As OTP:
//
//   here                                 OTP 25
//   node()                               node()
//   nodes(), nodes(NodeSet::hidden), ... nodes/0, nodes/1 (visible, hidden, connected, this)
//   monitor_node(Node, true | false)     erlang:monitor_node/2: {nodedown, Node}
//   monitor_nodes(true | false, opts)    net_kernel:monitor_nodes/1,2: {nodeup, Node} and
//                                        {nodedown, Node}, or {nodeup, Node, Info} with options
//   co_await connect(Node)               net_kernel:connect_node/1
//   set_cookie(Node, Cookie)             erlang:set_cookie/2 (a cookie for one peer)
//
// The messages are Terms in the mailbox, OTP's shape, so `receive<Term>()` takes them; NodeUp and
// NodeDown decode them (their Codecs), so `receive<NodeDown>()` takes them too. The
// monitor_node's monitors are kept by the node's `net_kernel` process (src/dist/net_kernel.cpp),
// which monitors each caller and forgets it when it ends; so monitor_node needs a running node
// (dist::start, or a Node started before run()). monitor_nodes' subscriptions are kept by the
// runtime, as OTP's: they hold without distribution and across dist::start and dist::stop, which
// report this node itself up, and at stop each peer then this node down (net_kernel_terminated).
//
// Starting and stopping. Two ways, both with a `net_kernel` process in the runtime:
//   - before run(), for the whole program (erl -name):
//       auto node = dist::Node::start({.name = "a@127.0.0.1", .cookie = "secret"});
//       run(main);   // every runtime started while `node` lives gets its net_kernel first
//   - inside a running program, as net_kernel:start/stop:
//       co_await dist::start({.name = "a@127.0.0.1"}); ... co_await dist::stop();
// (The process layer knows nothing of the dist layer, so RuntimeOptions has no node: starting
// the Node before run() is the way to have distribution "with the runtime".)
//
// A connection is hidden when either side is (this node advertises no PUBLISHED flag unless its
// NodeOptions::flags say so, as erl -hidden): nodes() lists visible peers only, as OTP.
// Write `dist::nodes(...)`: in namespace ambitious, `nodes` is the node table's namespace.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/codec.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/dist/node.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious::dist {

/// net_kernel:start: makes this running program the node `options.name` (Node::start, on the
/// blocking pool), with its net_kernel process; the error Node::start gives otherwise
/// (NodeErrc::already_started when a node runs). Inside a process.
Task<std::expected<void, NodeError>> start(NodeOptions options);
/// net_kernel:stop: closes every connection (nodedown for each) and ends the node that
/// dist::start started; false when it started none (a Node the program holds is stopped by its
/// owner). Inside a process.
Task<bool> stop();

/// This node's name: `nonode@nohost` when it is not distributed (OTP's node()). Any thread.
Atom node() noexcept;

/// Which nodes nodes() lists; combine with `|` (erlang:nodes/1's list of types).
enum class NodeSet : std::uint8_t {
  this_node = 1,                 ///< this node (`this`)
  visible = 2,                   ///< peers over visible connections (nodes/0)
  hidden = 4,                    ///< peers over hidden connections
  connected = visible | hidden,  ///< every connected peer
};
/// Both sets.
constexpr NodeSet operator|(NodeSet a, NodeSet b) noexcept {
  return static_cast<NodeSet>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}

/// The nodes of `which`, connected now (handshake done), sorted; this node first when asked
/// for. Any thread.
std::vector<Atom> nodes(NodeSet which = NodeSet::visible);

/// A peer's kind, as monitor_nodes' `{node_type, T}` reports it.
enum class NodeType : std::uint8_t { visible, hidden };

/// What `{nodeup, Node, Info}` and `{nodedown, Node, Info}` carry (monitor_nodes with options).
struct NodeInfo {
  std::optional<NodeType> node_type;    ///< `{node_type, T}`, with the node_type option
  std::optional<Term> nodedown_reason;  ///< `{nodedown_reason, R}`, nodedown only
};

/// `{nodeup, Node}`, or `{nodeup, Node, Info}` for a subscription with options.
struct NodeUp {
  Atom node;                     ///< the peer
  std::optional<NodeInfo> info;  ///< the Info list, for a subscription with options
};

/// `{nodedown, Node}` (monitor_node, monitor_nodes), or `{nodedown, Node, Info}`.
struct NodeDown {
  Atom node;                     ///< the peer
  std::optional<NodeInfo> info;  ///< the Info list, for a subscription with options
};

/// Which peers a monitor_nodes subscription reports (net_kernel:monitor_nodes/2's options).
struct NodeMonitorOptions {
  /// `{node_type, visible | hidden | all}`: the kinds reported, and the Info names the kind;
  /// absent: visible peers only, and no node_type in the Info.
  enum class Types : std::uint8_t { visible, hidden, all };
  std::optional<Types> node_type;  ///< see Types
  bool nodedown_reason = false;    ///< `nodedown_reason`: nodedown's Info names why
  /// True when a message carries an Info list (any option given), as OTP.
  bool with_info() const noexcept { return node_type.has_value() || nodedown_reason; }
  friend bool operator==(const NodeMonitorOptions&, const NodeMonitorOptions&) = default;
};

/// erlang:monitor_node/2. `on`: the calling process gets `{nodedown, Node}` once when the
/// connection to `node` goes, or at once when it cannot be set up (it is dialed when not
/// connected); each call is one more monitor, and one message. `!on` removes one. Ended with
/// the process. Throws BadArg when this node is not distributed (OTP's `notalive`). Inside a
/// process.
void monitor_node(Atom node, bool on);

/// net_kernel:monitor_nodes/1,2. `on`: one more subscription to `{nodeup, Node}` and
/// `{nodedown, Node}` for every peer `options` selects (Info forms with options); `!on` ends
/// every subscription of the caller with the same options. Ended with the process. True: the
/// runtime keeps the subscription, distributed or not; distribution starting reports this node
/// up (`{node_type, visible}`), stopping reports each peer and then this node down
/// (`net_kernel_terminated`), as OTP. Inside a process.
bool monitor_nodes(bool on, NodeMonitorOptions options = {});

/// erlang:set_cookie/2: the handshakes with `node`, as initiator and acceptor, prove and check
/// `cookie` instead of this node's own from now on (a connection up already stays); with
/// node() itself, this node's own cookie is `cookie` from now on, for every peer without one of
/// its own. False when this node is not distributed; throws BadArg when `cookie` is empty. Any
/// thread.
bool set_cookie(Atom node, std::string cookie);

/// net_kernel:connect_node/1: connects to `node` unless connected; true once connected, false
/// when it cannot be reached, refuses us, this node is not distributed or stops meanwhile
/// (within about twice net_setuptime: the epmd lookup, then the handshake). Waits in the calling
/// process only (the scheduler goes on). Inside a process.
Task<bool> connect(Atom node);

}  // namespace ambitious::dist

namespace ambitious {

/// `{nodeup, Node}` / `{nodeup, Node, Info}`.
template <>
struct Codec<dist::NodeUp> {
  /// The message of `v`.
  static Term to_term(const dist::NodeUp& v);
  /// `t` as a NodeUp, or why it is not one.
  static std::expected<dist::NodeUp, CodecError> from_term(const Term& t);
};
/// `{nodedown, Node}` / `{nodedown, Node, Info}`.
template <>
struct Codec<dist::NodeDown> {
  /// The message of `v`.
  static Term to_term(const dist::NodeDown& v);
  /// `t` as a NodeDown, or why it is not one.
  static std::expected<dist::NodeDown, CodecError> from_term(const Term& t);
};

}  // namespace ambitious
