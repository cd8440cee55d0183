#include "ambitious/core/term.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <ostream>
#include <type_traits>

#include "term_node.hpp"
#include "utf8.hpp"
#include "work_stack.hpp"

namespace ambitious {
namespace {

using Rep = TermAccess::Rep;
using A = TermAccess;

void free_node(Rep rep, TermNode* node) noexcept {
  if (rep == Rep::binary && static_cast<BytesNode*>(node)->is_slice()) {
    BytesNode* owner = static_cast<SliceNode*>(node)->owner;  // a plain binary: no further nodes
    if (owner->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
      ::operator delete(static_cast<void*>(owner));
  }
  ::operator delete(static_cast<void*>(node));
}

inline bool is_container(Rep r) noexcept { return TermAccess::is_container(r); }

// The child slots of a container node as one run of Terms: a tuple's elements, a map's keys and
// values in turn (a MapEntry is two Terms), a list node's tail and elements (the node lays its
// tail out right before its elements).
struct Run {
  Term* first = nullptr;
  std::uint64_t count = 0;
};
Run run_of(Rep rep, TermNode* n) noexcept {
  switch (rep) {
    case Rep::tuple:
      return {static_cast<TupleNode*>(n)->elems(), n->count};
    case Rep::map:
      return {map_slots(static_cast<MapNode*>(n)), std::uint64_t{n->count} * 2};
    case Rep::list:
      return {&static_cast<ListNode*>(n)->tail, std::uint64_t{n->count} + 1};
    default:
      return {};
  }
}
// The tail is ListNode's last member, so it ends where the elements (at node + 1) begin.
static_assert(sizeof(ListNode) == sizeof(TermNode) + sizeof(Term));

// The way back up while destroying: which slot of which dead node led down. It is written into
// that very slot (its Term is released), so destroying takes neither stack nor heap.
struct BackLink {
  TermNode* node = nullptr;  // nullptr: the top
  std::uint32_t low = 0;     // the slot index, in 40 bits (a map has up to 2^33 slots)
  std::uint8_t high = 0;
  Rep rep = Rep::nil;
  std::uint64_t slot() const noexcept { return std::uint64_t{high} << 32 | low; }
  static BackLink to(TermNode* node, Rep rep, std::uint64_t slot) noexcept {
    return {node, static_cast<std::uint32_t>(slot), static_cast<std::uint8_t>(slot >> 32), rep};
  }
};
static_assert(sizeof(BackLink) <= sizeof(Term) && std::is_trivially_copyable_v<BackLink>);

// Integer vs float in term order: exact, whatever their magnitudes.
std::weak_ordering compare_int_double(std::int64_t i, double d) noexcept {
  if (d >= 9223372036854775808.0) return std::weak_ordering::less;
  if (d < -9223372036854775808.0) return std::weak_ordering::greater;
  double t = std::trunc(d);
  auto ti = static_cast<std::int64_t>(t);
  if (i != ti) return i < ti ? std::weak_ordering::less : std::weak_ordering::greater;
  if (d > t) return std::weak_ordering::less;
  if (d < t) return std::weak_ordering::greater;
  return std::weak_ordering::equivalent;
}

std::strong_ordering compare_magnitudes(std::span<const std::uint8_t> a,
                                        std::span<const std::uint8_t> b) noexcept {
  if (a.size() != b.size()) return a.size() <=> b.size();
  for (std::size_t k = a.size(); k-- > 0;)
    if (a[k] != b[k]) return a[k] <=> b[k];
  return std::strong_ordering::equal;
}

// A big integer (beyond 64 bits) vs a float.
std::weak_ordering compare_big_double(const Term& big, double d) noexcept {
  bool neg = big.big_negative();
  // A float under 2^63 in magnitude lies strictly between the negative and positive bigs.
  if (std::fabs(d) < 9223372036854775808.0 || (neg != std::signbit(d)))
    return neg ? std::weak_ordering::less : std::weak_ordering::greater;
  // |d| >= 2^63: an integer; write its magnitude out exactly.
  int exp;
  double m = std::frexp(std::fabs(d), &exp);  // |d| = m * 2^exp, 0.5 <= m < 1
  auto mant = static_cast<std::uint64_t>(std::ldexp(m, 53));
  int shift = exp - 53;  // >= 11
  std::uint8_t bytes[140] = {};
  std::size_t byte = static_cast<std::size_t>(shift) / 8, bit = static_cast<std::size_t>(shift) % 8;
  std::uint64_t v = mant << bit;  // mant < 2^53, bit < 8: no overflow
  std::size_t n = byte;
  while (v) {
    bytes[n++] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
  auto c = compare_magnitudes(big.big_magnitude(), std::span<const std::uint8_t>(bytes, n));
  if (c == 0) return std::weak_ordering::equivalent;
  bool big_larger_magnitude = c > 0;
  return (big_larger_magnitude != neg) ? std::weak_ordering::greater : std::weak_ordering::less;
}

int type_rank(Rep r) noexcept {
  switch (r) {
    case Rep::small:
    case Rep::big:
    case Rep::flt:
      return 0;
    case Rep::atom:
      return 1;
    case Rep::ref:
      return 2;
    case Rep::local_fun:
    case Rep::export_fun:
      return 3;
    case Rep::port:
      return 4;
    case Rep::pid:
      return 5;
    case Rep::tuple:
      return 6;
    case Rep::map:
      return 7;
    case Rep::nil:
      return 8;
    case Rep::list:
      return 9;
    case Rep::binary:
      return 10;
  }
  return 11;
}

std::weak_ordering compare_numbers(const Term& a, const Term& b, bool exact) noexcept {
  Rep ra = A::rep(a), rb = A::rep(b);
  bool fa = ra == Rep::flt, fb = rb == Rep::flt;
  if (fa && fb)
    return A::d(a) <=> A::d(b) == 0
               ? std::weak_ordering::equivalent
               : (A::d(a) < A::d(b) ? std::weak_ordering::less : std::weak_ordering::greater);
  if (exact && fa != fb) return fa ? std::weak_ordering::greater : std::weak_ordering::less;
  if (fb) {
    if (ra == Rep::small) return compare_int_double(A::i(a), A::d(b));
    return compare_big_double(a, A::d(b));
  }
  if (fa) return 0 <=> compare_numbers(b, a, exact);
  // Both integers; bigs are canonical (outside 64 bits), so they bound the small ones.
  if (ra == Rep::small && rb == Rep::small) return A::i(a) <=> A::i(b);
  if (ra == Rep::small)
    return b.big_negative() ? std::weak_ordering::greater : std::weak_ordering::less;
  if (rb == Rep::small)
    return a.big_negative() ? std::weak_ordering::less : std::weak_ordering::greater;
  bool na = a.big_negative(), nb = b.big_negative();
  if (na != nb) return na ? std::weak_ordering::less : std::weak_ordering::greater;
  auto c = compare_magnitudes(a.big_magnitude(), b.big_magnitude());
  return na ? 0 <=> c : c <=> 0;
}

std::weak_ordering compare_bits(const Term& a, const Term& b) noexcept {
  auto* na_ = A::node<BytesNode>(a);
  auto* nb_ = A::node<BytesNode>(b);
  if (A::bits(a) == 0 && A::bits(b) == 0) {
    // Whole binaries, the common map keys: the bytes, then the sizes.
    std::size_t x = na_ ? na_->size : 0, y = nb_ ? nb_->size : 0, n = std::min(x, y);
    if (n)
      if (int c = std::memcmp(na_->data(), nb_->data(), n); c != 0) return c <=> 0;
    return x <=> y;
  }
  auto ba = a.bytes(), bb = b.bytes();
  std::uint64_t na = a.bit_size(), nb = b.bit_size(), common = std::min(na, nb);
  std::size_t whole = static_cast<std::size_t>(common / 8);
  if (whole) {
    int c = std::memcmp(ba.data(), bb.data(), whole);
    if (c != 0) return c <=> 0;
  }
  if (unsigned rest = common % 8; rest) {
    auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    auto x = ba[whole] & mask, y = bb[whole] & mask;
    if (x != y) return x <=> y;
  }
  return na <=> nb;
}

// Everything but two containers of the same kind: kinds, then the values of leaves.
std::weak_ordering compare_leaves(const Term& a, const Term& b, bool exact) noexcept {
  Rep ra = A::rep(a), rb = A::rep(b);
  if (ra == rb) {  // the commonest: two of a kind, without ranking the kinds
    if (ra == Rep::binary) return compare_bits(a, b);
    if (ra == Rep::small) return A::i(a) <=> A::i(b);
  }
  int ta = type_rank(ra), tb = type_rank(rb);
  if (ta != tb) return ta <=> tb;
  switch (ra) {
    case Rep::small:
    case Rep::big:
    case Rep::flt:
      return compare_numbers(a, b, exact);
    case Rep::atom:
      return A::aux(a) == A::aux(b) ? std::weak_ordering::equivalent
                                    : std::weak_ordering(a.as_atom() <=> b.as_atom());
    case Rep::ref:
      return a.as_ref() <=> b.as_ref();
    case Rep::local_fun:
    case Rep::export_fun: {
      if (ra != rb)
        return ra == Rep::local_fun ? std::weak_ordering::less : std::weak_ordering::greater;
      if (ra == Rep::export_fun) {
        if (auto c = a.fun_module() <=> b.fun_module(); c != 0) return c;
        if (auto c = a.fun_function() <=> b.fun_function(); c != 0) return c;
        return a.fun_arity() <=> b.fun_arity();
      }
      auto x = a.local_fun_body(), y = b.local_fun_body();
      return std::lexicographical_compare_three_way(x.begin(), x.end(), y.begin(), y.end());
    }
    case Rep::port:
      return a.as_port() <=> b.as_port();
    case Rep::pid:
      return a.as_pid() <=> b.as_pid();
    case Rep::binary:
      return compare_bits(a, b);
    default:  // nil, or containers of the same rank, which compare_terms walks
      return std::weak_ordering::equivalent;
  }
}

// Two containers whose children are being compared pair by pair: a run of Terms (a tuple's
// elements; a map's keys, or its values, `stride` 2 apart), or two lists cell by cell.
struct CompareFrame {
  const void* x;  // run: the next child of each side; list: the node of each cell
  const void* y;
  std::uint64_t left;    // run: pairs left
  std::uint32_t ix, iy;  // list: the index of each cell in its node (== count: at a tail
                         // that is not a list)
  bool list;
  bool exact;
  std::uint8_t stride;
};
using CompareStack = detail::WorkStack<CompareFrame, 16>;

// Compares the tops of a and b (kind, leaf value, container size); for two containers that
// agree so far, pushes the frame that compares their children.
std::weak_ordering compare_top(const Term& a, const Term& b, bool exact, CompareStack& st) {
  Rep ra = A::rep(a);
  if (ra != A::rep(b)) return compare_leaves(a, b, exact);
  // The commonest elements without a call: small integers, the same atom, [].
  if (ra == Rep::small) return A::i(a) <=> A::i(b);
  if (ra == Rep::nil || (ra == Rep::atom && A::aux(a) == A::aux(b)))
    return std::weak_ordering::equivalent;
  if (!is_container(ra)) return compare_leaves(a, b, exact);
  if (A::node<TermNode>(a) == A::node<TermNode>(b) && A::aux(a) == A::aux(b))
    return std::weak_ordering::equivalent;  // the same cells (or both empty)
  switch (ra) {
    case Rep::tuple: {
      auto x = a.elements(), y = b.elements();
      if (x.size() != y.size()) return x.size() <=> y.size();
      st.push({x.data(), y.data(), x.size(), 0, 0, false, exact, 1});
      return std::weak_ordering::equivalent;
    }
    case Rep::map: {
      // Size, then the keys in key order (exactly), then the values in key order.
      std::size_t nx = a.size(), ny = b.size();
      if (nx != ny) return nx <=> ny;
      const Term* x = map_slots(A::node<MapNode>(a));
      const Term* y = map_slots(A::node<MapNode>(b));
      st.push({x + 1, y + 1, nx, 0, 0, false, exact, 2});
      st.push({x, y, nx, 0, 0, false, true, 2});
      return std::weak_ordering::equivalent;
    }
    default:
      st.push({A::list_node(a), A::list_node(b), 0, A::aux(a), A::aux(b), true, exact, 0});
      return std::weak_ordering::equivalent;
  }
}

// The next cell of a list: within its node, or the first of the node its tail is.
void next_cell(const ListNode*& node, std::uint32_t& i) noexcept {
  if (++i == node->count && A::rep(node->tail) == Rep::list) {
    i = A::aux(node->tail);
    node = A::list_node(node->tail);
  }
}

// Term order as a walk of both terms in step, depth first, with an explicit stack: the first
// difference decides. Lists go cell by cell (their tails are not nesting).
std::weak_ordering compare_terms(const Term& a, const Term& b, bool exact) noexcept {
  Rep ra = A::rep(a);
  if (ra != A::rep(b) || !is_container(ra)) return compare_leaves(a, b, exact);
  CompareStack st;
  std::weak_ordering c = compare_top(a, b, exact, st);
  while (c == 0 && !st.empty()) {
    CompareFrame& f = st.top();
    bool ex = f.exact;
    if (!f.list) {
      // Equal small integers, atoms and [] inline; stop at anything else.
      const auto* x = static_cast<const Term*>(f.x);
      const auto* y = static_cast<const Term*>(f.y);
      std::uint64_t left = f.left;
      for (; left; --left, x += f.stride, y += f.stride) {
        Rep r = A::rep(*x);
        if (r != A::rep(*y)) break;
        if (r == Rep::small ? A::i(*x) != A::i(*y)
                            : r != Rep::nil && (r != Rep::atom || A::aux(*x) != A::aux(*y)))
          break;
      }
      if (left == 0) {
        st.pop();
        continue;
      }
      f.x = x + f.stride;
      f.y = y + f.stride;
      f.left = left - 1;
      if (left == 1) st.pop();  // the last pair: nothing to come back to
      c = compare_top(*x, *y, ex, st);
      continue;
    }
    const auto* nx = static_cast<const ListNode*>(f.x);
    const auto* ny = static_cast<const ListNode*>(f.y);
    std::uint32_t ix = f.ix, iy = f.iy;
    bool end_x = ix == nx->count, end_y = iy == ny->count;
    if (end_x || end_y) {
      st.pop();
      // Both ended: their tails decide; one goes on with a cell: the kinds decide.
      if (end_x && end_y)
        c = compare_top(nx->tail, ny->tail, ex, st);
      else if (end_x)
        c = type_rank(A::rep(nx->tail)) <=> type_rank(Rep::list);
      else
        c = type_rank(Rep::list) <=> type_rank(A::rep(ny->tail));
      continue;
    }
    if (nx == ny && ix == iy) {  // the rest is shared
      st.pop();
      continue;
    }
    const Term& hx = nx->elems()[ix];
    const Term& hy = ny->elems()[iy];
    next_cell(nx, ix);
    next_cell(ny, iy);
    f.x = nx;
    f.y = ny;
    f.ix = ix;
    f.iy = iy;
    c = compare_top(hx, hy, ex, st);
  }
  return c;
}

std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h * 0xFF51AFD7ED558CCDull;
}

std::uint64_t hash_bytes(std::span<const std::uint8_t> b, std::uint64_t h) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, b.data() + i, 8);
    h = mix(h, w);
  }
  std::uint64_t w = 0;
  if (i < b.size()) std::memcpy(&w, b.data() + i, b.size() - i);
  return mix(h, w ^ b.size());
}

