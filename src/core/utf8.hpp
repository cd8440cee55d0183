#pragma once
// UTF-8: encoding a code point, and decoding with validation (atom names, charlists, printing).

#include <cstdint>
#include <string>

namespace ambitious::detail {

/// True for a Unicode scalar value: up to U+10FFFF and not a surrogate.
constexpr bool is_scalar_value(std::uint32_t cp) noexcept {
  return cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

/// Appends `cp` (a scalar value) encoded as UTF-8.
inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Decodes the code point at `p` into `cp` and moves `p` past it. False, leaving `p` where it
/// was, on anything that is not valid UTF-8: a bad lead or continuation byte, a truncated
/// sequence, an overlong form, a surrogate, or a value above U+10FFFF.
inline bool next_code_point(const unsigned char*& p, const unsigned char* end,
                            std::uint32_t& cp) noexcept {
  unsigned c = *p;
  int extra = c < 0x80             ? 0
              : (c & 0xE0) == 0xC0 ? 1
              : (c & 0xF0) == 0xE0 ? 2
              : (c & 0xF8) == 0xF0 ? 3
                                   : -1;
  if (extra < 0 || end - p <= extra) return false;
  std::uint32_t v = extra == 0 ? c : extra == 1 ? (c & 0x1F) : extra == 2 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k <= extra; ++k) {
    if ((p[k] & 0xC0) != 0x80) return false;
    v = v << 6 | (p[k] & 0x3F);
  }
  static constexpr std::uint32_t min_for[] = {0, 0x80, 0x800, 0x10000};
  if (v < min_for[extra] || !is_scalar_value(v)) return false;
  cp = v;
  p += extra + 1;
  return true;
}

}  // namespace ambitious::detail
