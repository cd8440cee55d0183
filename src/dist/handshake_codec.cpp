#include "ambitious/dist/handshake_codec.hpp"

#include <stdexcept>

#include "ambitious/dist/node_name.hpp"
#include "bytes.hpp"

namespace ambitious::dist::handshake {
namespace {

using detail::Reader;
using detail::Writer;

std::unexpected<WireError> fail(WireErrc code, std::size_t offset) {
  return std::unexpected(WireError{code, offset});
}

// Frames are written with a placeholder length, patched once the body is known.
struct Frame {
  std::vector<std::uint8_t> bytes;
  Writer w{bytes};
  Frame() {
    bytes.reserve(64);  // most frames fit (and g++ 12 sees no write past an empty vector)
    w.u16(0);
  }
  std::vector<std::uint8_t> done() {
    w.patch_u16(0, static_cast<std::uint16_t>(bytes.size() - 2));
    return std::move(bytes);
  }
};

void check_name(const std::string& name) {
  if (!NodeName::parse(name)) throw std::invalid_argument("handshake: not a node name");
}

// A name field of `len` bytes: refused unless it is a node name.
std::expected<std::string, WireError> read_name(Reader& r, std::size_t len) {
  std::size_t at = r.offset();
  std::string name(r.text(len));
  if (!r.ok()) return std::unexpected(WireError{WireErrc::malformed, at});
  if (!NodeName::parse(name)) return std::unexpected(WireError{WireErrc::bad_name, at});
  return name;
}

// Inside a frame, running out of bytes means a length field lies: malformed, not truncated.
std::expected<void, WireError> finish(const Reader& r) {
  if (!r.ok()) return std::unexpected(WireError{WireErrc::malformed, r.offset()});
  if (!r.at_end()) return std::unexpected(WireError{WireErrc::trailing_bytes, r.offset()});
  return {};
}

struct Word {
  std::string_view text;
  StatusCode code;
};
constexpr Word words[] = {
    {"ok", StatusCode::ok},        {"ok_simultaneous", StatusCode::ok_simultaneous},
    {"nok", StatusCode::nok},      {"not_allowed", StatusCode::not_allowed},
    {"alive", StatusCode::alive},  {"true", StatusCode::true_},
    {"false", StatusCode::false_},
};
constexpr std::string_view named_prefix = "named:";

std::expected<std::uint8_t, WireError> expect_tag(Reader& r, std::uint8_t want) {
  std::uint8_t t = r.u8();
  if (!r.ok()) return fail(WireErrc::truncated, 0);
  if (t != want) return fail(WireErrc::unknown_message, 0);
  return t;
}

}  // namespace

std::vector<std::uint8_t> encode(const SendName& m) {
  check_name(m.name);
  Frame f;
  f.w.u8(tag::send_name);
  f.w.u64(m.flags);
  f.w.u32(m.creation);
  f.w.u16(static_cast<std::uint16_t>(m.name.size()));
  f.w.text(m.name);
  return f.done();
}

std::vector<std::uint8_t> encode(const Status& m) {
  Frame f;
  f.w.u8(tag::status);
  if (m.code == StatusCode::named) {
    check_name(m.name);
    f.w.text(named_prefix);
    f.w.u16(static_cast<std::uint16_t>(m.name.size()));
    f.w.text(m.name);
    f.w.u32(m.creation);
  } else {
    for (const Word& w : words)
      if (w.code == m.code) f.w.text(w.text);
  }
  return f.done();
}

std::vector<std::uint8_t> encode(const Challenge& m) {
  check_name(m.name);
  Frame f;
  f.w.u8(tag::send_name);
  f.w.u64(m.flags);
  f.w.u32(m.challenge);
  f.w.u32(m.creation);
  f.w.u16(static_cast<std::uint16_t>(m.name.size()));
  f.w.text(m.name);
  return f.done();
}

std::vector<std::uint8_t> encode(const ChallengeReply& m) {
  Frame f;
  f.w.u8(tag::challenge_reply);
  f.w.u32(m.challenge);
  f.w.bytes(m.digest);
  return f.done();
}

std::vector<std::uint8_t> encode(const ChallengeAck& m) {
  Frame f;
  f.w.u8(tag::challenge_ack);
  f.w.bytes(m.digest);
  return f.done();
}

std::expected<SendName, WireError> decode_send_name(std::span<const std::uint8_t> body) {
  Reader r(body);
  if (auto t = expect_tag(r, tag::send_name); !t) return std::unexpected(t.error());
  SendName m;
  m.flags = r.u64();
  m.creation = r.u32();
  std::uint16_t len = r.u16();
  if (!r.ok()) return fail(WireErrc::malformed, r.offset());
  auto name = read_name(r, len);
  if (!name) return std::unexpected(name.error());
  m.name = std::move(*name);
  if (auto done = finish(r); !done) return std::unexpected(done.error());
  return m;
}

std::expected<Status, WireError> decode_status(std::span<const std::uint8_t> body) {
  Reader r(body);
  if (auto t = expect_tag(r, tag::status); !t) return std::unexpected(t.error());
  std::string_view text(reinterpret_cast<const char*>(body.data()) + 1, body.size() - 1);
  for (const Word& w : words)
    if (text == w.text) return Status{w.code, {}, 0};
  if (!text.starts_with(named_prefix)) return fail(WireErrc::unknown_message, 1);
  r.text(named_prefix.size());
  Status m{StatusCode::named, {}, 0};
  std::uint16_t len = r.u16();
  if (!r.ok()) return fail(WireErrc::malformed, r.offset());
  auto name = read_name(r, len);
  if (!name) return std::unexpected(name.error());
  m.name = std::move(*name);
  m.creation = r.u32();
  if (auto done = finish(r); !done) return std::unexpected(done.error());
  return m;
}

std::expected<Challenge, WireError> decode_challenge(std::span<const std::uint8_t> body) {
  Reader r(body);
  if (auto t = expect_tag(r, tag::send_name); !t) return std::unexpected(t.error());
  Challenge m;
  m.flags = r.u64();
  m.challenge = r.u32();
  m.creation = r.u32();
  std::uint16_t len = r.u16();
  if (!r.ok()) return fail(WireErrc::malformed, r.offset());
  auto name = read_name(r, len);
  if (!name) return std::unexpected(name.error());
  m.name = std::move(*name);
  if (auto done = finish(r); !done) return std::unexpected(done.error());
  return m;
}

std::expected<ChallengeReply, WireError> decode_challenge_reply(
    std::span<const std::uint8_t> body) {
  Reader r(body);
  if (auto t = expect_tag(r, tag::challenge_reply); !t) return std::unexpected(t.error());
  ChallengeReply m;
  m.challenge = r.u32();
  auto d = r.bytes(m.digest.size());
  if (r.ok()) std::copy(d.begin(), d.end(), m.digest.begin());
  if (auto done = finish(r); !done) return std::unexpected(done.error());
  return m;
}

std::expected<ChallengeAck, WireError> decode_challenge_ack(std::span<const std::uint8_t> body) {
  Reader r(body);
  if (auto t = expect_tag(r, tag::challenge_ack); !t) return std::unexpected(t.error());
  ChallengeAck m;
  auto d = r.bytes(m.digest.size());
  if (r.ok()) std::copy(d.begin(), d.end(), m.digest.begin());
  if (auto done = finish(r); !done) return std::unexpected(done.error());
  return m;
}

std::expected<std::pair<std::span<const std::uint8_t>, std::size_t>, WireError> next_frame(
    std::span<const std::uint8_t> bytes, std::size_t max_body) {
  Reader r(bytes);
  std::uint16_t len = r.u16();
  if (!r.ok()) return std::unexpected(r.truncated());
  if (len == 0) return fail(WireErrc::malformed, 0);
  if (len > max_body) return fail(WireErrc::too_large, 0);
  auto body = r.bytes(len);
  if (!r.ok()) return std::unexpected(r.truncated());
  return std::pair{body, std::size_t{2} + len};
}

}  // namespace ambitious::dist::handshake
