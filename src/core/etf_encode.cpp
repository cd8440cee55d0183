// ETF encoding: encode(), encode_append() and encode_segments() write in one pass to a buffer
// that grows; encoded_size() and encode_into() size in one pass and write in another.

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "ambitious/core/etf.hpp"
#include "ambitious/core/etf_segments.hpp"
#include "etf_tags.hpp"
#include "term_node.hpp"
#include "work_stack.hpp"

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

inline bool is_container(Rep r) noexcept { return TermAccess::is_container(r); }

// The containers still open in a walk of a term: a run of child Terms (a tuple's elements, a
// map's keys and values in turn) or a list, cell by cell and then its tail.
struct Frame {
  const void* p;       // run: the next child; list: the node of the next cell
  std::uint64_t left;  // run: children left
  std::uint32_t i;     // list: the index of the next cell in its node
  bool list;
};
using Frames = detail::WorkStack<Frame, 32>;

// The size of a term that is not a container.
std::size_t leaf_size(const Term& t) {
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
    case Rep::binary: {
      const auto* b = A::node<BytesNode>(t);  // bits: 0 for whole bytes (and for <<>>)
      return (A::bits(t) == 0 ? 5 : 6) + (b ? b->size : 0);
    }
    default:
      return 0;
  }
}

// The common leaves without a call: most elements of lists, tuples and maps are one of these.
inline std::size_t element_size(const Term& e) {
  switch (A::rep(e)) {
    case Rep::small:
      return small_size(A::i(e));
    case Rep::atom:
      return atom_size(e.as_atom());
    case Rep::nil:
      return 1;
    default:
      return leaf_size(e);
  }
}

// A list's shape: its length, whether all elements are bytes, and its final tail.
struct ListShape {
  std::size_t count = 0;
  bool bytes = true;
  const Term* tail = nullptr;
  /// A proper list of at most 65,535 bytes goes out as STRING_EXT.
  bool string() const noexcept { return bytes && count <= 65535 && A::rep(*tail) == Rep::nil; }
};
ListShape list_shape(const Term& t) noexcept {
  ListShape s;
  s.tail = &walk_list(t, [&](const Term& e) {
    ++s.count;
    s.bytes = s.bytes && is_byte(e);
  });
  return s;
}

// Runs an open list frame to its next cell that holds a container (returned), calling `leaf`
// on each element that is not one on the way; nullptr past the last cell, or as soon as `leaf`
// returns false.
template <typename Leaf>
const Term* next_container(Frame& f, Leaf&& leaf) {
  const auto* node = static_cast<const ListNode*>(f.p);
  std::uint32_t i = f.i;
  for (;;) {
    if (i == node->count) {
      if (A::rep(node->tail) != Rep::list) return nullptr;
      i = A::aux(node->tail);
      node = A::list_node(node->tail);
      continue;
    }
    const Term& e = node->elems()[i++];
    if (!is_container(A::rep(e))) {
      if (!leaf(e)) return nullptr;
      continue;
    }
    f.p = node;
    f.i = i;
    return &e;
  }
}
// The final tail of the list at an open list frame that next_container() has run through.
const Term& final_tail(const Frame& f) noexcept {
  const auto* node = static_cast<const ListNode*>(f.p);
  while (A::rep(node->tail) == Rep::list) node = A::list_node(node->tail);
  return node->tail;
}

// A tuple's elements as a frame's run (none for {}).
inline Frame tuple_frame(const Term& t) noexcept {
  auto* node = A::node<TupleNode>(t);
  return {node ? node->elems() : nullptr, node ? node->count : 0u, 0, false};
}

