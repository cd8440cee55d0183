#pragma once
// Codec<T>: C++ values to and from Term, with errors that name the path to the bad element.
//
//   C++ type                       Term
//   integers, floating point       integer (range-checked), float (an integer is accepted too)
//   bool                           true | false
//   std::string                    binary (an Erlang string, a list of code points, is accepted)
//   Atom, Term, Pid, Ref, Port     themselves
//   sequence containers            proper list (std::vector, std::list, std::deque, ...)
//   map containers                 map (std::map, std::unordered_map, ...)
//   std::optional<T>               undefined | T
//   std::pair, std::tuple          tuple of the same arity
//   std::variant<Ts...>            the first alternative whose codec accepts the term
//   described enum                 atom of the enumerator's name (BOOST_DESCRIBE_ENUM)
//   described struct               map with atom keys (BOOST_DESCRIBE_STRUCT), or the record
//                                  {Tag, F1, F2, ...} when CodecRecord<T> names a tag
//
// A missing key for a std::optional member reads as std::nullopt; keys the struct does not name
// are ignored. Any other type fails to compile with a message naming it (the Encodable
// concept); add a specialization of Codec<T> with to_term and from_term to support it.

#include <boost/describe/enum.hpp>
#include <boost/describe/enum_to_string.hpp>
#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>
#include <cstdint>
#include <expected>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ambitious/core/term.hpp"

