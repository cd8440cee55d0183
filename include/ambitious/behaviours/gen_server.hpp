#pragma once
// GenServer: the generic server behaviour, as OTP's gen_server.
//
// A server is an object of a user type S deriving from GenServer<S>; its members are the state,
// and it declares the messages it takes:
//
//   struct Counter : GenServer<Counter> {
//     struct Get {};
//     struct Reset {};
//     using calls = Types<Get>;     // requests answered by handle_call (gen_server:call)
//     using casts = Types<Reset>;   // requests taken by handle_cast (gen_server:cast)
//     using info = Types<>;         // plain messages taken by handle_info
//     long count = 0;
//     CallResult<long> handle_call(Get, const From&) { return reply(count); }
//     Action handle_cast(Reset) { count = 0; return noreply(); }
//   };
//
//   callback (member of S)          | called                                 | OTP
//   --------------------------------|----------------------------------------|-----------------
//   S(args...), then init()         | by start/start_link, before they       | init/1
//     -> InitResult                 | return: ok(), ignore(), stop(r)        |
//   handle_call(Req, const From&)   | call(server, Req) -> R, Req in calls   | handle_call/3
//     -> CallResult<R>              |                                        |
//   handle_cast(Msg) -> Action      | cast(server, Msg), Msg in casts        | handle_cast/2
//   handle_info(Msg) -> Action      | a message of a type in info            | handle_info/2
//   handle_continue(X) -> Action    | after a result's .then(X)              | handle_continue/2
//   handle_timeout() -> Action      | nothing came for a result's .after(t)  | timeout info
//   terminate(const ExitReason&)    | stop result, crash, stop(), or the     | terminate/2
//     -> void                       | parent's exit while trapping           |
//
// Each handler may be overloaded per message type, and may return Task<...> of its result to
// co_await inside (the server waits meanwhile, as in OTP). Results: reply(v), noreply(),
// stop(reason), stop(reason, v), ok(), ignore(), each with .after(timeout) and .then(x).
//
// The lists are checked at compile time: call and cast accept only a declared request, every
// declared type needs its handler, and a handler with no list at all does not compile. A plain
// message of a type not in `info` is logged and dropped, as OTP's default handle_info does. As
// in OTP, stop(reason, v) replies once terminate has run, an end with a reason other than
// normal/shutdown/{shutdown, _} is reported, and an exception escaping terminate becomes the
// server's exit reason.

#include <expected>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ambitious/behaviours/detail/gen_server_call.hpp"
#include "ambitious/behaviours/detail/gen_server_protocol.hpp"
#include "ambitious/behaviours/gen_server_result.hpp"
#include "ambitious/behaviours/server_ref.hpp"
#include "ambitious/behaviours/start_options.hpp"
#include "ambitious/behaviours/types.hpp"
#include "ambitious/core/chrono.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/timeout.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// What start/start_link return: the server, or why not (atoms::ignore,
/// `{already_started, Pid}`, atoms::timeout, or the reason init failed).
template <class S>
using StartResult = std::expected<ServerRef<S>, ExitReason>;

namespace detail {
template <class S, class... A>
Task<StartResult<S>> start_server(bool link, StartOptions options, A... args);
/// A cast to a server of another node: `{'$gen_cast', Msg}` (src/behaviours/gen_server_call.cpp).
void cast_remote(const ServerTarget& server, Term msg);
/// The BadArg of a cast to another node of a type without a Codec.
[[noreturn]] void throw_cast_no_codec(std::string_view msg, const ServerTarget& server);
/// gen_server::stop for any server type (src/behaviours/gen_server.cpp).
Task<std::expected<void, ExitReason>> stop_server(ServerTarget server, ExitReason reason,
                                                  Timeout timeout);
}  // namespace detail

