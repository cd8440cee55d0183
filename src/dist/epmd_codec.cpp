#include "ambitious/dist/epmd_codec.hpp"

#include <charconv>
#include <stdexcept>

#include "bytes.hpp"

namespace ambitious::dist::epmd {
namespace {

using detail::Reader;
using detail::Writer;

std::unexpected<WireError> fail(WireErrc code, std::size_t offset) {
  return std::unexpected(WireError{code, offset});
}

void check_entry(const NodeEntry& node) {
  if (!valid_name(node.name)) throw std::invalid_argument("epmd: invalid node name");
  if (node.extra.size() > max_extra_bytes) throw std::invalid_argument("epmd: extra too long");
}

// Port, type, protocol, versions, name and extra: the body shared by ALIVE2_REQ and PORT2_RESP.
void write_entry(Writer& w, const NodeEntry& node) {
  w.u16(node.port);
  w.u8(static_cast<std::uint8_t>(node.type));
  w.u8(node.protocol);
  w.u16(node.highest_version);
  w.u16(node.lowest_version);
  w.u16(static_cast<std::uint16_t>(node.name.size()));
  w.text(node.name);
  w.u16(static_cast<std::uint16_t>(node.extra.size()));
  w.text(node.extra);
}

// Reads what write_entry wrote; the caller checks r.ok() for truncation.
std::expected<NodeEntry, WireError> read_entry(Reader& r) {
  NodeEntry node;
  node.port = r.u16();
  node.type = static_cast<NodeType>(r.u8());
  node.protocol = r.u8();
  node.highest_version = r.u16();
  node.lowest_version = r.u16();
  std::size_t name_at = r.offset();
  std::uint16_t nlen = r.u16();
  node.name = std::string(r.text(nlen));
  if (!r.ok()) return std::unexpected(r.truncated());
  if (!valid_name(node.name)) return fail(WireErrc::bad_name, name_at);
  std::size_t extra_at = r.offset();
  std::uint16_t elen = r.u16();
  node.extra = std::string(r.text(elen));
  if (!r.ok()) return std::unexpected(r.truncated());
  if (node.extra.size() > max_extra_bytes) return fail(WireErrc::too_large, extra_at);
  return node;
}

std::vector<std::uint8_t> with_length(std::vector<std::uint8_t> body) {
  std::vector<std::uint8_t> out;
  out.reserve(body.size() + 2);
  Writer w(out);
  w.u16(static_cast<std::uint16_t>(body.size()));
  w.bytes(body);
  return out;
}

}  // namespace

bool valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_name_bytes) return false;
  if (name.find('\0') != std::string_view::npos) return false;
  std::size_t chars = 0;
  return detail::valid_utf8(name, chars) && chars <= 255;
}

std::vector<std::uint8_t> encode(const Request& request) {
  std::vector<std::uint8_t> body;
  Writer w(body);
  std::visit(
      [&](const auto& req) {
        using T = std::decay_t<decltype(req)>;
        if constexpr (std::is_same_v<T, Alive2Request>) {
          check_entry(req.node);
          w.u8(tag::alive2_req);
          write_entry(w, req.node);
        } else if constexpr (std::is_same_v<T, PortPlease2Request>) {
          if (!valid_name(req.name)) throw std::invalid_argument("epmd: invalid node name");
          w.u8(tag::port_please2_req);
          w.text(req.name);
        } else if constexpr (std::is_same_v<T, NamesRequest>) {
          w.u8(tag::names_req);
        } else {
          w.u8(tag::kill_req);
        }
      },
      request);
  return with_length(std::move(body));
}

std::expected<Request, WireError> decode_request(std::span<const std::uint8_t> body) {
  // Offsets count from the length prefix, which the body follows.
  Reader r(body, 2);
  std::uint8_t t = r.u8();
  if (!r.ok()) return std::unexpected(r.truncated());
  Request out;
  switch (t) {
    case tag::alive2_req: {
      auto node = read_entry(r);
      if (!node) {
        // Inside a length-delimited body, running out means the lengths disagree.
        WireError e = node.error();
        if (e.code == WireErrc::truncated) e.code = WireErrc::malformed;
        return std::unexpected(e);
      }
      out = Alive2Request{std::move(*node)};
      break;
    }
    case tag::port_please2_req: {
      std::string_view name = r.text(r.left());
      if (!name.empty() && name.back() == '\0') name.remove_suffix(1);
      if (!valid_name(name)) return fail(WireErrc::bad_name, 3);
      return Request(PortPlease2Request{std::string(name)});
    }
    case tag::names_req:
      out = NamesRequest{};
      break;
    case tag::kill_req:
      out = KillRequest{};
      break;
    default:
      return fail(WireErrc::unknown_message, 2);
  }
  if (!r.at_end()) return fail(WireErrc::trailing_bytes, r.offset());
  return out;
}