// The hash of anything but a container with children.
std::uint64_t hash_leaf(const Term& t) noexcept {
  Rep r = A::rep(t);
  std::uint64_t h = static_cast<std::uint64_t>(r) + 1;
  switch (r) {
    case Rep::nil:
      return mix(h, 0);
    case Rep::atom:
      return mix(h, A::aux(t));
    case Rep::small:
      return mix(h, static_cast<std::uint64_t>(A::i(t)));
    case Rep::flt: {
      double d = A::d(t);
      if (d == 0) d = 0.0;  // 0.0 =:= -0.0 in OTP 25
      return mix(h, std::bit_cast<std::uint64_t>(d));
    }
    case Rep::export_fun:
    case Rep::port:
    case Rep::pid:
      return mix(mix(h, A::aux(t)), A::u(t));
    case Rep::big:
      return hash_bytes(t.big_magnitude(), mix(h, t.big_negative()));
    case Rep::ref:
      return mix(h, std::hash<Ref>{}(t.as_ref()));
    case Rep::local_fun:
      return hash_bytes(t.local_fun_body(), h);
    case Rep::binary:
      return hash_bytes(t.bytes(), mix(h, t.bit_size()));
    default:  // an empty tuple or map
      return mix(h, 0);
  }
}

// A container whose children are being hashed: each child's hash is mixed into `h` in order; a
// tuple or map then mixes in its size. A list's children are its heads, then its final tail
// (so the hash does not depend on how the cells are laid out in nodes).
struct HashFrame {
  std::uint64_t h;
  const void* p;       // run: the next child; list: the node of the next cell
  std::uint64_t left;  // run: children left
  std::uint32_t i;     // list: the index of the next cell (== count: the final tail is next)
  std::uint32_t size;  // run: what is mixed in last
  bool list;
  bool tail_done;
};

