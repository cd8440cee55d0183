#pragma once
// Private: StreamMerger, the reading half of QuicCarrier (quic_carrier.hpp) without any I/O, so
// that it can be tested and fuzzed alone (fuzz/quic_streams_fuzz.cpp): the bytes of the peer's
// streams in, one stream of whole distribution frames out.
//
// A frame is a length (2 bytes in the handshake, then 4) and that many bytes. A stream's frame
// goes out once it has arrived whole, so a sender's large message holds back no other stream; a
// frame at least `long_frame` long goes out as it arrives (waiting for all of it would hold a
// stream's window hostage), and the others wait until it ends. Streams with a whole frame take
// turns. Frames never interleave, and each stream's frames go out in its order.
//
// During the handshake only the control stream is read, one frame per take(), so that the
// read position of the control stream is at a frame boundary when 4-byte lengths begin
// (established()); what the other streams send meanwhile waits.
//
// Memory: what arrived and was not taken, and at most as much again of what was taken (a
// stream's buffer drops what was taken once that is at least half of it).

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace ambitious::dist::detail {

class StreamMerger {
 public:
  using StreamId = std::int64_t;
  /// Told how many bytes of a stream each take() handed out (QUIC gives that much credit back).
  using Consumed = std::function<void(StreamId, std::size_t)>;

  StreamMerger(StreamId control, std::size_t long_frame, Consumed consumed)
      : control_(control), long_frame_(long_frame), consumed_(std::move(consumed)) {}

  /// Bytes that arrived on `stream`, following what arrived on it before.
  void arrived(StreamId stream, std::span<const std::uint8_t> bytes);
  /// The handshake is over: 4-byte lengths from now on, every stream read.
  void established();
  /// Whole frames, and what is here of a long one, into `into`, streams in turn (in the
  /// handshake one frame at most); how many bytes. 0 when no frame is ready.
  std::size_t take(std::span<std::uint8_t> into);
  /// Bytes held (arrived, or taken but not yet dropped).
  std::size_t buffered() const noexcept { return buffered_; }

 private:
  struct Incoming {
    std::vector<std::uint8_t> bytes;
    std::size_t begin = 0;  // bytes[0, begin) were taken
    bool listed = false;    // in ready_
  };

  std::size_t length_at(const Incoming& in) const noexcept;
  bool servable(StreamId id, const Incoming& in) const noexcept;
  void list(StreamId id, Incoming& in);

  const StreamId control_;
  const std::size_t long_frame_;
  Consumed consumed_;
  std::unordered_map<StreamId, Incoming> in_;
  std::deque<StreamId> ready_;       // streams whose next frame can go out, in turn
  std::optional<StreamId> current_;  // the stream whose frame is going out
  std::size_t current_left_ = 0;     // bytes of that frame not yet out
  std::size_t header_ = 2;           // a frame's length bytes: 2 in the handshake, then 4
  bool established_ = false;
  std::size_t buffered_ = 0;
};

}  // namespace ambitious::dist::detail
