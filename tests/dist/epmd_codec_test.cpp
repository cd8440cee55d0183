#include "ambitious/dist/epmd_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace ambitious::dist;
using namespace ambitious::dist::epmd;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes hex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    if (h[i] == ' ') {
      --i;
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

NodeEntry entry(std::string name, std::uint16_t port) {
  NodeEntry e;
  e.name = std::move(name);
  e.port = port;
  return e;
}

WireErrc code_of(std::span<const std::uint8_t> body) { return decode_request(body).error().code; }

}  // namespace

TEST(EpmdCodec, alive2_request_has_the_layout_of_the_protocol) {
  NodeEntry e = entry("foo", 5555);
  e.type = NodeType::normal;
  Bytes bytes = encode(Alive2Request{e});
  // Length 16: tag, port 5555, 'M', TCP, versions 6/6, name "foo", no extra.
  EXPECT_EQ(bytes, hex("0010 78 15b3 4d 00 0006 0006 0003 666f6f 0000"));
  auto back = decode_request_prefix(bytes);
  ASSERT_TRUE(back) << to_string(back.error());
  EXPECT_EQ(back->second, bytes.size());
  EXPECT_EQ(std::get<Alive2Request>(back->first).node, e);
}

TEST(EpmdCodec, every_request_round_trips) {
  NodeEntry e = entry("ünï-côdé_1", 1);
  e.extra = std::string("\0\1\2", 3);
  e.highest_version = 7;
  e.lowest_version = 5;
  for (const Request& req : std::vector<Request>{Alive2Request{e}, PortPlease2Request{"x"},
                                                 NamesRequest{}, KillRequest{}}) {
    Bytes bytes = encode(req);
    auto back = decode_request_prefix(bytes);
    ASSERT_TRUE(back) << to_string(back.error());
    EXPECT_EQ(back->first, req);
    EXPECT_EQ(back->second, bytes.size());
  }
  EXPECT_EQ(encode(NamesRequest{}), hex("0001 6e"));
  EXPECT_EQ(encode(PortPlease2Request{"foo"}), hex("0004 7a 666f6f"));
}

TEST(EpmdCodec, a_stream_prefix_of_a_request_is_truncated_where_it_ends) {
  Bytes bytes = encode(Alive2Request{entry("node", 4000)});
  bytes.push_back(0x00);  // the start of a following request
  for (std::size_t n = 0; n + 1 < bytes.size(); ++n) {
    auto r = decode_request_prefix(std::span(bytes).first(n));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), (WireError{WireErrc::truncated, n}));
  }
  auto whole = decode_request_prefix(bytes);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->second, bytes.size() - 1);
}

TEST(EpmdCodec, bad_requests_are_refused_with_their_offset) {
  EXPECT_EQ(decode_request(hex("63")).error(), (WireError{WireErrc::unknown_message, 2}));
  EXPECT_EQ(decode_request({}).error().code, WireErrc::truncated);
  // A name length beyond the body.
  EXPECT_EQ(code_of(hex("78 15b3 4d 00 0006 0006 0009 666f6f 0000")), WireErrc::malformed);
  // Empty name, NUL in a name, invalid UTF-8.
  EXPECT_EQ(decode_request(hex("78 15b3 4d 00 0006 0006 0000 0000")).error(),
            (WireError{WireErrc::bad_name, 11}));
  EXPECT_EQ(code_of(hex("78 15b3 4d 00 0006 0006 0003 660066 0000")), WireErrc::bad_name);
  EXPECT_EQ(code_of(hex("78 15b3 4d 00 0006 0006 0002 c328 0000")), WireErrc::bad_name);
  EXPECT_EQ(code_of(hex("7a c0af")), WireErrc::bad_name);  // overlong '/'
  EXPECT_EQ(code_of(hex("7a")), WireErrc::bad_name);
  // Bytes after a complete request.
  EXPECT_EQ(decode_request(hex("6e 00")).error(), (WireError{WireErrc::trailing_bytes, 3}));
  EXPECT_EQ(code_of(hex("78 15b3 4d 00 0006 0006 0001 66 0000 ff")), WireErrc::trailing_bytes);
  // A zero-length request in a stream.
  EXPECT_EQ(decode_request_prefix(hex("0000")).error(), (WireError{WireErrc::malformed, 0}));
}

TEST(EpmdCodec, port_please_may_end_in_one_nul_as_old_clients_send_it) {
  auto r = decode_request(hex("7a 666f6f 00"));
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<PortPlease2Request>(*r).name, "foo");
  EXPECT_EQ(code_of(hex("7a 666f6f 0000")), WireErrc::bad_name);
}