bool has_children(const Term& t) noexcept {
  return is_container(A::rep(t)) && A::node<TermNode>(t) != nullptr;
}

void push_hash(const Term& t, detail::WorkStack<HashFrame, 16>& st) {
  std::uint64_t h = static_cast<std::uint64_t>(A::rep(t)) + 1;
  switch (A::rep(t)) {
    case Rep::tuple:
      st.push({h, t.elements().data(), t.size(), 0, static_cast<std::uint32_t>(t.size()), false,
               false});
      return;
    case Rep::map:
      st.push({h, map_slots(A::node<MapNode>(t)), std::uint64_t{t.size()} * 2, 0,
               static_cast<std::uint32_t>(t.size()), false, false});
      return;
    default:
      st.push({h, A::list_node(t), 0, A::aux(t), 0, true, false});
      return;
  }
}

std::uint64_t hash_term(const Term& t) noexcept {
  if (!has_children(t)) return hash_leaf(t);
  detail::WorkStack<HashFrame, 16> st;
  push_hash(t, st);
  for (;;) {
    HashFrame& f = st.top();
    const Term* child = nullptr;
    if (!f.list) {
      // Leaves inline; stop at a child with children of its own, or at the end.
      const auto* p = static_cast<const Term*>(f.p);
      for (; f.left; --f.left) {
        if (has_children(*p)) break;
        f.h = mix(f.h, hash_leaf(*p++));
      }
      if (f.left) {
        child = p;
        f.p = p + 1;
        --f.left;
      }
    } else if (!f.tail_done) {
      // Cells: leaves inline; stop at a head with children, or at the final tail.
      const auto* node = static_cast<const ListNode*>(f.p);
      std::uint32_t i = f.i;
      for (;;) {
        if (i == node->count) {
          child = &node->tail;
          f.tail_done = true;
          break;
        }
        const Term& head = node->elems()[i];
        next_cell(node, i);
        if (has_children(head)) {
          child = &head;
          break;
        }
        f.h = mix(f.h, hash_leaf(head));
      }
      f.p = node;
      f.i = i;
    }
    if (child) {
      if (has_children(*child))
        push_hash(*child, st);
      else
        f.h = mix(f.h, hash_leaf(*child));
      continue;
    }
    std::uint64_t v = f.list ? f.h : mix(f.h, f.size);
    st.pop();
    if (st.empty()) return v;
    st.top().h = mix(st.top().h, v);
  }
}

}  // namespace

