// ETF encoding: one pass to size the output exactly, one pass to write it.

#include <bit>
#include <cstring>
#include <stdexcept>

#include "ambitious/core/etf.hpp"
#include "etf_tags.hpp"
#include "term_node.hpp"

namespace ambitious::etf {
namespace {

using A = TermAccess;
using Rep = TermAccess::Rep;

std::size_t atom_size(Atom a) noexcept {
  std::size_t n = a.name().size();
  return n <= 255 ? 2 + n : 3 + n;
}

std::size_t small_size(std::int64_t v) noexcept {
  if (v >= 0 && v <= 255) return 2;
  if (v >= INT32_MIN && v <= INT32_MAX) return 5;
  std::uint64_t m = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  return 3 + static_cast<std::size_t>((64 - std::countl_zero(m) + 7) / 8);
}

// A list goes out as STRING_EXT when it is proper, short enough and made of bytes.
struct ListShape {
  std::size_t length = 0;
  bool bytes = true;
};

template <typename F>
const Term& walk_list(const Term& t, F&& per_element) {
  const ListNode* node = A::list_node(t);
  std::uint32_t i = A::aux(t);
  for (;;) {
    for (; i < node->count; ++i) per_element(node->elems()[i]);
    if (A::rep(node->tail) != Rep::list) return node->tail;
    i = A::aux(node->tail);
    node = A::list_node(node->tail);
  }
}

bool is_byte(const Term& e) noexcept {
  return A::rep(e) == Rep::small && A::i(e) >= 0 && A::i(e) <= 255;
}

std::size_t size_of(const Term& t);

// The common leaves without a call: most elements of lists, tuples and maps are one of these.
inline std::size_t element_size(const Term& e) {
  switch (A::rep(e)) {
    case Rep::small:
      return small_size(A::i(e));
    case Rep::atom:
      return atom_size(e.as_atom());
    case Rep::nil:
      return 1;
    case Rep::flt:
      return 9;
    default:
      return size_of(e);
  }
}

std::size_t size_of(const Term& t) {
  switch (A::rep(t)) {
    case Rep::nil:
      return 1;
    case Rep::atom:
      return atom_size(t.as_atom());
    case Rep::small:
      return small_size(A::i(t));
    case Rep::flt:
      return 9;
    case Rep::big: {
      std::size_t n = t.big_magnitude().size();
      return n <= 255 ? 3 + n : 6 + n;
    }
    case Rep::pid:
      return 1 + atom_size(t.as_pid().node()) + 12;
    case Rep::port: {
      Port p = t.as_port();
      return 1 + atom_size(p.node()) + (p.id <= UINT32_MAX ? 8 : 12);
    }
    case Rep::ref: {
      const Ref& r = t.as_ref();
      return 3 + atom_size(r.node()) + 4 + 4 * std::size_t{r.length};
    }
    case Rep::export_fun:
      return 1 + atom_size(t.fun_module()) + atom_size(t.fun_function()) + 2;
    case Rep::local_fun:
      return 1 + t.local_fun_body().size();
    case Rep::tuple: {
      auto e = t.elements();
      std::size_t n = e.size() <= 255 ? 2 : 5;
      for (const Term& x : e) n += element_size(x);
      return n;
    }
    case Rep::map: {
      std::size_t n = 5;
      for (const MapEntry& x : t.entries()) n += element_size(x.key) + element_size(x.value);
      return n;
    }
    case Rep::list: {
      std::size_t count = 0, sum = 0;
      bool bytes = true;
      const Term& tail = walk_list(t, [&](const Term& e) {
        ++count;
        bytes = bytes && is_byte(e);
        sum += element_size(e);
      });
      if (bytes && count <= 65535 && A::rep(tail) == Rep::nil) return 3 + count;
      return 5 + sum + size_of(tail);
    }
    case Rep::binary:
      return (t.last_byte_bits() == 8 || t.bytes().empty() ? 5 : 6) + t.bytes().size();
  }
  return 0;
}

// Writes into memory already sized (encoded_size) without bounds checks.
struct RawSink {
  std::uint8_t* p;
  void byte(std::uint8_t v) noexcept { *p++ = v; }
  void bytes(const void* data, std::size_t n) noexcept {
    if (n) std::memcpy(p, data, n);
    p += n;
  }
};
// Appends to a vector whose capacity is reserved: large payloads are copied once, without the
// zero-filling that resizing first would cost.
struct VectorSink {
  std::vector<std::uint8_t>& out;
  void byte(std::uint8_t v) { out.push_back(v); }
  void bytes(const void* data, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(data);
    out.insert(out.end(), b, b + n);
  }
};

template <typename Sink>
class Writer {
 public:
  explicit Writer(Sink sink) : s_(sink) {}

