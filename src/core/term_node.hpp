#pragma once
// Private: the layouts of Term's heap nodes and raw access for term.cpp, term_print.cpp, etf.cpp.

#include <cstddef>
#include <cstring>
#include <new>
#include <string>

#include "ambitious/core/term.hpp"

namespace ambitious {

using detail::TermNode;

// {E1, ..., En}: `count` elements follow the header.
struct TupleNode : TermNode {
  Term* elems() noexcept { return reinterpret_cast<Term*>(this + 1); }
  const Term* elems() const noexcept { return reinterpret_cast<const Term*>(this + 1); }
};
// A run of list cells [E1, ..., En | tail]: `count` elements follow.
struct ListNode : TermNode {
  Term tail;
  Term* elems() noexcept { return reinterpret_cast<Term*>(this + 1); }
  const Term* elems() const noexcept { return reinterpret_cast<const Term*>(this + 1); }
};
// #{K => V}: `count` entries follow, sorted by Term::compare_exact of their keys.
struct MapNode : TermNode {
  MapEntry* entries() noexcept { return reinterpret_cast<MapEntry*>(this + 1); }
};
// A map's keys and values as one run of 2 * count Terms (key, value, key, value, ...): the walks
// of term.cpp and etf_*.cpp visit map slots as they visit a tuple's elements.
inline Term* map_slots(MapNode* n) noexcept { return reinterpret_cast<Term*>(n->entries()); }
inline const Term* map_slots(const MapNode* n) noexcept {
  return reinterpret_cast<const Term*>(const_cast<MapNode*>(n)->entries());
}
static_assert(sizeof(MapEntry) == 2 * sizeof(Term) && offsetof(MapEntry, value) == sizeof(Term));
// Binary, bitstring or local fun body: `size` bytes, which follow the header, or for a slice
// (count == slice, binaries only) lie in another binary's node.
struct BytesNode : TermNode {
  static constexpr std::uint32_t slice = 1;
  std::uint64_t size = 0;
  bool is_slice() const noexcept { return count == slice; }
  std::uint8_t* data() noexcept;
};
// A binary that shares part of the bytes of a larger one (etf::decode_shared) instead of copying
// them, and keeps that one's node alive. The owner is never itself a slice.
struct SliceNode : BytesNode {
  std::uint8_t* bytes = nullptr;
  BytesNode* owner = nullptr;
};
inline std::uint8_t* BytesNode::data() noexcept {
  return is_slice() ? static_cast<SliceNode*>(this)->bytes
                    : reinterpret_cast<std::uint8_t*>(this + 1);
}
// An integer beyond 64 bits: `count` magnitude bytes (little-endian, no trailing zero) follow.
struct BigNode : TermNode {
  std::uint8_t negative = 0;
  std::uint8_t spare[7] = {};
  std::uint8_t* data() noexcept { return reinterpret_cast<std::uint8_t*>(this + 1); }
};
struct RefNode : TermNode {
  Ref ref;
};

static_assert(sizeof(TupleNode) == 8 && sizeof(ListNode) == 24 && sizeof(MapNode) == 8);
static_assert(sizeof(BytesNode) == 16 && sizeof(BigNode) == 16);

// Raw access to a Term's representation for the core's own sources.
struct TermAccess {
  using Rep = Term::Rep;
  static Rep rep(const Term& t) noexcept { return t.rep_; }
  /// Tuples, maps and lists: the terms that hold terms (adjacent in Rep, one comparison).
  static bool is_container(Rep r) noexcept {
    static_assert(int(Rep::map) == int(Rep::tuple) + 1 && int(Rep::list) == int(Rep::tuple) + 2);
    return static_cast<unsigned>(r) - static_cast<unsigned>(Rep::tuple) <= 2;
  }
  static std::uint32_t aux(const Term& t) noexcept { return t.aux_; }
  static std::uint8_t bits(const Term& t) noexcept { return t.bits_; }
  static std::uint64_t u(const Term& t) noexcept { return t.u_; }
  static std::int64_t i(const Term& t) noexcept { return t.i_; }
  static double d(const Term& t) noexcept { return t.d_; }
  template <typename N>
  static N* node(const Term& t) noexcept {
    return static_cast<N*>(t.node_);
  }
  static Term make(Rep rep, TermNode* node, std::uint32_t aux = 0, std::uint8_t bits = 0) noexcept {
    return Term(rep, node, aux, bits);
  }
  static Term make_pid_raw(std::uint32_t node_index, std::uint64_t u) noexcept {
    Term t;
    t.rep_ = Rep::pid;
    t.aux_ = node_index;
    t.u_ = u;
    return t;
  }