// The header size of a map or list (a list's leaves included), and its frame for the
// containers inside it (a STRING_EXT list has none: its size is whole).
std::size_t open_size_other(const Term& t, Frames& st) {
  switch (A::rep(t)) {
    case Rep::map:
      if (t.size())
        st.push({map_slots(A::node<MapNode>(t)), std::uint64_t{t.size()} * 2, 0, false});
      return 5;
    default: {
      // One pass: the shape, and the sizes of the leaves in case it is not a string.
      std::size_t count = 0, leaves = 0;
      bool bytes = true, nested = false;
      const Term& tail = walk_list(t, [&](const Term& e) {
        ++count;
        if (A::rep(e) == Rep::small) {
          auto v = static_cast<std::uint64_t>(A::i(e));
          if (v <= 255) {
            leaves += 2;
            return;
          }
          leaves += small_size(A::i(e));
        } else if (is_container(A::rep(e))) {
          nested = true;
        } else {
          leaves += element_size(e);
        }
        bytes = false;
      });
      if (bytes && count <= 65535 && A::rep(tail) == Rep::nil) return 3 + count;
      if (nested || is_container(A::rep(tail))) st.push({A::list_node(t), 0, A::aux(t), true});
      return 5 + leaves + (is_container(A::rep(tail)) ? 0 : element_size(tail));
    }
  }
}

// The header size of a container, and its frame. Tuples, the commonest, inline.
[[gnu::always_inline]] inline std::size_t open_size(const Term& t, Frames& st) {
  if (A::rep(t) != Rep::tuple) return open_size_other(t, st);
  Frame f = tuple_frame(t);
  if (f.left) st.push(f);
  return f.left <= 255 ? 2 : 5;
}

// Sums sizes with an explicit stack of open containers: depth costs no stack.
std::size_t size_of(const Term& t) {
  if (!is_container(A::rep(t))) return leaf_size(t);
  Frames st;
  std::size_t n = open_size(t, st);
  while (!st.empty()) {
    Frame& f = st.top();
    if (!f.list) {
      // A run: leaves inline, stop at a container.
      const auto* p = static_cast<const Term*>(f.p);
      std::uint64_t left = f.left;
      while (left && !is_container(A::rep(*p))) {
        n += element_size(*p++);
        --left;
      }
      if (!left) {
        st.pop();
        continue;
      }
      f.p = p + 1;
      f.left = left - 1;
      if (left == 1) st.pop();  // the last child: nothing to come back to
      n += open_size(*p, st);
      continue;
    }
    // A list: its leaves were counted when it was opened; visit its containers.
    if (const Term* e = next_container(f, [](const Term&) { return true; })) {
      n += open_size(*e, st);
      continue;
    }
    const Term& tail = final_tail(f);
    st.pop();
    if (is_container(A::rep(tail))) n += open_size(tail, st);
  }
  return n;
}

// Writes into memory already sized (encoded_size) without bounds checks.
struct RawSink {
  std::uint8_t* p;
  void byte(std::uint8_t v) noexcept { *p++ = v; }
  void bytes(const void* data, std::size_t n) noexcept {
    const auto* s = static_cast<const std::uint8_t*>(data);
    // Atom names and small binaries, the common case, without a call to memcpy: two copies of
    // fixed size that overlap in the middle, each inside [s, s + n).
    if (n >= 8 && n <= 16) {
      std::memcpy(p, s, 8);
      std::memcpy(p + n - 8, s + n - 8, 8);
    } else if (n >= 4 && n < 8) {
      std::memcpy(p, s, 4);
      std::memcpy(p + n - 4, s + n - 4, 4);
    } else if (n < 4) {
      for (std::size_t i = 0; i < n; ++i) p[i] = s[i];
    } else {
      std::memcpy(p, s, n);
    }
    p += n;
  }
  // The bytes of the binary `t`.
  void payload(const Term&, const std::uint8_t* data, std::size_t n) noexcept { bytes(data, n); }
};
// From this size on, appending a payload beats resizing (which zero-fills) and then writing.
constexpr std::size_t large_encoding = 64 * 1024;

