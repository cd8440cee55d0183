#include "ambitious/dist/packet.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "bytes.hpp"

namespace ambitious::dist {

namespace {

std::unexpected<WireError> fail(WireErrc code, std::size_t offset) {
  return std::unexpected(WireError{code, offset});
}
std::unexpected<WireError> bad_term(std::size_t offset, const etf::DecodeError& e) {
  return std::unexpected(WireError{WireErrc::bad_term, offset, e});
}

std::uint64_t be64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

// The control term never shares the packet's bytes (it is decoded from a span, which copies),
// so that the byte after it may be overwritten once it is decoded.
std::expected<std::pair<Term, std::size_t>, WireError> control_at(std::span<std::uint8_t> bytes,
                                                                  std::size_t at,
                                                                  const etf::DecodeOptions& o) {
  auto c = etf::decode_prefix(bytes.subspan(at), o);
  if (!c) return bad_term(at, c.error());
  return std::pair{std::move(c->first), at + c->second};
}

// The payload term at `at`, which must end the packet; shared with `owner` when there is one.
std::expected<Term, WireError> payload_at(std::span<std::uint8_t> bytes, std::size_t at,
                                          const Term* owner, const etf::DecodeOptions& o) {
  std::expected<std::pair<Term, std::size_t>, etf::DecodeError> p =
      owner ? etf::decode_prefix_shared(
                  *owner, static_cast<std::size_t>(bytes.data() + at - owner->bytes().data()), o)
            : etf::decode_prefix(bytes.subspan(at), o);
  if (!p) {
    // A term cut short by the packet's end may have run on into the owner's next bytes: either
    // way the packet holds no whole term.
    return bad_term(at, p.error());
  }
  if (p->second > bytes.size() - at)
    return bad_term(at, etf::DecodeError{etf::DecodeErrc::truncated, bytes.size() - at});
  if (p->second != bytes.size() - at) return fail(WireErrc::trailing_bytes, at + p->second);
  return std::move(p->first);
}

std::expected<ControlMessage, WireError> message(const Term& control,
                                                 const std::optional<Term>& payload,
                                                 std::size_t control_at) {
  auto m = from_terms(control, payload);
  if (!m) {
    WireError e = m.error();
    e.offset = control_at;
    return std::unexpected(e);
  }
  return std::move(*m);
}

}  // namespace

std::expected<std::optional<ControlMessage>, WireError> PacketDecoder::decode(
    std::span<std::uint8_t> bytes, const Term* owner) {
  placing_.reset();
  if (bytes.empty()) return fail(WireErrc::malformed, 0);
  if (bytes[0] == packet_tag::pass_through) return whole(bytes, 1, true, owner);
  if (bytes[0] != etf::version) return fail(WireErrc::unknown_message, 0);
  if (bytes.size() < 2) return fail(WireErrc::malformed, 1);
  switch (bytes[1]) {
    case packet_tag::dist_header:
      if (bytes.size() < 3) return fail(WireErrc::malformed, 2);
      if (bytes[2] != 0) return fail(WireErrc::not_negotiated, 2);  // atom cache refs
      return whole(bytes, 3, false, owner);
    case packet_tag::fragment_header:
      return first_fragment(bytes);
    case packet_tag::fragment_cont:
      return next_fragment(bytes, 0);
    default:
      return fail(WireErrc::unknown_message, 1);
  }
}

std::expected<std::optional<ControlMessage>, WireError> PacketDecoder::decode_placed(
    std::span<std::uint8_t> bytes, std::size_t placed) {
  if (bytes.size() != fragment_head || bytes[0] != etf::version ||
      bytes[1] != packet_tag::fragment_cont || !placing_ || placing_->bytes != placed ||
      placing_->sequence != be64(&bytes[2]) || placing_->fragment != be64(&bytes[10]))
    throw std::logic_error("PacketDecoder::decode_placed: not the packet place() placed");
  return next_fragment(bytes, placed);
}

std::span<std::uint8_t> PacketDecoder::place(std::span<const std::uint8_t> head,
                                             std::size_t length) {
  placing_.reset();
  if (head.size() < fragment_head || length <= fragment_head || head[0] != etf::version ||
      head[1] != packet_tag::fragment_cont)
    return {};
  const std::uint64_t sequence = be64(&head[2]), fragment = be64(&head[10]);
  auto it = sequences_.find(sequence);
  if (it == sequences_.end()) return {};
  Assembly& a = it->second;
  const std::size_t more = length - fragment_head;
  if (fragment == 0 || fragment != a.next_fragment || pending_bytes_ + more > limits_.max_message)
    return {};
  reserve(a, more);
  placing_ = Placing{sequence, fragment, more};
  return {a.data + a.size, more};
}

std::expected<std::optional<ControlMessage>, WireError> PacketDecoder::whole(
    std::span<std::uint8_t> bytes, std::size_t at, bool versioned, const Term* owner) {
  // Terms after a distribution header come without their version byte: write one in place of
  // the byte before each (the header's last byte, then the control term's last byte, which is
  // decoded by then and no longer read).
  if (!versioned) bytes[--at] = etf::version;
  auto c = control_at(bytes, at, limits_.decode);
  if (!c) return std::unexpected(c.error());
  auto [control, end] = std::move(*c);
  std::optional<Term> payload;
  if (end < bytes.size()) {
    std::size_t p = end;
    if (!versioned) bytes[--p] = etf::version;
    auto t = payload_at(bytes, p, owner, limits_.decode);
    if (!t) return std::unexpected(t.error());
    payload = std::move(*t);
  }
  auto m = message(control, payload, at);
  if (!m) return std::unexpected(m.error());
  return std::optional<ControlMessage>(std::move(*m));
}

std::expected<std::optional<ControlMessage>, WireError> PacketDecoder::first_fragment(
    std::span<std::uint8_t> bytes) {
  constexpr std::size_t header = 2 + 8 + 8 + 1;
  if (bytes.size() < header) return fail(WireErrc::malformed, bytes.size());
  std::uint64_t sequence = be64(&bytes[2]), fragment = be64(&bytes[10]);
  if (bytes[18] != 0) return fail(WireErrc::not_negotiated, 18);  // atom cache refs
  if (fragment == 0) return fail(WireErrc::malformed, 10);
  if (sequences_.count(sequence)) return fail(WireErrc::malformed, 2);  // a second first
  if (sequences_.size() >= limits_.max_sequences) return fail(WireErrc::too_large, 2);
  bytes[18] = etf::version;
  auto c = control_at(bytes, 18, limits_.decode);
  if (!c) return std::unexpected(c.error());
  std::size_t rest = bytes.size() - c->second;
  if (pending_bytes_ + 1 + rest > limits_.max_message) return fail(WireErrc::too_large, c->second);
  Assembly a;
  a.control = std::move(c->first);
  a.next_fragment = fragment - 1;
  // Room for `fragment` fragments the size of this one (senders cut equal fragments), within
  // what the limit leaves unreserved: a peer that announces more than it sends reserves no more
  // than max_message in all.
  const std::size_t budget = limits_.max_message > reserved_ ? limits_.max_message - reserved_ : 0;
  std::size_t want = 1 + rest;
  if (rest > 0 && fragment - 1 <= (budget - std::min(budget, want)) / rest)
    want += rest * static_cast<std::size_t>(fragment - 1);
  else
    want = std::max(want, std::min(budget, std::size_t{1} << 20));
  a.capacity = want;
  a.buffer =
      Term::binary_filled(a.capacity, [&](std::span<std::uint8_t> to) { a.data = to.data(); });
  reserved_ += a.capacity;
  a.data[0] = etf::version;
  a.size = 1;
  append(a, bytes.subspan(c->second));
  pending_bytes_ += a.size;
  sequences_.emplace(sequence, std::move(a));
  if (fragment == 1) return complete(sequence);
  return std::optional<ControlMessage>();
}

// Appends `bytes` to `a`'s buffer, moving it to a larger one when they do not fit.
void PacketDecoder::append(Assembly& a, std::span<const std::uint8_t> bytes) {
  reserve(a, bytes.size());
  if (!bytes.empty()) std::memcpy(a.data + a.size, bytes.data(), bytes.size());
  a.size += bytes.size();
}

// Makes room for `more` bytes after `a`'s, moving them to a larger buffer when they do not fit.
void PacketDecoder::reserve(Assembly& a, std::size_t more) {
  if (a.size + more > a.capacity) {
    std::size_t capacity =
        std::max(a.size + more, std::min(2 * a.capacity, limits_.max_message + 1));
    std::uint8_t* data = nullptr;
    Term bigger = Term::binary_filled(capacity, [&](std::span<std::uint8_t> to) {
      data = to.data();
      std::memcpy(data, a.data, a.size);
    });
    reserved_ += capacity - a.capacity;
    a.buffer = std::move(bigger);
    a.data = data;
    a.capacity = capacity;
  }
}

std::expected<std::optional<ControlMessage>, WireError> PacketDecoder::next_fragment(
    std::span<std::uint8_t> bytes, std::size_t placed) {
  constexpr std::size_t header = fragment_head;
  placing_.reset();
  if (bytes.size() < header) return fail(WireErrc::malformed, bytes.size());
  std::uint64_t sequence = be64(&bytes[2]), fragment = be64(&bytes[10]);
  auto it = sequences_.find(sequence);
  if (it == sequences_.end()) return fail(WireErrc::malformed, 2);  // no first fragment
  Assembly& a = it->second;
  if (fragment == 0 || fragment != a.next_fragment) return fail(WireErrc::malformed, 10);
  std::size_t more = bytes.size() - header + placed;
  if (pending_bytes_ + more > limits_.max_message) return fail(WireErrc::too_large, 10);
  if (placed)
    a.size += placed;  // place() made the room, the frame reader wrote the bytes there
  else
    append(a, bytes.subspan(header));
  pending_bytes_ += more;
  a.next_fragment = fragment - 1;
  if (fragment == 1) return complete(sequence);
  return std::optional<ControlMessage>();
}

std::expected<std::optional<ControlMessage>, WireError> PacketDecoder::complete(
    std::uint64_t sequence) {
  auto node = sequences_.extract(sequence);
  Assembly& a = node.mapped();
  pending_bytes_ -= a.size;
  reserved_ -= a.capacity;
  std::optional<Term> payload;
  if (a.size > 1) {
    // The room after the payload is zeroed, so that a term that claims more bytes than came
    // reads zeros (and is refused below) rather than bytes never written.
    std::memset(a.data + a.size, 0, a.capacity - a.size);
    auto t = etf::decode_prefix_shared(a.buffer, 0, limits_.decode);
    if (!t) return bad_term(0, t.error());
    if (t->second > a.size)
      return bad_term(0, etf::DecodeError{etf::DecodeErrc::truncated, a.size});
    if (t->second != a.size) return fail(WireErrc::trailing_bytes, t->second);
    payload = std::move(t->first);
  }
  auto m = message(a.control, payload, 0);
  if (!m) return std::unexpected(m.error());
  return std::optional<ControlMessage>(std::move(*m));
}

std::size_t encode_packet_append(const ControlTerms& t, Flags flags,
                                 std::vector<std::uint8_t>& out) {
  const bool header = flags & (flag::fragments | flag::dist_hdr_atom_cache);
  const std::size_t start = out.size();
  out.reserve(start + 7 + etf::encoded_size(t.control) +
              (t.payload ? etf::encoded_size(*t.payload) : 0));
  out.resize(start + 4);
  if (header) {
    // OTP reads a distribution header, and only that, from a peer that negotiated FRAGMENTS
    // (or the atom cache): 131, 68, no atom cache refs, then the terms without their 131.
    // Each term's own version byte is written over the byte before it and that byte put back:
    // no copy of the terms.
    out.insert(out.end(), {etf::version, packet_tag::dist_header});
    etf::encode_append(t.control, out);
    out[start + 6] = 0;  // where the control term's 131 went
    if (t.payload) {
      const std::size_t at = out.size() - 1;
      const std::uint8_t last = out[at];
      out.pop_back();
      etf::encode_append(*t.payload, out);
      out[at] = last;
    }
  } else {
    out.push_back(packet_tag::pass_through);
    etf::encode_append(t.control, out);
    if (t.payload) etf::encode_append(*t.payload, out);
  }
  const std::size_t n = out.size() - start;
  const auto len = static_cast<std::uint32_t>(n - 4);
  out[start] = static_cast<std::uint8_t>(len >> 24);
  out[start + 1] = static_cast<std::uint8_t>(len >> 16);
  out[start + 2] = static_cast<std::uint8_t>(len >> 8);
  out[start + 3] = static_cast<std::uint8_t>(len);
  return n;
}

std::vector<std::uint8_t> encode_packet(const ControlMessage& m, Flags flags) {
  std::vector<std::uint8_t> out;
  encode_packet_append(to_terms(m, flags), flags, out);
  return out;
}

namespace {

// The head of fragment `i` of `count` (its length still 0, patched by the caller): the first
// carries the control term, given without its version byte.
void write_fragment_head(detail::Writer& w, std::size_t i, std::size_t count,
                         std::uint64_t sequence, std::span<const std::uint8_t> control) {
  w.u32(0);
  w.u8(etf::version);
  w.u8(i == 0 ? packet_tag::fragment_header : packet_tag::fragment_cont);
  w.u64(sequence);
  w.u64(count - i);
  if (i == 0) {
    w.u8(0);  // no atom cache refs
    w.bytes(control);
  }
}

}  // namespace

std::vector<std::vector<std::uint8_t>> encode_fragments(const ControlMessage& m, Flags flags,
                                                        std::uint64_t sequence,
                                                        std::size_t fragment_size) {
  if (fragment_size == 0) fragment_size = 1;
  ControlTerms t = to_terms(m, flags);
  std::vector<std::uint8_t> control = etf::encode(t.control), payload;
  if (t.payload) payload = etf::encode(*t.payload);
  // After a fragment header the terms go without their version byte.
  std::span<const std::uint8_t> c = std::span(control).subspan(1);
  std::span<const std::uint8_t> p =
      payload.empty() ? std::span<const std::uint8_t>() : std::span(payload).subspan(1);
  std::size_t count = std::max<std::size_t>(1, (p.size() + fragment_size - 1) / fragment_size);
  std::vector<std::vector<std::uint8_t>> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<std::uint8_t> f;
    detail::Writer w(f);
    write_fragment_head(w, i, count, sequence, c);
    std::size_t from = i * fragment_size;
    w.bytes(p.subspan(std::min(from, p.size()),
                      std::min(fragment_size, p.size() - std::min(from, p.size()))));
    w.patch_u32(0, static_cast<std::uint32_t>(f.size() - 4));
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<Fragments> fragment(const ControlMessage& m, Flags flags, std::uint64_t sequence,
                                  std::size_t fragment_size) {
  return fragment(to_terms(m, flags), sequence, fragment_size);
}

std::optional<Fragments> fragment(const ControlTerms& t, std::uint64_t sequence,
                                  std::size_t fragment_size) {
  if (fragment_size == 0) fragment_size = 1;
  if (!t.payload) return std::nullopt;
  // Sized first: a message that fits in one packet is encoded once, by encode_packet.
  const std::size_t payload_size = etf::encoded_size(*t.payload) - 1;  // without its 131
  if (payload_size <= fragment_size) return std::nullopt;
  Fragments out;
  out.payload = etf::encode_segments(*t.payload);
  std::vector<std::uint8_t> control = etf::encode(t.control);
  const std::size_t count = (payload_size + fragment_size - 1) / fragment_size;
  out.heads.reserve(count);
  out.from.reserve(count);
  out.length.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t from = i * fragment_size;
    const std::size_t length = std::min(fragment_size, payload_size - from);
    std::vector<std::uint8_t> head;
    detail::Writer w(head);
    write_fragment_head(w, i, count, sequence,
                        std::span<const std::uint8_t>(control).subspan(1));  // without its 131
    w.patch_u32(0, static_cast<std::uint32_t>(head.size() - 4 + length));
    out.heads.push_back(std::move(head));
    out.from.push_back(1 + from);  // past the payload's 131
    out.length.push_back(length);
  }
  return out;
}

}  // namespace ambitious::dist
