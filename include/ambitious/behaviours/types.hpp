#pragma once
// Types<...>: a list of types, as a server declares the messages it takes.

#include <cstddef>
#include <tuple>
#include <type_traits>

namespace ambitious {

/// A list of types: `using calls = Types<Get, Increment>;`.
template <class... T>
struct Types {
  static constexpr std::size_t size = sizeof...(T);  ///< how many types
};

namespace detail {

/// True when T is one of the list's types.
template <class T, class List>
inline constexpr bool contains_v = false;
template <class T, class... L>
inline constexpr bool contains_v<T, Types<L...>> = (std::is_same_v<T, L> || ...);

/// The position of T in the list (the first, if it is there twice); the list's size if absent.
template <class T, class List>
inline constexpr std::size_t index_of_v = 0;
template <class T, class... L>
inline constexpr std::size_t index_of_v<T, Types<L...>> = [] {
  constexpr bool same[] = {std::is_same_v<T, L>..., false};
  std::size_t i = 0;
  while (i < sizeof...(L) && !same[i]) ++i;
  return i;
}();

/// The list's type at position I.
template <std::size_t I, class List>
struct type_at;
template <std::size_t I, class... L>
struct type_at<I, Types<L...>> {
  using type = std::tuple_element_t<I, std::tuple<L...>>;
};
template <std::size_t I, class List>
using type_at_t = typename type_at<I, List>::type;

/// How many times T is in the list.
template <class T, class List>
inline constexpr std::size_t count_v = 0;
template <class T, class... L>
inline constexpr std::size_t count_v<T, Types<L...>> =
    (std::size_t{std::is_same_v<T, L>} + ... + 0);

/// True when no type is in the list twice.
template <class List>
inline constexpr bool unique_v = true;
template <class... L>
inline constexpr bool unique_v<Types<L...>> = ((count_v<L, Types<L...>> == 1) && ...);

}  // namespace detail
}  // namespace ambitious