// Writes in one pass, growing as it goes, with no sizing pass first: into a buffer on the
// caller's stack while it fits (a small term then costs one exact allocation), then into `out`,
// which is resized ahead of the writes (the bytes past `p` are room, not yet written) and cut
// back to what was written by finish(). A large payload is appended without zero-filling room
// for it first, so it is copied once.
class GrowSink {
 public:
  // Appends to `out`, starting in `stack` (may be empty: then in `out` at once).
  GrowSink(std::vector<std::uint8_t>& out, std::span<std::uint8_t> stack)
      : out_(&out), base_(out.size()) {
    if (stack.empty()) {
      out.resize(base_ + first_room);
      p_ = out.data() + base_;
      end_ = out.data() + out.size();
    } else {
      stack_ = stack.data();
      p_ = stack.data();
      end_ = stack.data() + stack.size();
    }
  }

  void byte(std::uint8_t v) {
    if (p_ == end_) grow(1);
    *p_++ = v;
  }
  void bytes(const void* data, std::size_t n) {
    if (n > static_cast<std::size_t>(end_ - p_)) grow(n);
    RawSink raw{p_};
    raw.bytes(data, n);
    p_ = raw.p;
  }
  void payload(const Term&, const std::uint8_t* data, std::size_t n) {
    if (n >= large_encoding && n > static_cast<std::size_t>(end_ - p_))
      return append_large(data, n);
    bytes(data, n);
  }
  // Where the next byte goes, as an index into `out`.
  std::size_t written() const noexcept {
    return stack_ ? base_ + static_cast<std::size_t>(p_ - stack_)
                  : static_cast<std::size_t>(p_ - out_->data());
  }
  // Still in the stack buffer: the bytes written are [stack, stack_end()).
  bool on_stack() const noexcept { return stack_ != nullptr; }
  std::uint8_t* stack_end() const noexcept { return p_; }
  // Leaves `out` holding what it held and then exactly the bytes written.
  void finish() {
    if (stack_)
      out_->insert(out_->end(), stack_, p_);
    else
      out_->resize(static_cast<std::size_t>(p_ - out_->data()));
  }
  // Leaves `out` as it was (after an exception).
  void abandon() noexcept {
    if (!stack_) out_->resize(base_);
  }

 private:
  static constexpr std::size_t first_room = 256;
  static constexpr std::size_t slack = 4096;  // room after a large payload

  // Makes room for `n` more bytes: doubles, or more if `n` needs it.
  [[gnu::noinline]] void grow(std::size_t n) {
    std::size_t at = written();
    std::size_t room =
        std::max({out_->size() - base_, static_cast<std::size_t>(at - base_), n, first_room});
    if (stack_) {
      out_->reserve(at + 2 * room);
      out_->insert(out_->end(), stack_, p_);
      stack_ = nullptr;
    }
    out_->resize(at + 2 * room);
    p_ = out_->data() + at;
    end_ = out_->data() + out_->size();
  }
  // Appends n >= large_encoding bytes: reserved and copied, not zero-filled and then copied.
  [[gnu::noinline]] void append_large(const std::uint8_t* data, std::size_t n) {
    std::size_t at = written();
    if (stack_) {
      out_->reserve(at + n + slack);
      out_->insert(out_->end(), stack_, p_);
      stack_ = nullptr;
    } else {
      out_->resize(at);
      out_->reserve(at + n + slack);
    }
    out_->insert(out_->end(), data, data + n);
    out_->resize(at + n + slack);  // within the capacity reserved: fills the slack only
    p_ = out_->data() + at + n;
    end_ = out_->data() + out_->size();
  }

