#pragma once
// The client side of gen_server:call and cast: the checks that a request is declared, and the
// awaitable a call is.

#include <coroutine>
#include <expected>
#include <optional>
#include <tuple>
#include <utility>

#include "ambitious/behaviours/detail/gen_server_protocol.hpp"
#include "ambitious/behaviours/server_ref.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
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

/// What a call's receive gives: the reply or the error, and whether the server's Down ended it
/// (then the monitor is gone already).
template <class R>
struct CallOutcome {
  std::expected<R, ExitReason> result;
  bool down = false;
};

template <class R>
struct ReplyTagged {
  Ref tag;
  bool operator()(const CallReply<R>& r) const noexcept { return r.tag == tag; }
};
template <class R>
struct TakeReply {
  CallOutcome<R> operator()(CallReply<R>&& r) const { return {std::move(r.value)}; }
};
struct DownOf {
  Ref ref;
  bool operator()(const Down& d) const noexcept { return d.ref == ref; }
};
template <class R>
struct TakeDown {
  CallOutcome<R> operator()(Down&& d) const {
    return {std::expected<R, ExitReason>(std::unexpect, std::move(d.reason)), true};
  }
};
template <class R>
struct CallTimedOut {
  CallOutcome<R> operator()() const {
    return {std::expected<R, ExitReason>(std::unexpect, atoms::timeout)};
  }
};

/// gen_server:call as an awaitable (OTP's gen:do_call): monitor the server, send the request
/// tagged with the monitor, then wait for the reply, the server's Down, or the timeout. It is
/// not a coroutine: it lives in the caller's frame, so a call allocates only its messages.
/// `ExitOnError`: call (the caller exits on failure) rather than try_call.
template <class S, class Req, bool ExitOnError>
class CallAwaiter {
 public:
  using R = reply_t<S, Req>;
  using Result = std::expected<R, ExitReason>;

  CallAwaiter(ServerRef<S> server, Req request, Timeout timeout)
      : server_(std::move(server)), request_(std::move(request)), timeout_(timeout) {}

  bool await_ready() {
    if (server_.remote()) return call_remote();
    std::optional<Pid> pid = server_.resolve();
    if (!pid) return fail(atoms::noproc);
    if (*pid == self()) return fail(atoms::calling_self);
    Ref mref = monitor(*pid);
    deliver(*pid,
            make_message<CallOf<S, Req>>(From{self(), mref, &type_name<R>}, std::move(request_)));
    wait_for(mref);
    return receive_->await_ready();
  }
  void await_suspend(std::coroutine_handle<> h) noexcept { receive_->await_suspend(h); }
  auto await_resume() {
    if (receive_) {
      CallOutcome<R> outcome = receive_->await_resume();
      // Without the Down, the monitor is still there: removing it also turns a late reply away
      // (the reply travels to the monitor as an alias).
      if (!outcome.down) demonitor(mref_, Flush::yes);
      result_ = std::move(outcome.result);
      // OTP's gen:do_call: a monitor that says noconnection is the node going down.
      if (remote_node_ && !result_ && result_.error().is(atoms::noconnection))
        result_ = Result(std::unexpect, Term::tuple(atoms::nodedown, *remote_node_));
    }
    if constexpr (ExitOnError) {
      if (!result_) exit_call_failed(result_.error(), server_.target());
      return std::move(*result_);
    } else {
      return std::move(result_);
    }
  }

 private:
  using ReplyClause = Clause<CallReply<R>, ReplyTagged<R>, TakeReply<R>>;
  using DownClause = Clause<Down, DownOf, TakeDown<R>>;

  bool fail(Atom reason) {
    result_ = Result(std::unexpect, reason);
    return true;
  }
  void wait_for(const Ref& mref) {
    receive_.emplace(
        std::tuple<ReplyClause, DownClause>(ReplyClause{{mref}, {}}, DownClause{{mref}, {}}),
        AfterClause<CallTimedOut<R>>{timeout_, {}});
    mref_ = mref;
    std::move(*receive_).since(mref);
  }

  /// A call to a server of another node, as OTP's gen:do_call makes it: MONITOR_P on the pid or
  /// the name, `{'$gen_call', {Self, [alias | Mref]}, Request}`, and the reply `{[alias | Mref],
  /// Reply}` comes by ALIAS_SEND to the monitor's ref (CallReply's Codec reads it).
  bool call_remote() {
    if constexpr (!Encodable<Req> || !Encodable<R>) {
      throw BadArg("gen_server::call: " + std::string(type_name<Req>()) + " and its reply " +
                   std::string(type_name<R>()) + " need a Codec to be sent to " +
                   server_.describe().to_string() + ", a server of another node");
    } else {
      // The request becomes a term before the monitor: a Codec that throws leaves nothing.
      Term request = Codec<Req>::to_term(request_);
      const RegisteredName* name = server_.registered_name();
      Pid pid = name ? Pid() : *server_.pid();
      remote_node_ = name ? name->node : pid.node();
      Ref mref = name ? monitor(*name) : monitor(pid);
      Term message = Term::tuple(atoms::gen_call,
                                 Term::tuple(self(), Term::cons(Term(atoms::alias), Term(mref))),
                                 std::move(request));
      if (name)
        send(*name, std::move(message));
      else
        send(pid, std::move(message));
      wait_for(mref);
      return receive_->await_ready();
    }
  }

  ServerRef<S> server_;
  Req request_;
  Timeout timeout_;
  Ref mref_;
  std::optional<Atom> remote_node_;  // the server's node, for a call to another node
  Result result_{std::unexpect, atoms::noproc};
  std::optional<ReceiveAwaiter<AfterClause<CallTimedOut<R>>, ReplyClause, DownClause>> receive_;
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
