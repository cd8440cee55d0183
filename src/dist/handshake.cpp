#include "ambitious/dist/handshake.hpp"

#include <sstream>

#include "ambitious/dist/node_name.hpp"

namespace ambitious::dist {

using namespace handshake_action;
namespace hs = handshake;

namespace {

std::string hex_flags(Flags f) {
  std::ostringstream s;
  s << "16#" << std::hex << std::uppercase << f;
  return s.str();
}

std::string why(const WireError& e) { return to_string(e); }

// The first byte says what the peer sent: a frame of the wrong kind is out of turn.
bool is(std::span<const std::uint8_t> body, std::uint8_t tag) {
  return !body.empty() && body[0] == tag;
}

}  // namespace

std::string_view to_string(HandshakeFailure f) noexcept {
  switch (f) {
    case HandshakeFailure::bad_frame:
      return "bad handshake frame";
    case HandshakeFailure::wrong_cookie:
      return "wrong cookie (the digest does not match)";
    case HandshakeFailure::refused:
      return "refused by the peer";
    case HandshakeFailure::missing_flags:
      return "mandatory distribution flags missing";
    case HandshakeFailure::wrong_name:
      return "wrong node name";
    case HandshakeFailure::unsupported:
      return "unsupported handshake";
    case HandshakeFailure::not_admitted:
      return "not admitted";
    case HandshakeFailure::peer_connecting:
      return "the peer is connecting to us";
  }
  return "unknown handshake failure";
}

Handshake::Handshake(Role role, HandshakeSettings settings, std::uint32_t challenge)
    : role_(role), settings_(std::move(settings)), my_challenge_(challenge) {
  if (role_ == Role::initiator) peer_ = settings_.peer;
}

std::vector<HandshakeAction> Handshake::fail(HandshakeFailure why, std::string detail) {
  state_ = State::failed;
  std::vector<HandshakeAction> out;
  out.push_back(Failed{why, std::move(detail)});
  return out;
}

std::vector<HandshakeAction> Handshake::start() {
  if (state_ != State::start) return {};
  if (role_ == Role::acceptor) {
    state_ = State::await_name;
    return {};
  }
  state_ = State::await_status;
  std::vector<HandshakeAction> out;
  out.push_back(
      Send{hs::encode(hs::SendName{settings_.flags, settings_.creation, settings_.this_node})});
  return out;
}

std::vector<HandshakeAction> Handshake::on_frame(std::span<const std::uint8_t> body) {
  switch (state_) {
    case State::await_status:
      return on_status(body);
    case State::await_challenge:
      return on_challenge(body);
    case State::await_ack:
      return on_ack(body);
    case State::await_name:
      return on_send_name(body);
    case State::await_alive:
      return on_alive_answer(body);
    case State::await_reply:
      return on_reply(body);
    case State::failed:
      return {};
    default:
      return fail(HandshakeFailure::bad_frame, "a handshake frame out of turn");
  }
}

// ---- initiator ------------------------------------------------------------------------------

std::vector<HandshakeAction> Handshake::on_status(std::span<const std::uint8_t> body) {
  auto st = hs::decode_status(body);
  if (!st) return fail(HandshakeFailure::bad_frame, "status: " + why(st.error()));
  switch (st->code) {
    case hs::StatusCode::ok:
    case hs::StatusCode::ok_simultaneous:
      state_ = State::await_challenge;
      return {};
    case hs::StatusCode::nok:
      return fail(HandshakeFailure::peer_connecting,
                  "nok: " + peer_ + " is connecting to us at the same time, and its attempt wins");
    case hs::StatusCode::not_allowed:
      return fail(HandshakeFailure::refused, "not_allowed: " + peer_ + " refuses this node");
    case hs::StatusCode::alive: {
      state_ = State::await_alive_ok;
      std::vector<HandshakeAction> out;
      out.push_back(ConfirmAlive{});
      return out;
    }
    case hs::StatusCode::named:
      return fail(HandshakeFailure::unsupported, "named: dynamic node names were not asked for");
    default:
      return fail(HandshakeFailure::bad_frame, "status: true/false from the acceptor");
  }
}

std::vector<HandshakeAction> Handshake::confirm_alive(bool replace) {
  if (state_ != State::await_alive_ok) return {};
  std::vector<HandshakeAction> out;
  out.push_back(Send{
      hs::encode(hs::Status{replace ? hs::StatusCode::true_ : hs::StatusCode::false_, {}, 0})});
  if (!replace) {
    state_ = State::failed;
    out.push_back(Failed{HandshakeFailure::not_admitted,
                         "alive: " + peer_ + " has a connection to us that we keep"});
    return out;
  }
  state_ = State::await_challenge;
  return out;
}

std::vector<HandshakeAction> Handshake::on_challenge(std::span<const std::uint8_t> body) {
  auto c = hs::decode_challenge(body);
  if (!c) {
    if (c.error().code == WireErrc::bad_name)
      return fail(HandshakeFailure::wrong_name, "challenge: " + why(c.error()));
    return fail(HandshakeFailure::bad_frame, "challenge: " + why(c.error()));
  }
  if (c->name != peer_)
    return fail(HandshakeFailure::wrong_name,
                "dialed " + peer_ + " but the node there is " + c->name);
  if (Flags missing = missing_mandatory(c->flags))
    return fail(HandshakeFailure::missing_flags,
                c->name + " cannot handle flags " + hex_flags(missing));
  peer_flags_ = c->flags;
  peer_creation_ = c->creation;
  state_ = State::await_ack;
  std::vector<HandshakeAction> out;
  out.push_back(Send{hs::encode(hs::ChallengeReply{my_challenge_, cookie().digest(c->challenge)})});
  return out;
}

std::vector<HandshakeAction> Handshake::on_ack(std::span<const std::uint8_t> body) {
  auto a = hs::decode_challenge_ack(body);
  if (!a) return fail(HandshakeFailure::bad_frame, "challenge_ack: " + why(a.error()));
  if (!cookie().verify(my_challenge_, a->digest))
    return fail(HandshakeFailure::wrong_cookie, peer_ + " answered with a wrong digest");
  state_ = State::done;
  std::vector<HandshakeAction> out;
  out.push_back(Established{peer_, settings_.flags & peer_flags_, peer_flags_, peer_creation_});
  return out;
}

// ---- acceptor -------------------------------------------------------------------------------

std::vector<HandshakeAction> Handshake::on_send_name(std::span<const std::uint8_t> body) {
  if (is(body, hs::tag::old_send_name))
    return fail(HandshakeFailure::unsupported,
                "the peer speaks the handshake of OTP 22 and older (version 5)");
  auto n = hs::decode_send_name(body);
  if (!n) {
    if (n.error().code == WireErrc::bad_name)
      return fail(HandshakeFailure::wrong_name, "send_name: " + why(n.error()));
    return fail(HandshakeFailure::bad_frame, "send_name: " + why(n.error()));
  }
  peer_ = n->name;
  peer_flags_ = n->flags;
  peer_creation_ = n->creation;
  if (peer_ == settings_.this_node)
    return fail(HandshakeFailure::wrong_name, "a node connecting with our own name " + peer_);
  if (Flags missing = missing_mandatory(n->flags)) {
    std::vector<HandshakeAction> out;
    out.push_back(Send{hs::encode(hs::Status{hs::StatusCode::not_allowed, {}, 0})});
    state_ = State::failed;
    out.push_back(Failed{HandshakeFailure::missing_flags,
                         peer_ + " cannot handle flags " + hex_flags(missing)});
    return out;
  }
  state_ = State::await_admit;
  std::vector<HandshakeAction> out;
  out.push_back(Admit{peer_, peer_flags_, peer_creation_});
  return out;
}

handshake_action::Send Handshake::challenge_frame() const {
  return Send{hs::encode(
      hs::Challenge{settings_.flags, my_challenge_, settings_.creation, settings_.this_node})};
}

const Cookie& Handshake::cookie() const noexcept {
  auto it = settings_.peer_cookies.find(peer_);
  return it == settings_.peer_cookies.end() ? settings_.cookie : it->second;
}

std::vector<HandshakeAction> Handshake::admit(Admission decision) {
  if (state_ != State::await_admit) return {};
  std::vector<HandshakeAction> out;
  auto status = [&](hs::StatusCode code) {
    out.push_back(Send{hs::encode(hs::Status{code, {}, 0})});
  };
  switch (decision) {
    case Admission::ok:
    case Admission::ok_simultaneous:
      status(decision == Admission::ok ? hs::StatusCode::ok : hs::StatusCode::ok_simultaneous);
      out.push_back(challenge_frame());
      state_ = State::await_reply;
      return out;
    case Admission::alive:
      status(hs::StatusCode::alive);
      state_ = State::await_alive;
      return out;
    case Admission::nok:
    case Admission::not_allowed:
      status(decision == Admission::nok ? hs::StatusCode::nok : hs::StatusCode::not_allowed);
      state_ = State::failed;
      out.push_back(Failed{HandshakeFailure::not_admitted,
                           decision == Admission::nok
                               ? "nok: our own attempt to connect to " + peer_ + " wins"
                               : "not_allowed: " + peer_ + " is not admitted"});
      return out;
  }
  return out;
}

std::vector<HandshakeAction> Handshake::on_alive_answer(std::span<const std::uint8_t> body) {
  auto st = hs::decode_status(body);
  if (!st) return fail(HandshakeFailure::bad_frame, "status reply: " + why(st.error()));
  if (st->code == hs::StatusCode::false_)
    return fail(HandshakeFailure::refused, "false: " + peer_ + " keeps its old connection");
  if (st->code != hs::StatusCode::true_)
    return fail(HandshakeFailure::bad_frame, "status reply: neither true nor false");
  state_ = State::await_reply;
  std::vector<HandshakeAction> out;
  out.push_back(ReplaceOld{});
  out.push_back(challenge_frame());
  return out;
}

std::vector<HandshakeAction> Handshake::on_reply(std::span<const std::uint8_t> body) {
  auto r = hs::decode_challenge_reply(body);
  if (!r) return fail(HandshakeFailure::bad_frame, "challenge_reply: " + why(r.error()));
  // A wrong digest closes the connection without the ack: the peer learns nothing.
  if (!cookie().verify(my_challenge_, r->digest))
    return fail(HandshakeFailure::wrong_cookie, peer_ + " sent a wrong digest");
  state_ = State::done;
  std::vector<HandshakeAction> out;
  out.push_back(Send{hs::encode(hs::ChallengeAck{cookie().digest(r->challenge)})});
  out.push_back(Established{peer_, settings_.flags & peer_flags_, peer_flags_, peer_creation_});
  return out;
}

}  // namespace ambitious::dist
