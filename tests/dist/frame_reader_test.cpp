#include "ambitious/dist/frame_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

using namespace ambitious;
using namespace ambitious::dist;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes frame(std::size_t header, const std::string& body) {
  Bytes out;
  for (std::size_t i = header; i-- > 0;)
    out.push_back(static_cast<std::uint8_t>(body.size() >> (8 * i)));
  for (char c : body) out.push_back(static_cast<std::uint8_t>(c));
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts)
    for (std::uint8_t b : p) out.push_back(b);
  return out;
}

// Feeds `stream` in reads of at most `chunk` bytes and collects the frames as strings; "ERR"
// and the error's offset end the list when the reader refuses the stream.
std::vector<std::string> read_all(FrameReader& r, const Bytes& stream, std::size_t chunk) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < stream.size()) {
    auto room = r.space();
    EXPECT_FALSE(room.empty());
    std::size_t n = std::min({room.size(), chunk, stream.size() - at});
    std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(at), n, room.begin());
    at += n;
    r.commit(n);
    for (;;) {
      auto f = r.next();
      if (!f) {
        out.push_back("ERR " + std::to_string(f.error().offset));
        return out;
      }
      if (!*f) break;
      out.emplace_back((*f)->bytes.begin(), (*f)->bytes.end());
    }
  }
  return out;
}

}  // namespace

TEST(FrameReader, many_frames_in_one_read_come_out_in_order) {
  FrameReader r(4, 1000);
  Bytes s = concat({frame(4, "one"), frame(4, ""), frame(4, "three")});
  EXPECT_EQ(read_all(r, s, 4096), (std::vector<std::string>{"one", "", "three"}));
  EXPECT_EQ(r.buffered(), 0u);
  EXPECT_EQ(r.consumed(), s.size());
}

TEST(FrameReader, frames_straddling_reads_of_any_size_come_out_whole) {
  Bytes s;
  std::vector<std::string> want;
  for (int i = 0; i < 50; ++i) {
    want.push_back(
        std::string(static_cast<std::size_t>(i * 37 % 300), static_cast<char>('a' + i % 26)));
    s = concat({s, frame(4, want.back())});
  }
  for (std::size_t chunk : {1, 3, 7, 64, 1000}) {
    FrameReader r(4, 1000, 512, 1024);
    EXPECT_EQ(read_all(r, s, chunk), want) << chunk;
  }
}

