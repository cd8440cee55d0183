#pragma once
// FrameReader: splits a connection's byte stream into length-prefixed frames (2-byte lengths
// during the handshake, 4-byte ones after it), in buffers it owns and bounds. Small frames are
// parsed where they were read, many per read; a large frame is read straight into a binary of
// its own, so that the large binaries of its payload share it instead of being copied, or, when
// a placer claims it (a fragment the packet decoder reassembles), straight to where the placer
// says. After a large frame the next read fetches only the next frame's head, so that the bytes
// of a large frame that follows go to their place directly, not through the shared buffer.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "ambitious/core/term.hpp"
#include "ambitious/dist/wire_error.hpp"

namespace ambitious::dist {

/// Owner only. The carrier asks for space(), reads into it, commit()s what it read, then takes
/// frames with next() until it returns nothing.
class FrameReader {
 public:
  /// A frame: its bytes (writable: the packet decoder writes version bytes in place) and the
  /// binary they lie in for a large frame (null for a small one). Empty bytes: a zero-length
  /// frame (a tick, after the handshake). Valid until the next call of any member.
  struct Frame {
    std::span<std::uint8_t> bytes;  ///< the frame without its length (a placed frame: its head)
    const Term* owner = nullptr;    ///< the binary the bytes lie in, for a large frame
    std::size_t placed = 0;  ///< bytes after `bytes` that went where the placer said (else 0)
  };

  /// Given the first head bytes of a large frame and the frame's length, where the rest of it
  /// (length - head bytes) goes, written by the reader before next() hands the frame out; an
  /// empty span leaves the frame to the reader (a binary of its own). The room must stay valid
  /// and unread by anyone else until then.
  using Placer = std::function<std::span<std::uint8_t>(std::span<const std::uint8_t>, std::size_t)>;

  /// `header`: 2 or 4 bytes of length; `max_frame`: the largest frame accepted; frames of at
  /// least `large_from` bytes get a binary of their own; `buffer`: the bytes read at most at once
  /// into the shared buffer (at least large_from + header).
  FrameReader(std::size_t header, std::size_t max_frame, std::size_t large_from = 64 * 1024,
              std::size_t buffer = 128 * 1024);

  /// Changes the length size and limit from the next frame on (the handshake's end); what was
  /// read already stays.
  void reframe(std::size_t header, std::size_t max_frame) noexcept {
    header_ = header;
    max_frame_ = max_frame;
  }

  /// Asks `placer` about every large frame from the next one on, with its first `head` bytes
  /// (at most max_head, 1 at least; a large frame has more).
  void set_placer(Placer placer, std::size_t head);
  /// The longest head set_placer() accepts.
  static constexpr std::size_t max_head = 32;

  /// Where the next read goes (never empty).
  std::span<std::uint8_t> space();
  /// `n` bytes were read into space().
  void commit(std::size_t n) noexcept;
  /// The next whole frame; nothing when more bytes are needed; too_large (offset: the frame's
  /// position in the stream) for a length beyond max_frame.
  std::expected<std::optional<Frame>, WireError> next();

  /// Bytes read and not yet handed out as frames.
  std::size_t buffered() const noexcept {
    return end_ - begin_ + (in_large() ? large_filled_ + (placed_ ? head_size_ : 0) : 0);
  }
  /// Bytes of the stream consumed so far (handed out as frames, headers included).
  std::uint64_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t header_, max_frame_, large_from_;
  std::vector<std::uint8_t> buffer_;
  std::size_t begin_ = 0, end_ = 0;  // unconsumed bytes of buffer_
  std::uint64_t consumed_ = 0;
  void drop_handed() noexcept;
  bool in_large() const noexcept { return large_ || placed_; }
  // The large frame being read (into large_, or where the placer said: placed_, its head in
  // head_), and how much of it (after the head when placed) is in.
  std::optional<Term> large_;
  bool placed_ = false;
  std::uint8_t* large_data_ = nullptr;
  std::size_t large_size_ = 0, large_filled_ = 0;
  bool large_handed_ = false;  // next() returned it: drop it on the next call
  bool after_large_ = false;   // the last frame handed out was large: read a head's worth next
  Placer placer_;
  std::size_t head_size_ = 0;
  std::uint8_t head_[max_head] = {};
};

}  // namespace ambitious::dist
