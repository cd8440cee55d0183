#pragma once
// What clients and a GenServer send each other: the request messages of a server type, the
// reply, and the compile-time checks of a server's declared protocol.
//
// A server type S declares the requests it takes, `using calls = Types<...>` and
// `using casts = Types<...>`. Each request travels as its own message, CallOf<S, Req> or
// CastOf<S, Msg>, allocated once with the request inside; all of them belong to S's message
// family and carry their index in S's lists, so the server tells them apart with one compare
// and dispatches them with one switch. The lists are also how a request arriving as a term from
// another node finds its type: `{'$gen_call', From, Req}` is decoded with the Codec of each
// type of `calls` in turn (those whose reply type has a Codec too), into the same CallOf
// message, and the reply is encoded with the Codec of that call's reply type (from_wire, in
// gen_server_loop.hpp).

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ambitious/behaviours/gen_server_result.hpp"
#include "ambitious/behaviours/types.hpp"
#include "ambitious/core/codec.hpp"
#include "ambitious/process/detail/alias.hpp"
#include "ambitious/process/detail/message.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/send.hpp"

namespace ambitious::detail {

template <class S>
using calls_of = typename S::calls;
template <class S>
using casts_of = typename S::casts;
template <class S>
using info_of = typename S::info;

/// The family of every request message of server type S.
template <class S>
inline constexpr MessageFamily server_family{&type_name<S>};

/// A call of server type S with a Req, as it travels to the server.
template <class S, class Req>
struct CallOf {
  From from;
  Req request;
};

/// A cast of server type S with a Msg, as it travels to the server.
template <class S, class Msg>
struct CastOf {
  Msg request;
};

template <class S, class Req>
struct message_family<CallOf<S, Req>> {
  static constexpr const MessageFamily* family = &server_family<S>;
  static constexpr std::uint16_t index = static_cast<std::uint16_t>(index_of_v<Req, calls_of<S>>);
};
template <class S, class Msg>
struct message_family<CastOf<S, Msg>> {
  static constexpr const MessageFamily* family = &server_family<S>;
  static constexpr std::uint16_t index =
      static_cast<std::uint16_t>(calls_of<S>::size + index_of_v<Msg, casts_of<S>>);
};

/// gen_server::stop's request: terminate with `reason` (any server type takes it).
struct SystemStop {
  ExitReason reason;
};

/// The reply to the call tagged `tag`.
template <class T>
struct CallReply {
  Ref tag;
  T value;
};

}  // namespace ambitious::detail

namespace ambitious {
/// A reply as it travels between nodes, `{[alias | Tag], Reply}` (OTP 24+'s tag of a call from
/// another node), with the reply by its own Codec. A plain `{Tag, Reply}` is read too: the reply
/// to a caller that sent a plain ref as its tag.
template <class R>
  requires Encodable<R>
struct Codec<detail::CallReply<R>> {
  /// `{[alias | Tag], Reply}`.
  static Term to_term(const detail::CallReply<R>& r) {
    return Term::tuple(Term::cons(Term(atoms::alias), Term(r.tag)), Codec<R>::to_term(r.value));
  }
  /// The reply of `{[alias | Tag], Reply}` or `{Tag, Reply}`, or why the term is neither.
  static std::expected<detail::CallReply<R>, CodecError> from_term(const Term& t) {
    if (!t.is_tuple() || t.size() != 2) return std::unexpected(CodecError{"", "not a reply"});
    Term ref = t[0];
    if (ref.is_cons() && ref.head() == Term(atoms::alias)) ref = ref.tail();
    if (!ref.is_ref()) return std::unexpected(CodecError{"", "not a reply tag"});
    auto value = Codec<R>::from_term(t[1]);
    if (!value) return std::unexpected(std::move(value.error()));
    return detail::CallReply<R>{ref.as_ref(), std::move(*value)};
  }
};
}  // namespace ambitious

