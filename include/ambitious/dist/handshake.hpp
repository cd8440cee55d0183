#pragma once
// Handshake: the OTP 23+ distribution handshake of one connection as a state machine, for both
// sides. It takes the frames the peer sent (handshake_codec.hpp) and returns actions (bytes to
// send, a decision to ask of the node, the end); it does no I/O and reads no clock, so every
// path is testable without a socket. As dist_util.erl:
//
//   initiator (A)                                  acceptor (B)
//   start()        -> Send send_name
//                                                  on_frame(send_name) -> Admit: the node says
//                                                    whether A may connect (see Admission)
//                                                  admit(ok) -> Send status ok, Send challenge
//   on_frame(status ok) -> (wait)
//   on_frame(challenge) -> Send challenge_reply
//                                                  on_frame(reply) -> Send ack, Established
//                                                    (a wrong digest: Failed, and no ack)
//   on_frame(ack)  -> Established (or Failed)
//
// Simultaneous connects: B answers `nok` when its own attempt to A must win (its name is
// greater) and `ok_simultaneous` when it gives its attempt up; `alive` when it is connected to
// A already, and A then answers whether that old connection is dead (confirm_alive). Both
// sides check that the other has the mandatory flags, and A that B is the node it dialed.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ambitious/dist/cookie.hpp"
#include "ambitious/dist/flags.hpp"
#include "ambitious/dist/handshake_codec.hpp"

namespace ambitious::dist {

/// Who this side is, and what it offers.
struct HandshakeSettings {
  std::string this_node;        ///< our full node name
  std::uint32_t creation = 0;   ///< our creation (from epmd)
  Flags flags = default_flags;  ///< the flags we advertise
  Cookie cookie;                ///< the cluster's secret
  /// The initiator: the node dialed (its challenge must come from that name).
  std::string peer;
  /// The cookies of particular peers, by full node name (erlang:set_cookie/2): the handshake
  /// with one of them proves and checks its cookie instead of `cookie`, in either role.
  std::map<std::string, Cookie, std::less<>> peer_cookies;
};

/// The acceptor's answer to "may this node connect?" (mark_pending of dist_util.erl).
enum class Admission : std::uint8_t {
  ok,               ///< no connection to it, no attempt of ours: go on
  ok_simultaneous,  ///< we were connecting to it too, and gave our attempt up (its name wins)
  nok,              ///< we are connecting to it too, and our attempt wins (our name is greater)
  not_allowed,      ///< refused
  alive,            ///< we have a connection to it already: ask it whether that one is dead
};

/// Why a handshake failed.
enum class HandshakeFailure : std::uint8_t {
  bad_frame,        ///< bytes that do not decode, or a message out of turn
  wrong_cookie,     ///< the peer's digest does not match our cookie
  refused,          ///< the peer answered not_allowed (or false to alive)
  missing_flags,    ///< the peer lacks mandatory flags
  wrong_name,       ///< the peer is not the node dialed, or its name is not a node name
  unsupported,      ///< a handshake this node does not speak (OTP 22's, or dynamic names)
  not_admitted,     ///< our node refused the peer (nok, not_allowed, or alive then false)
  peer_connecting,  ///< the peer answered nok: its own connection to us is being made, and wins
};

/// Text of a HandshakeFailure.
std::string_view to_string(HandshakeFailure f) noexcept;

namespace handshake_action {
/// Write these bytes (frames with their lengths) to the peer.
struct Send {
  std::vector<std::uint8_t> bytes;  ///< one or more frames
};
/// Acceptor: the peer `peer` asks to connect; answer with Handshake::admit().
struct Admit {
  std::string peer;            ///< the peer's full node name
  Flags flags = 0;             ///< what the peer advertised
  std::uint32_t creation = 0;  ///< the peer's creation
};
/// Initiator: the peer says we are connected already; answer with Handshake::confirm_alive()
/// (true if our node has no such connection, so the old one is dead).
struct ConfirmAlive {};
/// Acceptor: the peer confirmed that our old connection to it is dead: close that one.
struct ReplaceOld {};
/// The handshake is done: the connection runs on `flags` (both sides' intersection).
struct Established {
  std::string peer;                 ///< the peer's full node name
  Flags flags = 0;                  ///< negotiated
  Flags peer_flags = 0;             ///< what the peer advertised
  std::uint32_t peer_creation = 0;  ///< the peer's creation
};
/// The handshake failed: close the connection (after sending what came before).
struct Failed {
  HandshakeFailure reason;  ///< why
  std::string detail;       ///< for a log line; never holds the cookie
};
}  // namespace handshake_action

using HandshakeAction = std::variant<handshake_action::Send, handshake_action::Admit,
                                     handshake_action::ConfirmAlive, handshake_action::ReplaceOld,
                                     handshake_action::Established, handshake_action::Failed>;

/// One side of one handshake. Owner only (not thread-safe); no I/O, no clock: the carrier
/// bounds its duration (net_setuptime) and feeds it frames.
class Handshake {
 public:
  /// Which side of the handshake.
  enum class Role : std::uint8_t {
    initiator,  ///< A: dialed the peer, sends send_name first
    acceptor,   ///< B: accepted the connection, sends the challenge
  };

