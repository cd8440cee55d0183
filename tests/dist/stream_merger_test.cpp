// StreamMerger (QuicCarrier's reading, without I/O): the peer's streams in, whole frames out,
// streams in turn; a long frame as it arrives; the handshake on the control stream alone, a
// frame per read; credit reported for what went out. fuzz/quic_streams_fuzz.cpp checks the
// same properties on any input.

#include "stream_merger.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

using ambitious::dist::detail::StreamMerger;

namespace {

using Bytes = std::vector<std::uint8_t>;

// A frame: `header` length bytes, then `length` bytes of `fill`.
Bytes frame(std::size_t header, std::size_t length, std::uint8_t fill) {
  Bytes b(header + length, fill);
  for (std::size_t i = 0; i < header; ++i)
    b[i] = static_cast<std::uint8_t>(length >> (8 * (header - 1 - i)));
  return b;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct Merged {
  std::vector<std::pair<StreamMerger::StreamId, std::size_t>> credits;
  StreamMerger merger{
      0, 64, [this](StreamMerger::StreamId id, std::size_t n) { credits.emplace_back(id, n); }};
  // One read of at most `room` bytes.
  Bytes take(std::size_t room = 1024) {
    Bytes out(room);
    out.resize(merger.take(out));
    return out;
  }
};

TEST(StreamMerger, a_frame_goes_out_only_once_whole_and_streams_take_turns) {
  Merged m;
  m.merger.established();
  const Bytes a1 = frame(4, 10, 'a'), a2 = frame(4, 3, 'A'), b1 = frame(4, 5, 'b');
  // Half of a1: nothing yet, and b1 whole meanwhile goes out first.
  m.merger.arrived(4, std::span(a1).first(7));
  EXPECT_TRUE(m.take().empty());
  m.merger.arrived(8, b1);
  EXPECT_EQ(m.take(), b1);
  // The rest of a1 and a2 at once: both, in order.
  Bytes rest(a1.begin() + 7, a1.end());
  m.merger.arrived(4, concat({rest, a2}));
  EXPECT_EQ(m.take(), concat({a1, a2}));
  EXPECT_EQ(m.credits, (std::vector<std::pair<StreamMerger::StreamId, std::size_t>>{
                           {8, b1.size()}, {4, a1.size()}, {4, a2.size()}}));
}

TEST(StreamMerger, streams_with_whole_frames_alternate_frame_by_frame) {
  Merged m;
  m.merger.established();
  const Bytes a = frame(4, 2, 'a'), b = frame(4, 2, 'b');
  m.merger.arrived(4, concat({a, a}));
  m.merger.arrived(8, concat({b, b}));
  EXPECT_EQ(m.take(), concat({a, b, a, b}));
}

TEST(StreamMerger, a_long_frame_goes_out_as_it_arrives_and_holds_the_others_back) {
  Merged m;
  m.merger.established();
  const Bytes big = frame(4, 100, 'x'), small = frame(4, 1, 's');
  m.merger.arrived(4, std::span(big).first(30));
  EXPECT_EQ(m.take(), Bytes(big.begin(), big.begin() + 30));
  // Another stream's frame waits: the two must not interleave.
  m.merger.arrived(8, small);
  EXPECT_TRUE(m.take().empty());
  m.merger.arrived(4, std::span(big).subspan(30));
  EXPECT_EQ(m.take(), concat({Bytes(big.begin() + 30, big.end()), small}));
}

TEST(StreamMerger, the_handshake_reads_the_control_stream_alone_a_frame_at_a_time) {
  Merged m;
  const Bytes h1 = frame(2, 3, 'h'), h2 = frame(2, 4, 'H'), after = frame(4, 2, 'z');
  const Bytes early = frame(4, 2, 'e');
  m.merger.arrived(4, early);  // the peer's pool stream, before the handshake is over
  m.merger.arrived(0, concat({h1, h2, after}));
  EXPECT_EQ(m.take(), h1);
  EXPECT_EQ(m.take(), h2);
  m.merger.established();  // the connection saw the last handshake frame
  EXPECT_EQ(m.take(), concat({after, early}));
}

TEST(StreamMerger, what_went_out_is_dropped_so_memory_follows_what_waits) {
  Merged m;
  m.merger.established();
  const Bytes f = frame(4, 1000, 'f');
  for (int i = 0; i < 100; ++i) {
    m.merger.arrived(4, f);
    EXPECT_EQ(m.take(2048), f);
    EXPECT_LE(m.merger.buffered(), 2 * f.size());
  }
}

}  // namespace