  // Node allocation: the header is constructed, the elements are the caller's to construct.
  static TupleNode* new_tuple(std::uint32_t n) {
    auto* node = new (::operator new(sizeof(TupleNode) + n * sizeof(Term))) TupleNode;
    node->count = n;
    return node;
  }
  static ListNode* new_list(std::uint32_t n) {
    auto* node = new (::operator new(sizeof(ListNode) + n * sizeof(Term))) ListNode;
    node->count = n;
    return node;
  }
  static MapNode* new_map(std::uint32_t n) {
    auto* node = new (::operator new(sizeof(MapNode) + n * sizeof(MapEntry))) MapNode;
    node->count = n;
    return node;
  }
  static BytesNode* new_bytes(std::uint64_t n) {
    auto* node = new (::operator new(sizeof(BytesNode) + n)) BytesNode;
    node->size = n;
    return node;
  }
  // A binary of the `n` bytes at `data`, which lie in the binary whose node is `in`: shares them.
  static Term binary_slice(BytesNode* in, const std::uint8_t* data, std::uint64_t n) {
    auto* node = new SliceNode;
    BytesNode* owner = in->is_slice() ? static_cast<SliceNode*>(in)->owner : in;
    owner->refs.fetch_add(1, std::memory_order_relaxed);
    node->count = BytesNode::slice;
    node->size = n;
    node->bytes = const_cast<std::uint8_t*>(data);  // never written: a binary is immutable
    node->owner = owner;
    return Term(Rep::binary, node);
  }
  static BigNode* new_big(std::uint32_t n, bool negative) {
    auto* node = new (::operator new(sizeof(BigNode) + n)) BigNode;
    node->count = n;
    node->negative = negative;
    return node;
  }

  // Wraps finished nodes.
  static Term tuple(TupleNode* n) noexcept { return Term(Rep::tuple, n); }
  static Term list(ListNode* n) noexcept { return Term(Rep::list, n); }
  static Term map(MapNode* n) noexcept { return Term(Rep::map, n); }
  static Term binary(BytesNode* n, std::uint8_t last_bits = 0) noexcept {
    return Term(Rep::binary, n, 0, last_bits);
  }
  static Term local_fun(BytesNode* n) noexcept { return Term(Rep::local_fun, n); }
  static Term big(BigNode* n) noexcept { return Term(Rep::big, n); }
  static Term export_fun(std::uint32_t m, std::uint32_t f, std::uint8_t a) noexcept {
    return Term::export_fun(Atom::from_index(m), Atom::from_index(f), a);
  }

  // A list cell cursor: the node and the index of the current element.
  static ListNode* list_node(const Term& t) noexcept { return static_cast<ListNode*>(t.node_); }
};

/// The text of `t` (Term::to_string), or its first `limit` characters and "..." when it is
/// longer; printing stops there, so a large term costs what is printed.
std::string to_string_prefix(const Term& t, TermFormat format, std::size_t limit);

/// Whether the keys of `entries` are in strictly increasing key order (compare_exact).
bool map_keys_in_order(const MapEntry* entries, std::size_t n) noexcept;

/// Sorts `entries` by key (compare_exact) and drops all but the last of equal keys; returns the
/// number kept (moved to the front).
std::size_t sort_map_entries(MapEntry* entries, std::size_t n);

}  // namespace ambitious
