#pragma once
// The epmd client: register a node (and keep the registration), resolve a peer, list names.
// Blocking calls with a timeout, for tools, tests and start-up; the node's I/O thread uses the
// same conversations asynchronously.

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "ambitious/core/chrono.hpp"
#include "ambitious/dist/epmd_codec.hpp"

namespace ambitious::dist::epmd {

/// Why a conversation with epmd failed.
enum class ClientErrc : std::uint8_t {
  unreachable,     ///< no epmd answers there (connection refused, unknown host, no route)
  timeout,         ///< epmd did not answer in time
  closed,          ///< epmd closed the connection before it answered
  bad_response,    ///< epmd's answer did not decode
  name_taken,      ///< ALIVE2: a node of that name is registered already
  not_registered,  ///< PORT_PLEASE2: no node of that name is registered
  io,              ///< another socket error
};

/// Text of a ClientErrc.
std::string_view to_string(ClientErrc e) noexcept;

/// A failed conversation: what, and the system's or the decoder's words for it.
struct ClientError {
  ClientErrc code = ClientErrc::io;  ///< what failed
  std::string detail;                ///< the system's or the decoder's words
};
/// "unreachable: Connection refused".
std::string to_string(const ClientError& e);

/// Where an epmd listens.
struct Address {
  std::string host = "127.0.0.1";     ///< host name or address
  std::uint16_t port = default_port;  ///< TCP port (ERL_EPMD_PORT's default 4369)
};

/// The port of `text` (1 to 65535, decimal digits only), or nothing.
std::optional<std::uint16_t> parse_port(std::string_view text) noexcept;
/// ERL_EPMD_PORT when it is set, else 4369 (as erl and epmd read it). Throws
/// std::invalid_argument when ERL_EPMD_PORT is set to something that is not a port.
std::uint16_t configured_port();

/// A node's registration, held as OTP's erl_epmd holds it: it lasts while the connection to
/// epmd stays open, and close() or the destructor ends it. Owner only.
class Registration {
 public:
  /// Takes over `other`'s registration.
  Registration(Registration&& other) noexcept;
  /// Ends this registration and takes over `other`'s.
  Registration& operator=(Registration&& other) noexcept;
  /// Ends the registration.
  ~Registration();

  /// The creation epmd gave this registration (32 bits from an OTP 23+ epmd).
  std::uint32_t creation() const noexcept { return creation_; }
  /// True once epmd has closed the connection (the registration is gone) or close() was
  /// called; never blocks.
  bool lost();
  /// Unregisters (closes the connection).
  void close() noexcept;

 private:
  struct Socket;
  friend std::expected<Registration, ClientError> register_node(const Address&, const NodeEntry&,
                                                                std::chrono::milliseconds);
  Registration(std::unique_ptr<Socket> socket, std::uint32_t creation) noexcept;
  std::unique_ptr<Socket> socket_;
  std::uint32_t creation_ = 0;
};

/// Registers `node` (ALIVE2_REQ) with the epmd at `at`; `name_taken` when the name is in use.
std::expected<Registration, ClientError> register_node(const Address& at, const NodeEntry& node,
                                                       std::chrono::milliseconds timeout);
/// Where the node `alive` listens (PORT_PLEASE2_REQ); `not_registered` when epmd knows none.
std::expected<NodeEntry, ClientError> port_please(const Address& at, std::string_view alive,
                                                  std::chrono::milliseconds timeout);
/// The names registered with the epmd at `at` (NAMES_REQ), as net_adm:names/1.
std::expected<NamesResponse, ClientError> names(const Address& at,
                                                std::chrono::milliseconds timeout);

}  // namespace ambitious::dist::epmd
