#include "ambitious/dist/handshake_codec.hpp"

#include <gtest/gtest.h>

using namespace ambitious::dist;
using namespace ambitious::dist::handshake;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes hex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size();) {
    if (h[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}
Bytes operator+(Bytes a, std::string_view s) {
  a.insert(a.end(), s.begin(), s.end());
  return a;
}
std::span<const std::uint8_t> body(const Bytes& frame) { return std::span(frame).subspan(2); }

}  // namespace

TEST(HandshakeCodec, send_name_has_the_layout_of_the_otp_23_handshake) {
  SendName m{default_flags, 0x6b0ea3b8, "a@127.0.0.1"};
  Bytes frame = encode(m);
  EXPECT_EQ(frame, hex("001a 4e 0000000d07df5fbc 6b0ea3b8 000b") + "a@127.0.0.1");
  auto back = decode_send_name(body(frame));
  ASSERT_TRUE(back) << to_string(back.error());
  EXPECT_EQ(*back, m);
}

TEST(HandshakeCodec, every_message_round_trips) {
  Challenge c{mandatory_flags, 0xdeadbeef, 7, "b@h"};
  EXPECT_EQ(*decode_challenge(body(encode(c))), c);
  ChallengeReply r{42, Cookie("x").digest(1)};
  EXPECT_EQ(*decode_challenge_reply(body(encode(r))), r);
  ChallengeAck a{Cookie("x").digest(2)};
  EXPECT_EQ(*decode_challenge_ack(body(encode(a))), a);
  for (auto code :
       {StatusCode::ok, StatusCode::ok_simultaneous, StatusCode::nok, StatusCode::not_allowed,
        StatusCode::alive, StatusCode::true_, StatusCode::false_}) {
    Status s{code, {}, 0};
    EXPECT_EQ(*decode_status(body(encode(s))), s);
  }
  Status named{StatusCode::named, "n@host", 5};
  EXPECT_EQ(*decode_status(body(encode(named))), named);
  EXPECT_EQ(encode(Status{StatusCode::ok_simultaneous, {}, 0}), hex("0010 73") + "ok_simultaneous");
}

TEST(HandshakeCodec, bad_frames_are_refused_with_their_offset) {
  // A name length beyond the frame, a bad name, bytes after the name.
  EXPECT_EQ(decode_send_name(hex("4e 0000000000000000 00000000 0009 6140")).error(),
            (WireError{WireErrc::malformed, 15}));
  EXPECT_EQ(decode_send_name(hex("4e 0000000000000000 00000000 0001") + "a").error(),
            (WireError{WireErrc::bad_name, 15}));
  EXPECT_EQ(decode_send_name(hex("4e 0000000000000000 00000000 0003") + "a@bz").error(),
            (WireError{WireErrc::trailing_bytes, 18}));
  EXPECT_EQ(decode_send_name(hex("4e 00000000")).error().code, WireErrc::malformed);
  // The old 'n' send_name, and messages of another kind.
  EXPECT_EQ(decode_send_name(hex("6e 0005 00000000") + "a@b").error(),
            (WireError{WireErrc::unknown_message, 0}));
  EXPECT_EQ(decode_challenge_ack(hex("72")).error().code, WireErrc::unknown_message);
  EXPECT_EQ(decode_status(Bytes{'s'} + "maybe").error(), (WireError{WireErrc::unknown_message, 1}));
  EXPECT_EQ(decode_challenge_reply(hex("72 00000001 0102")).error().code, WireErrc::malformed);
  EXPECT_EQ(decode_challenge_ack(hex("61 00000000000000000000000000000000 00")).error().code,
            WireErrc::trailing_bytes);
  EXPECT_EQ(decode_status({}).error().code, WireErrc::truncated);
  EXPECT_THROW(encode(SendName{0, 0, "no-at-sign"}), std::invalid_argument);
}

TEST(HandshakeCodec, frames_of_a_stream_come_one_at_a_time) {
  Bytes stream = encode(Status{StatusCode::ok, {}, 0});
  Bytes second = encode(ChallengeAck{});
  stream.insert(stream.end(), second.begin(), second.end());
  auto f1 = next_frame(stream);
  ASSERT_TRUE(f1);
  EXPECT_EQ(f1->second, 5u);
  EXPECT_EQ(*decode_status(f1->first), (Status{StatusCode::ok, {}, 0}));
  auto rest = std::span(stream).subspan(f1->second);
  auto f2 = next_frame(rest);
  ASSERT_TRUE(f2);
  EXPECT_EQ(f2->second, rest.size());
  EXPECT_EQ(next_frame(rest.first(5)).error(), (WireError{WireErrc::truncated, 5}));
  EXPECT_EQ(next_frame(hex("00")).error(), (WireError{WireErrc::truncated, 1}));
  EXPECT_EQ(next_frame(hex("0000")).error().code, WireErrc::malformed);
  EXPECT_EQ(next_frame(hex("0801 00")).error().code, WireErrc::too_large);
}
