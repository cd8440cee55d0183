#pragma once
// The messages of the OTP 23+ distribution handshake (erl_dist_protocol.md, "Distribution
// Handshake"), as typed values and bytes. Each travels in a frame with a 2-byte length:
//
//   send_name        A -> B   'N' Flags(8) Creation(4) Nlen(2) Name
//   status           B -> A   's' ok | ok_simultaneous | nok | not_allowed | alive
//                             | named: Nlen(2) Name Creation(4)
//   status reply     A -> B   's' true | false          (only after `alive`)
//   challenge        B -> A   'N' Flags(8) Challenge(4) Creation(4) Nlen(2) Name
//   challenge_reply  A -> B   'r' Challenge(4) Digest(16)
//   challenge_ack    B -> A   'a' Digest(16)
//
// Names are full node names (`alive@host`), checked as NodeName::parse checks them. The 'n'
// send_name of OTP 22 and older (version 5) is refused: OTP 25 never sends it.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ambitious/dist/cookie.hpp"
#include "ambitious/dist/flags.hpp"
#include "ambitious/dist/wire_error.hpp"

namespace ambitious::dist::handshake {

/// The largest frame body accepted (the longest real one is a challenge with a 1020-byte name).
inline constexpr std::size_t max_frame_body = 2048;

/// The first byte of each message.
namespace tag {
inline constexpr std::uint8_t send_name = 'N';        ///< also the challenge (B -> A)
inline constexpr std::uint8_t old_send_name = 'n';    ///< OTP 22's send_name (refused)
inline constexpr std::uint8_t status = 's';           ///< status, both ways
inline constexpr std::uint8_t challenge_reply = 'r';  ///< A -> B
inline constexpr std::uint8_t challenge_ack = 'a';    ///< B -> A
}  // namespace tag

/// send_name: who the initiator is and what it can do.
struct SendName {
  Flags flags = 0;             ///< what the initiator can do
  std::uint32_t creation = 0;  ///< the initiator's creation
  std::string name;            ///< its full node name
  friend bool operator==(const SendName&, const SendName&) = default;
};

/// The status words.
enum class StatusCode : std::uint8_t {
  ok,               ///< go on
  ok_simultaneous,  ///< go on: the acceptor gave up its own attempt to connect to the initiator
  nok,              ///< refused: the acceptor's own attempt wins (its name is greater)
  not_allowed,      ///< refused: the acceptor does not accept this node (or its flags)
  alive,            ///< the acceptor has a connection to the initiator already: true/false?
  named,            ///< the acceptor chose the initiator's name (DFLAG_NAME_ME)
  true_,            ///< the initiator's answer to alive: replace the old connection
  false_,           ///< the initiator's answer to alive: give up
};

/// A status message; `name` and `creation` only for `named`.
struct Status {
  StatusCode code = StatusCode::ok;  ///< the word
  std::string name;                  ///< named: the name chosen
  std::uint32_t creation = 0;        ///< named: the creation chosen
  friend bool operator==(const Status&, const Status&) = default;
};

/// The acceptor's challenge: who it is, what it can do, and the number to digest.
struct Challenge {
  Flags flags = 0;              ///< what the acceptor can do
  std::uint32_t challenge = 0;  ///< the number the initiator digests
  std::uint32_t creation = 0;   ///< the acceptor's creation
  std::string name;             ///< its full node name
  friend bool operator==(const Challenge&, const Challenge&) = default;
};

/// The initiator's proof of the cookie and its own challenge.
struct ChallengeReply {
  std::uint32_t challenge = 0;  ///< the number the acceptor digests
  Digest digest{};              ///< MD5(cookie ++ decimal(acceptor's challenge))
  friend bool operator==(const ChallengeReply&, const ChallengeReply&) = default;
};

/// The acceptor's proof of the cookie.
struct ChallengeAck {
  Digest digest{};  ///< MD5(cookie ++ decimal(initiator's challenge))
  friend bool operator==(const ChallengeAck&, const ChallengeAck&) = default;
};

/// The frame of each message, its 2-byte length first. Throws std::invalid_argument for a name
/// that is not a node name.
std::vector<std::uint8_t> encode(const SendName& m);
std::vector<std::uint8_t> encode(const Status& m);
std::vector<std::uint8_t> encode(const Challenge& m);
std::vector<std::uint8_t> encode(const ChallengeReply& m);
std::vector<std::uint8_t> encode(const ChallengeAck& m);

/// Decoders of a frame's body (what follows the 2-byte length). Offsets in errors count from
/// the body's first byte. The old 'n' send_name is an unknown_message.
std::expected<SendName, WireError> decode_send_name(std::span<const std::uint8_t> body);
std::expected<Status, WireError> decode_status(std::span<const std::uint8_t> body);
std::expected<Challenge, WireError> decode_challenge(std::span<const std::uint8_t> body);
std::expected<ChallengeReply, WireError> decode_challenge_reply(std::span<const std::uint8_t> body);
std::expected<ChallengeAck, WireError> decode_challenge_ack(std::span<const std::uint8_t> body);

/// The first frame of a stream: its body and the bytes it takes with its length. truncated when
/// `bytes` does not hold it all yet; too_large when its length exceeds `max_body`; malformed for
/// an empty frame.
std::expected<std::pair<std::span<const std::uint8_t>, std::size_t>, WireError> next_frame(
    std::span<const std::uint8_t> bytes, std::size_t max_body = max_frame_body);

}  // namespace ambitious::dist::handshake
