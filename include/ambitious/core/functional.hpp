#pragma once
// std::function, std::hash and std::equal_to, and detail::invoke (std::invoke's rule), for the
// headers that store callbacks or call what the user passed.
//
// Why not <functional> itself: since C++17 libstdc++'s <functional> brings <unordered_map>,
// <vector>, <array> and the algorithms (for std::boyer_moore_searcher). With <list> and
// <unordered_map> gone from codec.hpp too, that was 7 % of what a file including the umbrella
// header cost to compile (clang 16: 0.34 G instructions of 4.48 G). std::function is in
// libstdc++'s <bits/std_function.h>, which its <future> and <mutex> include instead of
// <functional> for the same reason. Other standard libraries get <functional>. A file that uses
// std::bind, std::ref or std::invoke includes <functional> itself.

#include <tuple>
#include <type_traits>
#include <utility>

#if defined(__GLIBCXX__) && __has_include(<bits/std_function.h>)
#include <bits/functional_hash.h>
#include <bits/std_function.h>
#else
#include <functional>
#endif

namespace ambitious::detail {

/// std::invoke(f, args...): calls f with args, or, when f is a pointer to member, applies it to
/// the first argument (an object, a pointer or a std::reference_wrapper: std::apply follows
/// std::invoke's rule, and comes with `<tuple>`).
template <class F, class... Args>
constexpr decltype(auto) invoke(F&& f, Args&&... args) {
  if constexpr (std::is_member_pointer_v<std::remove_cvref_t<F>>)
    return std::apply(std::forward<F>(f), std::forward_as_tuple(std::forward<Args>(args)...));
  else
    return std::forward<F>(f)(std::forward<Args>(args)...);
}

}  // namespace ambitious::detail
