#pragma once
// An embedded epmd: the port mapper a node starts when none answers on the port (as erl starts
// one), so that a cluster of C++ nodes needs no Erlang installed. It serves every node, Erlang
// ones included: `erl -name x@127.0.0.1` registers with it, net_adm:names() and `epmd -names`
// list what it holds.

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "ambitious/core/chrono.hpp"
#include "ambitious/dist/epmd_client.hpp"
#include "ambitious/dist/epmd_codec.hpp"

namespace ambitious::dist::epmd {

/// Why the server could not start.
enum class ServerErrc : std::uint8_t {
  address_in_use,  ///< something listens on the port already (another epmd, most likely)
  io,              ///< another socket error
};

/// A failed start: what, and the system's words for it.
struct ServerError {
  ServerErrc code = ServerErrc::io;  ///< what failed
  std::string detail;                ///< the system's words
};

/// Where and how the server serves.
struct ServerOptions {
  /// The address to listen on; epmd's default is every interface.
  std::string address = "0.0.0.0";
  /// The port (0: any free one, for tests).
  std::uint16_t port = default_port;
  /// Connections served at once; more are closed as soon as accepted.
  std::size_t max_connections = 1024;
  /// A connection that has not sent a whole request by then is closed (registrations are kept
  /// while their connection stays open), as epmd's packet timeout.
  std::chrono::milliseconds packet_timeout = std::chrono::seconds(60);
};

/// The port mapper, serving on a thread of its own, as epmd does: ALIVE2 (from this host only),
/// PORT_PLEASE2, NAMES, KILL (refused with "NO" while nodes are registered, as epmd without
/// -relaxed_command_check; with none it answers "OK" and stops). A registration lasts while its
/// connection stays open. Every member may be called from any thread.
class Server {
 public:
  /// Starts serving on `options.address`, `options.port`; `address_in_use` when the port is
  /// taken (then, most likely, an epmd answers there already).
  static std::expected<std::unique_ptr<Server>, ServerError> start(const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The port it listens on.
  std::uint16_t port() const noexcept;
  /// The names registered now, most recent first (the order of a NAMES response).
  std::vector<NameLine> names() const;
  /// True until stop() or an accepted KILL_REQ.
  bool running() const noexcept;
  /// Closes every connection (ending their registrations) and stops; waits for the thread.
  void stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

/// A registration with the epmd of this host, and the embedded server when the registering node
/// had to start one.
struct LocalRegistration {
  Registration registration;       ///< the node's registration
  std::unique_ptr<Server> server;  ///< null when another epmd answered
};

/// Registers `node` with the epmd on 127.0.0.1:`server.port`, as a node starts: when none
/// answers there, it starts an embedded Server with `server` (listening on `server.address`)
/// and registers with that; when another one wins the race to the port, it registers with that
/// one. The server, if any, serves until the caller drops it (its registrations, other nodes'
/// included, end then).
std::expected<LocalRegistration, ClientError> register_locally(const NodeEntry& node,
                                                               const ServerOptions& server,
                                                               std::chrono::milliseconds timeout);

}  // namespace ambitious::dist::epmd