namespace ambitious::detail {

/// f(std::integral_constant<std::size_t, i>) for a run-time i < N, through a table of N
/// functions: one indirect call whatever N.
template <std::size_t N, class F>
decltype(auto) visit_index(std::size_t i, F&& f) {
  using R = decltype(f(std::integral_constant<std::size_t, 0>{}));
  return [&]<std::size_t... I>(std::index_sequence<I...>) -> R {
    using Entry = R (*)(F&);
    static constexpr Entry table[] = {
        [](F& g) -> R { return g(std::integral_constant<std::size_t, I>{}); }...};
    return table[i](f);
  }(std::make_index_sequence<N>{});
}

template <class S, class Req>
concept handles_call = requires(S& s, Req&& r, const From& f) {
  typename unwrap_task_t<decltype(s.handle_call(std::move(r), f))>::reply_type;
};
template <class S, class Msg>
concept handles_cast = requires(S& s, Msg&& m) {
  requires std::is_convertible_v<unwrap_task_t<decltype(s.handle_cast(std::move(m)))>, Action>;
};
template <class S, class Msg>
concept handles_info = requires(S& s, Msg&& m) {
  requires std::is_convertible_v<unwrap_task_t<decltype(s.handle_info(std::move(m)))>, Action>;
};

/// What S's handle_call for Req returns, Task or not: its CallResult<R>.
template <class S, class Req>
using call_result_t = unwrap_task_t<decltype(std::declval<S&>().handle_call(
    std::declval<Req>(), std::declval<const From&>()))>;

/// The reply type of S's handle_call for Req.
template <class S, class Req>
using reply_t = typename call_result_t<S, Req>::reply_type;

/// Whether S has a member of the callback's name at all (overloaded, a template, anything):
/// with a fallback member of the same name beside S, the name is ambiguous exactly when S has
/// one. Used to refuse a handler that no declared type can reach.
struct HandleCallName {
  void handle_call();
};
struct HandleCastName {
  void handle_cast();
};
struct HandleInfoName {
  void handle_info();
};
template <class S, class Name>
struct WithName : S, Name {};
template <class S>
constexpr bool has_handle_call_member() {
  if constexpr (std::is_final_v<S>)
    return false;  // cannot tell; the checks of the declared types still apply
  else
    return !requires { &WithName<S, HandleCallName>::handle_call; };
}
template <class S>
constexpr bool has_handle_cast_member() {
  if constexpr (std::is_final_v<S>)
    return false;
  else
    return !requires { &WithName<S, HandleCastName>::handle_cast; };
}
template <class S>
constexpr bool has_handle_info_member() {
  if constexpr (std::is_final_v<S>)
    return false;
  else
    return !requires { &WithName<S, HandleInfoName>::handle_info; };
}

template <class S, class Req>
constexpr bool check_call_type() {
  static_assert(handles_call<S, Req>,
                "GenServer: a type in `calls` has no handle_call(Req, const From&) returning "
                "CallResult<R> (or Task<CallResult<R>>)");
  return handles_call<S, Req>;
}
template <class S, class Msg>
constexpr bool check_cast_type() {
  static_assert(handles_cast<S, Msg>,
                "GenServer: a type in `casts` has no handle_cast(Msg) returning Action (or "
                "Task<Action>)");
  return handles_cast<S, Msg>;
}
template <class S, class Msg>
constexpr bool check_info_type() {
  static_assert(handles_info<S, Msg>,
                "GenServer: a type in `info` has no handle_info(Msg) returning Action (or "
                "Task<Action>)");
  return handles_info<S, Msg>;
}

template <class S, class... Calls, class... Casts, class... Info>
constexpr bool check_lists(Types<Calls...>, Types<Casts...>, Types<Info...>) {
  static_assert(sizeof...(Calls) > 0 || !has_handle_call_member<S>(),
                "GenServer: the server has handle_call but declares no `using calls = "
                "Types<...>`: list the request types it answers");
  static_assert(sizeof...(Casts) > 0 || !has_handle_cast_member<S>(),
                "GenServer: the server has handle_cast but declares no `using casts = "
                "Types<...>`: list the message types it takes");
  static_assert(sizeof...(Info) > 0 || !has_handle_info_member<S>(),
                "GenServer: the server has handle_info but declares no `using info = "
                "Types<...>`: list the message types it takes");
  static_assert(unique_v<Types<Calls...>> && unique_v<Types<Casts...>> && unique_v<Types<Info...>>,
                "GenServer: a type is listed twice in `calls`, `casts` or `info`");
  return (check_call_type<S, Calls>() && ...) && (check_cast_type<S, Casts>() && ...) &&
         (check_info_type<S, Info>() && ...);
}

/// True when S's declared protocol is consistent; otherwise a static_assert says what is wrong.
template <class S>
constexpr bool check_server() {
  return check_lists<S>(calls_of<S>{}, casts_of<S>{}, info_of<S>{});
}

/// Throws the std::invalid_argument of a reply of type `sent` to a caller that waits for
/// `waited` (src/behaviours/gen_server.cpp).
[[noreturn]] void reply_type_mismatch(std::string_view waited, std::string_view sent);

/// Sends `{Tag, Reply}` to a caller of another node that tagged its call with a plain ref
/// (src/behaviours/gen_server.cpp).
void send_plain_reply(const From& from, Term reply);
/// Throws the std::invalid_argument of a reply of type `type`, without a Codec, to a caller of
/// another node.
[[noreturn]] void reply_without_codec(std::string_view type);

/// Sends `value` as the reply to `from`. The caller waits for one type of reply: a string-like
/// value goes as std::string when that is what it waits for; another type than the one it waits
/// for would never be taken, so it is refused (std::invalid_argument) instead of lost.
template <class R>
void send_reply(const From& from, R&& value) {
  using V = std::decay_t<R>;
  if constexpr (std::is_convertible_v<V, std::string_view> && !std::is_same_v<V, std::string>) {
    if (from.reply_type == &type_name<std::string>) {
      send_reply(from, std::string(std::string_view(value)));
      return;
    }
  }
  if (from.reply_type && from.reply_type != &type_name<V>)
    reply_type_mismatch(from.reply_type(), type_name<V>());
  if (from.plain_tag) {  // a caller of another node without an alias: {Tag, Reply} to its pid
    if constexpr (Encodable<V>)
      send_plain_reply(from, Codec<V>::to_term(value));
    else
      reply_without_codec(type_name<V>());
    return;
  }
  send_to_alias(from.pid, from.tag,
                make_message<CallReply<V>>(CallReply<V>{from.tag, std::forward<R>(value)}));
}

}  // namespace ambitious::detail