namespace ambitious {

/// Why a term could not be converted: where (".items[3].price") and what ("expected integer,
/// got atom foo").
struct CodecError {
  std::string path;     ///< where in the term: ".items[3].price", empty at the top
  std::string message;  ///< what is wrong: "expected integer, got atom foo"
  /// "path: message", or the message alone at the top.
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

/// The conversion of T. Specialize it with `static Term to_term(const T&)` and
/// `static std::expected<T, CodecError> from_term(const Term&)` for types of your own.
template <typename T>
struct Codec;

/// Opt-in record form for a described struct: `{Tag, F1, F2, ...}` instead of a map.
/// `template <> struct ambitious::CodecRecord<Point> { static constexpr auto tag = "point"; };`
template <typename T>
struct CodecRecord;

/// Types with a Codec.
template <typename T>
concept Encodable = requires(const T& v, const Term& t) {
  { Codec<T>::to_term(v) } -> std::same_as<Term>;
  { Codec<T>::from_term(t) } -> std::same_as<std::expected<T, CodecError>>;
};

/// The term of `value`.
template <typename T>
Term to_term(const T& value) {
  static_assert(Encodable<T>,
                "ambitious::to_term: no Codec<T> for this type; describe it with "
                "BOOST_DESCRIBE_STRUCT / BOOST_DESCRIBE_ENUM or specialize ambitious::Codec<T>");
  return Codec<T>::to_term(value);
}

/// The T that `term` holds, or where and why it does not.
template <typename T>
std::expected<T, CodecError> from_term(const Term& term) {
  static_assert(Encodable<T>,
                "ambitious::from_term: no Codec<T> for this type; describe it with "
                "BOOST_DESCRIBE_STRUCT / BOOST_DESCRIBE_ENUM or specialize ambitious::Codec<T>");
  return Codec<T>::from_term(term);
}

namespace detail {
/// "atom foo", "binary <<"x">>", ...: the kind and text of `t`, shortened.
std::string describe_term(const Term& t);
/// The error "expected <what>, got <describe_term(t)>".
CodecError mismatch(std::string_view what, const Term& t);
/// Prefixes the path of a failed result with `segment`.
template <typename T>
std::expected<T, CodecError> at(std::expected<T, CodecError> r, std::string_view segment) {
  if (!r) r.error().path.insert(0, segment);
  return r;
}
inline std::string index_segment(std::size_t i) { return "[" + std::to_string(i) + "]"; }
}  // namespace detail

// ---- scalars ----------------------------------------------------------------------------------

/// Integers: an integer term, checked against T's range when read.
template <std::integral T>
  requires(!std::same_as<T, bool>)
struct Codec<T> {
  /// The integer term of `v`.
  static Term to_term(T v) { return Term(v); }
  /// The integer, or an error when `t` is not an integer in T's range.
  static std::expected<T, CodecError> from_term(const Term& t) {
    if (!t.is_integer()) return std::unexpected(detail::mismatch("integer", t));
    auto v = t.to_int64();
    if constexpr (std::is_same_v<T, std::uint64_t> || std::is_same_v<T, unsigned long long> ||
                  std::is_same_v<T, unsigned long>) {
      if (!v && t.is_big() && !t.big_negative() && t.big_magnitude().size() <= 8) {
        std::uint64_t u = 0;
        auto m = t.big_magnitude();
        for (std::size_t k = m.size(); k-- > 0;) u = u << 8 | m[k];
        return static_cast<T>(u);
      }
    }
    if (!v || !std::in_range<T>(*v))
      return std::unexpected(detail::mismatch(
          std::is_signed_v<T>
              ? "integer of " + std::to_string(sizeof(T) * 8) + " bits"
              : "non-negative integer of " + std::to_string(sizeof(T) * 8) + " bits",
          t));
    return static_cast<T>(*v);
  }
};

/// Floating point: a float term; an integer term is accepted too when read.
template <std::floating_point T>
struct Codec<T> {
  /// The float term of `v`.
  static Term to_term(T v) { return Term(static_cast<double>(v)); }
  /// The number, or an error when `t` is neither a float nor a 64-bit integer.
  static std::expected<T, CodecError> from_term(const Term& t) {
    if (t.is_float()) return static_cast<T>(t.as_double());
    if (auto v = t.to_int64()) return static_cast<T>(*v);
    return std::unexpected(detail::mismatch("float", t));
  }
};

/// Booleans: the atoms `true` and `false`.
template <>
struct Codec<bool> {
  /// `true` or `false`.
  static Term to_term(bool v) { return Term(v); }
  /// The boolean, or an error for any other term.
  static std::expected<bool, CodecError> from_term(const Term& t) {
    if (!t.is_boolean()) return std::unexpected(detail::mismatch("boolean", t));
    return t.as_bool();
  }
};

/// Strings: a binary; an Erlang string (a list of code points) is accepted too when read.
template <>
struct Codec<std::string> {
  /// The binary of the string's bytes.
  static Term to_term(const std::string& v) { return Term::binary(v); }
  /// The text of a binary or of an Erlang string, or an error for any other term.
  static std::expected<std::string, CodecError> from_term(const Term& t) {
    if (auto s = t.as_charlist()) return std::move(*s);
    return std::unexpected(detail::mismatch("binary", t));
  }
};

/// Atom, Term, Pid, Ref and Port convert to themselves.
template <>
struct Codec<Atom> {
  /// The atom term.
  static Term to_term(Atom v) { return Term(v); }
  /// The atom, or an error for any other term.
  static std::expected<Atom, CodecError> from_term(const Term& t) {
    if (!t.is_atom()) return std::unexpected(detail::mismatch("atom", t));
    return t.as_atom();
  }
};
/// Terms: themselves.
template <>
struct Codec<Term> {
  /// `v` itself.
  static Term to_term(const Term& v) { return v; }
  /// `t` itself: any term is accepted.
  static std::expected<Term, CodecError> from_term(const Term& t) { return t; }
};
/// Pids: the pid term.
template <>
struct Codec<Pid> {
  /// The pid term.
  static Term to_term(const Pid& v) { return Term(v); }
  /// The pid, or an error for any other term.
  static std::expected<Pid, CodecError> from_term(const Term& t) {
    if (!t.is_pid()) return std::unexpected(detail::mismatch("pid", t));
    return t.as_pid();
  }
};
/// References: the reference term.
template <>
struct Codec<Ref> {
  /// The reference term.
  static Term to_term(const Ref& v) { return Term(v); }
  /// The reference, or an error for any other term.
  static std::expected<Ref, CodecError> from_term(const Term& t) {
    if (!t.is_ref()) return std::unexpected(detail::mismatch("reference", t));
    return t.as_ref();
  }
};
/// Ports: the port term.
template <>
struct Codec<Port> {
  /// The port term.
  static Term to_term(const Port& v) { return Term(v); }
  /// The port, or an error for any other term.
  static std::expected<Port, CodecError> from_term(const Term& t) {
    if (!t.is_port()) return std::unexpected(detail::mismatch("port", t));
    return t.as_port();
  }
};

// ---- containers -------------------------------------------------------------------------------

namespace detail {
template <typename C>
struct ListCodec {
  using E = typename C::value_type;
  static Term to_term(const C& v) {
    std::vector<Term> elems;
    elems.reserve(v.size());
    for (const auto& e : v) elems.push_back(Codec<E>::to_term(e));
    return Term::list_from(std::span<Term>(elems));
  }
  static std::expected<C, CodecError> from_term(const Term& t) {
    if (!t.is_list() || !t.is_proper_list()) return std::unexpected(detail::mismatch("list", t));
    C out;
    std::size_t i = 0;
    std::optional<CodecError> error;
    t.for_each_element([&](const Term& e) {
      auto r = Codec<E>::from_term(e);
      if (!r) {
        error = std::move(r.error());
        error->path.insert(0, index_segment(i));
        return false;
      }
      out.push_back(std::move(*r));
      ++i;
      return true;
    });
    if (error) return std::unexpected(std::move(*error));
    return out;
  }
};

template <typename M>
struct MapCodec {
  using K = typename M::key_type;
  using V = typename M::mapped_type;
  static Term to_term(const M& v) {
    std::vector<std::pair<Term, Term>> entries;
    entries.reserve(v.size());
    for (const auto& [k, x] : v) entries.emplace_back(Codec<K>::to_term(k), Codec<V>::to_term(x));
    return Term::map_from(std::move(entries));
  }
  static std::expected<M, CodecError> from_term(const Term& t) {
    if (!t.is_map()) return std::unexpected(detail::mismatch("map", t));
    M out;
    for (const MapEntry& e : t.entries()) {
      auto k = Codec<K>::from_term(e.key);
      if (!k) return std::unexpected(std::move(k.error()));
      auto v = detail::at(Codec<V>::from_term(e.value), "[" + e.key.to_string() + "]");
      if (!v) return std::unexpected(std::move(v.error()));
      out.emplace(std::move(*k), std::move(*v));
    }
    return out;
  }
};
}  // namespace detail

namespace detail {
/// A container of one element type that grows at its end (std::vector, std::list, std::deque,
/// ...), other than a string (std::string has a Codec of its own: a binary).
template <typename C>
concept SequenceContainer = requires(C& c, typename C::value_type e) {
  c.push_back(std::move(e));
  c.begin();
  c.end();
  c.size();
} && !requires { typename C::traits_type; };
/// A container of unique keys, each with a value (std::map, std::unordered_map, ...); not a
/// multimap, whose keys a map term could not hold.
template <typename M>
concept MapContainer = requires(M& m, typename M::key_type k, typename M::mapped_type v) {
  m.try_emplace(std::move(k), std::move(v));
  m.begin();
  m.end();
  m.size();
};
}  // namespace detail

/// Sequence containers: a proper list of the elements' terms. (Named by a concept rather than
/// by type, so this header includes neither `<list>` nor `<deque>`, and any such container works.)
template <typename C>
  requires(detail::SequenceContainer<C> && Encodable<typename C::value_type>)
struct Codec<C> : detail::ListCodec<C> {};
/// Map containers: a map of the keys' and values' terms.
template <typename M>
  requires(detail::MapContainer<M> && Encodable<typename M::key_type> &&
           Encodable<typename M::mapped_type>)
struct Codec<M> : detail::MapCodec<M> {};

/// Optionals: `undefined` for an empty one, else the value's term.
template <Encodable T>
struct Codec<std::optional<T>> {
  /// `undefined`, or the term of the value.
  static Term to_term(const std::optional<T>& v) {
    return v ? Codec<T>::to_term(*v) : Term(atoms::undefined);
  }
  /// Empty for `undefined`, else the value, or the value's error.
  static std::expected<std::optional<T>, CodecError> from_term(const Term& t) {
    if (t == atoms::undefined) return std::optional<T>();
    auto r = Codec<T>::from_term(t);
    if (!r) return std::unexpected(std::move(r.error()));
    return std::optional<T>(std::move(*r));
  }
};

namespace detail {
template <typename Tuple, std::size_t... I>
Term tuple_to_term(const Tuple& v, std::index_sequence<I...>) {
  return Term::tuple(Codec<std::tuple_element_t<I, Tuple>>::to_term(std::get<I>(v))...);
}
template <typename Tuple, std::size_t... I>
std::expected<Tuple, CodecError> tuple_from_term(const Term& t, std::index_sequence<I...>) {
  constexpr std::size_t n = sizeof...(I);
  if (!t.is_tuple() || t.size() != n)
    return std::unexpected(mismatch("tuple of " + std::to_string(n) + " elements", t));
  std::optional<CodecError> error;
  auto one = [&]<std::size_t K>(std::integral_constant<std::size_t, K>) {
    using E = std::tuple_element_t<K, Tuple>;
    auto r = at(Codec<E>::from_term(t[K]), "{" + std::to_string(K + 1) + "}");
    if (!r && !error) error = std::move(r.error());
    return r ? std::optional<E>(std::move(*r)) : std::optional<E>();
  };
  std::tuple<std::optional<std::tuple_element_t<I, Tuple>>...> parts{
      one(std::integral_constant<std::size_t, I>{})...};
  if (error) return std::unexpected(std::move(*error));
  return Tuple(std::move(*std::get<I>(parts))...);
}
}  // namespace detail

/// Tuples: `{E1, ...}`; an error's path names the element as `{2}` (1-based, as element/2).
template <Encodable... Ts>
struct Codec<std::tuple<Ts...>> {
  /// The tuple of the elements' terms.
  static Term to_term(const std::tuple<Ts...>& v) {
    return detail::tuple_to_term(v, std::index_sequence_for<Ts...>{});
  }
  /// The elements, or the first element's error (or an error for a term of another arity).
  static std::expected<std::tuple<Ts...>, CodecError> from_term(const Term& t) {
    return detail::tuple_from_term<std::tuple<Ts...>>(t, std::index_sequence_for<Ts...>{});
  }
};
/// Pairs: `{First, Second}`.
template <Encodable A, Encodable B>
struct Codec<std::pair<A, B>> {
  /// The tuple of the two terms.
  static Term to_term(const std::pair<A, B>& v) {
    return Term::tuple(Codec<A>::to_term(v.first), Codec<B>::to_term(v.second));
  }
  /// The pair, or the first element's error (or an error for a term that is no 2-tuple).
  static std::expected<std::pair<A, B>, CodecError> from_term(const Term& t) {
    return detail::tuple_from_term<std::pair<A, B>>(t, std::index_sequence<0, 1>{});
  }
};

/// Variants: written as the held alternative; read as the first alternative that accepts.
template <Encodable... Ts>
struct Codec<std::variant<Ts...>> {
  /// The term of the held alternative.
  static Term to_term(const std::variant<Ts...>& v) {
    return std::visit([](const auto& x) { return ambitious::to_term(x); }, v);
  }
  /// The first alternative, in order, whose codec accepts `t`; an error when none does.
  static std::expected<std::variant<Ts...>, CodecError> from_term(const Term& t) {
    std::optional<std::variant<Ts...>> out;
    auto attempt = [&]<typename T>(std::type_identity<T>) {
      if (out) return;
      if (auto r = Codec<T>::from_term(t)) out.emplace(std::in_place_type<T>, std::move(*r));
    };
    (attempt(std::type_identity<Ts>{}), ...);
    if (!out) return std::unexpected(detail::mismatch("one of the variant's alternatives", t));
    return std::move(*out);
  }
};

// ---- described enums and structs -------------------------------------------------------------

/// Described enums (BOOST_DESCRIBE_ENUM): the atom of the enumerator's name.
template <typename E>
  requires(std::is_enum_v<E> && boost::describe::has_describe_enumerators<E>::value)
struct Codec<E> {
  /// The atom of `v`'s name (the integer, for a value that has no name).
  static Term to_term(E v) {
    const char* name = boost::describe::enum_to_string(v, nullptr);
    if (name) return Term(Atom(name));
    return Term(static_cast<std::underlying_type_t<E>>(v));  // a value without a name
  }
  /// The enumerator named by the atom `t`, or an error for any other term.
  static std::expected<E, CodecError> from_term(const Term& t) {
    // Atom names are not NUL-terminated: compare as string_view.
    std::optional<E> out;
    if (t.is_atom()) {
      std::string_view name = t.as_atom().name();
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
        if (!out && name == d.name) out = d.value;
      });
    }
    if (!out) return std::unexpected(detail::mismatch("an enumerator name", t));
    return *out;
  }
};