TEST(EpmdCodec, names_longer_than_255_characters_are_refused) {
  std::string longest(255, 'a'), too_long(256, 'a');
  EXPECT_TRUE(valid_name(longest));
  EXPECT_FALSE(valid_name(too_long));
  std::string snowmen;
  for (int i = 0; i < 255; ++i) snowmen += "\u2603";
  EXPECT_TRUE(valid_name(snowmen));
  EXPECT_THROW(encode(PortPlease2Request{too_long}), std::invalid_argument);
  EXPECT_THROW(encode(Alive2Request{entry("", 1)}), std::invalid_argument);
}

// The responses below are the bytes OTP 25's epmd wrote (captured on this machine).
TEST(EpmdCodec, alive2_responses_of_real_epmd_decode) {
  auto x = decode_alive2_response(hex("76 00 6b0ea3b8"));
  ASSERT_TRUE(x);
  EXPECT_EQ(x->first, (Alive2Response{0, 0x6b0ea3b8u, true}));
  EXPECT_EQ(x->second, 6u);
  // A name already taken: result 1; epmd keeps the socket open.
  auto taken = decode_alive2_response(hex("76 01 00000063"));
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->first.result, 1);
  // A client announcing version 5 gets the old response with a 16-bit creation.
  auto old = decode_alive2_response(hex("79 00 0001"));
  ASSERT_TRUE(old);
  EXPECT_EQ(old->first, (Alive2Response{0, 1, false}));
  EXPECT_EQ(old->second, 4u);
  EXPECT_EQ(encode(x->first), hex("76 00 6b0ea3b8"));
  EXPECT_EQ(encode(old->first), hex("79 00 0001"));
  EXPECT_EQ(decode_alive2_response(hex("76 00 6b0e")).error(), (WireError{WireErrc::truncated, 4}));
  EXPECT_EQ(decode_alive2_response(hex("77 00")).error().code, WireErrc::unknown_message);
}

TEST(EpmdCodec, port2_responses_of_real_epmd_decode) {
  Bytes found = hex("77 00 15b3 48 00 0006 0005 0003 666f6f 0000");
  auto r = decode_port2_response(found);
  ASSERT_TRUE(r) << to_string(r.error());
  NodeEntry e = entry("foo", 5555);
  e.lowest_version = 5;
  EXPECT_EQ(r->result, 0);
  EXPECT_EQ(r->node, e);
  EXPECT_EQ(encode(*r), found);
  auto missing = decode_port2_response(hex("77 01"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->result, 1);
  EXPECT_EQ(encode(*missing), hex("77 01"));
  EXPECT_EQ(decode_port2_response(hex("77 00 15b3 48")).error().code, WireErrc::truncated);
  EXPECT_EQ(decode_port2_response(hex("77 01 00")).error(),
            (WireError{WireErrc::trailing_bytes, 2}));
}

TEST(EpmdCodec, names_responses_of_real_epmd_decode) {
  Bytes bytes = hex("00003822");
  for (auto b : text("name bar at port 5556\nname foo at port 5555\n")) bytes.push_back(b);
  auto r = decode_names_response(bytes);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->epmd_port, 14370u);
  EXPECT_EQ(r->names, (std::vector<NameLine>{{"bar", 5556}, {"foo", 5555}}));
  EXPECT_EQ(encode(*r), bytes);
  // A name may contain " at port ": the last one separates.
  NamesResponse odd{4369, {{"a at port b", 1}}};
  auto back = decode_names_response(encode(odd));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, odd);
}

TEST(EpmdCodec, bad_names_responses_are_refused_with_their_offset) {
  auto names = [](std::string_view lines) {
    Bytes b = hex("000010e1");
    for (char c : lines) b.push_back(static_cast<std::uint8_t>(c));
    return decode_names_response(b);
  };
  EXPECT_EQ(decode_names_response(hex("0000")).error().code, WireErrc::truncated);
  EXPECT_TRUE(names(""));
  EXPECT_EQ(names("name a at port 1").error(), (WireError{WireErrc::truncated, 20}));
  EXPECT_EQ(names("name a at port 1\nnom b at port 2\n").error(),
            (WireError{WireErrc::malformed, 21}));
  EXPECT_EQ(names("name a at port x\n").error(), (WireError{WireErrc::malformed, 19}));
  EXPECT_EQ(names("name a at port 99999999999\n").error().code, WireErrc::malformed);
  EXPECT_EQ(names("name  at port 1\n").error(), (WireError{WireErrc::bad_name, 9}));
}