// ---- lifetime --------------------------------------------------------------------------------

void Term::destroy(Term& last) noexcept {
  // Pointer reversal instead of recursion: a node whose count reaches zero is entered at once,
  // the way back stored in the slot that led to it. Slots are visited from the last down, so a
  // list's tail comes last, and the last needs no way back (the node is freed first): a deep or
  // long term frees in constant stack, without allocating.
  Rep rep = last.rep_;
  TermNode* node = last.node_;
  last.rep_ = Rep::nil;
  BackLink up;
  Run run = run_of(rep, node);
  std::uint64_t k = run.count;  // slots k - 1 down to 0 are left
  for (;;) {
    while (k > 0) {
      Term& s = run.first[--k];
      Rep child_rep = s.rep_;
      if (child_rep < Rep::big || !s.node_) continue;
      TermNode* child = s.node_;
      if (child->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) continue;
      if (!is_container(child_rep)) {
        free_node(child_rep, child);
        continue;
      }
      if (k == 0) {
        free_node(rep, node);
      } else {
        std::memcpy(static_cast<void*>(&s), &up, sizeof up);  // s is dead: reuse its bytes
        up = BackLink::to(node, rep, k);
      }
      rep = child_rep;
      node = child;
      run = run_of(rep, node);
      k = run.count;
    }
    free_node(rep, node);
    if (!up.node) return;
    rep = up.rep;
    node = up.node;
    k = up.slot();
    run = run_of(rep, node);
    std::memcpy(&up, static_cast<const void*>(&run.first[k]), sizeof up);
  }
}

