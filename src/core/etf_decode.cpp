// ETF decoding: bytes from anywhere, checked field by field; see DecodeOptions for the limits.

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

#include "ambitious/core/etf.hpp"
#include "etf_tags.hpp"
#include "term_node.hpp"
#include "work_stack.hpp"

namespace ambitious::etf {
namespace {

using A = TermAccess;
using Rep = TermAccess::Rep;

// Recently decoded atoms by name, per thread: a hit skips the atom table's lock. Names are
// immutable and live forever, so an entry stays valid.
struct AtomCacheEntry {
  const char* name = nullptr;
  std::uint32_t size = 0;
  std::uint32_t index = 0;
};
constexpr std::size_t atom_cache_size = 256;
thread_local AtomCacheEntry atom_cache[atom_cache_size];

std::size_t name_hash(const char* p, std::size_t n) noexcept {
  std::uint64_t h = 0xCBF29CE484222325ull ^ n;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 0x100000001B3ull;
  return static_cast<std::size_t>(h ^ (h >> 29)) % atom_cache_size;
}

std::uint16_t be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
std::uint32_t be32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
std::uint64_t be64(const std::uint8_t* p) noexcept {
  return std::uint64_t{be32(p)} << 32 | be32(p + 4);
}

// A binary of a copy of the `n` bytes at `p`: Term::binary, with short copies (map keys, the
// commonest binaries) done in place rather than by a call to memcpy.
inline Term copy_binary(const std::uint8_t* p, std::size_t n) {
  if (n == 0) return A::binary(nullptr);
  BytesNode* node = A::new_bytes(n);
  std::uint8_t* d = node->data();
  if (n >= 8 && n <= 16) {  // two fixed-size copies that overlap in the middle
    std::memcpy(d, p, 8);
    std::memcpy(d + n - 8, p + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    std::memcpy(d, p, 4);
    std::memcpy(d + n - 4, p + n - 4, 4);
  } else {
    std::memcpy(d, p, n);
  }
  return A::binary(node);
}

class Decoder {
 public:
  /// Decodes `in`; when `owner` is the node of the binary that holds `in`, binaries of at least
  /// options.share_from bytes become slices of it.
  Decoder(std::span<const std::uint8_t> in, const DecodeOptions& options, std::uint32_t& new_atoms,
          BytesNode* owner = nullptr)
      : begin_(in.data()),
        p_(in.data()),
        end_(in.data() + in.size()),
        opt_(options),
        new_atoms_(new_atoms),
        owner_(owner) {}

  /// Decodes one term into `out` (which is `[]`). On failure `out` holds what was decoded so
  /// far (freed with it) and error() says why.
  bool term(Term& out);
  std::size_t used() const noexcept { return static_cast<std::size_t>(p_ - begin_); }
  std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - p_); }
  DecodeError error() const noexcept { return error_; }
  bool fail(DecodeErrc code, const std::uint8_t* at) noexcept {
    error_ = {code, static_cast<std::size_t>(at - begin_)};
    return false;
  }
  /// The node index of (name, creation) for a pid, port or ref that starts at `at`.
  bool node(Atom name, std::uint32_t creation, const std::uint8_t* at, std::uint32_t& index) {
    NodeId id{name, creation};
    if (std::optional<std::uint32_t> known = nodes::find(id)) {
      index = *known;
      return true;
    }
    if (new_nodes_ >= opt_.max_new_nodes) return fail(DecodeErrc::node_budget, at);
    if (nodes::count() >= nodes::max_nodes - std::min(opt_.node_reserve, nodes::max_nodes))
      return fail(DecodeErrc::node_table_full, at);
    std::optional<std::uint32_t> i = nodes::intern(id);
    if (!i) return fail(DecodeErrc::node_table_full, at);
    ++new_nodes_;
    index = *i;
    return true;
  }

 private:
  // A container being filled, slot by slot: a tuple's elements, a map's keys and values in turn,
  // a list's elements (then its tail, decoded after the frame is gone: tails do not nest).
  struct Frame {
    Term* next;  // the next slot to fill (while the frame is innermost, term() keeps it)
    Term* end;
    TermNode* node;
    std::size_t at;  // map: the offset of its tag, for duplicate_map_key
    Rep rep;
  };
  using Frames = detail::WorkStack<Frame, 32>;
  // What value() did with its slot.
  enum class Step : std::uint8_t { failed, done, opened };

