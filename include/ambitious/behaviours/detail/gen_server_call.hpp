#pragma once
// The client side of gen_server:call and cast: the checks that a request is declared, and the
// awaitable a call is.

#include <coroutine>
#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>
#include <utility>

#include "ambitious/behaviours/detail/gen_server_protocol.hpp"
#include "ambitious/behaviours/server_ref.hpp"
#include "ambitious/process/detail/receive_awaiter.hpp"
#include "ambitious/process/detail/receive_core.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/timeout.hpp"

namespace ambitious::detail {
template <class S, class Req>
constexpr bool check_call() {
  static_assert(contains_v<Req, typename S::calls>,
                "gen_server::call: the request type is not in the server's "
                "`using calls = Types<...>`");
  return contains_v<Req, typename S::calls> && check_server<S>();
}
template <class S, class Msg>
constexpr bool check_cast() {
  static_assert(contains_v<Msg, typename S::casts>,
                "gen_server::cast: the message type is not in the server's "
                "`using casts = Types<...>`");
  return contains_v<Msg, typename S::casts> && check_server<S>();
}

/// Ends the caller of a failed gen_server::call, as OTP's call exits it:
/// `{Reason, {gen_server, call, [Server]}}` (src/behaviours/gen_server.cpp).
[[noreturn]] void exit_call_failed(const ExitReason& reason, const ServerTarget& server);

/// The reply to a call of reply type R: how the call's receive recognizes it, and how it
/// decodes one from another node (no decoding when R has no Codec).
template <class R>
const Ref& reply_tag(const Message& m) noexcept {
  return value_of<CallReply<R>>(m).tag;
}
template <class R>
Message* decode_reply(const Term& t, const Ref& tag) {
  std::expected<CallReply<R>, CodecError> r = Codec<CallReply<R>>::from_term(t);
  if (!r || r->tag != tag) return nullptr;  // the Term stays queued
  return make_message<CallReply<R>>(std::move(*r));
}
struct ReplyKind {
  const MessageType* type;                      ///< message_type<CallReply<R>>
  const Ref& (*tag)(const Message&) noexcept;   ///< the tag of a message of that type
  Message* (*decode)(const Term&, const Ref&);  ///< from a Term, if it is the reply; or null
};
/// The decoder of a reply of type R from another node, for a call with a Req: none unless both
/// have a Codec. A request without one never leaves the node, so its reply always comes as a
/// CallReply<R> message, never as a term: a program whose calls are all local compiles no
/// reply decoder (each costs the compiler R's Codec::from_term).
template <class Req, class R>
constexpr Message* (*reply_decoder())(const Term&, const Ref&) {
  if constexpr (Encodable<Req> && decodes_from_term<CallReply<R>>)
    return &decode_reply<R>;
  else
    return nullptr;
}
template <class Req, class R>
inline constexpr ReplyKind reply_kind{message_type<CallReply<R>>, &reply_tag<R>,
                                      reply_decoder<Req, R>()};

/// All of a call that does not depend on its types, compiled once
/// (src/behaviours/gen_server_call.cpp): resolving the server, the self check, the monitor,
/// sending, the receive of the reply, the server's Down or the timeout, and the error. The
/// template around it (CallAwaiter) keeps only the typed request message and the reply value,
/// so each (server, request) costs the compiler little where it is awaited.
class CallBase {
 public:
  void await_suspend(std::coroutine_handle<> h) noexcept { receive_suspend(receive_, h); }

 protected:
  CallBase(const ReplyKind& reply, Timeout timeout) noexcept
      : reply_(&reply), timeout_ms_(timeout.milliseconds()) {}