namespace detail {
template <typename T>
concept Record = requires { CodecRecord<T>::tag; };
template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};
}  // namespace detail

/// Described structs (BOOST_DESCRIBE_STRUCT): a map with an atom key per public member, or the
/// record `{Tag, M1, M2, ...}` when CodecRecord<T> names a tag.
template <typename T>
  requires(std::is_class_v<T> && boost::describe::has_describe_members<T>::value)
struct Codec<T> {
  /// The described public members, in their order.
  using Members = boost::describe::describe_members<T, boost::describe::mod_public>;

  /// The map (or record) of the members' terms.
  static Term to_term(const T& v) {
    if constexpr (detail::Record<T>) {
      std::vector<Term> elems{Term(Atom(CodecRecord<T>::tag))};
      boost::mp11::mp_for_each<Members>(
          [&](auto m) { elems.push_back(ambitious::to_term(v.*m.pointer)); });
      return Term::tuple_from(std::span<Term>(elems));
    } else {
      std::vector<std::pair<Term, Term>> entries;
      boost::mp11::mp_for_each<Members>([&](auto m) {
        entries.emplace_back(Term(Atom(m.name)), ambitious::to_term(v.*m.pointer));
      });
      return Term::map_from(std::move(entries));
    }
  }

  /// The struct, or the first member's error (its path names the member: ".price"); keys the
  /// struct does not name are ignored, a missing key is an error unless its member is optional.
  static std::expected<T, CodecError> from_term(const Term& t) {
    T out{};
    std::optional<CodecError> error;
    if constexpr (detail::Record<T>) {
      constexpr std::size_t n = boost::mp11::mp_size<Members>::value;
      if (!t.is_tuple() || t.size() != n + 1 || t[0] != Atom(CodecRecord<T>::tag))
        return std::unexpected(detail::mismatch("record {" + std::string(CodecRecord<T>::tag) +
                                                    ", ...} of " + std::to_string(n + 1) +
                                                    " elements",
                                                t));
      std::size_t i = 1;
      boost::mp11::mp_for_each<Members>([&](auto m) {
        using F = std::remove_cvref_t<decltype(out.*m.pointer)>;
        if (!error) {
          auto r = detail::at(Codec<F>::from_term(t[i]), std::string(".") + m.name);
          if (r)
            out.*m.pointer = std::move(*r);
          else
            error = std::move(r.error());
        }
        ++i;
      });
    } else {
      if (!t.is_map()) return std::unexpected(detail::mismatch("map", t));
      boost::mp11::mp_for_each<Members>([&](auto m) {
        using F = std::remove_cvref_t<decltype(out.*m.pointer)>;
        if (error) return;
        auto key = Atom::existing(m.name);
        const Term* value = key ? t.find(Term(*key)) : nullptr;
        if (!value) {
          if constexpr (!detail::is_optional<F>::value)
            error = CodecError{std::string(".") + m.name, "missing"};
          return;
        }
        auto r = detail::at(Codec<F>::from_term(*value), std::string(".") + m.name);
        if (r)
          out.*m.pointer = std::move(*r);
        else
          error = std::move(r.error());
      });
    }
    if (error) return std::unexpected(std::move(*error));
    return out;
  }
};

}  // namespace ambitious
