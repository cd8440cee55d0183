#pragma once
// The epmd protocol (erts/doc/guides/erl_dist_protocol.md, "EPMD Protocol"): the requests a node
// sends to the port mapper and the responses, as typed values and bytes. No I/O here: the
// client (epmd_client.hpp) and the embedded server (epmd_server.hpp) move the bytes.
//
//   request            bytes after the 2-byte length           response
//   ALIVE2_REQ         120 Port(2) Type Proto Hi(2) Lo(2)       ALIVE2_X_RESP 118 Result
//   Creation(4)
//                      Nlen(2) Name Elen(2) Extra               (old epmd: ALIVE2_RESP 121 Result
//                                                                Creation(2)); the socket stays
//                                                                open: closing it unregisters
//   PORT_PLEASE2_REQ   122 Name                                 PORT2_RESP 119 Result [Port(2) Type
//                                                                Proto Hi(2) Lo(2) Nlen(2) Name
//                                                                Elen(2) Extra], then close
//   NAMES_REQ          110                                      epmd's port (4), then one line
//                                                                "name <alive> at port <n>\n" per
//                                                                node, then close
//   KILL_REQ           107                                      "OK" or "NO", then close
//
// Requests carry a 2-byte length prefix, responses none (their end is their size or the close).
// Multi-byte integers are big-endian. Names are the alive part of a node name (`x` for
// `x@host`), UTF-8, 1 to 255 characters, without NUL.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ambitious/dist/wire_error.hpp"

