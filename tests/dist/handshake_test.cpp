#include "ambitious/dist/handshake.hpp"

#include <gtest/gtest.h>

#include <deque>

// The handshake state machine alone: two machines talking through byte queues, and machines
// fed frames made by hand (a peer with a wrong digest, missing flags, another name...).

using namespace ambitious::dist;
using namespace ambitious::dist::handshake_action;
namespace hs = ambitious::dist::handshake;
using Bytes = std::vector<std::uint8_t>;

namespace {

HandshakeSettings settings(std::string me, std::string cookie, std::string peer = "",
                           Flags flags = default_flags) {
  return HandshakeSettings{std::move(me), 1000, flags, Cookie(std::move(cookie)), std::move(peer)};
}

// What one side's actions did: the bytes it sent, and the other actions in order.
struct Outcome {
  Bytes sent;
  std::vector<HandshakeAction> other;
  template <class T>
  const T* find() const {
    for (auto& a : other)
      if (auto* t = std::get_if<T>(&a)) return t;
    return nullptr;
  }
};

Outcome split(std::vector<HandshakeAction> actions) {
  Outcome o;
  for (auto& a : actions) {
    if (auto* s = std::get_if<Send>(&a))
      o.sent.insert(o.sent.end(), s->bytes.begin(), s->bytes.end());
    else
      o.other.push_back(std::move(a));
  }
  return o;
}

// Feeds every whole frame of `stream` to `h`, collecting what it does.
Outcome feed(Handshake& h, Bytes& stream) {
  Outcome all;
  for (;;) {
    auto f = hs::next_frame(stream);
    if (!f) break;
    Bytes body(f->first.begin(), f->first.end());
    stream.erase(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(f->second));
    Outcome o = split(h.on_frame(body));
    all.sent.insert(all.sent.end(), o.sent.begin(), o.sent.end());
    for (auto& a : o.other) all.other.push_back(std::move(a));
    if (h.finished()) break;
  }
  return all;
}

// Runs two machines against each other; the acceptor's node answers `admission`, the
// initiator's node answers `alive_ok` to `alive`. Returns both sides' non-send actions.
struct Pair {
  std::vector<HandshakeAction> a, b;
};
Pair converse(Handshake& a, Handshake& b, Admission admission = Admission::ok,
              bool alive_ok = true) {
  Pair out;
  Bytes to_b, to_a;
  auto absorb = [](Outcome o, Bytes& wire, std::vector<HandshakeAction>& log) {
    wire.insert(wire.end(), o.sent.begin(), o.sent.end());
    for (auto& x : o.other) log.push_back(std::move(x));
  };
  absorb(split(a.start()), to_b, out.a);
  absorb(split(b.start()), to_a, out.b);
  for (int round = 0; round < 10 && !(a.finished() && b.finished()); ++round) {
    if (!b.finished()) {
      Outcome ob = feed(b, to_b);
      bool admit = ob.find<Admit>() != nullptr;
      absorb(std::move(ob), to_a, out.b);
      if (admit) absorb(split(b.admit(admission)), to_a, out.b);
    }
    if (!a.finished()) {
      Outcome oa = feed(a, to_a);
      bool confirm = oa.find<ConfirmAlive>() != nullptr;
      absorb(std::move(oa), to_b, out.a);
      if (confirm) absorb(split(a.confirm_alive(alive_ok)), to_b, out.a);
    }
    if (to_a.empty() && to_b.empty()) break;
  }
  return out;
}

template <class T>
const T* find(const std::vector<HandshakeAction>& v) {
  for (auto& a : v)
    if (auto* t = std::get_if<T>(&a)) return t;
  return nullptr;
}

Handshake initiator(std::string cookie = "c", Flags flags = default_flags,
                    std::string peer = "b@127.0.0.1") {
  return Handshake(Handshake::Role::initiator,
                   settings("a@127.0.0.1", std::move(cookie), std::move(peer), flags), 111);
}
Handshake acceptor(std::string cookie = "c", Flags flags = default_flags,
                   std::string me = "b@127.0.0.1") {
  return Handshake(Handshake::Role::acceptor, settings(std::move(me), std::move(cookie), "", flags),
                   222);
}

Bytes body_of(const Bytes& frame) { return Bytes(frame.begin() + 2, frame.end()); }

}  // namespace

TEST(Handshake, both_sides_establish_with_the_intersection_of_their_flags) {
  Flags fewer = default_flags & ~flag::alias & ~flag::fragments;
  Handshake a = initiator("c", fewer), b = acceptor();
  Pair p = converse(a, b);
  auto* ea = find<Established>(p.a);
  auto* eb = find<Established>(p.b);
  ASSERT_TRUE(ea && eb);
  EXPECT_EQ(ea->peer, "b@127.0.0.1");
  EXPECT_EQ(eb->peer, "a@127.0.0.1");
  EXPECT_EQ(ea->flags, fewer);
  EXPECT_EQ(eb->flags, fewer);
  EXPECT_EQ(eb->peer_flags, fewer);
  EXPECT_EQ(ea->peer_flags, default_flags);
  EXPECT_EQ(eb->peer_creation, 1000u);
  EXPECT_TRUE(a.established() && b.established());
  auto* admit = find<Admit>(p.b);
  ASSERT_TRUE(admit);
  EXPECT_EQ(admit->peer, "a@127.0.0.1");
}