  // The common leaves without a call.
  void element(const Term& e) {
    if (A::rep(e) == Rep::small)
      small(A::i(e));
    else if (A::rep(e) == Rep::atom)
      atom(e.as_atom());
    else
      term(e);
  }

  void term(const Term& t) {
    switch (A::rep(t)) {
      case Rep::nil:
        u8(tag::nil);
        return;
      case Rep::atom:
        atom(t.as_atom());
        return;
      case Rep::small:
        small(A::i(t));
        return;
      case Rep::flt:
        u8(tag::new_float);
        u64(std::bit_cast<std::uint64_t>(A::d(t)));
        return;
      case Rep::big: {
        auto m = t.big_magnitude();
        if (m.size() <= 255) {
          u8(tag::small_big);
          u8(static_cast<std::uint8_t>(m.size()));
        } else {
          u8(tag::large_big);
          u32(static_cast<std::uint32_t>(m.size()));
        }
        u8(t.big_negative() ? 1 : 0);
        raw(m.data(), m.size());
        return;
      }
      case Rep::pid: {
        Pid p = t.as_pid();
        NodeId node = nodes::get(p.node_index);
        u8(tag::new_pid);
        atom(node.name);
        u32(p.id);
        u32(p.serial);
        u32(node.creation);
        return;
      }
      case Rep::port: {
        Port p = t.as_port();
        NodeId node = nodes::get(p.node_index);
        bool narrow = p.id <= UINT32_MAX;
        u8(narrow ? tag::new_port : tag::v4_port);
        atom(node.name);
        if (narrow)
          u32(static_cast<std::uint32_t>(p.id));
        else
          u64(p.id);
        u32(node.creation);
        return;
      }
      case Rep::ref: {
        const Ref& r = t.as_ref();
        NodeId node = nodes::get(r.node_index);
        u8(tag::newer_reference);
        u16(static_cast<std::uint16_t>(r.length));
        atom(node.name);
        u32(node.creation);
        for (std::uint32_t i = 0; i < r.length; ++i) u32(r.words[i]);
        return;
      }
      case Rep::export_fun:
        u8(tag::export_);
        atom(t.fun_module());
        atom(t.fun_function());
        u8(tag::small_integer);
        u8(static_cast<std::uint8_t>(t.fun_arity()));
        return;
      case Rep::local_fun: {
        auto b = t.local_fun_body();
        u8(tag::new_fun);
        raw(b.data(), b.size());
        return;
      }
      case Rep::tuple: {
        auto e = t.elements();
        if (e.size() <= 255) {
          u8(tag::small_tuple);
          u8(static_cast<std::uint8_t>(e.size()));
        } else {
          u8(tag::large_tuple);
          u32(static_cast<std::uint32_t>(e.size()));
        }
        for (const Term& x : e) element(x);
        return;
      }
      case Rep::map: {
        auto e = t.entries();
        u8(tag::map);
        u32(static_cast<std::uint32_t>(e.size()));
        for (const MapEntry& x : e) {
          element(x.key);
          element(x.value);
        }
        return;
      }
      case Rep::list:
        list(t);
        return;
      case Rep::binary: {
        auto b = t.bytes();
        unsigned last = t.last_byte_bits();
        if (last == 8 || b.empty()) {
          u8(tag::binary);
          u32(static_cast<std::uint32_t>(b.size()));
        } else {
          u8(tag::bit_binary);
          u32(static_cast<std::uint32_t>(b.size()));
          u8(static_cast<std::uint8_t>(last));
        }
        raw(b.data(), b.size());
        return;
      }
    }
  }

