#include "ambitious/dist/packet.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "ambitious/dist/frame_reader.hpp"

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::dist::control;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes hex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

// Packets OTP 25 sent to a hidden node py@127.0.0.1 (creation 1234) on this machine, first with
// FRAGMENTS negotiated (a distribution header, terms without their version byte), then without
// (pass through): link(P), monitor(process, P), P ! hello, {sink, Py} ! {small, self()},
// monitor(process, {sink, Py}), demonitor, unlink(P), exit(P, kill).
const char* with_header[] = {
    "8344006803610158770b65403132372e302e302e3100000009000000006b0eafe258770c7079403132372e302e302e"
    "310000000100000000000004d2",
    "8344006804611358770b65403132372e302e302e3100000009000000006b0eafe258770c7079403132372e302e302e"
    "310000000100000000000004d25a0003770b65403132372e302e302e316b0eafe20000496c41380001a44caa19",
    "8344006803611658770b65403132372e302e302e3100000009000000006b0eafe258770c7079403132372e302e302e"
    "310000000100000000000004d2770568656c6c6f",
    "8344006804610658770b65403132372e302e302e3100000009000000006b0eafe27700770473696e6b68027705736d"
    "616c6c58770b65403132372e302e302e3100000009000000006b0eafe2",
    "8344006804611358770b65403132372e302e302e3100000009000000006b0eafe2770473696e6b5a0003770b654031"
    "32372e302e302e316b0eafe20000496d41380001a44caa19",
    "8344006804611458770b65403132372e302e302e3100000009000000006b0eafe2770473696e6b5a0003770b654031"
    "32372e302e302e316b0eafe20000496d41380001a44caa19",
    "83440068046123610458770b65403132372e302e302e3100000009000000006b0eafe258770c7079403132372e302e"
    "302e310000000100000000000004d2",
    "8344006803611a58770b65403132372e302e302e3100000009000000006b0eafe258770c7079403132372e302e302e"
    "310000000100000000000004d277046b696c6c",
};
const char* pass_through[] = {
    "70836803610158770b65403132372e302e302e3100000009000000006b0eafe358770c7079403132372e302e302e31"
    "0000000100000000000004d2",
    "70836804611358770b65403132372e302e302e3100000009000000006b0eafe358770c7079403132372e302e302e31"
    "0000000100000000000004d25a0003770b65403132372e302e302e316b0eafe30001dd3071380001b3071ce9",
    "70836803611658770b65403132372e302e302e3100000009000000006b0eafe358770c7079403132372e302e302e31"
    "0000000100000000000004d283770568656c6c6f",
    "70836804610658770b65403132372e302e302e3100000009000000006b0eafe37700770473696e6b8368027705736d"
    "616c6c58770b65403132372e302e302e3100000009000000006b0eafe3",
    "70836804611358770b65403132372e302e302e3100000009000000006b0eafe3770473696e6b5a0003770b65403132"
    "372e302e302e316b0eafe30001dd3171380001b3071ce9",
    "70836804611458770b65403132372e302e302e3100000009000000006b0eafe3770473696e6b5a0003770b65403132"
    "372e302e302e316b0eafe30001dd3171380001b3071ce9",
    "708368046123610458770b65403132372e302e302e3100000009000000006b0eafe358770c7079403132372e302e30"
    "2e310000000100000000000004d2",
    "70836803611a58770b65403132372e302e302e3100000009000000006b0eafe358770c7079403132372e302e302e31"
    "0000000100000000000004d28377046b696c6c",
};

