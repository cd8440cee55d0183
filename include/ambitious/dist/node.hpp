#pragma once
// Node: this program as a node of an Erlang cluster. start() listens on a TCP port, registers
// with epmd (or starts the embedded one, as erl does) and names this node, so that local pids
// carry its name and creation; stop() undoes it. One connection per peer node, opened on
// demand when something is sent to it, or accepted from it (simultaneous attempts are settled
// as dist_util does: the greater name keeps its own). What peers send to local processes is
// delivered with deliver_term (SEND, SEND_SENDER, REG_SEND). Its `net_kernel` process (started
// inside the calling process's runtime when start() is called in one, and in every runtime that
// starts while the node runs) answers net_kernel's is_auth call, so net_adm:ping from Erlang
// gives pong, and keeps the subscriptions of nodes.hpp. While it runs the node is the process
// layer's way to other nodes (detail::RemoteNodes): links, monitors, exit signals and sends of
// local processes go out as their control messages, those of peers reach the local processes, and a
// lost connection fires every link and monitor over it with `noconnection`.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/chrono.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/dist/flags.hpp"
#include "ambitious/dist/tls.hpp"

namespace ambitious::dist {

namespace detail {
struct RunningNode;
}  // namespace detail

/// QUIC distribution (between ambitious nodes only: Erlang speaks none).
struct QuicDistOptions {
  /// The UDP port to listen on (0: any free one), announced to peers through epmd.
  std::uint16_t port = 0;
};

/// How a node starts.
struct NodeOptions {
  /// The full node name, `alive@host` (a long name: `a@127.0.0.1`).
  std::string name;
  /// The cookie; absent: AMBITIOUS_COOKIE, else ~/.erlang.cookie (Cookie::resolve).
  std::optional<std::string> cookie;
  /// Where to listen for peers.
  std::string listen_address = "127.0.0.1";
  /// The port to listen on (0: any free one).
  std::uint16_t listen_port = 0;
  /// epmd's port on this host; absent: ERL_EPMD_PORT, else 4369.
  std::optional<std::uint16_t> epmd_port;
  /// OTP's net_ticktime.
  std::chrono::milliseconds net_ticktime = std::chrono::seconds(60);
  /// OTP's net_setuptime (the longest a handshake may take, epmd lookup included).
  std::chrono::milliseconds net_setuptime = std::chrono::seconds(7);
  /// The flags advertised.
  Flags flags = default_flags;
  /// The largest message a peer may send (a frame, or a message reassembled from fragments):
  /// a larger one closes that connection, with a log line.
  std::size_t max_message_size = std::size_t{64} << 20;
  /// Bytes on their way to one node (not yet written to its connection) from which a process
  /// sending to it waits until they drain (OTP's busy distribution port).
  std::size_t busy_limit = std::size_t{4} << 20;
  /// TLS distribution (tls.hpp): every connection, both ways, over TLS 1.3 with mutual
  /// verification, as Erlang's `-proto_dist inet_tls`; absent: plain TCP.
  std::optional<TlsOptions> tls;
  /// QUIC to every peer that announces it: one QUIC connection per peer, TLS 1.3 inside it with
  /// the certificates of `tls` (required) verified both ways as for TLS distribution. The node
  /// announces its UDP port in its epmd registration's extra field (`quic=<port>`); a peer
  /// without that announcement (an Erlang node, an ambitious node without QUIC) is spoken to
  /// over TCP as usual, TLS since `tls` is set. A QUIC connection is a distribution connection
  /// like any other: the same messages, signals, ticks and nodedown.
  std::optional<QuicDistOptions> quic;
};

/// Why a node could not start.
enum class NodeErrc : std::uint8_t {
  bad_name,         ///< the name is not `alive@host`
  no_cookie,        ///< no cookie could be found
  listen_failed,    ///< the listening socket could not be opened
  epmd_failed,      ///< registering with epmd failed (the name is taken, for one)
  already_started,  ///< another Node runs in this program
  tls_failed,       ///< the TLS files (CA, certificate, key) could not be loaded
};

/// A failed start: what, and the details.
struct NodeError {
  NodeErrc code = NodeErrc::listen_failed;  ///< what failed
  std::string detail;                       ///< the system's or epmd's words
};

/// This node, distributed. Every member may be called from any thread; the connections run on
/// a thread of the node's own.
class Node {
 public:
  /// Starts distribution under `options.name`; at most one Node runs at a time.
  static std::expected<std::unique_ptr<Node>, NodeError> start(NodeOptions options);
  /// Stops distribution (stop()).
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Closes every connection, unregisters from epmd and stops the node's thread; local pids
  /// are then `nonode@nohost`'s again. Idempotent.
  void stop();

  /// The full node name.
  const std::string& name() const noexcept;
  /// The creation epmd gave this node (local pids carry it).
  std::uint32_t creation() const noexcept;
  /// The port peers connect to.
  std::uint16_t port() const noexcept;

  /// Sends `message` to the pid `to` of another node, from `from` (as `from ! Message`):
  /// connects to that node first when not connected. False when `to` is a local pid or the
  /// node is stopped. Messages from one sender to one receiver arrive in the order sent; when
  /// the node cannot be reached they are dropped, as OTP drops them. As a process's send, it
  /// waits while more than NodeOptions::busy_limit bytes are on their way to that node (a slow
  /// reader blocks the calling thread, and memory stays bounded).
  bool send(Pid from, Pid to, Term message);
  /// Sends `message` to the process registered as `name` on `node` (`{Name, Node} ! Message`),
  /// from `from`; connects first when not connected. False when stopped or `node` is this one.
  /// Waits as send(from, to, message) does.
  bool send(Pid from, Atom name, Atom node, Term message);

  /// Connects to `node` now (as net_kernel:connect_node/1); true once connected, false when
  /// the node cannot be reached or refuses us within `timeout`.
  bool connect(std::string_view node, std::chrono::milliseconds timeout);
  /// Closes the connection to `node` (as erlang:disconnect_node/1): nodedown follows, as for a
  /// lost connection; a later send or connect dials again. False when not connected.
  bool disconnect(std::string_view node);
  /// The nodes connected now (handshake done), sorted.
  std::vector<std::string> connected() const;
  /// What the connection to `node` travels on ("tcp", "tls" or "quic", as
  /// net_kernel:nodes_info/1 names the address protocol), or nothing when not connected.
  std::optional<std::string> carrier(std::string_view node) const;
  /// erlang:set_cookie/2: the handshakes with `node` (a full name), both ways, prove and check
  /// `cookie` instead of the node's own from now on; with this node's own name, the node's own
  /// cookie is `cookie` from now on (for every peer without one of its own). Throws
  /// std::invalid_argument when `cookie` is empty.
  void set_cookie(std::string_view node, std::string cookie);
  /// Calls `f(node, why)` on the node's thread whenever a connection that was up is lost or
  /// closed (nodedown). Replaces the previous callback.
  void on_nodedown(std::function<void(const std::string& node, const std::string& why)> f);

 private:
  friend struct detail::RunningNode;  // the process-facing API's way in (nodes.hpp)
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambitious::dist