std::expected<std::pair<Request, std::size_t>, WireError> decode_request_prefix(
    std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  std::uint16_t len = r.u16();
  auto body = r.bytes(len);
  if (!r.ok()) return std::unexpected(r.truncated());
  if (len == 0) return fail(WireErrc::malformed, 0);
  auto req = decode_request(body);
  if (!req) return std::unexpected(req.error());
  return std::pair{std::move(*req), std::size_t{2} + len};
}

std::vector<std::uint8_t> encode(const Alive2Response& response) {
  std::vector<std::uint8_t> out;
  Writer w(out);
  w.u8(response.extended ? tag::alive2_x_resp : tag::alive2_resp);
  w.u8(response.result);
  if (response.extended)
    w.u32(response.creation);
  else
    w.u16(static_cast<std::uint16_t>(response.creation));
  return out;
}

std::expected<std::pair<Alive2Response, std::size_t>, WireError> decode_alive2_response(
    std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  std::uint8_t t = r.u8();
  if (!r.ok()) return std::unexpected(r.truncated());
  Alive2Response out;
  if (t == tag::alive2_x_resp) {
    out.result = r.u8();
    out.creation = r.u32();
  } else if (t == tag::alive2_resp) {
    out.extended = false;
    out.result = r.u8();
    out.creation = r.u16();
  } else {
    return fail(WireErrc::unknown_message, 0);
  }
  if (!r.ok()) return std::unexpected(r.truncated());
  return std::pair{out, r.offset()};
}

std::vector<std::uint8_t> encode(const Port2Response& response) {
  std::vector<std::uint8_t> out;
  Writer w(out);
  w.u8(tag::port2_resp);
  w.u8(response.result);
  if (response.result == 0) {
    check_entry(response.node);
    write_entry(w, response.node);
  }
  return out;
}

std::expected<Port2Response, WireError> decode_port2_response(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  std::uint8_t t = r.u8();
  if (!r.ok()) return std::unexpected(r.truncated());
  if (t != tag::port2_resp) return fail(WireErrc::unknown_message, 0);
  Port2Response out;
  out.result = r.u8();
  if (!r.ok()) return std::unexpected(r.truncated());
  if (out.result == 0) {
    auto node = read_entry(r);
    if (!node) return std::unexpected(node.error());
    out.node = std::move(*node);
  }
  if (!r.at_end()) return fail(WireErrc::trailing_bytes, r.offset());
  return out;
}

std::vector<std::uint8_t> encode(const NamesResponse& response) {
  std::vector<std::uint8_t> out;
  Writer w(out);
  w.u32(response.epmd_port);
  for (const NameLine& line : response.names) {
    if (!valid_name(line.name) || line.name.find('\n') != std::string::npos)
      throw std::invalid_argument("epmd: invalid node name");
    w.text("name ");
    w.text(line.name);
    w.text(" at port ");
    w.text(std::to_string(line.port));
    w.u8('\n');
  }
  return out;
}

std::expected<NamesResponse, WireError> decode_names_response(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  NamesResponse out;
  out.epmd_port = r.u32();
  if (!r.ok()) return std::unexpected(r.truncated());
  std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 4, bytes.size() - 4);
  std::size_t at = 0;
  constexpr std::string_view prefix = "name ", middle = " at port ";
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) return fail(WireErrc::truncated, bytes.size());
    std::string_view line = text.substr(at, end - at);
    std::size_t line_at = 4 + at;
    std::size_t mid = line.rfind(middle);
    if (!line.starts_with(prefix) || mid == std::string_view::npos || mid < prefix.size())
      return fail(WireErrc::malformed, line_at);
    std::string_view name = line.substr(prefix.size(), mid - prefix.size());
    std::string_view digits = line.substr(mid + middle.size());
    if (!valid_name(name)) return fail(WireErrc::bad_name, line_at + prefix.size());
    std::uint32_t port = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || p != digits.data() + digits.size() || digits.empty())
      return fail(WireErrc::malformed, line_at + mid + middle.size());
    out.names.push_back(NameLine{std::string(name), port});
    at = end + 1;
  }
  return out;
}

}  // namespace ambitious::dist::epmd