TEST(Handshake, a_wrong_cookie_is_refused_by_the_acceptor_without_the_ack) {
  Handshake a = initiator("RIGHTCOOKIE"), b = acceptor("BADCOOKIE");
  Pair p = converse(a, b);
  auto* fb = find<Failed>(p.b);
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->reason, HandshakeFailure::wrong_cookie);
  EXPECT_FALSE(find<Established>(p.a));
  EXPECT_FALSE(a.finished())
      << "no ack came: the initiator is left waiting (its carrier times out)";
  EXPECT_EQ(fb->detail.find("RIGHTCOOKIE"), std::string::npos);
  EXPECT_EQ(fb->detail.find("BADCOOKIE"), std::string::npos);
}

TEST(Handshake, a_hand_made_initiator_with_a_wrong_digest_gets_no_ack) {
  Handshake b = acceptor("secret");
  b.start();
  Outcome o = split(b.on_frame(body_of(hs::encode(hs::SendName{default_flags, 5, "evil@h"}))));
  ASSERT_TRUE(o.find<Admit>());
  Outcome admitted = split(b.admit(Admission::ok));
  // status ok, then the challenge; the reply digests it with a guessed cookie.
  Bytes wire = admitted.sent;
  auto status = hs::next_frame(wire);
  ASSERT_TRUE(status);
  auto challenge = hs::decode_challenge(std::span(wire).subspan(status->second + 2));
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->challenge, 222u);
  Outcome r = split(b.on_frame(
      body_of(hs::encode(hs::ChallengeReply{1, Cookie("guess").digest(challenge->challenge)}))));
  EXPECT_TRUE(r.sent.empty()) << "no ack after a wrong digest";
  auto* f = r.find<Failed>();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->reason, HandshakeFailure::wrong_cookie);
  EXPECT_TRUE(b.finished());
  EXPECT_TRUE(b.on_frame(body_of(hs::encode(hs::ChallengeAck{}))).empty()) << "finished";
}

TEST(Handshake, the_initiator_refuses_an_ack_with_a_wrong_digest) {
  Handshake a = initiator("secret");
  Bytes wire = split(a.start()).sent;
  ASSERT_FALSE(wire.empty());
  EXPECT_TRUE(a.on_frame(body_of(hs::encode(hs::Status{hs::StatusCode::ok, {}, 0}))).empty());
  Outcome reply =
      split(a.on_frame(body_of(hs::encode(hs::Challenge{default_flags, 77, 9, "b@127.0.0.1"}))));
  auto r = hs::decode_challenge_reply(body_of(reply.sent));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->challenge, 111u);
  EXPECT_TRUE(Cookie("secret").verify(77, r->digest));
  Outcome end = split(a.on_frame(body_of(hs::encode(hs::ChallengeAck{Cookie("x").digest(111)}))));
  auto* f = end.find<Failed>();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->reason, HandshakeFailure::wrong_cookie);
}

TEST(Handshake, a_peer_without_the_mandatory_flags_is_refused_with_not_allowed) {
  Handshake a = initiator("c", default_flags & ~flag::bit_binaries & ~flag::mandatory_25_digest);
  Handshake b = acceptor();
  Pair p = converse(a, b);
  auto* fb = find<Failed>(p.b);
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->reason, HandshakeFailure::missing_flags);
  EXPECT_NE(fb->detail.find("16#400"), std::string::npos) << fb->detail;
  auto* fa = find<Failed>(p.a);
  ASSERT_TRUE(fa);
  EXPECT_EQ(fa->reason, HandshakeFailure::refused);
  EXPECT_NE(fa->detail.find("not_allowed"), std::string::npos);
}

TEST(Handshake, the_initiator_refuses_an_acceptor_without_the_mandatory_flags) {
  Handshake a = initiator();
  Handshake b = acceptor("c", default_flags & ~flag::utf8_atoms & ~flag::mandatory_25_digest);
  Pair p = converse(a, b);
  auto* fa = find<Failed>(p.a);
  ASSERT_TRUE(fa);
  EXPECT_EQ(fa->reason, HandshakeFailure::missing_flags);
}

TEST(Handshake, mandatory_25_digest_stands_for_every_mandatory_flag) {
  EXPECT_EQ(missing_mandatory(flag::mandatory_25_digest), 0u);
  EXPECT_EQ(missing_mandatory(mandatory_flags), 0u);
  EXPECT_EQ(missing_mandatory(mandatory_flags & ~flag::map_tag), flag::map_tag);
  Handshake a = initiator("c", flag::mandatory_25_digest), b = acceptor();
  Pair p = converse(a, b);
  ASSERT_TRUE(find<Established>(p.b));
  EXPECT_EQ(find<Established>(p.b)->flags, flag::mandatory_25_digest);
}

