#include "ambitious/dist/cookie.hpp"

#include <fcntl.h>
#include <nettle/md5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>

namespace ambitious::dist {
namespace {

std::unexpected<CookieError> fail(CookieError::Code code, std::string detail) {
  return std::unexpected(CookieError{code, std::move(detail)});
}

std::string sys(const std::filesystem::path& file, const char* what) {
  return std::string(what) + " " + file.string() + ": " + std::strerror(errno);
}

// As auth.erl's check_cookie: printable ASCII (space to tilde), then only line ends and spaces.
std::expected<std::string, CookieError::Code> parse(std::string_view text) {
  std::size_t n = 0;
  while (n < text.size() && text[n] >= ' ' && text[n] <= '~') ++n;
  for (char c : text.substr(n))
    if (c != '\n' && c != '\r' && c != ' ')
      return std::unexpected(CookieError::Code::bad_characters);
  if (n == 0) return std::unexpected(CookieError::Code::empty);
  return std::string(text.substr(0, n));
}

}  // namespace

Cookie::Cookie(std::string secret) : secret_(std::move(secret)) {
  if (secret_.empty()) throw std::invalid_argument("dist: an empty cookie");
}

std::optional<Cookie> Cookie::from_environment() {
  const char* v = std::getenv(cookie_environment_variable);
  if (!v || !*v) return std::nullopt;
  return Cookie(v);
}

std::expected<Cookie, CookieError> Cookie::from_file(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fail(CookieError::Code::unreadable, sys(file, "cannot open"));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    auto e = sys(file, "cannot stat");
    ::close(fd);
    return fail(CookieError::Code::unreadable, e);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(CookieError::Code::unreadable, "cookie file " + file.string() + " is not a file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return fail(CookieError::Code::not_private,
                "cookie file " + file.string() + " must be accessible by owner only");
  }
  std::string text;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto e = sys(file, "cannot read");
      ::close(fd);
      return fail(CookieError::Code::unreadable, e);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > 64 * 1024) break;  // a cookie file of this size is not one: refused below
  }
  ::close(fd);
  auto secret = parse(text);
  if (!secret)
    return fail(secret.error(), secret.error() == CookieError::Code::empty
                                    ? "cookie file " + file.string() + " is empty"
                                    : "bad characters in cookie file " + file.string());
  return Cookie(std::move(*secret));
}

std::expected<Cookie, CookieError> Cookie::from_home() {
  const char* home = std::getenv("HOME");
  if (!home || !*home) return fail(CookieError::Code::no_home, "HOME is not set");
  std::filesystem::path file = std::filesystem::path(home) / ".erlang.cookie";
  // Created only when missing (O_EXCL): never overwrite a cookie, even in a race with erl.
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (fd >= 0) {
    std::random_device random;
    std::uniform_int_distribution<int> letter('A', 'Z');
    char secret[20];
    for (char& c : secret) c = static_cast<char>(letter(random));
    bool ok = ::write(fd, secret, sizeof secret) == static_cast<ssize_t>(sizeof secret);
    std::memset(secret, 0, sizeof secret);
    if (::close(fd) != 0) ok = false;
    if (!ok) return fail(CookieError::Code::cannot_create, sys(file, "cannot write"));
  } else if (errno != EEXIST) {
    return fail(CookieError::Code::cannot_create, sys(file, "cannot create"));
  }
  return from_file(file);
}

std::expected<Cookie, CookieError> Cookie::resolve(std::optional<std::string> option) {
  if (option) {
    if (option->empty()) return fail(CookieError::Code::empty, "the cookie option is empty");
    return Cookie(std::move(*option));
  }
  if (auto env = from_environment()) return std::move(*env);
  return from_home();
}

Digest Cookie::digest(std::uint32_t challenge) const {
  std::string decimal = std::to_string(challenge);
  md5_ctx ctx;
  md5_init(&ctx);
  md5_update(&ctx, secret_.size(), reinterpret_cast<const std::uint8_t*>(secret_.data()));
  md5_update(&ctx, decimal.size(), reinterpret_cast<const std::uint8_t*>(decimal.data()));
  Digest d;
  md5_digest(&ctx, d.size(), d.data());
  return d;
}

bool Cookie::verify(std::uint32_t challenge, const Digest& d) const {
  Digest want = digest(challenge);
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < d.size(); ++i) diff |= static_cast<std::uint8_t>(want[i] ^ d[i]);
  return diff == 0;
}

}  // namespace ambitious::dist