namespace ambitious::dist::epmd {

/// epmd's port when ERL_EPMD_PORT does not say otherwise.
inline constexpr std::uint16_t default_port = 4369;
/// The distribution version of the OTP 23+ handshake (ERL_DIST_VER_HIGH/LOW of OTP 25).
inline constexpr std::uint16_t dist_version = 6;
/// Protocol byte of TCP/IPv4, the only one epmd knows.
inline constexpr std::uint8_t protocol_tcp_ipv4 = 0;
/// Longest name epmd accepts, in bytes (255 characters of up to 4 bytes), and longest Extra.
inline constexpr std::size_t max_name_bytes = 255 * 4;
inline constexpr std::size_t max_extra_bytes = 255 * 4;

/// The first byte of each message.
namespace tag {
///@{
/// A message tag, named as in erl_epmd.hrl.
inline constexpr std::uint8_t alive2_req = 120;
inline constexpr std::uint8_t alive2_x_resp = 118;
inline constexpr std::uint8_t alive2_resp = 121;
inline constexpr std::uint8_t port_please2_req = 122;
inline constexpr std::uint8_t port2_resp = 119;
inline constexpr std::uint8_t names_req = 110;
inline constexpr std::uint8_t kill_req = 107;
///@}
}  // namespace tag

/// How a node registers: visible in nodes() of its peers, or hidden.
enum class NodeType : std::uint8_t { hidden = 72, normal = 77 };

/// A registration: what ALIVE2_REQ tells epmd and PORT2_RESP tells a peer.
struct NodeEntry {
  std::string name;                           ///< the alive part of the node name
  std::uint16_t port = 0;                     ///< the node's distribution port
  NodeType type = NodeType::hidden;           ///< any byte round-trips; epmd does not interpret it
  std::uint8_t protocol = protocol_tcp_ipv4;  ///< 0: TCP/IPv4
  std::uint16_t highest_version = dist_version;  ///< newest distribution version spoken
  std::uint16_t lowest_version = dist_version;   ///< oldest distribution version spoken
  std::string extra;                             ///< opaque bytes
  friend bool operator==(const NodeEntry&, const NodeEntry&) = default;
};

/// ALIVE2_REQ: register `node`.
struct Alive2Request {
  NodeEntry node;  ///< the registration asked for
  friend bool operator==(const Alive2Request&, const Alive2Request&) = default;
};
/// PORT_PLEASE2_REQ: where does `name` listen?
struct PortPlease2Request {
  std::string name;  ///< the alive part of the node name
  friend bool operator==(const PortPlease2Request&, const PortPlease2Request&) = default;
};
/// NAMES_REQ: every registered name and its port.
struct NamesRequest {
  friend bool operator==(const NamesRequest&, const NamesRequest&) = default;
};
/// KILL_REQ: stop epmd (refused while nodes are registered).
struct KillRequest {
  friend bool operator==(const KillRequest&, const KillRequest&) = default;
};
using Request = std::variant<Alive2Request, PortPlease2Request, NamesRequest, KillRequest>;

/// ALIVE2_X_RESP (or, `extended` false, the ALIVE2_RESP of an epmd older than OTP 23, whose
/// creation has 16 bits). Result 0 is success; anything else means the name is taken.
struct Alive2Response {
  std::uint8_t result = 0;     ///< 0: registered
  std::uint32_t creation = 0;  ///< the creation of the registration
  bool extended = true;        ///< ALIVE2_X_RESP (false: the old ALIVE2_RESP)
  friend bool operator==(const Alive2Response&, const Alive2Response&) = default;
};
/// PORT2_RESP: the registration of the name asked for, or a nonzero result (unknown name).
struct Port2Response {
  std::uint8_t result = 0;  ///< 0: found
  NodeEntry node;           ///< meaningful when result == 0
  friend bool operator==(const Port2Response&, const Port2Response&) = default;
};
/// One line of a NAMES response.
struct NameLine {
  std::string name;        ///< the alive part of the node name
  std::uint32_t port = 0;  ///< its distribution port
  friend bool operator==(const NameLine&, const NameLine&) = default;
};
/// The NAMES response: epmd's own port, then the registered names.
struct NamesResponse {
  std::uint32_t epmd_port = 0;  ///< the port epmd listens on
  std::vector<NameLine> names;  ///< one entry per registered node
  friend bool operator==(const NamesResponse&, const NamesResponse&) = default;
};

/// True for a name epmd registers: valid UTF-8, 1 to 255 characters, no NUL.
bool valid_name(std::string_view name) noexcept;

/// The bytes of `request`, its 2-byte length first. Throws std::invalid_argument when a name or
/// the extra bytes are not valid for epmd (see valid_name, max_extra_bytes).
std::vector<std::uint8_t> encode(const Request& request);
/// The request in `body`, the bytes after the 2-byte length. Refuses unknown tags, bad names,
/// lengths that disagree with the body, and trailing bytes (PORT_PLEASE2_REQ may end in one NUL,
/// which old clients send and epmd ignores).
std::expected<Request, WireError> decode_request(std::span<const std::uint8_t> body);
/// The request at the front of a stream (length prefix first) and the bytes it took; truncated
/// when `bytes` does not hold all of it yet.
std::expected<std::pair<Request, std::size_t>, WireError> decode_request_prefix(
    std::span<const std::uint8_t> bytes);

std::vector<std::uint8_t> encode(const Alive2Response& response);
/// The ALIVE2_X_RESP or ALIVE2_RESP at the front of `bytes` and its size (epmd keeps the socket
/// open, so the response ends where its size says); truncated when incomplete.
std::expected<std::pair<Alive2Response, std::size_t>, WireError> decode_alive2_response(
    std::span<const std::uint8_t> bytes);

std::vector<std::uint8_t> encode(const Port2Response& response);
/// A whole PORT2_RESP (epmd closes the socket after it).
std::expected<Port2Response, WireError> decode_port2_response(std::span<const std::uint8_t> bytes);

std::vector<std::uint8_t> encode(const NamesResponse& response);
/// A whole NAMES response (epmd closes the socket after it). Each line must read
/// "name <alive> at port <n>\n"; a name may itself contain " at port " (the last one counts).
std::expected<NamesResponse, WireError> decode_names_response(std::span<const std::uint8_t> bytes);

}  // namespace ambitious::dist::epmd
