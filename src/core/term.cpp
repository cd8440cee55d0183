#include "ambitious/core/term.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <ostream>

#include "term_node.hpp"
#include "utf8.hpp"

namespace ambitious {
namespace {

using Rep = TermAccess::Rep;
using A = TermAccess;

void free_node([[maybe_unused]] Rep rep, TermNode* node) noexcept {
  ::operator delete(static_cast<void*>(node));
}

// Releases the children of a dead node; those whose count reaches zero go to `pending`, so that
// freeing a long chain of list nodes or a deep term takes no stack.
template <typename Push>
void release_children(Rep rep, TermNode* node, Push&& push) noexcept {
  auto drop = [&](Term& child) noexcept {
    if (A::rep(child) >= Rep::big) {
      TermNode* c = A::node<TermNode>(child);
      if (c && c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) push(A::rep(child), c);
    }
  };
  switch (rep) {
    case Rep::tuple: {
      auto* n = static_cast<TupleNode*>(node);
      for (std::uint32_t i = 0; i < n->count; ++i) drop(n->elems()[i]);
      break;
    }
    case Rep::list: {
      auto* n = static_cast<ListNode*>(node);
      for (std::uint32_t i = 0; i < n->count; ++i) drop(n->elems()[i]);
      drop(n->tail);
      break;
    }
    case Rep::map: {
      auto* n = static_cast<MapNode*>(node);
      for (std::uint32_t i = 0; i < n->count; ++i) {
        drop(n->entries()[i].key);
        drop(n->entries()[i].value);
      }
      break;
    }
    default:
      break;
  }
}

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

std::weak_ordering compare_terms(const Term& a, const Term& b, bool exact) noexcept;

std::weak_ordering compare_lists(const Term& a, const Term& b, bool exact) noexcept {
  // Walk both lists cell by cell; only heads recurse.
  const ListNode *na = A::list_node(a), *nb = A::list_node(b);
  std::uint32_t ia = A::aux(a), ib = A::aux(b);
  for (;;) {
    if (na == nb && ia == ib) return std::weak_ordering::equivalent;  // shared cells
    if (auto c = compare_terms(na->elems()[ia], nb->elems()[ib], exact); c != 0) return c;
    // Advance each side; `rest` is set when a side reaches a tail that is not a cell.
    const Term *rest_a = nullptr, *rest_b = nullptr;
    if (++ia == na->count) {
      if (A::rep(na->tail) == Rep::list)
        ia = A::aux(na->tail), na = A::list_node(na->tail);
      else
        rest_a = &na->tail;
    }
    if (++ib == nb->count) {
      if (A::rep(nb->tail) == Rep::list)
        ib = A::aux(nb->tail), nb = A::list_node(nb->tail);
      else
        rest_b = &nb->tail;
    }
    if (rest_a && rest_b) return compare_terms(*rest_a, *rest_b, exact);
    // One side goes on with a cell, the other ended with a non-list or []: types decide.
    if (rest_a) return type_rank(A::rep(*rest_a)) <=> type_rank(Rep::list);
    if (rest_b) return type_rank(Rep::list) <=> type_rank(A::rep(*rest_b));
  }
}

std::weak_ordering compare_terms(const Term& a, const Term& b, bool exact) noexcept {
  Rep ra = A::rep(a), rb = A::rep(b);
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
    case Rep::tuple: {
      auto x = a.elements(), y = b.elements();
      if (x.size() != y.size()) return x.size() <=> y.size();
      for (std::size_t i = 0; i < x.size(); ++i)
        if (auto c = compare_terms(x[i], y[i], exact); c != 0) return c;
      return std::weak_ordering::equivalent;
    }
    case Rep::map: {
      // Size, then the keys in key order (exactly), then the values in key order.
      auto x = a.entries(), y = b.entries();
      if (x.size() != y.size()) return x.size() <=> y.size();
      for (std::size_t i = 0; i < x.size(); ++i)
        if (auto c = compare_terms(x[i].key, y[i].key, true); c != 0) return c;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (auto c = compare_terms(x[i].value, y[i].value, exact); c != 0) return c;
      return std::weak_ordering::equivalent;
    }
    case Rep::nil:
      return std::weak_ordering::equivalent;
    case Rep::list:
      return compare_lists(a, b, exact);
    case Rep::binary:
      return compare_bits(a, b);
  }
  return std::weak_ordering::equivalent;
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

std::uint64_t hash_term(const Term& t) noexcept {
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
    case Rep::tuple:
      for (const Term& e : t.elements()) h = mix(h, hash_term(e));
      return mix(h, t.size());
    case Rep::map:
      for (const MapEntry& e : t.entries()) h = mix(mix(h, hash_term(e.key)), hash_term(e.value));
      return mix(h, t.size());
    case Rep::list: {
      // Independent of how the cells are laid out in nodes.
      Term cell = t;
      for (; cell.is_cons(); cell = cell.tail()) h = mix(h, hash_term(cell.head()));
      return mix(h, hash_term(cell));
    }
    case Rep::binary:
      return hash_bytes(t.bytes(), mix(h, t.bit_size()));
  }
  return h;
}

}  // namespace

// ---- lifetime --------------------------------------------------------------------------------

void Term::destroy(Term& last) noexcept {
  // An explicit work list instead of recursion: a long list or a deep term frees in constant
  // stack. Most frees touch only leaves, so the inline buffer rarely spills.
  struct Item {
    Rep rep;
    TermNode* node;
  };
  Item inline_items[32];
  std::vector<Item> spill;
  std::size_t n_inline = 0;
  auto push = [&](Rep rep, TermNode* node) noexcept {
    if (n_inline < std::size(inline_items)) {
      inline_items[n_inline++] = {rep, node};
      return;
    }
    try {
      spill.push_back({rep, node});
    } catch (...) {
      // Out of memory while freeing: fall back to recursion for this subtree.
      Term t = A::make(rep, node);
      t.node_->refs.store(1, std::memory_order_relaxed);
      // t's destructor recurses into destroy().
    }
  };
  push(last.rep_, last.node_);
  last.rep_ = Rep::nil;
  for (;;) {
    Item item;
    if (!spill.empty()) {
      item = spill.back();
      spill.pop_back();
    } else if (n_inline) {
      item = inline_items[--n_inline];
    } else {
      break;
    }
    release_children(item.rep, item.node, push);
    free_node(item.rep, item.node);
  }
}

[[noreturn]] void Term::bad(const char* wanted) const {
  std::string text = to_string(TermFormat::w);
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  throw BadTerm(std::string("expected ") + wanted + ", got " + text);
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

std::size_t sort_map_entries(MapEntry* e, std::size_t n) {
  // Stable, so that of equal keys the last given stays last; then keep the last of each run.
  std::stable_sort(e, e + n, [](const MapEntry& a, const MapEntry& b) {
    return Term::compare_exact(a.key, b.key) < 0;
  });
  std::size_t out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i + 1 < n && Term::compare_exact(e[i].key, e[i + 1].key) == 0) continue;
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