[[noreturn]] void Term::bad(const char* wanted) const {
  throw BadTerm(std::string("expected ") + wanted + ", got " +
                to_string_prefix(*this, TermFormat::w, 200));
}

// ---- construction ----------------------------------------------------------------------------

Term::Term(const Ref& r) : rep_(Rep::ref), u_{0} {
  auto* node = new RefNode;
  node->ref = r;
  node_ = node;
}

Term Term::from_uint64(std::uint64_t v) {
  std::uint8_t bytes[8];
  for (int k = 0; k < 8; ++k) bytes[k] = static_cast<std::uint8_t>(v >> (8 * k));
  return integer(false, bytes);
}

Term Term::integer(bool negative, std::span<const std::uint8_t> mag) {
  while (!mag.empty() && mag.back() == 0) mag = mag.first(mag.size() - 1);
  // Canonical form: whatever fits in 64 bits is stored inline.
  if (mag.size() <= 8) {
    std::uint64_t v = 0;
    for (std::size_t k = mag.size(); k-- > 0;) v = v << 8 | mag[k];
    if (!negative && v <= static_cast<std::uint64_t>(INT64_MAX))
      return Term(static_cast<std::int64_t>(v));
    if (negative && v <= static_cast<std::uint64_t>(INT64_MAX) + 1)
      return Term(static_cast<std::int64_t>(0 - v));
  }
  if (mag.size() > UINT32_MAX) throw std::length_error("integer too large");
  auto* node = A::new_big(static_cast<std::uint32_t>(mag.size()), negative);
  std::memcpy(node->data(), mag.data(), mag.size());
  return A::big(node);
}

Term Term::binary(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return A::binary(nullptr);
  auto* node = A::new_bytes(bytes.size());
  std::memcpy(node->data(), bytes.data(), bytes.size());
  return A::binary(node);
}

Term Term::allocate_binary(std::size_t size, std::uint8_t*& data) {
  if (size == 0) {
    data = nullptr;
    return A::binary(nullptr);
  }
  auto* node = A::new_bytes(size);
  data = node->data();
  return A::binary(node);
}

