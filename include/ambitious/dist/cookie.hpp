#pragma once
// Cookie: the shared secret of a cluster. It proves itself in the handshake through an MD5
// digest and never leaves this object otherwise: it cannot be printed, and no error or log line
// names it.

#include <array>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace ambitious::dist {

/// The environment variable a cookie may come from (an option wins over it; it wins over the
/// cookie file).
inline constexpr const char* cookie_environment_variable = "AMBITIOUS_COOKIE";

/// Why no cookie could be had. `detail` names the file and the system's reason, never the
/// cookie.
struct CookieError {
  /// What went wrong.
  enum class Code : std::uint8_t {
    no_home,         ///< HOME is not set, so there is no ~/.erlang.cookie
    unreadable,      ///< the cookie file exists but cannot be read
    not_private,     ///< the cookie file is readable by others than its owner (erl refuses it)
    bad_characters,  ///< the cookie file holds more than printable ASCII and a line end
    empty,           ///< the cookie is empty
    cannot_create,   ///< the missing cookie file could not be created
  };
  Code code;           ///< what went wrong
  std::string detail;  ///< the file and the system's reason
};

/// A 16-byte MD5 digest.
using Digest = std::array<std::uint8_t, 16>;

/// The cookie. Any thread (it is immutable).
class Cookie {
 public:
  /// A cookie from an option; throws std::invalid_argument when `secret` is empty.
  explicit Cookie(std::string secret);

  /// From AMBITIOUS_COOKIE, when it is set (and not empty).
  static std::optional<Cookie> from_environment();
  /// From `file` as erl reads ~/.erlang.cookie: printable ASCII, then at most line ends and
  /// spaces; the file must be a regular file that only its owner may access.
  static std::expected<Cookie, CookieError> from_file(const std::filesystem::path& file);
  /// ~/.erlang.cookie, created first when missing as erl creates it (20 random capital letters,
  /// mode 0400).
  static std::expected<Cookie, CookieError> from_home();
  /// The cookie as a node finds it: `option` if given, else AMBITIOUS_COOKIE, else
  /// ~/.erlang.cookie (created when missing).
  static std::expected<Cookie, CookieError> resolve(std::optional<std::string> option);

  /// MD5 of the cookie followed by `challenge` in decimal: what proves the cookie to a peer
  /// that sent that challenge (gen_digest/2 of dist_util.erl).
  Digest digest(std::uint32_t challenge) const;
  /// True when `d` is digest(challenge), compared in constant time.
  bool verify(std::uint32_t challenge, const Digest& d) const;

  /// Deleted: a cookie is never printed.
  friend std::ostream& operator<<(std::ostream&, const Cookie&) = delete;

 private:
  std::string secret_;
};

}  // namespace ambitious::dist
