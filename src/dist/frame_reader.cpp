#include "ambitious/dist/frame_reader.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace ambitious::dist {

FrameReader::FrameReader(std::size_t header, std::size_t max_frame, std::size_t large_from,
                         std::size_t buffer)
    : header_(header),
      max_frame_(max_frame),
      large_from_(large_from),
      buffer_(std::max(buffer, large_from + 4)) {}

void FrameReader::set_placer(Placer placer, std::size_t head) {
  if (head == 0 || head > max_head || head >= large_from_)
    throw std::invalid_argument("FrameReader::set_placer: a head of 1 to max_head bytes");
  placer_ = std::move(placer);
  head_size_ = head;
}

void FrameReader::drop_handed() noexcept {
  if (!large_handed_) return;
  large_.reset();
  placed_ = false;
  large_data_ = nullptr;
  large_handed_ = false;
}

std::span<std::uint8_t> FrameReader::space() {
  drop_handed();
  if (in_large() && large_filled_ < large_size_)
    return {large_data_ + large_filled_, large_size_ - large_filled_};
  if (end_ == buffer_.size() || (begin_ > 0 && begin_ == end_)) {
    // Move the partial frame to the front. It is smaller than large_from plus a header (a
    // larger one moved to its own binary or its place), so the room after it is never empty.
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  std::size_t room = buffer_.size() - end_;
  // Right after a large frame, another is likely to follow (the next fragment of a stream):
  // read only up to its head, so that its body is read to its own place rather than into the
  // shared buffer and copied from there. Small frames cost one short read more, once.
  const std::size_t want = header_ + head_size_;
  if (after_large_ && end_ - begin_ < want) room = std::min(room, want - (end_ - begin_));
  return {buffer_.data() + end_, room};
}

void FrameReader::commit(std::size_t n) noexcept {
  if (in_large() && !large_handed_ && large_filled_ < large_size_) {
    large_filled_ += n;
  } else {
    end_ += n;
    after_large_ = false;
  }
}

std::expected<std::optional<FrameReader::Frame>, WireError> FrameReader::next() {
  drop_handed();
  auto hand_large = [&]() -> Frame {
    large_handed_ = true;
    after_large_ = true;
    consumed_ += large_size_ + (placed_ ? head_size_ : 0);
    if (placed_) return Frame{{head_, head_size_}, nullptr, large_size_};
    return Frame{{large_data_, large_size_}, &*large_};
  };
  if (in_large()) {
    if (large_filled_ < large_size_) return std::nullopt;
    return hand_large();
  }
  std::size_t have = end_ - begin_;
  if (have < header_) return std::nullopt;
  const std::uint8_t* p = buffer_.data() + begin_;
  std::size_t len = 0;
  for (std::size_t i = 0; i < header_; ++i) len = len << 8 | p[i];
  if (len > max_frame_) return std::unexpected(WireError{WireErrc::too_large, consumed_});
  if (len >= large_from_) {
    std::size_t now = std::min(have - header_, len);
    if (placer_) {
      // The placer decides from the frame's head: wait until it is here (it is short, and the
      // buffer has room for it after this partial frame).
      if (now < head_size_) return std::nullopt;
      std::span<std::uint8_t> to = placer_(std::span(p + header_, head_size_), len);
      if (!to.empty()) {
        if (to.size() != len - head_size_)
          throw std::logic_error("FrameReader: the placer gave room of the wrong size");
        std::memcpy(head_, p + header_, head_size_);
        std::memcpy(to.data(), p + header_ + head_size_, now - head_size_);
        placed_ = true;
        large_data_ = to.data();
        large_size_ = len - head_size_;
        large_filled_ = now - head_size_;
        begin_ += header_ + now;
        consumed_ += header_;
        if (large_filled_ < large_size_) return std::nullopt;
        return hand_large();
      }
    }
    // Its own binary: the bytes already here go in first, the reads fill the rest. Writing into
    // the binary after binary_filled() returned is sound: nobody else holds it until next()
    // hands it out, complete.
    large_ = Term::binary_filled(len, [&](std::span<std::uint8_t> to) {
      large_data_ = to.data();
      std::memcpy(to.data(), p + header_, now);
    });
    large_size_ = len;
    large_filled_ = now;
    begin_ += header_ + now;
    consumed_ += header_;
    if (large_filled_ < large_size_) return std::nullopt;
    return hand_large();
  }
  if (have < header_ + len) return std::nullopt;
  std::span<std::uint8_t> bytes(buffer_.data() + begin_ + header_, len);
  begin_ += header_ + len;
  consumed_ += header_ + len;
  return Frame{bytes, nullptr};
}

}  // namespace ambitious::dist