  bool need(std::size_t n) noexcept { return left() >= n || fail(DecodeErrc::truncated, end_); }
  Step stop(DecodeErrc code, const std::uint8_t* at) noexcept {
    fail(code, at);
    return Step::failed;
  }
  // Decodes the value at p_ into the unfilled `slot`: a leaf whole; a container is installed
  // in the slot and described by `opened` (its slots unfilled), for term() to fill.
  Step value(Term* slot, std::size_t depth, Frame& opened);
  Step open(Term* slot, Rep rep, std::uint32_t n, const std::uint8_t* at, std::size_t depth,
            Frame& opened);
  bool finish_map(const Frame& f);
  static void abandon(Frames& st) noexcept;
  bool atom(Atom& out);
  bool lookup_atom(const char* name, std::size_t size, const std::uint8_t* at, Atom& out);
  bool string(Term* slot, std::uint32_t n);
  bool big(Term* slot, std::size_t n);
  bool ref(Term* slot, std::uint8_t tag);

  const std::uint8_t* begin_;
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  const DecodeOptions& opt_;
  std::uint32_t& new_atoms_;
  std::uint32_t new_nodes_ = 0;  // (name, creation) pairs this decode added to the node table
  std::size_t slots_ = 0;  // the slots of every container opened so far (at most the input's size)
  BytesNode* owner_;
  DecodeError error_{DecodeErrc::truncated, 0};
};

bool Decoder::lookup_atom(const char* name, std::size_t size, const std::uint8_t* at, Atom& out) {
  AtomCacheEntry& slot = atom_cache[name_hash(name, size)];
  if (slot.name && slot.size == size && std::memcmp(slot.name, name, size) == 0) {
    out = Atom::from_index(slot.index);
    return true;
  }
  std::string_view text(name, size);
  if (auto found = Atom::existing(text)) {
    out = *found;
  } else {
    if (opt_.safe) return fail(DecodeErrc::unknown_atom, at);
    if (new_atoms_ >= opt_.max_new_atoms) return fail(DecodeErrc::atom_budget, at);
    if (Atom::count() >= Atom::max_atoms - std::min(opt_.atom_reserve, Atom::max_atoms))
      return fail(DecodeErrc::atom_table_full, at);
    auto made = Atom::make(text);
    if (!made)
      return fail(made.error() == AtomError::table_full ? DecodeErrc::atom_table_full
                                                        : DecodeErrc::bad_atom,
                  at);
    ++new_atoms_;
    out = *made;
  }
  std::string_view stored = out.name();
  slot = {stored.data(), static_cast<std::uint32_t>(stored.size()), out.index()};
  return true;
}

bool Decoder::atom(Atom& out) {
  const std::uint8_t* at = p_;
  if (!need(1)) return false;
  std::uint8_t t = *p_++;
  std::size_t size;
  bool latin1 = t == tag::atom || t == tag::small_atom;
  if (t == tag::atom || t == tag::atom_utf8) {
    if (!need(2)) return false;
    size = be16(p_);
    p_ += 2;
  } else if (t == tag::small_atom || t == tag::small_atom_utf8) {
    if (!need(1)) return false;
    size = *p_++;
  } else {
    return fail(DecodeErrc::malformed, at);  // an atom was required here
  }
  if (!need(size)) return false;
  const auto* name = reinterpret_cast<const char*>(p_);
  p_ += size;
  if (latin1) {
    if (size > Atom::max_chars) return fail(DecodeErrc::bad_atom, at);
    // Latin-1 bytes from 0x80 up take two bytes in UTF-8.
    bool ascii = true;
    for (std::size_t i = 0; i < size; ++i)
      ascii = ascii && static_cast<unsigned char>(name[i]) < 0x80;
    if (!ascii) {
      char buf[2 * Atom::max_chars];
      std::size_t n = 0;
      for (std::size_t i = 0; i < size; ++i) {
        auto c = static_cast<unsigned char>(name[i]);
        if (c < 0x80) {
          buf[n++] = static_cast<char>(c);
        } else {
          buf[n++] = static_cast<char>(0xC0 | c >> 6);
          buf[n++] = static_cast<char>(0x80 | (c & 0x3F));
        }
      }
      return lookup_atom(buf, n, at, out);
    }
  }
  return lookup_atom(name, size, at, out);
}

Decoder::Step Decoder::open(Term* slot, Rep rep, std::uint32_t n, const std::uint8_t* at,
                            std::size_t depth, Frame& opened) {
  if (n == 0) {  // {} and #{} hold no node; an empty LIST_EXT is refused before this
    new (slot) Term(rep == Rep::map ? A::map(nullptr) : A::tuple(nullptr));
    return Step::done;
  }
  // Each element takes at least a byte (a map entry two, a list its tail too): a count the
  // input cannot hold fails before anything is allocated.
  std::size_t least = rep == Rep::map ? std::size_t{n} * 2 : std::size_t{n} + (rep == Rep::list);
  // Each slot of every container takes at least a byte of the input too: nested containers
  // that each claim what is left would otherwise allocate depth times the input. So the slots
  // of one decode, all containers together, are bounded by the input's size.
  std::size_t input = static_cast<std::size_t>(end_ - begin_);
  if (left() < least || least > input - slots_) return stop(DecodeErrc::truncated, end_);
  slots_ += least;
  if (depth >= opt_.max_depth) return stop(DecodeErrc::too_deep, p_);
  Term* slots;
  TermNode* node;
  std::uint64_t count = n;
  switch (rep) {
    case Rep::tuple: {
      auto* t = A::new_tuple(n);
      slots = t->elems();
      node = t;
      new (slot) Term(A::tuple(t));
      break;
    }
    case Rep::map: {
      auto* m = A::new_map(n);
      slots = map_slots(m);
      node = m;
      count *= 2;
      new (slot) Term(A::map(m));
      break;
    }
    default: {
      auto* l = A::new_list(n);
      new (&l->tail) Term();
      slots = l->elems();
      node = l;
      new (slot) Term(A::list(l));
      break;
    }
  }
  // Owned by the slot from here. The slots are filled in order; on a failure abandon() fills
  // the rest with [], so that freeing the slot frees what was decoded.
  opened = {slots, slots + count, node, static_cast<std::size_t>(at - begin_), rep};
  return Step::opened;
}

bool Decoder::finish_map(const Frame& f) {
  auto* node = static_cast<MapNode*>(f.node);
  MapEntry* e = node->entries();
  std::uint32_t n = node->count;
  if (map_keys_in_order(e, n)) return true;
  // OTP writes maps of more than 32 keys in hash order; ours are kept in key order.
  if (sort_map_entries(e, n) != n) return fail(DecodeErrc::duplicate_map_key, begin_ + f.at);
  return true;
}

bool Decoder::string(Term* slot, std::uint32_t n) {
  if (!need(n)) return false;
  if (n == 0) {
    new (slot) Term();
    return true;
  }
  ListNode* node = A::new_list(n);
  new (&node->tail) Term();
  for (std::uint32_t i = 0; i < n; ++i) new (node->elems() + i) Term(p_[i]);
  p_ += n;
  new (slot) Term(A::list(node));
  return true;
}

void Decoder::abandon(Frames& st) noexcept {
  for (; !st.empty(); st.pop())
    for (Term* s = st.top().next; s != st.top().end; ++s) new (s) Term();
}

bool Decoder::term(Term& out) {
  Frames st;
  Term* slot = &out;
  // The unfilled slots of the innermost open container, kept here rather than in its frame.
  Term* next = nullptr;
  Term* end = nullptr;
  for (;;) {
    // Small integers, the commonest elements, without the call.
    if (left() >= 2 && p_[0] == tag::small_integer) {
      new (slot) Term(p_[1]);
      p_ += 2;
    } else if (left() >= 5 && p_[0] == tag::integer) {
      new (slot) Term(static_cast<std::int32_t>(be32(p_ + 1)));
      p_ += 5;
    } else {
      Frame opened;
      Step step;
      try {
        step = value(slot, st.size(), opened);
      } catch (...) {  // out of memory: leave every slot filled for the caller to free
        new (slot) Term();
        if (!st.empty()) st.top().next = next;
        abandon(st);
        throw;
      }
      if (step != Step::done) {
        if (!st.empty()) st.top().next = next;
        if (step == Step::failed) {
          new (slot) Term();
          abandon(st);
          return false;
        }
        try {
          st.push(opened);
        } catch (...) {
          for (Term* s = opened.next; s != opened.end; ++s) new (s) Term();
          abandon(st);
          throw;
        }
        next = opened.next;
        end = opened.end;
        slot = next++;
        continue;
      }
    }
    // The next slot to fill: in the innermost open container, or after it.
    for (slot = nullptr; !slot;) {
      if (next != end) {
        slot = next++;
        break;
      }
      if (st.empty()) return true;
      Frame& f = st.top();
      f.next = next;
      Rep rep = f.rep;
      if (rep == Rep::map && !finish_map(f)) {
        abandon(st);
        return false;
      }
      // A list's tail comes last, once its frame is gone: tails do not nest.
      if (rep == Rep::list) slot = &static_cast<ListNode*>(f.node)->tail;
      st.pop();
      next = st.empty() ? nullptr : st.top().next;
      end = st.empty() ? nullptr : st.top().end;
    }
  }
}

bool Decoder::big(Term* slot, std::size_t n) {
  if (!need(1 + n)) return false;
  std::uint8_t sign = *p_++;
  if (sign > 1) return fail(DecodeErrc::malformed, p_ - 1);
  new (slot) Term(Term::integer(sign == 1, std::span(p_, n)));
  p_ += n;
  return true;
}

bool Decoder::ref(Term* slot, std::uint8_t t) {
  const std::uint8_t* at = p_ - 1;
  Ref r;
  Atom name;
  std::uint32_t creation;
  if (t == tag::reference) {
    if (!atom(name) || !need(5)) return false;
    r.length = 1;
    r.words[0] = be32(p_);
    creation = p_[4];
    p_ += 5;
  } else {
    if (!need(2)) return false;
    std::uint32_t len = be16(p_);
    p_ += 2;
    if (len == 0 || len > r.words.size()) return fail(DecodeErrc::malformed, at);
    if (!atom(name)) return false;
    std::size_t cbytes = t == tag::newer_reference ? 4 : 1;
    if (!need(cbytes + 4 * len)) return false;
    creation = cbytes == 4 ? be32(p_) : p_[0];
    p_ += cbytes;
    r.length = len;
    for (std::uint32_t i = 0; i < len; ++i, p_ += 4) r.words[i] = be32(p_);
  }
  if (!node(name, creation, at, r.node_index)) return false;
  new (slot) Term(r);
  return true;
}

Decoder::Step Decoder::value(Term* slot, std::size_t depth, Frame& opened) {
  constexpr Step failed = Step::failed, done = Step::done;  // the two ends of a leaf
  if (!need(1)) return failed;
  const std::uint8_t* at = p_;
  std::uint8_t t = *p_++;
  switch (t) {
    case tag::small_integer:
      if (!need(1)) return failed;
      new (slot) Term(*p_++);
      return done;
    case tag::integer:
      if (!need(4)) return failed;
      new (slot) Term(static_cast<std::int32_t>(be32(p_)));
      p_ += 4;
      return done;
    case tag::new_float: {
      if (!need(8)) return failed;
      double d = std::bit_cast<double>(be64(p_));
      if (!std::isfinite(d)) return stop(DecodeErrc::malformed, at);
      p_ += 8;
      new (slot) Term(d);
      return done;
    }
    case tag::float_: {
      // 31 bytes of "%.20e" text, NUL padded.
      if (!need(31)) return failed;
      const char* s = reinterpret_cast<const char*>(p_);
      const char* e = static_cast<const char*>(std::memchr(s, 0, 31));
      if (!e) e = s + 31;
      double d = 0;
      const char* start = s;
      while (start < e && *start == ' ') ++start;
      auto r = std::from_chars(start, e, d);
      if (r.ec != std::errc() || r.ptr != e || !std::isfinite(d))
        return stop(DecodeErrc::malformed, at);
      p_ += 31;
      new (slot) Term(d);
      return done;
    }
    case tag::atom:
    case tag::small_atom:
    case tag::atom_utf8:
    case tag::small_atom_utf8: {
      --p_;
      Atom a;
      if (!atom(a)) return failed;
      new (slot) Term(a);
      return done;
    }
    case tag::small_tuple:
      if (!need(1)) return failed;
      return open(slot, Rep::tuple, *p_++, at, depth, opened);
    case tag::large_tuple: {
      if (!need(4)) return failed;
      std::uint32_t n = be32(p_);
      p_ += 4;
      return open(slot, Rep::tuple, n, at, depth, opened);
    }
    case tag::nil:
      new (slot) Term();
      return done;
    case tag::string: {
      if (!need(2)) return failed;
      std::uint32_t n = be16(p_);
      p_ += 2;
      return string(slot, n) ? done : failed;
    }
    case tag::list: {
      if (!need(4)) return failed;
      std::uint32_t n = be32(p_);
      p_ += 4;
      if (n == 0) return stop(DecodeErrc::malformed, at);
      return open(slot, Rep::list, n, at, depth, opened);
    }
    case tag::binary: {
      if (!need(4)) return failed;
      std::uint32_t n = be32(p_);
      p_ += 4;
      if (!need(n)) return failed;
      if (owner_ && n >= opt_.share_from && n > 0)
        new (slot) Term(A::binary_slice(owner_, p_, n));
      else
        new (slot) Term(copy_binary(p_, n));
      p_ += n;
      return done;
    }
    case tag::bit_binary: {
      if (!need(5)) return failed;
      std::uint32_t n = be32(p_);
      unsigned bits = p_[4];
      p_ += 5;
      if (n == 0 || bits == 0 || bits > 8) return stop(DecodeErrc::malformed, at);
      if (!need(n)) return failed;
      new (slot) Term(Term::bitstring(std::span(p_, n), std::uint64_t{n - 1} * 8 + bits));
      p_ += n;
      return done;
    }
    case tag::small_big:
      if (!need(1)) return failed;
      return big(slot, *p_++) ? done : failed;
    case tag::large_big: {
      if (!need(4)) return failed;
      std::uint32_t n = be32(p_);
      p_ += 4;
      return big(slot, n) ? done : failed;
    }
    case tag::new_pid:
    case tag::pid: {
      Atom name;
      if (!atom(name)) return failed;
      bool wide = t == tag::new_pid;
      if (!need(wide ? 12 : 9)) return failed;
      std::uint32_t id = be32(p_), serial = be32(p_ + 4);
      std::uint32_t creation = wide ? be32(p_ + 8) : p_[8];
      p_ += wide ? 12 : 9;
      std::uint32_t index;
      if (!node(name, creation, at, index)) return failed;
      new (slot) Term(Pid(index, id, serial));
      return done;
    }
    case tag::port:
    case tag::new_port:
    case tag::v4_port: {
      Atom name;
      if (!atom(name)) return failed;
      std::size_t id_bytes = t == tag::v4_port ? 8 : 4, creation_bytes = t == tag::port ? 1 : 4;
      if (!need(id_bytes + creation_bytes)) return failed;
      std::uint64_t id = id_bytes == 8 ? be64(p_) : be32(p_);
      p_ += id_bytes;
      std::uint32_t creation = creation_bytes == 4 ? be32(p_) : p_[0];
      p_ += creation_bytes;
      std::uint32_t index;
      if (!node(name, creation, at, index)) return failed;
      new (slot) Term(Port(index, id));
      return done;
    }
    case tag::reference:
    case tag::new_reference:
    case tag::newer_reference:
      return ref(slot, t) ? done : failed;
    case tag::map: {
      if (!need(4)) return failed;
      std::uint32_t n = be32(p_);
      p_ += 4;
      return open(slot, Rep::map, n, at, depth, opened);
    }
    case tag::export_: {
      Atom m, f;
      if (!atom(m) || !atom(f) || !need(2)) return failed;
      if (p_[0] != tag::small_integer) return stop(DecodeErrc::malformed, p_);
      std::uint8_t arity = p_[1];
      p_ += 2;
      new (slot) Term(Term::export_fun(m, f, arity));
      return done;
    }
    case tag::new_fun: {
      // Kept whole and opaque: Size counts itself and everything after it.
      if (!need(4)) return failed;
      std::uint32_t size = be32(p_);
      if (size < 4) return stop(DecodeErrc::malformed, at);
      if (!need(size)) return failed;
      new (slot) Term(Term::local_fun(std::span(p_, size)));
      p_ += size;
      return done;
    }
    default:
      return stop(DecodeErrc::unknown_tag, at);
  }
}

// The bytes a COMPRESSED term inflates to. The buffer grows with what zlib actually produces,
// never straight to the announced size: a peer announcing 64 MB in a few bytes costs nothing.
struct Inflated {
  std::unique_ptr<std::uint8_t[]> data;  // not zero-filled: only inflated bytes are read
  std::size_t size = 0;
};

// Inflates the zlib stream at the front of `in` (which starts at byte `base` of the whole
// input), which must produce exactly `announced` bytes. Errors: the input ends inside the
// stream (truncated, at its end); corrupt data (bad_compression, where inflating stopped); a
// stream that inflates to more or fewer bytes than announced (bad_compression at byte 2, the
// size field).
std::expected<Inflated, DecodeError> inflate_exact(std::span<const std::uint8_t> in,
                                                   std::size_t base, std::size_t announced,
                                                   std::size_t& consumed) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw std::bad_alloc();
  struct End {
    z_stream& z;
    ~End() { inflateEnd(&z); }
  } end{z};
  // One spare byte beyond the announced size detects a longer stream. A first guess from the
  // input size (deflate rarely gains more than 8x on terms), then doubling.
  std::size_t limit = announced + 1;
  std::size_t capacity = std::min(limit, std::max<std::size_t>(64 * 1024, in.size() * 8));
  Inflated out{std::make_unique_for_overwrite<std::uint8_t[]>(capacity), 0};
  const std::uint8_t* next_in = in.data();
  std::size_t left_in = in.size();
  for (;;) {
    if (out.size == capacity) {
      std::size_t grown = std::min(limit, capacity * 2);
      auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(grown);
      std::memcpy(bigger.get(), out.data.get(), out.size);
      out.data = std::move(bigger);
      capacity = grown;
    }
    // zlib counts in uInt: feed and drain at most 1 GiB per call.
    constexpr std::size_t step = std::size_t{1} << 30;
    auto in_now = static_cast<uInt>(std::min(left_in, step));
    auto out_now = static_cast<uInt>(std::min(capacity - out.size, step));
    z.next_in = const_cast<Bytef*>(next_in);
    z.avail_in = in_now;
    z.next_out = out.data.get() + out.size;
    z.avail_out = out_now;
    int rc = inflate(&z, Z_NO_FLUSH);
    std::size_t took = in_now - z.avail_in, gave = out_now - z.avail_out;
    next_in += took;
    left_in -= took;
    out.size += gave;
    consumed = in.size() - left_in;
    if (out.size > announced) return std::unexpected(DecodeError{DecodeErrc::bad_compression, 2});
    if (rc == Z_STREAM_END) {
      if (out.size != announced)
        return std::unexpected(DecodeError{DecodeErrc::bad_compression, 2});
      return out;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return std::unexpected(DecodeError{DecodeErrc::bad_compression, base + consumed});
    if (out.size == capacity) continue;  // room was the limit: grow and go on
    // Room left and the stream not ended: zlib wants input the term does not have.
    if (left_in == 0) return std::unexpected(DecodeError{DecodeErrc::truncated, base + in.size()});
    if (took == 0 && gave == 0)  // no progress with both input and room: cannot happen in zlib
      return std::unexpected(DecodeError{DecodeErrc::bad_compression, base + consumed});
  }
}

}  // namespace