/// The base of every server type S (CRTP). It gives S the result functions its callbacks
/// return, defaults for the lists and callbacks it leaves out, and start/start_link.
template <class S>
class GenServer {
 public:
  /// The request types handle_call answers; a server that takes calls declares its own.
  using calls = Types<>;
  /// The request types handle_cast takes.
  using casts = Types<>;
  /// The plain message types handle_info takes.
  using info = Types<>;

  /// Starts a server process that builds S from `args` and runs init(); returns once init is
  /// done (OTP's gen_server:start). Inside a process.
  template <class... A>
  static Task<StartResult<S>> start(A... args) {
    static_assert(detail::check_server<S>());
    return detail::start_server<S>(false, StartOptions{}, std::move(args)...);
  }
  /// start, with a name or a time limit for init (OTP's gen_server:start/4).
  template <class... A>
  static Task<StartResult<S>> start(StartOptions options, A... args) {
    static_assert(detail::check_server<S>());
    return detail::start_server<S>(false, std::move(options), std::move(args)...);
  }
  /// start, linked to the caller (OTP's gen_server:start_link). If init fails, the error is
  /// returned and, as in OTP, the link delivers the failure reason to the caller too.
  template <class... A>
  static Task<StartResult<S>> start_link(A... args) {
    static_assert(detail::check_server<S>());
    return detail::start_server<S>(true, StartOptions{}, std::move(args)...);
  }
  /// start_link, with a name or a time limit for init (OTP's gen_server:start_link/4).
  template <class... A>
  static Task<StartResult<S>> start_link(StartOptions options, A... args) {
    static_assert(detail::check_server<S>());
    return detail::start_server<S>(true, std::move(options), std::move(args)...);
  }

  /// Not a start: lets server_child see that S declares no start_link of its own (one of S's
  /// hides this overload), so that it may start S with no coroutine of start_link's.
  static void start_link(detail::InheritedStartLink) noexcept {}

  /// Default: no message for the timeout a result asked for is not expected; keep going.
  Action handle_timeout() { return noreply(); }

 protected:
  /// What ok(), ignore(), noreply() and stop(r) carry: no reply.
  using Ok = std::monostate;

  /// init(): the server is ready.
  detail::ResultBuilder<S, Ok> ok() { return {server(), {}}; }
  /// init(): do not start (start returns the error atoms::ignore; the process ends normal).
  detail::ResultBuilder<S, Ok> ignore() { return {server(), {}, std::nullopt, true}; }
  /// handle_call: reply `value` to the caller.
  template <class R>
  detail::ResultBuilder<S, std::decay_t<R>> reply(R&& value) {
    return {server(), {}, std::optional<std::decay_t<R>>(std::forward<R>(value))};
  }
  /// Any handler: no reply now (a call is answered later with reply(from, value)).
  detail::ResultBuilder<S, Ok> noreply() { return {server(), {}}; }
  /// Any handler: stop the server with `reason` (terminate runs first).
  detail::ResultBuilder<S, Ok> stop(ExitReason reason) {
    return {server(), detail::stop_with(std::move(reason))};
  }
  /// handle_call: reply `value`, then stop with `reason`.
  template <class R>
  detail::ResultBuilder<S, std::decay_t<R>> stop(ExitReason reason, R&& value) {
    return {server(), detail::stop_with(std::move(reason)),
            std::optional<std::decay_t<R>>(std::forward<R>(value))};
  }
  /// A deferred reply to `from` (from a later callback).
  template <class R>
  void reply(const From& from, R&& value) {
    detail::send_reply(from, std::forward<R>(value));
  }

 private:
  S* server() noexcept { return static_cast<S*>(this); }
};

