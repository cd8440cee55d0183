#include "ambitious/dist/wire_error.hpp"

namespace ambitious::dist {

std::string_view to_string(WireErrc e) noexcept {
  switch (e) {
    case WireErrc::truncated:
      return "truncated";
    case WireErrc::unknown_message:
      return "unknown message";
    case WireErrc::malformed:
      return "malformed";
    case WireErrc::trailing_bytes:
      return "trailing bytes";
    case WireErrc::too_large:
      return "too large";
    case WireErrc::bad_name:
      return "bad node name";
    case WireErrc::bad_term:
      return "bad term";
    case WireErrc::not_negotiated:
      return "not negotiated";
  }
  return "unknown wire error";
}

std::string to_string(const WireError& e) {
  std::string s = std::string(to_string(e.code)) + " at byte " + std::to_string(e.offset);
  if (e.code == WireErrc::bad_term) s += " (" + etf::to_string(e.term) + ")";
  return s;
}

}  // namespace ambitious::dist