  /// Monitors the local server `pid` (the server's target resolved), delivers it `request` (a
  /// CallOf message whose From is `from`, filled in here: the caller and the monitor's ref) and
  /// looks for the reply. The call is over already (no such server, the caller itself: error_)
  /// and `request` destroyed, or it waits. Returns await_ready's answer.
  bool call_local(std::optional<Pid> pid, Message* request, From& from);
  /// A call to a server of another node, as OTP's gen:do_call makes it: MONITOR_P on the pid
  /// or the name, `{'$gen_call', {Self, [alias | Mref]}, Request}`; the reply `{[alias | Mref],
  /// Reply}` comes by ALIAS_SEND to the monitor's ref (CallReply's Codec reads it).
  bool call_remote(const ServerTarget& server, Term request);
  /// The BadArg of a call to another node whose request or reply type has no Codec.
  [[noreturn]] static void throw_no_codec(std::string_view request, std::string_view reply,
                                          const ServerTarget& server);
  /// After the receive: the reply's CallReply message, or null and error_ says why.
  MessagePtr finish();

  ExitReason error_ = atoms::noproc;

 private:
  bool wait();
  static int match(const void* self, Message& m);

  const ReplyKind* reply_;
  std::uint64_t timeout_ms_;
  Ref mref_;
  std::optional<Atom> remote_node_;  // the server's node, for a call to another node
  bool waiting_ = false;             // the request is sent: receive_ is the reply's receive
  ReceiveRequest receive_{};
};

/// gen_server:call as an awaitable (OTP's gen:do_call): monitor the server, send the request
/// tagged with the monitor, then wait for the reply, the server's Down, or the timeout. It is
/// not a coroutine: it lives in the caller's frame, so a call allocates only its messages.
/// `ExitOnError`: call (the caller exits on failure) rather than try_call.
template <class S, class Req, bool ExitOnError>
class CallAwaiter : public CallBase {
 public:
  using R = reply_t<S, Req>;

  CallAwaiter(ServerRef<S> server, Req request, Timeout timeout)
      : CallBase(reply_kind<Req, R>, timeout),
        server_(std::move(server)),
        request_(std::move(request)) {}

  bool await_ready() {
    if (server_.remote()) return remote(server_.target());
    // A via name may be held on another node (a global name): where it goes is known once
    // it is resolved.
    std::optional<Pid> pid = server_.resolve();
    if (pid && !pid->is_local()) [[unlikely]]
      return remote(ServerTarget(*pid));
    Message* m =
        make_message<CallOf<S, Req>>(From{Pid(), Ref(), &type_name<R>}, std::move(request_));
    return call_local(pid, m, value_of<CallOf<S, Req>>(*m).from);
  }
  auto await_resume() {
    MessagePtr reply = finish();
    if constexpr (ExitOnError) {
      if (!reply.get()) exit_call_failed(error_, server_.target());
      return R(std::move(value_of<CallReply<R>>(*reply.get()).value));
    } else {
      using Result = std::expected<R, ExitReason>;
      if (!reply.get()) return Result(std::unexpect, std::move(error_));
      return Result(std::move(value_of<CallReply<R>>(*reply.get()).value));
    }
  }

 private:
  // Out of line: a call to another node is rare, and its encoding is no code for the caller's
  // coroutine to carry.
  [[gnu::noinline]] bool remote(const ServerTarget& to) {
    if constexpr (!Encodable<Req> || !Encodable<R>) {
      throw_no_codec(type_name<Req>(), type_name<R>(), server_.target());
    } else {
      // The request becomes a term before the monitor: a Codec that throws leaves nothing.
      return call_remote(to, Codec<Req>::to_term(request_));
    }
  }

  ServerRef<S> server_;
  Req request_;
};

/// What gen_server::call and try_call return: a call to make, once, when awaited. Awaiting it
/// as a named variable does not compile (it would send the request again).
template <class S, class Req, bool ExitOnError>
class [[nodiscard]] Call {
 public:
  Call(ServerRef<S> server, Req request, Timeout timeout)
      : server_(std::move(server)), request_(std::move(request)), timeout_(timeout) {}

  CallAwaiter<S, Req, ExitOnError> operator co_await() && {
    return CallAwaiter<S, Req, ExitOnError>(std::move(server_), std::move(request_), timeout_);
  }
  template <class Self = Call>
  void operator co_await() & {
    static_assert(sizeof(Self) == 0,
                  "co_await on a gen_server call variable: write co_await std::move(call) (a "
                  "call is made once)");
  }

 private:
  ServerRef<S> server_;
  Req request_;
  Timeout timeout_;
};

}  // namespace ambitious::detail
