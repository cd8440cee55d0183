#pragma once
// Private: big-endian reading and writing for the dist codecs. A Reader walks a span and
// reports the offset where it ran out; a Writer appends to a byte vector.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ambitious/dist/wire_error.hpp"

namespace ambitious::dist::detail {

/// A cursor over bytes. A read past the end returns zero (or nothing) and clears ok(): callers
/// check ok() once after a group of reads instead of after each; truncated() is then the error,
/// at the offset where the input ends.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes, std::size_t base = 0) noexcept
      : bytes_(bytes), base_(base) {}

  bool ok() const noexcept { return ok_; }
  std::size_t offset() const noexcept { return base_ + pos_; }
  std::size_t left() const noexcept { return bytes_.size() - pos_; }
  bool at_end() const noexcept { return pos_ == bytes_.size(); }
  WireError truncated() const noexcept {
    return WireError{WireErrc::truncated, base_ + bytes_.size()};
  }

  std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(take(1)); }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(take(2)); }
  std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(take(4)); }
  std::uint64_t u64() noexcept { return take(8); }
  /// The next `n` bytes (empty and not ok() when fewer are left).
  std::span<const std::uint8_t> bytes(std::size_t n) noexcept {
    if (!ok_ || n > left()) {
      fail();
      return {};
    }
    auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view text(std::size_t n) noexcept {
    auto b = bytes(n);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  /// Everything left.
  std::span<const std::uint8_t> rest() noexcept { return bytes(left()); }

 private:
  std::uint64_t take(std::size_t n) noexcept {
    if (!ok_ || n > left()) {
      fail();
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = v << 8 | bytes_[pos_ + i];
    pos_ += n;
    return v;
  }
  void fail() noexcept { ok_ = false; }

  std::span<const std::uint8_t> bytes_;
  std::size_t base_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

/// Appends big-endian fields to a byte vector.
class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) noexcept : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void text(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  std::size_t size() const noexcept { return out_.size(); }
  /// Overwrites the 2-byte field at `at` (a length written before what it measures).
  void patch_u16(std::size_t at, std::uint16_t v) noexcept {
    out_[at] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 1] = static_cast<std::uint8_t>(v);
  }
  void patch_u32(std::size_t at, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) out_[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t>& out_;
};

/// True for valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF); `chars` gets the
/// number of code points.
bool valid_utf8(std::string_view s, std::size_t& chars) noexcept;

}  // namespace ambitious::dist::detail