std::string_view to_string(DecodeErrc e) noexcept {
  switch (e) {
    case DecodeErrc::truncated:
      return "truncated";
    case DecodeErrc::bad_version:
      return "bad version byte";
    case DecodeErrc::unknown_tag:
      return "unknown tag";
    case DecodeErrc::malformed:
      return "malformed field";
    case DecodeErrc::trailing_bytes:
      return "trailing bytes";
    case DecodeErrc::too_deep:
      return "nested too deep";
    case DecodeErrc::bad_atom:
      return "invalid atom";
    case DecodeErrc::unknown_atom:
      return "unknown atom (safe mode)";
    case DecodeErrc::atom_budget:
      return "too many new atoms";
    case DecodeErrc::atom_table_full:
      return "atom table reserve reached";
    case DecodeErrc::duplicate_map_key:
      return "duplicate map key";
    case DecodeErrc::too_large:
      return "uncompressed size too large";
    case DecodeErrc::bad_compression:
      return "bad compressed data";
    case DecodeErrc::node_table_full:
      return "node table full (too many distinct node names and creations)";
    case DecodeErrc::node_budget:
      return "too many new nodes in one term";
  }
  return "unknown decode error";
}

std::string to_string(const DecodeError& e) {
  return std::string(to_string(e.code)) + " at byte " + std::to_string(e.offset);
}