  std::vector<std::uint8_t>* out_;
  std::size_t base_;               // out's size when we started: the bytes before are not ours
  std::uint8_t* stack_ = nullptr;  // set while p_ and end_ are in the stack buffer
  std::uint8_t* p_ = nullptr;
  std::uint8_t* end_ = nullptr;
};
// Writes the bytes of a Segments in one pass (a GrowSink), leaving out the bytes of each binary
// of at least `share_from` bytes: where one went is noted in `iov` as {nullptr, offset} and
// then {its bytes, its size}; encode_segments() turns the offsets into pieces at the end, once
// our bytes have stopped moving.
struct SegmentSink : GrowSink {
  std::size_t share_from;
  std::vector<::iovec>* iov;
  std::vector<Term>* shared;
  void payload(const Term& t, const std::uint8_t* data, std::size_t n) {
    if (n < share_from) return GrowSink::payload(t, data, n);
    iov->push_back({nullptr, written()});
    iov->push_back({const_cast<std::uint8_t*>(data), n});  // writev only reads it
    shared->push_back(t);                                  // keeps `data` alive
  }
};

template <typename Sink>
class Writer {
 public:
  explicit Writer(Sink sink) : s_(sink) {}

  // Writes `t` with an explicit stack of open containers: depth costs no stack.
  void term(const Term& t) {
    if (!is_container(A::rep(t))) {
      leaf(t);
      return;
    }
    Frames st;
    open(t, st);
    while (!st.empty()) {
      Frame& f = st.top();
      if (!f.list) {
        // A run: leaves inline, stop at a container.
        const auto* p = static_cast<const Term*>(f.p);
        std::uint64_t left = f.left;
        while (left && !is_container(A::rep(*p))) {
          element(*p++);
          --left;
        }
        if (!left) {
          st.pop();
          continue;
        }
        f.p = p + 1;
        f.left = left - 1;
        if (left == 1) st.pop();  // the last child: nothing to come back to
        open(*p, st);
        continue;
      }
      // A list: cells, leaves inline, stop at a container; then the final tail.
      const Term* e = next_container(f, [this](const Term& x) {
        element(x);
        return true;
      });
      if (e) {
        open(*e, st);
        continue;
      }
      const Term& tail = final_tail(f);
      st.pop();
      if (is_container(A::rep(tail)))
        open(tail, st);
      else
        leaf(tail);
    }
  }

 private:
  // The common leaves without a call.
  void element(const Term& e) {
    if (A::rep(e) == Rep::small)
      small(A::i(e));
    else if (A::rep(e) == Rep::atom)
      atom(e.as_atom());
    else
      leaf(e);
  }

  // Writes a container's header and pushes its frame. Tuples, the commonest, inline.
  [[gnu::always_inline]] void open(const Term& t, Frames& st) {
    if (A::rep(t) != Rep::tuple) return open_other(t, st);
    Frame f = tuple_frame(t);
    if (f.left <= 255) {
      u8(tag::small_tuple);
      u8(static_cast<std::uint8_t>(f.left));
    } else {
      u8(tag::large_tuple);
      u32(static_cast<std::uint32_t>(f.left));
    }
    if (f.left) st.push(f);
  }

  // Writes a map's or list's header and pushes its frame; a STRING_EXT list is written whole.
  void open_other(const Term& t, Frames& st) {
    switch (A::rep(t)) {
      case Rep::map:
        u8(tag::map);
        u32(static_cast<std::uint32_t>(t.size()));
        if (t.size())
          st.push({map_slots(A::node<MapNode>(t)), std::uint64_t{t.size()} * 2, 0, false});
        return;
      default: {
        ListShape shape = list_shape(t);
        if (shape.string()) {
          u8(tag::string);
          u16(static_cast<std::uint16_t>(shape.count));
          walk_list(t, [&](const Term& e) { u8(static_cast<std::uint8_t>(A::i(e))); });
          return;
        }
        u8(tag::list);
        u32(static_cast<std::uint32_t>(shape.count));
        st.push({A::list_node(t), 0, A::aux(t), true});
        return;
      }
    }
  }

