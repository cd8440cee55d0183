// libFuzzer: a QUIC peer's streams (the control stream with its handshake frames, then frames
// of any length on four streams, some cut short), arriving in pieces of any size in any order,
// merged by StreamMerger (QuicCarrier's reading) and taken in reads of any size. Never
// crashes, and what comes out is what the connection above needs: only whole frames, never
// two interleaved; each stream's bytes in its order, none lost or repeated; every frame that
// arrived whole comes out; credit is given back for exactly what came out, stream by stream;
// in the handshake, only the control stream's frames, one per read; what is held stays within
// twice what arrived and was not taken.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <utility>
#include <vector>

#include "stream_merger.hpp"

namespace {

using ambitious::dist::detail::StreamMerger;

constexpr std::size_t long_frame = 48;  // small, so that long frames go out in pieces here
constexpr int stream_count = 4;
constexpr StreamMerger::StreamId id_of(int s) { return 4 * s; }  // 0: the control stream

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "quic_streams_fuzz: %s\n", why);
  __builtin_trap();
}

// The fuzzer's bytes, one at a time (0 once they run out).
struct Script {
  std::span<const std::uint8_t> data;
  std::size_t at = 0;
  bool more() const { return at < data.size(); }
  std::uint8_t next() { return at < data.size() ? data[at++] : 0; }
};

// What one stream sends, and where its frames end.
struct Source {
  std::vector<std::uint8_t> bytes;
  std::vector<std::size_t> frame_ends;  // offsets just past each whole frame, in order
  std::size_t sent = 0;                 // bytes arrived so far
  std::size_t taken = 0;                // bytes that came out
  std::size_t credited = 0;             // bytes the merger reported consumed
  std::size_t bound = 0;                // what the merger may hold for it (2x what waited)

  void frame(std::size_t header, std::size_t length, int s, std::size_t k) {
    for (std::size_t i = header; i-- > 0;)
      bytes.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
    for (std::size_t i = 0; i < length; ++i)
      bytes.push_back(static_cast<std::uint8_t>(s * 61 + k * 17 + i * 3));
    frame_ends.push_back(bytes.size());
  }
  // The bytes up to the end of its last whole frame.
  std::size_t whole() const { return frame_ends.empty() ? 0 : frame_ends.back(); }
  bool at_frame_end(std::size_t offset) const {
    return offset == 0 || std::binary_search(frame_ends.begin(), frame_ends.end(), offset);
  }
  // The end of the frame that starts at `offset` (past the bytes when it is cut short).
  std::size_t end_of_frame_at(std::size_t offset) const {
    auto it = std::upper_bound(frame_ends.begin(), frame_ends.end(), offset);
    return it == frame_ends.end() ? bytes.size() + 1 : *it;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Script script{std::span(data, size)};
  std::array<Source, stream_count> sources;
  // The control stream's handshake frames (2-byte lengths), then everyone's 4-byte frames,
  // and at the end of some streams a short frame that never completes.
  const std::size_t handshake_frames = script.next() % 4;
  for (std::size_t k = 0; k < handshake_frames; ++k) sources[0].frame(2, script.next() % 40, 0, k);
  const std::size_t handshake_end = sources[0].whole();
  for (int s = 0; s < stream_count; ++s) {
    const std::size_t frames = script.next() % 6;
    for (std::size_t k = 0; k < frames; ++k) sources[s].frame(4, script.next() % 100, s, 10 + k);
    if (script.next() % 2) {
      const std::size_t length = 1 + script.next() % (long_frame - 5);
      Source& src = sources[s];
      const std::size_t keep = src.bytes.size() + 4 + length / 2;
      src.frame(4, length, s, 99);
      src.frame_ends.pop_back();  // cut short: not a whole frame
      src.bytes.resize(keep);
    }
  }

  // Which stream each byte that comes out was consumed from, as the merger reports it.
  std::vector<std::pair<int, std::size_t>> credits;
  StreamMerger merger(id_of(0), long_frame, [&](StreamMerger::StreamId id, std::size_t n) {
    if (id % 4 != 0 || id / 4 >= stream_count) fail("credit for a stream that sent nothing");
    credits.emplace_back(static_cast<int>(id / 4), n);
  });
  bool established = false;
  int open_frame = -1;  // the stream whose frame is partly out
  std::vector<std::uint8_t> out(64);

  auto arrive = [&](int s, std::size_t n) {
    Source& src = sources[s];
    n = std::min(n, src.bytes.size() - src.sent);
    if (n == 0) return;
    merger.arrived(id_of(s), std::span(src.bytes).subspan(src.sent, n));
    src.sent += n;
    src.bound = 2 * (src.sent - src.taken);
  };
  // One read of `room` bytes, checked; whether it gave anything.
  auto take = [&](std::size_t room) {
    credits.clear();
    const std::size_t got = merger.take(std::span(out).first(room));
    if (got > room) fail("took more than the room");
    std::size_t at = 0, frames_ended = 0;
    for (auto [s, n] : credits) {
      Source& src = sources[s];
      if (n == 0 || at + n > got) fail("credit that does not match what came out");
      if (open_frame >= 0 && open_frame != s) fail("a frame interleaved with another");
      if (!established && s != 0) fail("a stream other than the control stream in the handshake");
      if (src.taken + n > src.sent) fail("bytes that had not arrived");
      if (!std::equal(out.begin() + at, out.begin() + at + n, src.bytes.begin() + src.taken))
        fail("bytes out of order, lost or repeated");
      if (!established && src.taken + n > handshake_end) fail("past the handshake's frames");
      if (src.at_frame_end(src.taken)) {
        // A frame starts: whole, unless it is long (then it goes out as it arrives).
        const std::size_t end = src.end_of_frame_at(src.taken);
        if (end - src.taken < long_frame && src.sent < end) fail("a short frame before all of it");
      }
      src.taken += n;
      src.credited += n;
      at += n;
      open_frame = src.at_frame_end(src.taken) ? -1 : s;
      if (open_frame < 0) ++frames_ended;
    }
    if (at != got) fail("bytes out without credit");
    if (!established && (frames_ended > 1 || (frames_ended == 1 && open_frame >= 0)))
      fail("more than one frame in a handshake read");
    // The connection turns to 4-byte lengths once it has read the last handshake frame.
    if (!established && sources[0].taken == handshake_end && open_frame < 0) {
      merger.established();
      established = true;
    }
    std::size_t bound = 0;
    for (const Source& src : sources) bound += src.bound;
    if (merger.buffered() > bound) fail("holds more than twice what waited");
    return got > 0;
  };

  if (handshake_frames == 0) {
    merger.established();
    established = true;
  }
  while (script.more()) {
    switch (script.next() % 3) {
      case 0: {
        const int s = script.next() % stream_count;
        arrive(s, 1 + script.next() % 32);
        break;
      }
      case 1:
        take(1 + script.next() % out.size());
        break;
      default:
        break;
    }
  }
  // Everything arrives, and is read to the end.
  for (int s = 0; s < stream_count; ++s) arrive(s, sources[s].bytes.size());
  while (take(out.size())) {
  }
  for (const Source& src : sources) {
    if (src.taken != src.whole()) fail("a whole frame that never came out");
    if (src.credited != src.taken) fail("credit not given back for what came out");
  }
  if (!established) fail("the handshake's frames never all came out");
  return 0;
}