 private:
  void list(const Term& t) {
    std::size_t count = 0;
    bool bytes = true;
    const Term& tail = walk_list(t, [&](const Term& e) {
      ++count;
      bytes = bytes && is_byte(e);
    });
    if (bytes && count <= 65535 && A::rep(tail) == Rep::nil) {
      u8(tag::string);
      u16(static_cast<std::uint16_t>(count));
      walk_list(t, [&](const Term& e) { u8(static_cast<std::uint8_t>(A::i(e))); });
      return;
    }
    u8(tag::list);
    u32(static_cast<std::uint32_t>(count));
    walk_list(t, [&](const Term& e) { element(e); });
    term(tail);
  }

  void small(std::int64_t v) {
    if (v >= 0 && v <= 255) {
      u8(tag::small_integer);
      u8(static_cast<std::uint8_t>(v));
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      u8(tag::integer);
      u32(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
    } else {
      std::uint64_t m = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
      auto n = static_cast<std::uint8_t>((64 - std::countl_zero(m) + 7) / 8);
      u8(tag::small_big);
      u8(n);
      u8(v < 0 ? 1 : 0);
      for (int k = 0; k < n; ++k) u8(static_cast<std::uint8_t>(m >> (8 * k)));
    }
  }

  void atom(Atom a) {
    std::string_view name = a.name();
    if (name.size() <= 255) {
      u8(tag::small_atom_utf8);
      u8(static_cast<std::uint8_t>(name.size()));
    } else {
      u8(tag::atom_utf8);
      u16(static_cast<std::uint16_t>(name.size()));
    }
    raw(name.data(), name.size());
  }

  void u8(std::uint8_t v) { s_.byte(v); }
  void u16(std::uint16_t v) {
    std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    s_.bytes(b, 2);
  }
  void u32(std::uint32_t v) {
    v = __builtin_bswap32(v);
    s_.bytes(&v, 4);
  }
  void u64(std::uint64_t v) {
    v = __builtin_bswap64(v);
    s_.bytes(&v, 8);
  }
  void raw(const void* data, std::size_t n) { s_.bytes(data, n); }

 public:
  Sink s_;
};

// From this size on, appending beats resizing (which zero-fills) and then writing.
constexpr std::size_t large_encoding = 64 * 1024;

}  // namespace

std::size_t encoded_size(const Term& t) { return 1 + size_of(t); }

std::size_t encode_into(const Term& t, std::span<std::uint8_t> out) {
  std::size_t n = encoded_size(t);
  if (out.size() < n) throw std::length_error("etf::encode_into: buffer too small");
  out[0] = version;
  Writer<RawSink> w(RawSink{out.data() + 1});
  w.term(t);
  return n;
}

void encode_append(const Term& t, std::vector<std::uint8_t>& out) {
  std::size_t n = encoded_size(t);
  if (n >= large_encoding) {
    out.reserve(out.size() + n);
    out.push_back(version);
    Writer<VectorSink> w(VectorSink{out});
    w.term(t);
    return;
  }
  std::size_t at = out.size();
  out.resize(at + n);
  out[at] = version;
  Writer<RawSink> w(RawSink{out.data() + at + 1});
  w.term(t);
}

std::vector<std::uint8_t> encode(const Term& t) {
  std::vector<std::uint8_t> out;
  encode_append(t, out);
  return out;
}

}  // namespace ambitious::etf