  // Writes a term that is not a container.
  void leaf(const Term& t) {
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
      case Rep::binary: {
        auto* b = A::node<BytesNode>(t);
        std::uint64_t n = b ? b->size : 0;
        if (A::bits(t) == 0) {  // whole bytes (and <<>>)
          u8(tag::binary);
          u32(static_cast<std::uint32_t>(n));
        } else {
          u8(tag::bit_binary);
          u32(static_cast<std::uint32_t>(n));
          u8(A::bits(t));
        }
        if (n) s_.payload(t, b->data(), n);
        return;
      }
      default:
        return;  // containers: open()
    }
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

namespace {

// Appends `t` to `out` in one pass, starting in `stack`.
void encode_grow(const Term& t, std::vector<std::uint8_t>& out, std::span<std::uint8_t> stack) {
  Writer<GrowSink> w(GrowSink(out, stack));
  try {
    w.s_.byte(version);
    w.term(t);
  } catch (...) {
    w.s_.abandon();
    throw;
  }
  w.s_.finish();
}

}  // namespace

Segments encode_segments(const Term& t, std::size_t share_from) {
  Segments out;
  std::uint8_t stack[256];
  Writer<SegmentSink> w(
      SegmentSink{GrowSink(out.bytes_, stack), share_from, &out.iov_, &out.shared_});
  w.s_.byte(version);
  w.term(t);
  if (w.s_.on_stack())
    out.bytes_.assign(stack, w.s_.stack_end());
  else
    w.s_.finish();
  std::size_t ours = out.bytes_.size(), size = ours;
  if (out.iov_.empty()) {  // one piece
    out.whole_ = {out.bytes_.data(), ours};
    out.size_ = ours;
    return out;
  }
  // {nullptr, offset} marks become our pieces up to each offset; empty ones are dropped.
  std::size_t from = 0, kept = 0;
  auto& iov = out.iov_;
  for (std::size_t i = 0; i < iov.size(); ++i) {
    if (iov[i].iov_base) {
      size += iov[i].iov_len;
      iov[kept++] = iov[i];
      continue;
    }
    std::size_t to = iov[i].iov_len;
    if (to > from) iov[kept++] = {out.bytes_.data() + from, to - from};
    from = to;
  }
  iov.resize(kept);
  if (ours > from) iov.push_back({out.bytes_.data() + from, ours - from});
  out.size_ = size;
  return out;
}

// Out of line, so that a file including etf.hpp does not instantiate the members' moves.
Segments::Segments() noexcept = default;
Segments::~Segments() = default;

Segments::Segments(Segments&& o) noexcept
    : bytes_(std::move(o.bytes_)),
      shared_(std::move(o.shared_)),
      iov_(std::move(o.iov_)),
      whole_(std::exchange(o.whole_, {})),
      size_(std::exchange(o.size_, 0)) {}

Segments& Segments::operator=(Segments&& o) noexcept {
  Segments moved(std::move(o));
  std::swap(bytes_, moved.bytes_);
  std::swap(shared_, moved.shared_);
  std::swap(iov_, moved.iov_);
  std::swap(whole_, moved.whole_);
  std::swap(size_, moved.size_);
  return *this;
}

std::vector<std::uint8_t> Segments::flatten() const {
  std::vector<std::uint8_t> out;
  out.reserve(size_);
  for (const ::iovec& piece : iovecs()) {
    const auto* b = static_cast<const std::uint8_t*>(piece.iov_base);
    out.insert(out.end(), b, b + piece.iov_len);
  }
  return out;
}

void encode_append(const Term& t, std::vector<std::uint8_t>& out) { encode_grow(t, out, {}); }

std::vector<std::uint8_t> encode(const Term& t) {
  std::vector<std::uint8_t> out;
  std::uint8_t stack[256];  // most messages fit: then one allocation, of the right size
  Writer<GrowSink> w(GrowSink(out, stack));
  w.s_.byte(version);
  w.term(t);  // on an exception, `out` is simply freed
  if (w.s_.on_stack()) return std::vector<std::uint8_t>(stack, w.s_.stack_end());
  w.s_.finish();
  return out;
}

}  // namespace ambitious::etf