TEST(Handshake, the_initiator_refuses_a_node_that_is_not_the_one_it_dialed) {
  Handshake a = initiator("c", default_flags, "b@127.0.0.1");
  Handshake b = acceptor("c", default_flags, "impostor@127.0.0.1");
  Pair p = converse(a, b);
  auto* fa = find<Failed>(p.a);
  ASSERT_TRUE(fa);
  EXPECT_EQ(fa->reason, HandshakeFailure::wrong_name);
  EXPECT_NE(fa->detail.find("impostor@127.0.0.1"), std::string::npos);
}

TEST(Handshake, the_acceptor_refuses_bad_names_and_its_own_name) {
  Handshake b = acceptor();
  b.start();
  Bytes bad = hs::encode(hs::SendName{default_flags, 1, "x@y"});
  bad[bad.size() - 2] = '!';  // "x!y": no @
  auto r1 = b.on_frame(body_of(bad));
  auto* f = std::get_if<Failed>(&r1.at(0));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->reason, HandshakeFailure::wrong_name);
  Handshake self = acceptor();
  self.start();
  auto r2 = self.on_frame(body_of(hs::encode(hs::SendName{default_flags, 1, "b@127.0.0.1"})));
  auto* g = std::get_if<Failed>(&r2.at(0));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->reason, HandshakeFailure::wrong_name);
}

TEST(Handshake, the_old_handshake_of_otp_22_is_refused) {
  Handshake b = acceptor();
  b.start();
  Bytes old{'n', 0, 5, 0, 0, 0x0f, 0xfc, 'a', '@', 'b'};
  auto r = b.on_frame(old);
  auto* f = std::get_if<Failed>(&r.at(0));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->reason, HandshakeFailure::unsupported);
}

TEST(Handshake, a_frame_out_of_turn_fails_the_handshake) {
  Handshake a = initiator();
  a.start();
  auto r1 = a.on_frame(body_of(hs::encode(hs::ChallengeAck{})));
  auto* f = std::get_if<Failed>(&r1.at(0));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->reason, HandshakeFailure::bad_frame);
  Handshake b = acceptor();
  b.start();
  auto r2 = b.on_frame(body_of(hs::encode(hs::Status{hs::StatusCode::ok, {}, 0})));
  auto* g = std::get_if<Failed>(&r2.at(0));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->reason, HandshakeFailure::bad_frame);
}

TEST(Handshake, simultaneous_connect_nok_refuses_the_attempt_that_loses) {
  Handshake a = initiator(), b = acceptor();
  Pair p = converse(a, b, Admission::nok);
  auto* fb = find<Failed>(p.b);
  auto* fa = find<Failed>(p.a);
  ASSERT_TRUE(fa && fb);
  EXPECT_EQ(fb->reason, HandshakeFailure::not_admitted);
  EXPECT_EQ(fa->reason, HandshakeFailure::peer_connecting);
  EXPECT_NE(fa->detail.find("nok"), std::string::npos);
}

TEST(Handshake, simultaneous_connect_ok_simultaneous_goes_on) {
  Handshake a = initiator(), b = acceptor();
  Pair p = converse(a, b, Admission::ok_simultaneous);
  EXPECT_TRUE(find<Established>(p.a) && find<Established>(p.b));
}

TEST(Handshake, alive_then_true_replaces_the_old_connection) {
  Handshake a = initiator(), b = acceptor();
  Pair p = converse(a, b, Admission::alive, true);
  EXPECT_TRUE(find<ConfirmAlive>(p.a));
  EXPECT_TRUE(find<ReplaceOld>(p.b));
  EXPECT_TRUE(find<Established>(p.a) && find<Established>(p.b));
}

TEST(Handshake, alive_then_false_ends_both_sides) {
  Handshake a = initiator(), b = acceptor();
  Pair p = converse(a, b, Admission::alive, false);
  auto* fa = find<Failed>(p.a);
  auto* fb = find<Failed>(p.b);
  ASSERT_TRUE(fa && fb);
  EXPECT_EQ(fa->reason, HandshakeFailure::not_admitted);
  EXPECT_EQ(fb->reason, HandshakeFailure::refused);
  EXPECT_FALSE(find<ReplaceOld>(p.b));
}

TEST(Handshake, not_allowed_from_our_node_tells_the_peer) {
  Handshake a = initiator(), b = acceptor();
  Pair p = converse(a, b, Admission::not_allowed);
  ASSERT_TRUE(find<Failed>(p.a));
  EXPECT_EQ(find<Failed>(p.a)->reason, HandshakeFailure::refused);
}
