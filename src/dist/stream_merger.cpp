#include "stream_merger.hpp"

#include <algorithm>
#include <cstring>

namespace ambitious::dist::detail {

// The length of `in`'s next frame (its header must be here).
std::size_t StreamMerger::length_at(const Incoming& in) const noexcept {
  std::size_t length = 0;
  for (std::size_t i = 0; i < header_; ++i) length = length << 8 | in.bytes[in.begin + i];
  return length;
}

// Whether `in`'s next frame can go out: it has arrived whole, or it is long and some of it is
// here. Before the handshake is over, only the control stream's.
bool StreamMerger::servable(StreamId id, const Incoming& in) const noexcept {
  if (!established_ && id != control_) return false;
  const std::size_t have = in.bytes.size() - in.begin;
  if (have < header_) return false;
  const std::size_t length = length_at(in);
  return have >= header_ + length || header_ + length >= long_frame_;
}

void StreamMerger::list(StreamId id, Incoming& in) {
  if (in.listed || current_ == id || !servable(id, in)) return;
  in.listed = true;
  ready_.push_back(id);
}

void StreamMerger::arrived(StreamId id, std::span<const std::uint8_t> bytes) {
  Incoming& in = in_[id];
  // What was taken goes once it is at least as long as what was not: a copy per byte at most.
  if (in.begin > 0 && in.begin >= in.bytes.size() - in.begin) {
    in.bytes.erase(in.bytes.begin(), in.bytes.begin() + static_cast<std::ptrdiff_t>(in.begin));
    buffered_ -= in.begin;
    in.begin = 0;
  }
  in.bytes.insert(in.bytes.end(), bytes.begin(), bytes.end());
  buffered_ += bytes.size();
  list(id, in);
}

void StreamMerger::established() {
  established_ = true;
  header_ = 4;
  for (auto& [id, in] : in_) list(id, in);
}

std::size_t StreamMerger::take(std::span<std::uint8_t> into) {
  std::size_t total = 0;
  while (total < into.size()) {
    if (!current_) {
      if (ready_.empty() || (!established_ && total > 0)) break;
      const StreamId id = ready_.front();
      ready_.pop_front();
      Incoming& in = in_[id];
      in.listed = false;
      if (!servable(id, in)) continue;
      current_ = id;
      current_left_ = header_ + length_at(in);
    }
    Incoming& in = in_[*current_];
    const std::size_t n =
        std::min({into.size() - total, in.bytes.size() - in.begin, current_left_});
    if (n == 0) break;  // a long frame waits for more of its bytes
    std::memcpy(into.data() + total, in.bytes.data() + in.begin, n);
    in.begin += n;
    total += n;
    current_left_ -= n;
    if (consumed_) consumed_(*current_, n);
    if (current_left_ == 0) {
      const StreamId done = *current_;
      current_.reset();
      list(done, in);
    }
  }
  return total;
}

}  // namespace ambitious::dist::detail