namespace {

// decode_prefix() of `bytes`, which lie in the binary whose node is `owner` (or nowhere shared).
std::expected<std::pair<Term, std::size_t>, DecodeError> decode_in(
    std::span<const std::uint8_t> bytes, BytesNode* owner, const DecodeOptions& options) {
  if (bytes.empty()) return std::unexpected(DecodeError{DecodeErrc::truncated, 0});
  if (bytes[0] != version) return std::unexpected(DecodeError{DecodeErrc::bad_version, 0});
  std::uint32_t new_atoms = 0;
  Term out;
  if (bytes.size() >= 2 && bytes[1] == tag::compressed) {
    if (bytes.size() < 6) return std::unexpected(DecodeError{DecodeErrc::truncated, bytes.size()});
    std::size_t size = be32(bytes.data() + 2);
    if (size > options.max_uncompressed)
      return std::unexpected(DecodeError{DecodeErrc::too_large, 2});
    std::size_t consumed = 0;
    Inflated plain;
    try {
      auto inflated = inflate_exact(bytes.subspan(6), 6, size, consumed);
      if (!inflated) return std::unexpected(inflated.error());
      plain = std::move(*inflated);
    } catch (const std::bad_alloc&) {
      return std::unexpected(DecodeError{DecodeErrc::too_large, 2});
    }
    // The inflated bytes are ours for the moment only: their binaries are copied.
    Decoder d(std::span<const std::uint8_t>(plain.data.get(), plain.size), options, new_atoms);
    if (!d.term(out)) return std::unexpected(d.error());
    if (d.left() != 0) return std::unexpected(DecodeError{DecodeErrc::malformed, 6});
    return std::pair{std::move(out), 6 + consumed};
  }
  Decoder d(bytes.subspan(1), options, new_atoms, owner);
  if (!d.term(out)) {
    DecodeError e = d.error();
    ++e.offset;  // the version byte
    return std::unexpected(e);
  }
  return std::pair{std::move(out), 1 + d.used()};
}

std::expected<Term, DecodeError> whole(std::expected<std::pair<Term, std::size_t>, DecodeError> r,
                                       std::size_t size) {
  if (!r) return std::unexpected(r.error());
  if (r->second != size) return std::unexpected(DecodeError{DecodeErrc::trailing_bytes, r->second});
  return std::move(r->first);
}

}  // namespace

std::expected<std::pair<Term, std::size_t>, DecodeError> decode_prefix(
    std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
  return decode_in(bytes, nullptr, options);
}

std::expected<Term, DecodeError> decode(std::span<const std::uint8_t> bytes,
                                        const DecodeOptions& options) {
  return whole(decode_in(bytes, nullptr, options), bytes.size());
}

std::expected<std::pair<Term, std::size_t>, DecodeError> decode_prefix_shared(
    const Term& buffer, std::size_t offset, const DecodeOptions& options) {
  if (!buffer.is_binary())
    throw BadTerm("etf::decode_shared: the buffer must be a binary, got " +
                  to_string_prefix(buffer, TermFormat::w, 80));
  auto bytes = buffer.bytes();
  if (offset > bytes.size())
    throw std::out_of_range("etf::decode_prefix_shared: offset past the end");
  return decode_in(bytes.subspan(offset), A::node<BytesNode>(buffer), options);
}

std::expected<Term, DecodeError> decode_shared(const Term& buffer, const DecodeOptions& options) {
  auto r = decode_prefix_shared(buffer, 0, options);
  return whole(std::move(r), buffer.bytes().size());
}

}  // namespace ambitious::etf