// What those packets must decode to, checked on the parts that do not depend on the run.
void expect_trace(const std::vector<ControlMessage>& m) {
  ASSERT_EQ(m.size(), 8u);
  Pid py = std::get<Link>(m[0]).to;
  EXPECT_EQ(py.node(), Atom("py@127.0.0.1"));
  EXPECT_EQ(py.creation(), 1234u);
  EXPECT_EQ(py.id, 1u);
  Pid e = std::get<Link>(m[0]).from;
  EXPECT_EQ(e.node(), Atom("e@127.0.0.1"));
  EXPECT_EQ(std::get<MonitorP>(m[1]).to, ProcessRef(py));
  EXPECT_EQ(std::get<MonitorP>(m[1]).ref.length, 3u);
  EXPECT_EQ(std::get<Send>(m[2]), (Send{e, py, atom("hello"), std::nullopt}));
  EXPECT_EQ(std::get<RegSend>(m[3]),
            (RegSend{e, Atom("sink"), Term::tuple(atom("small"), e), std::nullopt}));
  EXPECT_EQ(std::get<MonitorP>(m[4]).to, ProcessRef(Atom("sink")));
  EXPECT_EQ(std::get<DemonitorP>(m[5]).ref, std::get<MonitorP>(m[4]).ref);
  EXPECT_EQ(std::get<UnlinkId>(m[6]), (UnlinkId{4, e, py}));
  EXPECT_EQ(std::get<Exit2>(m[7]), (Exit2{e, py, atoms::kill, std::nullopt}));
}

std::vector<ControlMessage> decode_all(const char* const (&packets)[8]) {
  PacketDecoder d;
  std::vector<ControlMessage> out;
  for (const char* p : packets) {
    Bytes bytes = hex(p);
    auto m = d.decode(bytes);
    EXPECT_TRUE(m) << p << ": " << to_string(m.error());
    if (m && *m) out.push_back(std::move(**m));
  }
  return out;
}

Bytes without_length(Bytes packet) {
  EXPECT_EQ(packet.size() - 4, std::size_t{packet[0]} << 24 | std::size_t{packet[1]} << 16 |
                                   std::size_t{packet[2]} << 8 | packet[3]);
  return Bytes(packet.begin() + 4, packet.end());
}

Pid local(std::uint32_t id) { return Pid(nodes::local, id, 0); }

}  // namespace

TEST(Packet, otp_packets_with_a_distribution_header_decode) {
  expect_trace(decode_all(with_header));
}

TEST(Packet, otp_packets_passed_through_decode) { expect_trace(decode_all(pass_through)); }

TEST(Packet, what_we_encode_is_what_otp_sends_passed_through) {
  // Re-encoding the pass-through packets gives OTP's bytes exactly.
  PacketDecoder d;
  for (const char* p : pass_through) {
    Bytes bytes = hex(p);
    auto m = d.decode(bytes);
    ASSERT_TRUE(m && *m);
    Flags otp_flags = default_flags & ~flag::fragments;
    EXPECT_EQ(without_length(encode_packet(**m, otp_flags)), hex(p));
  }
}

TEST(Packet, what_we_encode_with_fragments_negotiated_is_what_otp_sends_then) {
  // With FRAGMENTS, OTP reads only packets with a distribution header: ours are its bytes.
  PacketDecoder d;
  for (const char* p : with_header) {
    Bytes bytes = hex(p);
    auto m = d.decode(bytes);
    ASSERT_TRUE(m && *m);
    EXPECT_EQ(without_length(encode_packet(**m, default_flags)), hex(p));
  }
}

