#pragma once
// etf::Segments and encode_segments: a term's encoding in pieces for writev(2), its large
// binaries referenced instead of copied (what the distribution sends large messages with). Apart
// from etf.hpp, so that a file using terms does not compile it.

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ambitious/core/etf.hpp"
#include "ambitious/core/term.hpp"

namespace ambitious::etf {

/// An encoding in pieces for writev(2): what the encoder wrote, cut where the term's large
/// binaries go, and those binaries' own bytes in between, by reference (each binary kept alive
/// by this object), as OTP's distribution hands large binaries to the socket in an I/O vector
/// instead of copying them. The pieces, in order, are the bytes of encode(t).
class Segments {
 public:
  /// No pieces.
  Segments() noexcept;
  /// The pieces stay where they are (their bytes are on the heap); `o` is left empty.
  Segments(Segments&& o) noexcept;
  /// Takes `o`'s pieces, as the move constructor; `o` is left empty.
  Segments& operator=(Segments&& o) noexcept;
  /// Releases the pieces (and its hold on the binaries they reference).
  ~Segments();
  Segments(const Segments&) = delete;
  Segments& operator=(const Segments&) = delete;

  /// The pieces in order, for writev(2) (at most IOV_MAX a call) or any gather write; valid
  /// while this object lives.
  std::span<const ::iovec> iovecs() const noexcept {
    return iov_.empty() ? std::span<const ::iovec>(&whole_, size_ ? 1 : 0) : iov_;
  }
  /// The bytes of all pieces: encoded_size(t).
  std::size_t size() const noexcept { return size_; }
  /// The pieces copied into one buffer: encode(t).
  std::vector<std::uint8_t> flatten() const;

 private:
  friend Segments encode_segments(const Term& t, std::size_t share_from);
  std::vector<std::uint8_t> bytes_;  // ours: all but the shared binaries' bytes
  std::vector<Term> shared_;         // the binaries whose bytes the pieces reference
  std::vector<::iovec> iov_;         // empty when nothing is shared: then the one piece is whole_
  ::iovec whole_{};
  std::size_t size_ = 0;
};

/// The encoding of `t` (the bytes of encode(t)) as Segments: binaries of at least `share_from`
/// bytes are referenced, not copied, so sending a 1 MiB binary copies none of it.
Segments encode_segments(const Term& t, std::size_t share_from = share_binaries_from);

}  // namespace ambitious::etf