namespace gen_server {

/// How long call and try_call wait by default (OTP's 5 seconds).
inline constexpr std::chrono::seconds default_timeout{5};

/// Sends `value` as the reply to the call `from` (deferred replies, from any process).
template <class R>
void reply(const From& from, R&& value) {
  detail::send_reply(from, std::forward<R>(value));
}

/// Calls `server` with `request` and waits up to `timeout` for the reply (OTP's gen:do_call:
/// monitor the server, send a request tagged with the monitor, wait for the reply, the server's
/// Down, or the timeout). The error is the reason: atoms::noproc (no such server),
/// atoms::calling_self, atoms::timeout, `{nodedown, Node}` (the server's node went away), or the
/// server's exit reason. A reply that comes after a timeout is dropped. Req must be in S's
/// `calls`. A server of another node gets `{'$gen_call', {Self, [alias | Mref]}, Req}` with Req
/// by its Codec and its reply is read by the reply type's Codec, as OTP's gen:do_call does (a
/// request or reply type without a Codec throws BadArg, as send does).
template <class S, class Req>
auto try_call(ServerRef<S> server, Req request, Timeout timeout = default_timeout) {
  if constexpr (detail::check_call<S, Req>())
    return detail::Call<S, Req, false>(std::move(server), std::move(request), timeout);
}

/// try_call that ends the caller on failure, as OTP's call exits the caller:
/// `{Reason, {gen_server, call, [Server]}}`.
template <class S, class Req>
auto call(ServerRef<S> server, Req request, Timeout timeout = default_timeout) {
  if constexpr (detail::check_call<S, Req>())
    return detail::Call<S, Req, true>(std::move(server), std::move(request), timeout);
}

/// call with a Req built in place from `args`: `call<SetName>(server, "x")`. The way to write a
/// request with members that have destructors: the request is built outside the caller's
/// co_await expression, where g++ 12 would destroy a braced temporary twice.
template <class Req, class S, class... A>
  requires std::is_constructible_v<Req, A&&...>
auto call(ServerRef<S> server, A&&... args) {
  return call(std::move(server), Req(std::forward<A>(args)...));
}

/// try_call with a Req built in place from `args`.
template <class Req, class S, class... A>
  requires std::is_constructible_v<Req, A&&...>
auto try_call(ServerRef<S> server, A&&... args) {
  return try_call(std::move(server), Req(std::forward<A>(args)...));
}

/// Sends `msg` to handle_cast, without waiting; a server that does not exist is ignored. Msg
/// must be in S's `casts`. A server of another node gets `{'$gen_cast', Msg}` with Msg by its
/// Codec (a Msg without one throws BadArg, as send does).
template <class S, class Msg>
void cast(const ServerRef<S>& server, Msg msg) {
  if constexpr (detail::check_cast<S, Msg>()) {
    // A via name may be held on another node (a global name): resolved first.
    const bool remote = server.remote();
    std::optional<Pid> pid = remote ? std::nullopt : server.resolve();
    if (remote || (pid && !pid->is_local())) {
      if constexpr (Encodable<Msg>)
        detail::cast_remote(pid ? detail::ServerTarget(*pid) : server.target(),
                            Codec<Msg>::to_term(msg));
      else
        detail::throw_cast_no_codec(detail::type_name<Msg>(), server.target());
    } else if (pid) {
      detail::deliver(*pid, detail::make_message<detail::CastOf<S, Msg>>(std::move(msg)));
    }
  }
}

/// cast with a Msg built in place from `args`.
template <class Msg, class S, class... A>
  requires std::is_constructible_v<Msg, A&&...>
void cast(const ServerRef<S>& server, A&&... args) {
  cast(server, Msg(std::forward<A>(args)...));
}

/// Stops the server with `reason` (terminate runs) and waits until it is gone. The error is
/// atoms::noproc, atoms::timeout, or another reason the server ended with.
template <class S>
Task<std::expected<void, ExitReason>> stop(ServerRef<S> server, ExitReason reason = atoms::normal,
                                           Timeout timeout = infinity) {
  return detail::stop_server(server.target(), std::move(reason), timeout);
}

}  // namespace gen_server
}  // namespace ambitious

#include "ambitious/behaviours/detail/gen_server_loop.hpp"
