#pragma once
// WireError: why bytes from a peer (epmd, a handshake, a connection) were refused, and where.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ambitious/core/etf.hpp"

namespace ambitious::dist {

/// Why a decoder of the distribution refused its input.
enum class WireErrc : std::uint8_t {
  truncated,        ///< the input ends inside a message (a stream reader: read more)
  unknown_message,  ///< a message tag or control operation this protocol does not define
  malformed,        ///< a field out of range or of the wrong kind
  trailing_bytes,   ///< bytes left after a message that must fill its frame
  too_large,        ///< a frame or a reassembled message beyond the configured limit
  bad_name,         ///< a node name that is not `alive@host` (or not valid UTF-8)
  bad_term,         ///< an embedded term the ETF decoder refused (see WireError::term)
  not_negotiated,   ///< a feature the connection did not negotiate (atom cache, fragments)
};

/// Text of a WireErrc.
std::string_view to_string(WireErrc e) noexcept;

/// A decoding failure: what, and the offset of the byte where it was found (for bad_term, the
/// offset of the term's first byte; `term` then says what the ETF decoder found, and where
/// inside the term).
struct WireError {
  WireErrc code = WireErrc::malformed;  ///< what was wrong
  std::size_t offset = 0;               ///< where, from the start of the input
  etf::DecodeError term{};              ///< for bad_term: the ETF decoder's error
  friend bool operator==(const WireError&, const WireError&) = default;
};

/// "malformed at byte 3", "bad term at byte 1 (truncated at byte 12)".
std::string to_string(const WireError& e);

}  // namespace ambitious::dist