  /// `challenge`: this side's random number (the caller draws it, so tests can fix it).
  Handshake(Role role, HandshakeSettings settings, std::uint32_t challenge);

  /// The first actions: the initiator's send_name; nothing for the acceptor.
  std::vector<HandshakeAction> start();
  /// The body of the next frame the peer sent.
  std::vector<HandshakeAction> on_frame(std::span<const std::uint8_t> body);
  /// Acceptor, after Admit: the node's decision.
  std::vector<HandshakeAction> admit(Admission decision);
  /// Initiator, after ConfirmAlive: true to replace the peer's old connection, false to give up.
  std::vector<HandshakeAction> confirm_alive(bool replace);

  /// This side's role.
  Role role() const noexcept { return role_; }
  /// True once Established or Failed was returned.
  bool finished() const noexcept { return state_ == State::done || state_ == State::failed; }
  /// True once Established was returned.
  bool established() const noexcept { return state_ == State::done; }
  /// The peer's name once known (the dialed name for the initiator).
  const std::string& peer() const noexcept { return peer_; }

 private:
  enum class State : std::uint8_t {
    start,
    await_status,     // A
    await_alive_ok,   // A: asked the node about `alive`
    await_challenge,  // A
    await_ack,        // A
    await_name,       // B
    await_admit,      // B: asked the node
    await_alive,      // B: sent `alive`, waiting for true/false
    await_reply,      // B
    done,
    failed,
  };

  std::vector<HandshakeAction> fail(HandshakeFailure why, std::string detail);
  std::vector<HandshakeAction> on_status(std::span<const std::uint8_t> body);
  std::vector<HandshakeAction> on_challenge(std::span<const std::uint8_t> body);
  std::vector<HandshakeAction> on_ack(std::span<const std::uint8_t> body);
  std::vector<HandshakeAction> on_send_name(std::span<const std::uint8_t> body);
  std::vector<HandshakeAction> on_alive_answer(std::span<const std::uint8_t> body);
  std::vector<HandshakeAction> on_reply(std::span<const std::uint8_t> body);
  handshake_action::Send challenge_frame() const;
  // The cookie for the peer (its own, else the cluster's); the acceptor knows the peer from
  // send_name on, before any digest is made or checked.
  const Cookie& cookie() const noexcept;

  Role role_;
  State state_ = State::start;
  HandshakeSettings settings_;
  std::uint32_t my_challenge_;
  std::string peer_;
  Flags peer_flags_ = 0;
  std::uint32_t peer_creation_ = 0;
};

}  // namespace ambitious::dist
