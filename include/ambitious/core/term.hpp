#pragma once
// Term: a dynamic Erlang value (atom, number, binary, list, tuple, map, pid, ref, port, fun).

#include <array>
#include <atomic>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/port.hpp"
#include "ambitious/core/ref.hpp"

namespace ambitious {

class Term;

/// The kinds of term, listed in Erlang's term order (a number sorts before an atom, ...).
enum class TermType : std::uint8_t {
  number,
  atom,
  reference,
  fun,
  port,
  pid,
  tuple,
  map,
  nil,
  list,
  bitstring,
};

/// Thrown by the `as_*` accessors when the term is not of the kind asked for.
class BadTerm : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// How to_string() prints, as Erlang's io:format does: `p` is "~tp" on one line (lists of
/// printable Latin-1 codes as "abc", printable binaries as <<"abc">> or <<"é"/utf8>>), `w` is
/// "~tw" (every list and binary as numbers). Maps print in key order (as OTP prints maps of up
/// to 32 keys), local funs as `#Fun<Module.OldIndex.OldUniq>`.
enum class TermFormat : std::uint8_t {
  p,  ///< as "~tp"
  w,  ///< as "~tw"
};

/// The wildcard of Term::match: matches any element.
struct Wildcard {};
/// The wildcard: `t.match(atoms::ok, _)`.
inline constexpr Wildcard _{};

namespace detail {
// The header of every heap part of a term: immutable once built, shared by reference count.
struct TermNode {
  std::atomic<std::uint32_t> refs{1};
  std::uint32_t count = 0;  // elements, entries or bytes, by kind
};
}  // namespace detail

/// One key/value pair of a map term.
struct MapEntry;

/// A dynamic Erlang value with value semantics: immutable, cheap to copy (16 bytes; atoms, small
/// integers, floats, pids, ports and export funs inline; the rest in shared, reference-counted
/// nodes, so copying a 1 MB binary copies no bytes), safe to share between threads.
///
/// - `Term()` is `[]`, the empty list (the zero value, like an empty container).
/// - `==` is Erlang's exact equality `=:=` (`1 == 1.0` is false) and agrees with std::hash;
///   `<=>` is Erlang's term order (`number < atom < reference < fun < port < pid < tuple < map
///   < nil < list < bitstring`), a weak order in which `1` and `1.0` are equivalent, as `==` is
///   in Erlang. compare_exact() is the total order of map keys (integers before floats).
/// - Integers of any size: up to 64 bits inline, beyond as sign and magnitude.
/// - A large binary from etf::decode_shared() shares the bytes of the buffer it was decoded
///   from (and keeps them alive); it is a binary like any other.
/// - Strings: a C++ string converts to a binary; Term::string() makes an Erlang string (a list
///   of code points), and as_charlist() reads one back.
/// - No operation recurses: comparing, hashing, printing, encoding, decoding, copying and
///   freeing take the same stack for a term a million levels deep as for `ok`. Walks keep their
///   own stack, in place for the first levels and on the heap beyond (24 to 40 bytes a
///   level; in the noexcept `==`, `<=>` and hash(), running out of memory for it terminates, as
///   any allocation failure in a noexcept function); freeing allocates nothing.
class Term {
 public:
  /// `[]`.
  constexpr Term() noexcept : u_{0} {}
  /// The atom `a`.
  Term(Atom a) noexcept : rep_(Rep::atom), aux_(a.index()), u_{0} {}
  /// The integer `v` (beyond 64 bits signed, a big integer).
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  Term(I v) : rep_(Rep::small), u_{0} {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t)) {
      if (v > static_cast<std::uint64_t>(INT64_MAX)) {
        *this = from_uint64(v);
        return;
      }
    }
    i_ = static_cast<std::int64_t>(v);
  }
  /// The atoms `true` and `false`.
  template <std::same_as<bool> B>
  Term(B b) noexcept : Term(b ? atoms::true_ : atoms::false_) {}
  /// The float `d`.
  template <std::floating_point F>
  Term(F d) noexcept : rep_(Rep::flt), d_(static_cast<double>(d)) {}
  /// @name Binaries from text
  ///@{

  /// A binary holding the bytes of `s`.
  Term(std::string_view s) : Term(binary(s)) {}
  Term(const char* s) : Term(binary(std::string_view(s))) {}
  Term(const std::string& s) : Term(binary(std::string_view(s))) {}
  ///@}
  /// The pid `p`.
  Term(Pid p) noexcept
      : rep_(Rep::pid), aux_(p.node_index), u_(std::uint64_t{p.id} << 32 | p.serial) {}
  /// The port `p`.
  Term(Port p) noexcept : rep_(Rep::port), aux_(p.node_index), u_(p.id) {}
  /// The reference `r`.
  Term(const Ref& r);

  /// A copy: shares `o`'s heap part, if any (a reference count, no bytes copied).
  Term(const Term& o) noexcept : rep_(o.rep_), bits_(o.bits_), aux_(o.aux_), u_(o.u_) { retain(); }
  /// Takes `o`'s value; `o` becomes `[]`.
  Term(Term&& o) noexcept : rep_(o.rep_), bits_(o.bits_), aux_(o.aux_), u_(o.u_) {
    o.rep_ = Rep::nil;
  }
  /// Shares `o`'s value, as the copy constructor.
  Term& operator=(const Term& o) noexcept {
    Term copy(o);
    swap(copy);
    return *this;
  }
  /// Takes `o`'s value; `o` becomes `[]`.
  Term& operator=(Term&& o) noexcept {
    Term moved(std::move(o));
    swap(moved);
    return *this;
  }
  ~Term() { release(); }
  /// Exchanges the values of the two terms.
  void swap(Term& o) noexcept {
    std::swap(rep_, o.rep_);
    std::swap(bits_, o.bits_);
    std::swap(aux_, o.aux_);
    std::swap(u_, o.u_);
  }

  // ---- construction ---------------------------------------------------------------------------

  /// The atom named `name` (interned; throws std::invalid_argument as Atom does).
  static Term atom(std::string_view name) { return Term(Atom(name)); }
  /// @name Binaries
  ///@{

  /// A binary holding a copy of `bytes`.
  static Term binary(std::span<const std::uint8_t> bytes);
  static Term binary(std::string_view bytes);
  ///@}
  /// A binary of `size` bytes written by `fill(std::span<std::uint8_t>)` before anyone else can
  /// see them (a binary is immutable once made): a carrier reads from the network straight
  /// into it, then etf::decode_shared() shares its large binaries instead of copying them.
  template <typename F>
  static Term binary_filled(std::size_t size, F&& fill) {
    std::uint8_t* data = nullptr;
    Term t = allocate_binary(size, data);
    std::forward<F>(fill)(std::span<std::uint8_t>(data, size));
    return t;
  }
  /// A bitstring of `bits` bits taken from the front of `bytes` (the first bit is the high bit
  /// of bytes[0]); needs bytes.size() == ceil(bits / 8).
  static Term bitstring(std::span<const std::uint8_t> bytes, std::uint64_t bits);
  /// An Erlang string: the list of the code points of the UTF-8 text `utf8` (bytes that are not
  /// valid UTF-8 become one element each).
  static Term string(std::string_view utf8);
  /// `{a, b, ...}`; each argument converts to a Term.
  template <typename... Args>
  static Term tuple(Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      return tuple_from(std::span<Term>{});
    } else {
      Term elems[] = {Term(std::forward<Args>(args))...};
      return tuple_from(std::span<Term>(elems));
    }
  }
  /// A tuple of copies of `elems`.
  static Term tuple_from(std::span<const Term> elems);
  /// A tuple of `elems`, moved from.
  static Term tuple_from(std::span<Term> elems);
  /// `[a, b, ...]`; each argument converts to a Term.
  template <typename... Args>
  static Term list(Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      return Term();
    } else {
      Term elems[] = {Term(std::forward<Args>(args))...};
      return list_from(std::span<Term>(elems));
    }
  }
  /// `[e1, ..., en | tail]` of copies of `elems` (tail `[]`: a proper list).
  static Term list_from(std::span<const Term> elems, Term tail = Term());
  /// `[e1, ..., en | tail]` of `elems`, moved from.
  static Term list_from(std::span<Term> elems, Term tail = Term());
  /// `[head | tail]`.
  static Term cons(Term head, Term tail);
  /// `#{k => v, ...}`; a repeated key keeps its last value (as maps:from_list/1).
  static Term map(std::initializer_list<std::pair<Term, Term>> entries);
  /// A map of `entries`, moved from; a repeated key keeps its last value.
  static Term map_from(std::vector<std::pair<Term, Term>> entries);
  /// `fun Module:Function/Arity`.
  static Term export_fun(Atom module, Atom function, std::uint8_t arity) noexcept;
  /// An integer from its sign and its magnitude in little-endian bytes (any length).
  static Term integer(bool negative, std::span<const std::uint8_t> magnitude_le);
  /// An opaque local fun: the body of an ETF NEW_FUN_EXT (after the tag), kept to round-trip.
  static Term local_fun(std::span<const std::uint8_t> ext_body);

  // ---- inspection -----------------------------------------------------------------------------

  /// The kind of term, in term order.
  TermType type() const noexcept;
  /// True for an integer or a float.
  bool is_number() const noexcept { return is_integer() || is_float(); }
  /// True for an integer, of any size.
  bool is_integer() const noexcept { return rep_ == Rep::small || rep_ == Rep::big; }
  /// True for a float.
  bool is_float() const noexcept { return rep_ == Rep::flt; }
  /// True for an atom.
  bool is_atom() const noexcept { return rep_ == Rep::atom; }
  /// True for the atoms true and false.
  bool is_boolean() const noexcept {
    return rep_ == Rep::atom && (aux_ == atoms::true_.index() || aux_ == atoms::false_.index());
  }
  /// True for a reference.
  bool is_ref() const noexcept { return rep_ == Rep::ref; }
  /// True for a fun, local or export.
  bool is_fun() const noexcept { return rep_ == Rep::export_fun || rep_ == Rep::local_fun; }
  /// True for `fun M:F/A`; false for a local fun.
  bool is_export_fun() const noexcept { return rep_ == Rep::export_fun; }
  /// True for a port.
  bool is_port() const noexcept { return rep_ == Rep::port; }
  /// True for a pid.
  bool is_pid() const noexcept { return rep_ == Rep::pid; }
  /// True for a tuple.
  bool is_tuple() const noexcept { return rep_ == Rep::tuple; }
  /// True for a map.
  bool is_map() const noexcept { return rep_ == Rep::map; }
  /// True for `[]`.
  bool is_nil() const noexcept { return rep_ == Rep::nil; }
  /// True for `[]` and for a non-empty list (proper or not), as Erlang's is_list/1.
  bool is_list() const noexcept { return rep_ == Rep::nil || rep_ == Rep::list; }
  /// True for a non-empty list cell `[H|T]`.
  bool is_cons() const noexcept { return rep_ == Rep::list; }
  /// True for a binary (a bitstring of whole bytes).
  bool is_binary() const noexcept { return rep_ == Rep::binary && bits_ == 0; }
  /// True for a bitstring, whole bytes or not (a binary is one).
  bool is_bitstring() const noexcept { return rep_ == Rep::binary; }

  /// The atom; throws BadTerm otherwise.
  Atom as_atom() const {
    if (!is_atom()) bad("an atom");
    return Atom::from_index(aux_);
  }
  /// The boolean of the atoms true and false; throws BadTerm otherwise.
  bool as_bool() const {
    if (!is_boolean()) bad("a boolean");
    return aux_ == atoms::true_.index();
  }
  /// The integer if it fits in 64 bits, else nothing (also for non-integers).
  std::optional<std::int64_t> to_int64() const noexcept {
    if (rep_ == Rep::small) return i_;
    return std::nullopt;
  }
  /// The integer; throws BadTerm when it is not an integer that fits in 64 bits.
  std::int64_t as_int64() const {
    if (rep_ != Rep::small) bad("an integer of 64 bits");
    return i_;
  }
  /// The float; throws BadTerm otherwise (an integer is not converted).
  double as_double() const {
    if (rep_ != Rep::flt) bad("a float");
    return d_;
  }
  /// The pid; throws BadTerm otherwise.
  Pid as_pid() const {
    if (rep_ != Rep::pid) bad("a pid");
    return Pid(aux_, static_cast<std::uint32_t>(u_ >> 32), static_cast<std::uint32_t>(u_));
  }
  /// The port; throws BadTerm otherwise.
  Port as_port() const {
    if (rep_ != Rep::port) bad("a port");
    return Port(aux_, u_);
  }
  /// The reference; throws BadTerm otherwise.
  const Ref& as_ref() const;

  /// Tuple arity, map size, or binary size in bytes (rounded up for a bitstring); the length of
  /// a list (O(n), tail excluded); 0 for anything else.
  std::size_t size() const noexcept;
  /// The elements of a tuple (empty for anything else).
  std::span<const Term> elements() const noexcept;
  /// Element `i`, counting from 0, of a tuple; throws BadTerm when out of range or not a tuple.
  const Term& operator[](std::size_t i) const;
  /// Element `i`, counting from 1 as Erlang's element/2 does; throws as operator[].
  const Term& element(std::size_t i) const { return (*this)[i - 1]; }

  /// The bytes of a binary (for a bitstring: all its bytes, the last one partly used).
  std::span<const std::uint8_t> bytes() const noexcept;
  /// The bytes of a binary as text; throws BadTerm when not a binary.
  std::string_view as_string_view() const {
    if (!is_binary()) bad("a binary");
    auto b = bytes();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  /// The size in bits of a bitstring.
  std::uint64_t bit_size() const noexcept;
  /// Bits used in the last byte of a bitstring, 1..8 (8 for a binary; 0 for an empty one).
  unsigned last_byte_bits() const noexcept;

  /// The head of a non-empty list; throws BadTerm otherwise.
  const Term& head() const;
  /// The tail of a non-empty list (O(1), shares the cells); throws BadTerm otherwise.
  Term tail() const;
  /// True for a list ending in `[]`.
  bool is_proper_list() const noexcept;
  /// The elements of a list up to its tail, copied (an improper tail is left out).
  std::vector<Term> list_elements() const;
  /// The tail after the last element: `[]` for a proper list, the term itself for a non-list.
  Term list_tail() const;
  /// Calls `f(element)` for each element of a list, stopping early when f returns false (when
  /// it returns bool); the improper tail is not visited.
  template <typename F>
  void for_each_element(F&& f) const;
  /// For an Erlang string (a proper list of Unicode code points) or a binary: its UTF-8 text.
  std::optional<std::string> as_charlist() const;

  /// The entries of a map, in key order (compare_exact).
  std::span<const MapEntry> entries() const noexcept;
  /// The value under `key` (exact match, as Erlang's map keys), or nullptr.
  const Term* find(const Term& key) const noexcept;

  /// @name Export funs
  ///@{

  /// Module, function and arity of `fun M:F/A`; throws BadTerm otherwise.
  Atom fun_module() const;
  Atom fun_function() const;
  unsigned fun_arity() const;
  ///@}
  /// The NEW_FUN_EXT body of a local fun (empty otherwise).
  std::span<const std::uint8_t> local_fun_body() const noexcept;

  /// True for an integer outside 64 bits (stored as sign and magnitude).
  bool is_big() const noexcept { return rep_ == Rep::big; }
  /// The sign of a big integer.
  bool big_negative() const noexcept;
  /// The magnitude of a big integer, little-endian bytes without trailing zeros.
  std::span<const std::uint8_t> big_magnitude() const noexcept;

  // ---- matching -------------------------------------------------------------------------------

  /// Matches a tuple element by element. Each pattern is `_` (anything), a `Term*` (binds the
  /// element), an `Atom*`, `std::int64_t*`, `double*`, `Pid*`, `Ref*`, `std::string*` (binds
  /// when the element has that kind: atom, 64-bit integer, float, pid, ref, binary), or a value
  /// convertible to Term (must be equal). Binds only on success.
  /// `if (msg.match(atoms::EXIT, &from, &reason))` matches `{'EXIT', From, Reason}`.
  template <typename... Patterns>
  bool match(const Patterns&... patterns) const;
  /// The elements of a tuple of exactly N elements, for structured bindings:
  /// `if (auto m = t.as_tuple<2>()) { auto& [tag, value] = *m; }`.
  template <std::size_t N>
  std::optional<std::array<Term, N>> as_tuple() const;

  // ---- comparison, hashing, printing ----------------------------------------------------------

  /// Exact equality, Erlang's `=:=`.
  friend bool operator==(const Term& a, const Term& b) noexcept { return equal(a, b); }
  /// Erlang's term order (`<`, `==` as Erlang, `1` equivalent to `1.0`).
  friend std::weak_ordering operator<=>(const Term& a, const Term& b) noexcept {
    return compare(a, b);
  }
  /// Erlang's term order (`==` semantics for numbers).
  static std::weak_ordering compare(const Term& a, const Term& b) noexcept;
  /// The total order of map keys: term order, except that every integer sorts before every
  /// float and `1` differs from `1.0`; consistent with `==`.
  static std::strong_ordering compare_exact(const Term& a, const Term& b) noexcept;
  /// A hash consistent with `==`.
  std::size_t hash() const noexcept;
  /// Erlang syntax, as `io:format("~tp")` prints it on one line, or as "~tw".
  std::string to_string(TermFormat format = TermFormat::p) const;

 private:
  // Representations. Those from `big` on live in a node (or are empty: node_ == nullptr).
  enum class Rep : std::uint8_t {
    nil,
    atom,
    small,
    flt,
    export_fun,  // aux_ = module atom, u_ = function atom << 32 | arity
    port,        // aux_ = node index, u_ = id
    pid,         // aux_ = node index, u_ = id << 32 | serial
    big,
    ref,
    local_fun,
    tuple,
    map,
    list,    // aux_ = index of the first element in the node
    binary,  // bits_ = bits used in the last byte, 0 when it is whole
  };
  friend struct TermAccess;

  Term(Rep rep, detail::TermNode* node, std::uint32_t aux = 0, std::uint8_t bits = 0) noexcept
      : rep_(rep), bits_(bits), aux_(aux), node_(node) {}
  bool on_heap() const noexcept { return rep_ >= Rep::big && node_ != nullptr; }
  void retain() const noexcept {
    if (on_heap()) node_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    if (on_heap() && node_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy(*this);
  }
  static void destroy(Term& last) noexcept;
  static bool equal(const Term& a, const Term& b) noexcept;
  static Term from_uint64(std::uint64_t v);
  static Term allocate_binary(std::size_t size, std::uint8_t*& data);
  [[noreturn]] void bad(const char* wanted) const;
  template <typename P>
  bool match_one(const Term& element, const P& pattern) const;

  Rep rep_ = Rep::nil;
  std::uint8_t bits_ = 0;
  std::uint16_t spare_ = 0;
  std::uint32_t aux_ = 0;
  union {
    std::int64_t i_;
    double d_;
    std::uint64_t u_;
    detail::TermNode* node_;
  };
};

static_assert(sizeof(Term) == 16);
static_assert(std::is_nothrow_move_constructible_v<Term>);

/// One key/value pair of a map term, as Term::entries() lists them.
struct MapEntry {
  Term key;    ///< the key
  Term value;  ///< the value under it
};

/// `atom("ok")`: shorthand for Term(Atom("ok")).
inline Term atom(std::string_view name) { return Term(Atom(name)); }

/// Writes to_string(t) to `out`.
std::ostream& operator<<(std::ostream& out, const Term& t);
/// t.to_string(format).
inline std::string to_string(const Term& t, TermFormat format = TermFormat::p) {
  return t.to_string(format);
}

// ---- template members -------------------------------------------------------------------------

template <typename F>
void Term::for_each_element(F&& f) const {
  for (Term cell = *this; cell.is_cons(); cell = cell.tail()) {
    if constexpr (std::is_same_v<std::invoke_result_t<F&, const Term&>, bool>) {
      if (!f(cell.head())) return;
    } else {
      f(cell.head());
    }
  }
}

template <typename P>
bool Term::match_one(const Term& e, const P& p) const {
  if constexpr (std::is_same_v<P, Wildcard>) {
    return true;
  } else if constexpr (std::is_same_v<P, Term*>) {
    *p = e;
    return true;
  } else if constexpr (std::is_same_v<P, Atom*>) {
    if (!e.is_atom()) return false;
    *p = e.as_atom();
    return true;
  } else if constexpr (std::is_same_v<P, std::int64_t*>) {
    auto v = e.to_int64();
    if (v) *p = *v;
    return v.has_value();
  } else if constexpr (std::is_same_v<P, double*>) {
    if (!e.is_float()) return false;
    *p = e.as_double();
    return true;
  } else if constexpr (std::is_same_v<P, Pid*>) {
    if (!e.is_pid()) return false;
    *p = e.as_pid();
    return true;
  } else if constexpr (std::is_same_v<P, Ref*>) {
    if (!e.is_ref()) return false;
    *p = e.as_ref();
    return true;
  } else if constexpr (std::is_same_v<P, std::string*>) {
    if (!e.is_binary()) return false;
    *p = std::string(e.as_string_view());
    return true;
  } else {
    static_assert(std::is_constructible_v<Term, const P&>,
                  "a match pattern is _, a pointer to bind (Term*, Atom*, std::int64_t*, double*, "
                  "Pid*, Ref*, std::string*), or a value convertible to Term");
    if constexpr (std::is_same_v<P, Atom>) {
      return e.rep_ == Rep::atom && e.aux_ == p.index();
    } else {
      return e == Term(p);
    }
  }
}

template <typename... Patterns>
bool Term::match(const Patterns&... patterns) const {
  if (!is_tuple() || size() != sizeof...(Patterns)) return false;
  auto elems = elements();
  // Check the value patterns first so that nothing is bound when the match fails.
  std::size_t i = 0;
  bool ok = true;
  auto check = [&](const auto& p) {
    using P = std::decay_t<decltype(p)>;
    if constexpr (!std::is_pointer_v<P>) ok = ok && match_one(elems[i], p);
    ++i;
  };
  (check(patterns), ...);
  if (!ok) return false;
  // Kind checks for the binding patterns, again before binding anything.
  i = 0;
  auto kind_ok = [&](const auto& p) {
    using P = std::decay_t<decltype(p)>;
    const Term& e = elems[i++];
    if constexpr (std::is_same_v<P, Atom*>) return e.is_atom();
    if constexpr (std::is_same_v<P, std::int64_t*>) return e.to_int64().has_value();
    if constexpr (std::is_same_v<P, double*>) return e.is_float();
    if constexpr (std::is_same_v<P, Pid*>) return e.is_pid();
    if constexpr (std::is_same_v<P, Ref*>) return e.is_ref();
    if constexpr (std::is_same_v<P, std::string*>) return e.is_binary();
    return true;
  };
  if (!(kind_ok(patterns) && ...)) return false;
  i = 0;
  auto bind = [&](const auto& p) {
    using P = std::decay_t<decltype(p)>;
    if constexpr (std::is_pointer_v<P>) match_one(elems[i], p);
    ++i;
  };
  (bind(patterns), ...);
  return true;
}

template <std::size_t N>
std::optional<std::array<Term, N>> Term::as_tuple() const {
  if (!is_tuple() || size() != N) return std::nullopt;
  auto elems = elements();
  std::array<Term, N> out;
  for (std::size_t i = 0; i < N; ++i) out[i] = elems[i];
  return out;
}

}  // namespace ambitious

/// \cond
template <>
struct std::hash<ambitious::Term> {
  std::size_t operator()(const ambitious::Term& t) const noexcept { return t.hash(); }
};
/// \endcond
