#include "ambitious/dist/frame_reader.hpp"

#include <algorithm>
#include <cstring>

namespace ambitious::dist {

FrameReader::FrameReader(std::size_t header, std::size_t max_frame, std::size_t large_from,
                         std::size_t buffer)
    : header_(header),
      max_frame_(max_frame),
      large_from_(large_from),
      buffer_(std::max(buffer, large_from + 4)) {}

std::span<std::uint8_t> FrameReader::space() {
  if (large_handed_) {
    large_.reset();
    large_handed_ = false;
  }
  if (large_ && large_filled_ < large_size_)
    return {large_data_ + large_filled_, large_size_ - large_filled_};
  if (end_ == buffer_.size() || (begin_ > 0 && begin_ == end_)) {
    // Move the partial frame to the front. It is smaller than large_from plus a header (a
    // larger one moved to its own binary), so the room after it is never empty.
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

void FrameReader::commit(std::size_t n) noexcept {
  if (large_ && !large_handed_ && large_filled_ < large_size_)
    large_filled_ += n;
  else
    end_ += n;
}

std::expected<std::optional<FrameReader::Frame>, WireError> FrameReader::next() {
  if (large_handed_) {
    large_.reset();
    large_handed_ = false;
  }
  if (large_) {
    if (large_filled_ < large_size_) return std::nullopt;
    large_handed_ = true;
    consumed_ += large_size_;
    return Frame{{large_data_, large_size_}, &*large_};
  }
  std::size_t have = end_ - begin_;
  if (have < header_) return std::nullopt;
  const std::uint8_t* p = buffer_.data() + begin_;
  std::size_t len = 0;
  for (std::size_t i = 0; i < header_; ++i) len = len << 8 | p[i];
  if (len > max_frame_) return std::unexpected(WireError{WireErrc::too_large, consumed_});
  if (len >= large_from_) {
    // Its own binary: the bytes already here go in first, the reads fill the rest. Writing into
    // the binary after binary_filled() returned is sound: nobody else holds it until next()
    // hands it out, complete.
    std::size_t now = std::min(have - header_, len);
    large_ = Term::binary_filled(len, [&](std::span<std::uint8_t> to) {
      large_data_ = to.data();
      std::memcpy(to.data(), p + header_, now);
    });
    large_size_ = len;
    large_filled_ = now;
    begin_ += header_ + now;
    consumed_ += header_;
    if (large_filled_ < large_size_) return std::nullopt;
    large_handed_ = true;
    consumed_ += large_size_;
    return Frame{{large_data_, large_size_}, &*large_};
  }
  if (have < header_ + len) return std::nullopt;
  std::span<std::uint8_t> bytes(buffer_.data() + begin_ + header_, len);
  begin_ += header_ + len;
  consumed_ += header_ + len;
  return Frame{bytes, nullptr};
}

}  // namespace ambitious::dist