Term Term::binary(std::string_view bytes) {
  return binary(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

Term Term::bitstring(std::span<const std::uint8_t> bytes, std::uint64_t bits) {
  if (bytes.size() != (bits + 7) / 8)
    throw std::invalid_argument("bitstring: bytes.size() must be ceil(bits / 8)");
  if (bits % 8 == 0) return binary(bytes);
  auto* node = A::new_bytes(bytes.size());
  std::memcpy(node->data(), bytes.data(), bytes.size());
  unsigned used = bits % 8;
  node->data()[bytes.size() - 1] &= static_cast<std::uint8_t>(0xFF << (8 - used));
  return A::binary(node, static_cast<std::uint8_t>(used));
}

Term Term::local_fun(std::span<const std::uint8_t> body) {
  auto* node = A::new_bytes(body.size());
  if (!body.empty()) std::memcpy(node->data(), body.data(), body.size());
  return A::local_fun(node);
}

Term Term::string(std::string_view s) {
  std::vector<Term> chars;
  chars.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    std::uint32_t cp;
    if (detail::next_code_point(p, end, cp))
      chars.emplace_back(cp);
    else
      chars.emplace_back(static_cast<std::uint32_t>(*p++));
  }
  return list_from(std::span<Term>(chars));
}

Term Term::tuple_from(std::span<const Term> elems) {
  if (elems.empty()) return A::tuple(nullptr);
  if (elems.size() > UINT32_MAX) throw std::length_error("tuple too large");
  auto* node = A::new_tuple(static_cast<std::uint32_t>(elems.size()));
  for (std::size_t i = 0; i < elems.size(); ++i) new (node->elems() + i) Term(elems[i]);
  return A::tuple(node);
}

Term Term::tuple_from(std::span<Term> elems) {
  if (elems.empty()) return A::tuple(nullptr);
  if (elems.size() > UINT32_MAX) throw std::length_error("tuple too large");
  auto* node = A::new_tuple(static_cast<std::uint32_t>(elems.size()));
  for (std::size_t i = 0; i < elems.size(); ++i) new (node->elems() + i) Term(std::move(elems[i]));
  return A::tuple(node);
}

Term Term::list_from(std::span<const Term> elems, Term tail) {
  if (elems.empty()) return tail;
  if (elems.size() > UINT32_MAX) throw std::length_error("list too large");
  auto* node = A::new_list(static_cast<std::uint32_t>(elems.size()));
  new (&node->tail) Term(std::move(tail));
  for (std::size_t i = 0; i < elems.size(); ++i) new (node->elems() + i) Term(elems[i]);
  return A::list(node);
}

Term Term::list_from(std::span<Term> elems, Term tail) {
  if (elems.empty()) return tail;
  if (elems.size() > UINT32_MAX) throw std::length_error("list too large");
  auto* node = A::new_list(static_cast<std::uint32_t>(elems.size()));
  new (&node->tail) Term(std::move(tail));
  for (std::size_t i = 0; i < elems.size(); ++i) new (node->elems() + i) Term(std::move(elems[i]));
  return A::list(node);
}

Term Term::cons(Term head, Term tail) {
  auto* node = A::new_list(1);
  new (&node->tail) Term(std::move(tail));
  new (node->elems()) Term(std::move(head));
  return A::list(node);
}

namespace {

// A map key as sort_map_entries sorts it: for the common kinds of key, a 64-bit prefix that
// orders as compare_exact orders keys of that kind, so that most comparisons are of integers.
struct SortKey {
  enum Kind : std::uint8_t { other, integer, atom, binary };
  std::uint64_t prefix;
  std::uint32_t index;  // in the entries as given: the last tiebreak (a stable sort)
  Kind kind;
};

// The first 8 bytes of `b`, big-endian, zero-padded: orders as the bytes do, up to ties.
std::uint64_t prefix_of(const std::uint8_t* b, std::size_t n) noexcept {
  std::uint64_t v = 0;
  if (n >= 8) {
    std::memcpy(&v, b, 8);
    return std::byteswap(v);  // the first byte the most significant
  }
  for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{b[i]} << (56 - 8 * i);
  return v;
}

SortKey sort_key(const Term& k, std::uint32_t index) noexcept {
  switch (A::rep(k)) {
    case Rep::small:  // the sign bit flipped: signed order as unsigned order
      return {static_cast<std::uint64_t>(A::i(k)) ^ (std::uint64_t{1} << 63), index,
              SortKey::integer};
    case Rep::atom: {
      std::string_view name = k.as_atom().name();
      return {prefix_of(reinterpret_cast<const std::uint8_t*>(name.data()), name.size()), index,
              SortKey::atom};
    }
    case Rep::binary:
      if (A::bits(k) == 0) {
        auto* b = A::node<BytesNode>(k);
        return {b ? prefix_of(b->data(), b->size) : 0, index, SortKey::binary};
      }
      [[fallthrough]];
    default:
      return {0, index, SortKey::other};
  }
}

}  // namespace

bool map_keys_in_order(const MapEntry* e, std::size_t n) noexcept {
  if (n < 2) return true;
  SortKey prev = sort_key(e[0].key, 0);
  for (std::size_t i = 1; i < n; ++i) {
    SortKey cur = sort_key(e[i].key, static_cast<std::uint32_t>(i));
    bool before = prev.kind == cur.kind && prev.kind != SortKey::other && prev.prefix != cur.prefix
                      ? prev.prefix < cur.prefix
                      : Term::compare_exact(e[i - 1].key, e[i].key) < 0;
    if (!before) return false;
    prev = cur;
  }
  return true;
}

std::size_t sort_map_entries(MapEntry* e, std::size_t n) {
  if (n < 2) return n;
  // Sort keys by prefix, falling back to compare_exact on a tie or across kinds, then by
  // position (stable: of equal keys the last given stays last); move the entries into that
  // order in place, one cycle of the permutation at a time; then keep the last of each run of
  // equal keys.
  std::vector<SortKey> keys(n);
  for (std::size_t i = 0; i < n; ++i) keys[i] = sort_key(e[i].key, static_cast<std::uint32_t>(i));
  auto order = [e](const SortKey& a, const SortKey& b) noexcept {
    if (a.kind == b.kind && a.kind != SortKey::other && a.prefix != b.prefix)
      return a.prefix < b.prefix;
    if (auto c = Term::compare_exact(e[a.index].key, e[b.index].key); c != 0) return c < 0;
    return a.index < b.index;
  };
  bool one_kind = keys[0].kind != SortKey::other;
  for (std::size_t i = 1; i < n && one_kind; ++i) one_kind = keys[i].kind == keys[0].kind;
  if (one_kind) {
    // All keys of one kind (a peer's map of atoms or binaries, say): sort by prefix alone, a
    // comparison of integers; then put the runs of keys whose prefixes tie in order.
    std::sort(keys.begin(), keys.end(), [](const SortKey& a, const SortKey& b) noexcept {
      return a.prefix != b.prefix ? a.prefix < b.prefix : a.index < b.index;
    });
    for (std::size_t i = 0, j; i < n; i = j) {
      for (j = i + 1; j < n && keys[j].prefix == keys[i].prefix;) ++j;
      if (j - i > 1) std::sort(keys.begin() + i, keys.begin() + j, order);
    }
  } else {
    std::sort(keys.begin(), keys.end(), order);
  }
  // Entry i takes the one at keys[i].index; `index` becomes i once done.
  for (std::size_t i = 0; i < n; ++i) {
    if (keys[i].index == i) continue;
    MapEntry first = std::move(e[i]);
    std::size_t j = i;
    while (keys[j].index != i) {
      std::size_t from = keys[j].index;
      e[j] = std::move(e[from]);
      keys[j].index = static_cast<std::uint32_t>(j);
      j = from;
    }
    e[j] = std::move(first);
    keys[j].index = static_cast<std::uint32_t>(j);
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    bool same_next = i + 1 < n &&
                     (keys[i].kind != keys[i + 1].kind || keys[i].kind == SortKey::other ||
                      keys[i].prefix == keys[i + 1].prefix) &&
                     Term::compare_exact(e[i].key, e[i + 1].key) == 0;
    if (same_next) continue;  // a later one of the same key follows
    if (out != i) e[out] = std::move(e[i]);
    ++out;
  }
  return out;
}

Term Term::map_from(std::vector<std::pair<Term, Term>> entries) {
  if (entries.empty()) return A::map(nullptr);
  std::vector<MapEntry> sorted;
  sorted.reserve(entries.size());
  for (auto& [k, v] : entries) sorted.push_back({std::move(k), std::move(v)});
  std::size_t n = sort_map_entries(sorted.data(), sorted.size());
  if (n > UINT32_MAX) throw std::length_error("map too large");
  auto* node = A::new_map(static_cast<std::uint32_t>(n));
  for (std::size_t i = 0; i < n; ++i) new (node->entries() + i) MapEntry(std::move(sorted[i]));
  return A::map(node);
}

Term Term::map(std::initializer_list<std::pair<Term, Term>> entries) {
  return map_from(std::vector<std::pair<Term, Term>>(entries));
}

Term Term::export_fun(Atom module, Atom function, std::uint8_t arity) noexcept {
  Term t;
  t.rep_ = Rep::export_fun;
  t.aux_ = module.index();
  t.u_ = std::uint64_t{function.index()} << 32 | arity;
  return t;
}

// ---- inspection ------------------------------------------------------------------------------

TermType Term::type() const noexcept { return static_cast<TermType>(type_rank(rep_)); }

const Ref& Term::as_ref() const {
  if (rep_ != Rep::ref) bad("a reference");
  return static_cast<const RefNode*>(node_)->ref;
}

std::size_t Term::size() const noexcept {
  switch (rep_) {
    case Rep::tuple:
    case Rep::map:
      return node_ ? node_->count : 0;
    case Rep::binary:
      return node_ ? static_cast<BytesNode*>(node_)->size : 0;
    case Rep::list: {
      std::size_t n = 0;
      const ListNode* node = A::list_node(*this);
      std::uint32_t i = aux_;
      for (;;) {
        n += node->count - i;
        if (A::rep(node->tail) != Rep::list) return n;
        i = A::aux(node->tail);
        node = A::list_node(node->tail);
      }
    }
    default:
      return 0;
  }
}

std::span<const Term> Term::elements() const noexcept {
  if (rep_ != Rep::tuple || !node_) return {};
  auto* node = static_cast<TupleNode*>(node_);
  return {node->elems(), node->count};
}

const Term& Term::operator[](std::size_t i) const {
  if (rep_ != Rep::tuple) bad("a tuple");
  auto e = elements();
  if (i >= e.size()) throw BadTerm("tuple index out of range");
  return e[i];
}

std::span<const std::uint8_t> Term::bytes() const noexcept {
  if (rep_ != Rep::binary || !node_) return {};
  auto* node = static_cast<BytesNode*>(node_);
  return {node->data(), node->size};
}

std::uint64_t Term::bit_size() const noexcept {
  std::uint64_t n = bytes().size() * 8;
  return bits_ ? n - 8 + bits_ : n;
}

unsigned Term::last_byte_bits() const noexcept {
  if (rep_ != Rep::binary || !node_) return 0;
  return bits_ ? bits_ : 8;
}

const Term& Term::head() const {
  if (rep_ != Rep::list) bad("a non-empty list");
  return A::list_node(*this)->elems()[aux_];
}

Term Term::tail() const {
  if (rep_ != Rep::list) bad("a non-empty list");
  ListNode* node = A::list_node(*this);
  if (aux_ + 1 == node->count) return node->tail;
  node->refs.fetch_add(1, std::memory_order_relaxed);
  return A::make(Rep::list, node, aux_ + 1);
}

Term Term::list_tail() const {
  if (rep_ != Rep::list) return rep_ == Rep::nil ? Term() : *this;
  const ListNode* node = A::list_node(*this);
  while (A::rep(node->tail) == Rep::list) node = A::list_node(node->tail);
  return node->tail;
}

bool Term::is_proper_list() const noexcept {
  if (rep_ == Rep::nil) return true;
  if (rep_ != Rep::list) return false;
  const ListNode* node = A::list_node(*this);
  while (A::rep(node->tail) == Rep::list) node = A::list_node(node->tail);
  return A::rep(node->tail) == Rep::nil;
}

std::vector<Term> Term::list_elements() const {
  std::vector<Term> out;
  if (rep_ != Rep::list) return out;
  const ListNode* node = A::list_node(*this);
  std::uint32_t i = aux_;
  for (;;) {
    for (; i < node->count; ++i) out.push_back(node->elems()[i]);
    if (A::rep(node->tail) != Rep::list) return out;
    i = A::aux(node->tail);
    node = A::list_node(node->tail);
  }
}

std::optional<std::string> Term::as_charlist() const {
  if (is_binary()) return std::string(as_string_view());
  if (!is_proper_list()) return std::nullopt;
  std::string out;
  bool ok = true;
  for_each_element([&](const Term& e) {
    auto v = e.to_int64();
    if (!v || *v < 0 || *v > 0x10FFFF || !detail::is_scalar_value(static_cast<std::uint32_t>(*v)))
      return ok = false;
    detail::append_utf8(out, static_cast<std::uint32_t>(*v));
    return true;
  });
  if (!ok) return std::nullopt;
  return out;
}

std::span<const MapEntry> Term::entries() const noexcept {
  if (rep_ != Rep::map || !node_) return {};
  auto* node = static_cast<MapNode*>(node_);
  return {node->entries(), node->count};
}

const Term* Term::find(const Term& key) const noexcept {
  auto e = entries();
  std::size_t lo = 0, hi = e.size();
  while (lo < hi) {
    std::size_t mid = (lo + hi) / 2;
    auto c = compare_exact(e[mid].key, key);
    if (c == 0) return &e[mid].value;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return nullptr;
}

Atom Term::fun_module() const {
  if (rep_ != Rep::export_fun) bad("an export fun");
  return Atom::from_index(aux_);
}
Atom Term::fun_function() const {
  if (rep_ != Rep::export_fun) bad("an export fun");
  return Atom::from_index(static_cast<std::uint32_t>(u_ >> 32));
}
unsigned Term::fun_arity() const {
  if (rep_ != Rep::export_fun) bad("an export fun");
  return static_cast<unsigned>(u_ & 0xFF);
}
std::span<const std::uint8_t> Term::local_fun_body() const noexcept {
  if (rep_ != Rep::local_fun) return {};
  auto* node = static_cast<BytesNode*>(node_);
  return {node->data(), node->size};
}

bool Term::big_negative() const noexcept {
  return rep_ == Rep::big && static_cast<BigNode*>(node_)->negative;
}
std::span<const std::uint8_t> Term::big_magnitude() const noexcept {
  if (rep_ != Rep::big) return {};
  auto* node = static_cast<BigNode*>(node_);
  return {node->data(), node->count};
}

// ---- comparison ------------------------------------------------------------------------------

std::weak_ordering Term::compare(const Term& a, const Term& b) noexcept {
  return compare_terms(a, b, false);
}

std::strong_ordering Term::compare_exact(const Term& a, const Term& b) noexcept {
  auto c = compare_terms(a, b, true);
  return c < 0   ? std::strong_ordering::less
         : c > 0 ? std::strong_ordering::greater
                 : std::strong_ordering::equal;
}

bool Term::equal(const Term& a, const Term& b) noexcept {
  if (a.rep_ != b.rep_) return false;
  switch (a.rep_) {
    case Rep::nil:
      return true;
    case Rep::atom:
      return a.aux_ == b.aux_;
    case Rep::small:
      return a.i_ == b.i_;
    case Rep::flt:
      return a.d_ == b.d_;
    case Rep::export_fun:
    case Rep::port:
    case Rep::pid:
      return a.aux_ == b.aux_ && a.u_ == b.u_;
    default:
      if (a.node_ == b.node_ && a.aux_ == b.aux_ && a.bits_ == b.bits_) return true;
      return compare_terms(a, b, true) == 0;
  }
}

std::size_t Term::hash() const noexcept { return static_cast<std::size_t>(hash_term(*this)); }

}  // namespace ambitious