TEST(Packet, a_message_survives_fragmentation_into_any_sizes) {
  Term big = Term::tuple(atom("data"), Term::binary(std::string(100'000, 'x')), Term::list(1, 2));
  ControlMessage m = Send{local(5), local(6), big, std::nullopt};
  for (std::size_t size : {std::size_t{1} << 20, std::size_t{40'000}, std::size_t{997}}) {
    auto frags = encode_fragments(m, default_flags, 42, size);
    EXPECT_EQ(frags.size(), size >= 100'100 ? 1u : (100'000 + 20 + size) / size);
    PacketDecoder d;
    std::optional<ControlMessage> got;
    for (std::size_t i = 0; i < frags.size(); ++i) {
      Bytes p = without_length(frags[i]);
      auto r = d.decode(p);
      ASSERT_TRUE(r) << to_string(r.error());
      ASSERT_EQ(r->has_value(), i + 1 == frags.size());
      if (*r) got = std::move(**r);
    }
    ASSERT_TRUE(got);
    EXPECT_TRUE(*got == m);
    EXPECT_EQ(d.pending_bytes(), 0u);
    EXPECT_EQ(d.pending_sequences(), 0u);
  }
}

TEST(Packet, fragments_of_several_messages_interleave) {
  ControlMessage m1 = Send{local(1), local(2), Term::binary(std::string(5000, 'a')), std::nullopt};
  ControlMessage m2 =
      RegSend{local(3), Atom("sink"), Term::binary(std::string(7000, 'b')), std::nullopt};
  auto f1 = encode_fragments(m1, default_flags, 1, 1000);
  auto f2 = encode_fragments(m2, default_flags, 2, 1000);
  PacketDecoder d;
  std::vector<ControlMessage> done;
  for (std::size_t i = 0; i < std::max(f1.size(), f2.size()); ++i) {
    for (auto* f : {&f1, &f2}) {
      if (i >= f->size()) continue;
      Bytes p = without_length((*f)[i]);
      auto r = d.decode(p);
      ASSERT_TRUE(r) << to_string(r.error());
      if (*r) done.push_back(std::move(**r));
    }
  }
  ASSERT_EQ(done.size(), 2u);
  EXPECT_TRUE(done[0] == m1);  // the shorter one completes first
  EXPECT_TRUE(done[1] == m2);
}

TEST(Packet, bad_fragments_are_refused) {
  ControlMessage m = Send{local(1), local(2), Term::binary(std::string(3000, 'z')), std::nullopt};
  auto f = encode_fragments(m, default_flags, 9, 1000);
  ASSERT_EQ(f.size(), 4u);
  auto code = [](PacketDecoder& d, Bytes p) {
    auto r = d.decode(p);
    return r ? WireErrc{} : r.error().code;
  };
  {
    PacketDecoder d;  // a continuation without its first fragment
    EXPECT_EQ(code(d, without_length(f[1])), WireErrc::malformed);
  }
  {
    PacketDecoder d;  // a fragment skipped
    EXPECT_EQ(code(d, without_length(f[0])), WireErrc{});
    EXPECT_EQ(code(d, without_length(f[2])), WireErrc::malformed);
  }
  {
    PacketDecoder d;  // the first fragment twice
    EXPECT_EQ(code(d, without_length(f[0])), WireErrc{});
    EXPECT_EQ(code(d, without_length(f[0])), WireErrc::malformed);
  }
  {
    PacketLimits small;
    small.max_message = 2500;
    PacketDecoder d(small);  // more than the limit holds
    EXPECT_EQ(code(d, without_length(f[0])), WireErrc{});
    EXPECT_EQ(code(d, without_length(f[1])), WireErrc{});
    EXPECT_EQ(code(d, without_length(f[2])), WireErrc::too_large);
  }
  {
    PacketLimits few;
    few.max_sequences = 2;
    PacketDecoder d(few);
    for (std::uint64_t s = 0; s < 2; ++s)
      EXPECT_EQ(code(d, without_length(encode_fragments(m, default_flags, s, 1000)[0])),
                WireErrc{});
    EXPECT_EQ(code(d, without_length(encode_fragments(m, default_flags, 5, 1000)[0])),
              WireErrc::too_large);
  }
  {
    PacketDecoder d;  // atom cache refs in a header: not negotiated
    Bytes p = without_length(f[0]);
    p[18] = 1;
    EXPECT_EQ(d.decode(p).error(), (WireError{WireErrc::not_negotiated, 18}));
    Bytes h = hex(with_header[0]);
    h[2] = 2;
    EXPECT_EQ(d.decode(h).error(), (WireError{WireErrc::not_negotiated, 2}));
  }
}

TEST(Packet, bad_packets_are_refused_with_their_offset) {
  PacketDecoder d;
  auto decode = [&](Bytes p) { return d.decode(p); };
  EXPECT_EQ(decode({}).error().code, WireErrc::malformed);
  EXPECT_EQ(decode({0x71}).error(), (WireError{WireErrc::unknown_message, 0}));
  EXPECT_EQ(decode({131, 80}).error(), (WireError{WireErrc::unknown_message, 1}));
  EXPECT_EQ(decode({131}).error().code, WireErrc::malformed);
  // A control term cut short, a payload cut short, bytes after the payload.
  Bytes p = hex(pass_through[2]);
  auto cut = decode(Bytes(p.begin(), p.begin() + 20));
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code, WireErrc::bad_term);
  EXPECT_EQ(cut.error().offset, 1u);
  EXPECT_EQ(cut.error().term.code, etf::DecodeErrc::truncated);
  auto short_payload = decode(Bytes(p.begin(), p.end() - 1));
  ASSERT_FALSE(short_payload);
  EXPECT_EQ(short_payload.error().code, WireErrc::bad_term);
  Bytes longer = p;
  longer.push_back(106);
  EXPECT_EQ(decode(longer).error().code, WireErrc::trailing_bytes);
  // A control tuple of the wrong shape (LINK with one pid): malformed, at the control's offset.
  Bytes one_pid{packet_tag::pass_through};
  etf::encode_append(Term::tuple(op::link, local(1)), one_pid);
  EXPECT_EQ(decode(one_pid).error(), (WireError{WireErrc::malformed, 1}));
  // The same from OTP's LINK with its arity cut to 2: the second pid is left as a payload
  // without its version byte, a bad term where it starts.
  Bytes link = hex(pass_through[0]);
  link[3] = 2;
  auto bad = decode(link);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, WireErrc::bad_term);
  EXPECT_EQ(bad.error().offset, 32u);
  // An operation this node does not know, in a well-formed tuple.
  Bytes unknown{packet_tag::pass_through};
  etf::encode_append(Term::tuple(77, local(1)), unknown);
  EXPECT_EQ(decode(unknown).error(), (WireError{WireErrc::unknown_message, 1}));
}

TEST(Packet, a_large_payload_shares_the_frame_it_came_in) {
  Term blob = Term::binary(std::string(200'000, 'q'));
  Bytes packet = encode_packet(Send{local(1), local(2), blob, std::nullopt}, default_flags);
  FrameReader reader(4, 1 << 20);
  std::size_t at = 0;
  PacketDecoder d;
  std::optional<ControlMessage> got;
  while (!got) {
    auto room = reader.space();
    std::size_t n = std::min(room.size(), packet.size() - at);
    std::copy_n(packet.begin() + static_cast<std::ptrdiff_t>(at), n, room.begin());
    at += n;
    reader.commit(n);
    auto f = reader.next();
    ASSERT_TRUE(f);
    if (!*f) continue;
    ASSERT_NE((*f)->owner, nullptr);
    auto owner = (*f)->owner->bytes();
    auto r = d.decode((*f)->bytes, (*f)->owner);
    ASSERT_TRUE(r && *r);
    const Term& msg = std::get<Send>(**r).message;
    EXPECT_EQ(msg, blob);
    EXPECT_GE(msg.bytes().data(), owner.data());
    EXPECT_LT(msg.bytes().data(), owner.data() + owner.size());
    got = std::move(**r);
  }
}

namespace {

// Feeds `stream` (frames with their lengths) through a FrameReader whose placer is `d`, as a
// connection reads, in reads of at most `chunk` bytes; returns the messages, or the error.
std::expected<std::vector<ControlMessage>, WireError> read_placed(PacketDecoder& d,
                                                                  const Bytes& stream,
                                                                  std::size_t chunk,
                                                                  std::size_t* placed = nullptr) {
  FrameReader reader(4, 1 << 24, 1024, 4096);
  reader.set_placer(
      [&](std::span<const std::uint8_t> head, std::size_t length) { return d.place(head, length); },
      PacketDecoder::fragment_head);
  std::vector<ControlMessage> out;
  std::size_t at = 0;
  while (at < stream.size()) {
    auto room = reader.space();
    std::size_t n = std::min({room.size(), chunk, stream.size() - at});
    std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(at), n, room.begin());
    at += n;
    reader.commit(n);
    for (;;) {
      auto f = reader.next();
      if (!f) return std::unexpected(f.error());
      if (!*f) break;
      if (placed) *placed += (*f)->placed;
      auto r = (*f)->placed ? d.decode_placed((*f)->bytes, (*f)->placed)
                            : d.decode((*f)->bytes, (*f)->owner);
      if (!r) return std::unexpected(r.error());
      if (*r) out.push_back(std::move(**r));
    }
  }
  return out;
}

Bytes joined(std::initializer_list<const std::vector<Bytes>*> lists, bool interleave) {
  Bytes out;
  std::size_t longest = 0;
  for (auto* l : lists) longest = std::max(longest, l->size());
  if (interleave) {
    for (std::size_t i = 0; i < longest; ++i)
      for (auto* l : lists)
        if (i < l->size()) out.insert(out.end(), (*l)[i].begin(), (*l)[i].end());
  } else {
    for (auto* l : lists)
      for (const Bytes& f : *l) out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

}  // namespace

TEST(Packet, fragments_read_straight_into_their_reassembly_arrive_byte_exact) {
  std::string content(300'000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + i / 251);
  Term bin = Term::binary(content);
  ControlMessage m1 = Send{local(1), local(2), Term::tuple(atom("data"), bin), std::nullopt};
  ControlMessage m2 =
      RegSend{local(3), Atom("sink"), Term::binary(std::string(90'000, 'b')), std::nullopt};
  ControlMessage small = Send{local(4), local(5), atom("ping"), std::nullopt};
  auto f1 = encode_fragments(m1, default_flags, 1, 4096);
  auto f2 = encode_fragments(m2, default_flags, 2, 5000);
  std::vector<Bytes> f3{encode_packet(small, default_flags)};
  for (bool interleave : {false, true}) {
    Bytes stream = joined({&f1, &f3, &f2, &f3}, interleave);
    for (std::size_t chunk : {std::size_t{7}, std::size_t{4096}, std::size_t{1} << 20}) {
      PacketDecoder d;
      std::size_t placed = 0;
      auto got = read_placed(d, stream, chunk, &placed);
      ASSERT_TRUE(got) << to_string(got.error());
      ASSERT_EQ(got->size(), 4u);
      std::size_t ones = 0, twos = 0;
      for (const ControlMessage& m : *got) {
        if (m == m1) {
          ++ones;
          // The binary is the payload's bytes exactly, shared with the reassembly.
          const Term& t = std::get<Send>(m).message;
          EXPECT_EQ(t[1].bytes().size(), content.size());
          EXPECT_TRUE(
              std::equal(content.begin(), content.end(), t[1].bytes().begin(),
                         [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; }));
        } else if (m == m2) {
          ++twos;
        } else {
          EXPECT_TRUE(m == small);
        }
      }
      EXPECT_EQ(ones, 1u);
      EXPECT_EQ(twos, 1u);
      // Every continuation fragment but the short last ones went to its place: none copied.
      EXPECT_GT(placed, 300'000u + 90'000u - 4 * 5000u) << chunk;
      EXPECT_EQ(d.pending_bytes(), 0u);
      EXPECT_EQ(d.pending_sequences(), 0u);
    }
  }
}

TEST(Packet, fragments_the_decoder_cannot_place_are_refused_as_before) {
  ControlMessage m = Send{local(1), local(2), Term::binary(std::string(30'000, 'z')), std::nullopt};
  auto f = encode_fragments(m, default_flags, 9, 2000);
  ASSERT_EQ(f.size(), 16u);  // 30005 payload bytes
  auto code = [](PacketDecoder& d, std::initializer_list<Bytes> frames) {
    Bytes s;
    for (const Bytes& b : frames) s.insert(s.end(), b.begin(), b.end());
    auto r = read_placed(d, s, 1 << 20);
    return r ? WireErrc{} : r.error().code;
  };
  {
    PacketDecoder d;  // a continuation without its first fragment
    EXPECT_EQ(code(d, {f[1]}), WireErrc::malformed);
  }
  {
    PacketDecoder d;  // a fragment skipped
    EXPECT_EQ(code(d, {f[0], f[1], f[3]}), WireErrc::malformed);
  }
  {
    PacketLimits small;
    small.max_message = 5000;
    PacketDecoder d(small);  // more than the limit holds: nothing is placed beyond it
    EXPECT_EQ(code(d, {f[0], f[1], f[2]}), WireErrc::too_large);
    EXPECT_LE(d.pending_bytes(), 5000u);
  }
  {
    PacketDecoder d;  // a placed fragment must come back to decode_placed() as it was placed
    Bytes head(f[1].begin() + 4, f[1].begin() + 4 + PacketDecoder::fragment_head);
    EXPECT_TRUE(d.place(head, f[1].size() - 4).empty());  // no first fragment yet
    Bytes first = without_length(f[0]);
    ASSERT_TRUE(d.decode(first));
    auto room = d.place(head, f[1].size() - 4);
    EXPECT_EQ(room.size(), f[1].size() - 4 - PacketDecoder::fragment_head);
    EXPECT_THROW(d.decode_placed(head, room.size() + 1), std::logic_error);
  }
}