TEST(FrameReader, a_large_frame_gets_a_binary_of_its_own) {
  std::string big(10'000, 'L');
  Bytes s = concat({frame(4, "small"), frame(4, big), frame(4, "after")});
  for (std::size_t chunk : {1, 100, 5000, 100'000}) {
    FrameReader r(4, 1 << 20, 4096, 8192);
    std::size_t at = 0, owned = 0;
    std::vector<std::string> got;
    while (at < s.size()) {
      auto room = r.space();
      std::size_t n = std::min({room.size(), chunk, s.size() - at});
      std::copy_n(s.begin() + static_cast<std::ptrdiff_t>(at), n, room.begin());
      at += n;
      r.commit(n);
      while (auto f = r.next().value()) {
        if (f->owner) {
          ++owned;
          EXPECT_EQ(f->owner->bytes().data(), f->bytes.data());
          EXPECT_EQ(f->owner->bytes().size(), f->bytes.size());
        }
        got.emplace_back(f->bytes.begin(), f->bytes.end());
      }
    }
    EXPECT_EQ(got, (std::vector<std::string>{"small", big, "after"})) << chunk;
    EXPECT_EQ(owned, 1u);
  }
}

TEST(FrameReader, a_frame_beyond_the_limit_is_refused_at_its_offset) {
  FrameReader r(4, 100);
  Bytes s = concat({frame(4, "ok"), frame(4, std::string(101, 'x'))});
  EXPECT_EQ(read_all(r, s, 4096), (std::vector<std::string>{"ok", "ERR 6"}));
}

TEST(FrameReader, the_handshake_length_gives_way_to_the_connection_length) {
  // Two handshake frames (2-byte lengths), then connection frames (4-byte), read at once: the
  // reader switches after the handshake's last frame.
  FrameReader r(2, 2048);
  Bytes s = concat({frame(2, "sok"), frame(2, "a0123456789abcdef"), frame(4, ""), frame(4, "p")});
  auto room = r.space();
  std::copy(s.begin(), s.end(), room.begin());
  r.commit(s.size());
  EXPECT_EQ(std::string(r.next().value()->bytes.size(), '?').size(), 3u);
  auto ack = r.next().value();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->bytes[0], 'a');
  r.reframe(4, 1000);
  auto tick = r.next().value();
  ASSERT_TRUE(tick);
  EXPECT_TRUE(tick->bytes.empty());
  auto p = r.next().value();
  ASSERT_TRUE(p);
  EXPECT_EQ(std::string(p->bytes.begin(), p->bytes.end()), "p");
  EXPECT_FALSE(r.next().value());
}

TEST(FrameReader, a_large_frame_the_placer_claims_is_read_to_its_place) {
  // Large frames whose head is "P:" go to `place` (one after the other), the others get a
  // binary of their own; small frames are never offered.
  std::string p1 = "P:" + std::string(6000, '1'), p2 = "P:" + std::string(5000, '2');
  std::string own = "O:" + std::string(7000, 'o');
  Bytes s = concat({frame(4, "small"), frame(4, p1), frame(4, own), frame(4, p2), frame(4, "P:")});
  for (std::size_t chunk : {1, 3, 100, 5000, 100'000}) {
    FrameReader r(4, 1 << 20, 4096, 8192);
    std::string place(11'000, '.');
    std::size_t used = 0, offered = 0;
    r.set_placer(
        [&](std::span<const std::uint8_t> head, std::size_t length) -> std::span<std::uint8_t> {
          ++offered;
          EXPECT_EQ(head.size(), 2u);
          if (head[0] != 'P') return {};
          auto* to = reinterpret_cast<std::uint8_t*>(place.data()) + used;
          used += length - 2;
          return {to, length - 2};
        },
        2);
    std::vector<std::string> got;
    std::size_t at = 0, placed = 0;
    while (at < s.size()) {
      auto room = r.space();
      ASSERT_FALSE(room.empty());
      std::size_t n = std::min({room.size(), chunk, s.size() - at});
      std::copy_n(s.begin() + static_cast<std::ptrdiff_t>(at), n, room.begin());
      at += n;
      r.commit(n);
      while (auto f = r.next().value()) {
        if (f->placed) {
          EXPECT_EQ(f->owner, nullptr);
          EXPECT_EQ(std::string(f->bytes.begin(), f->bytes.end()), "P:");
          placed += f->placed;
          got.push_back("placed " + std::to_string(f->placed));
        } else {
          got.emplace_back(f->bytes.begin(), f->bytes.end());
        }
      }
    }
    EXPECT_EQ(got, (std::vector<std::string>{"small", "placed 6000", own, "placed 5000", "P:"}))
        << chunk;
    EXPECT_EQ(offered, 3u);
    EXPECT_EQ(placed, 11'000u);
    EXPECT_EQ(place, std::string(6000, '1') + std::string(5000, '2'));
    EXPECT_EQ(r.consumed(), s.size());
    EXPECT_EQ(r.buffered(), 0u);
  }
}

TEST(FrameReader, after_a_large_frame_the_next_read_asks_for_one_head_only) {
  FrameReader r(4, 1 << 20, 4096, 8192);
  Bytes s = concat({frame(4, std::string(5000, 'L')), frame(4, "tail")});
  auto room = r.space();
  std::copy_n(s.begin(), 4 + 5000, room.begin());
  r.commit(4 + 5000);
  auto big = r.next().value();
  ASSERT_TRUE(big);
  EXPECT_EQ(big->bytes.size(), 5000u);
  // Without a placer the head is the length alone; the read after it is full size again.
  EXPECT_EQ(r.space().size(), 4u);
  std::copy_n(s.begin() + 5004, 4, r.space().begin());
  r.commit(4);
  EXPECT_FALSE(r.next().value());
  EXPECT_GT(r.space().size(), 4u);
  std::copy_n(s.begin() + 5008, 4, r.space().begin());
  r.commit(4);
  auto tail = r.next().value();
  ASSERT_TRUE(tail);
  EXPECT_EQ(std::string(tail->bytes.begin(), tail->bytes.end()), "tail");
}

TEST(FrameReader, a_placer_with_no_head_or_too_long_a_head_is_refused) {
  FrameReader r(4, 1 << 20, 4096, 8192);
  auto none = [](std::span<const std::uint8_t>, std::size_t) { return std::span<std::uint8_t>(); };
  EXPECT_THROW(r.set_placer(none, 0), std::invalid_argument);
  EXPECT_THROW(r.set_placer(none, FrameReader::max_head + 1), std::invalid_argument);
  EXPECT_NO_THROW(r.set_placer(none, FrameReader::max_head));
}
