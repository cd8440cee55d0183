#pragma once
// GenServer: the generic server behaviour, as OTP's gen_server.
//
// A server is an object of a user type S deriving from GenServer<S>; its members are the state.
//
//   callback (member of S)          | called                                 | OTP
//   --------------------------------|----------------------------------------|-----------------
//   S(args...), then init()         | by start/start_link, before they       | init/1
//     -> InitResult                 | return: ok(), ignore(), stop(r)        |
//   handle_call(Req, const From&)   | call(server, Req) -> R                 | handle_call/3
//     -> CallResult<R>              |                                        |
//   handle_cast(Msg) -> Action      | cast(server, Msg)                      | handle_cast/2
//   handle_info(Msg) -> Action      | a message of a type in S::info         | handle_info/2
//   handle_continue(X) -> Action    | after a result's .then(X)              | handle_continue/2
//   handle_timeout() -> Action      | nothing came for a result's .after(t)  | timeout info
//   terminate(const ExitReason&)    | stop result, crash, stop(), or the     | terminate/2
//     -> void                       | parent's exit while trapping           |
//
// Only the handlers a server needs are written; each may be overloaded per message type, and may
// return Task<...> of its result to co_await inside (the server waits meanwhile, as in OTP).
// Results: reply(v), noreply(), stop(reason), stop(reason, v), ok(), ignore(), each with
// .after(timeout) and .then(x). Messages of types not in S::info are logged and dropped, as
// OTP's default handle_info does. As in OTP, stop(reason, v) replies once terminate has run, an
// end with a reason other than normal/shutdown/{shutdown, _} is reported, and an exception
// escaping terminate becomes the server's exit reason.

#include <chrono>
#include <exception>
#include <expected>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "ambitious/behaviours/gen_server_result.hpp"
#include "ambitious/behaviours/logger.hpp"
#include "ambitious/behaviours/server_ref.hpp"
#include "ambitious/process/detail/alias.hpp"
#include "ambitious/process/detail/exit_exception.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"

namespace ambitious {

template <class S>
class GenServer;

/// How start/start_link start a server.
struct StartOptions {
  std::optional<ServerName> name;  ///< registered before init; taken: {already_started, Pid}
  Timeout timeout = infinity;      ///< init must finish in time, else the server is killed
};

/// What start/start_link return: the server, or why not (`ignore`, `{already_started, Pid}`,
/// `timeout`, or the reason init failed).
template <class S>
using StartResult = std::expected<ServerRef<S>, ExitReason>;

namespace detail {

template <class T>
struct CallReply {
  Ref tag;
  T value;
};

struct InitAck {
  Ref tag;
  enum Kind { ok, ignore, error } kind;
  ExitReason reason;
};

struct SystemStop {
  ExitReason reason;
};

struct ServerTimeout {};

template <class S>
using call_return_t = decltype(std::declval<S&>().handle_call(std::declval<int>(), From{}));

/// The reply type of S's handle_call for Req.
template <class S, class Req>
using reply_t =
    typename std::conditional_t<is_task<decltype(std::declval<S&>().handle_call(
                                    std::declval<Req>(), std::declval<const From&>()))>::value,
                                typename is_task<decltype(std::declval<S&>().handle_call(
                                    std::declval<Req>(), std::declval<const From&>()))>::value_type,
                                decltype(std::declval<S&>().handle_call(
                                    std::declval<Req>(), std::declval<const From&>()))>::reply_type;

/// A request of some type for a server of type S. One message type per server type, so that the
/// server's loop receives every request with one clause.
template <class S>
struct RequestBase {
  virtual ~RequestBase() = default;
  virtual std::string_view type_name() const noexcept = 0;
  virtual bool is_async() const noexcept = 0;
  virtual LoopControl handle(S& s, const From* from) = 0;       // is_async() == false
  virtual Task<LoopControl> handle_async(S& s, From from) = 0;  // is_async() == true
};

template <class S>
struct CallRequest {
  From from;
  std::unique_ptr<RequestBase<S>> request;
};
template <class S>
struct CastRequest {
  std::unique_ptr<RequestBase<S>> request;
};

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
    throw std::invalid_argument("gen_server::reply: the caller waits for a " +
                                std::string(from.reply_type()) + ", not a " +
                                std::string(type_name<V>()));
  send_to_alias(from.pid, from.tag,
                make_message<CallReply<V>>(CallReply<V>{from.tag, std::forward<R>(value)}));
}

template <class R>
struct HeldReplyOf final : HeldReply {
  From from;
  R value;
  HeldReplyOf(From f, R v) : from(std::move(f)), value(std::move(v)) {}
  void send() override { send_reply(from, std::move(value)); }
};

template <class Result>
LoopControl finish_call(Result&& r, const From& from) {
  if (r.reply) {
    using R = std::decay_t<decltype(*r.reply)>;
    if (r.control.stop)  // OTP's {stop, Reason, Reply, State}: terminate first, then the reply
      r.control.held = std::make_unique<HeldReplyOf<R>>(from, std::move(*r.reply));
    else
      send_reply(from, std::move(*r.reply));
  }
  return std::move(r.control);
}

template <class S, class Req>
struct Call final : RequestBase<S> {
  Req req;
  explicit Call(Req r) : req(std::move(r)) {}
  using Ret =
      decltype(std::declval<S&>().handle_call(std::declval<Req>(), std::declval<const From&>()));
  std::string_view type_name() const noexcept override { return detail::type_name<Req>(); }
  bool is_async() const noexcept override { return is_task<Ret>::value; }
  LoopControl handle(S& s, const From* from) override {
    if constexpr (!is_task<Ret>::value)
      return finish_call(s.handle_call(std::move(req), *from), *from);
    else
      return {};
  }
  Task<LoopControl> handle_async(S& s, From from) override {
    if constexpr (is_task<Ret>::value)
      co_return finish_call(co_await s.handle_call(std::move(req), from), from);
    else
      co_return handle(s, &from);
  }
};

template <class S, class Msg>
struct Cast final : RequestBase<S> {
  Msg msg;
  explicit Cast(Msg m) : msg(std::move(m)) {}
  using Ret = decltype(std::declval<S&>().handle_cast(std::declval<Msg>()));
  std::string_view type_name() const noexcept override { return detail::type_name<Msg>(); }
  bool is_async() const noexcept override { return is_task<Ret>::value; }
  LoopControl handle(S& s, const From*) override {
    if constexpr (!is_task<Ret>::value)
      return Action(s.handle_cast(std::move(msg))).control;
    else
      return {};
  }
  Task<LoopControl> handle_async(S& s, From from) override {
    if constexpr (is_task<Ret>::value)
      co_return Action(co_await s.handle_cast(std::move(msg))).control;
    else
      co_return handle(s, &from);
  }
};

template <class S, class X>
struct ContinueWith final : Continuation {
  S* server;
  X value;
  ContinueWith(S* s, X x) : server(s), value(std::move(x)) {}
  Task<LoopControl> run() override {
    using Ret = decltype(server->handle_continue(std::move(value)));
    if constexpr (is_task<Ret>::value)
      co_return Action(co_await server->handle_continue(std::move(value))).control;
    else
      co_return Action(server->handle_continue(std::move(value))).control;
  }
};

/// What a server's base-class result functions build: knows S, so .then(x) can check that S
/// has handle_continue(X). Converts to the callback's declared result type.
template <class S, class R>
class ResultBuilder {
 public:
  ResultBuilder(S* server, LoopControl control, std::optional<R> reply = std::nullopt,
                bool ignore = false)
      : server_(server), control_(std::move(control)), reply_(std::move(reply)), ignore_(ignore) {}

  /// If no message comes for `t`, handle_timeout() is called (OTP's Timeout in a result).
  ResultBuilder&& after(Timeout t) && {
    control_.timeout = t;
    return std::move(*this);
  }
  /// handle_continue(x) runs before the next message (OTP's {continue, X}).
  template <class X>
  ResultBuilder&& then(X x) && {
    static_assert(
        requires(S& s) { s.handle_continue(std::move(x)); },
        "then(x): the server has no handle_continue taking this type");
    control_.next = std::make_unique<ContinueWith<S, X>>(server_, std::move(x));
    return std::move(*this);
  }

  operator Action() && {
    static_assert(std::is_void_v<R> || std::is_same_v<R, std::monostate>,
                  "a cast/info/continue handler cannot reply: use noreply() or stop(reason)");
    return Action{std::move(control_)};
  }
  operator InitResult() && {
    static_assert(std::is_same_v<R, std::monostate>,
                  "init() returns ok(), ignore() or stop(reason)");
    return InitResult{std::move(control_), ignore_};
  }
  template <class V>
  operator CallResult<V>() && {
    CallResult<V> out{std::move(control_), std::nullopt};
    if constexpr (!std::is_same_v<R, std::monostate>) {
      static_assert(std::is_convertible_v<R&&, V>,
                    "the reply does not convert to the call's reply type");
      if (reply_) out.reply.emplace(std::move(*reply_));
    }
    return out;
  }

 private:
  S* server_;
  LoopControl control_;
  std::optional<R> reply_;
  bool ignore_;
};

}  // namespace detail

namespace gen_server {

/// Sends `value` as the reply to the call `from` (deferred replies, from any process).
template <class R>
void reply(const From& from, R&& value) {
  detail::send_reply(from, std::forward<R>(value));
}

/// Calls `server` with `request` and waits up to `timeout` for the reply (OTP's gen:do_call:
/// monitor the server, send a request tagged with the monitor, wait for the reply, the server's
/// Down, or the timeout). The error is the reason: `noproc` (no such server), `calling_self`,
/// `timeout`, or the server's exit reason. A reply that comes after a timeout is dropped.
template <class S, class Req>
Task<std::expected<detail::reply_t<S, std::decay_t<Req>>, ExitReason>> try_call(
    ServerRef<S> server, Req request, Timeout timeout = std::chrono::seconds(5)) {
  using R = detail::reply_t<S, std::decay_t<Req>>;
  using Out = std::expected<R, ExitReason>;
  std::optional<Pid> pid = server.resolve();
  if (!pid) co_return Out(std::unexpect, atoms::noproc);
  if (*pid == self()) co_return Out(std::unexpect, atoms::calling_self);
  Ref mref = monitor(*pid);
  send(*pid, detail::CallRequest<S>{
                 From{self(), mref, &detail::type_name<R>},
                 std::make_unique<detail::Call<S, std::decay_t<Req>>>(std::move(request))});
  bool down = false;
  Out out = co_await receive(match<detail::CallReply<R>>(
                                 [&](const detail::CallReply<R>& r) { return r.tag == mref; },
                                 [](detail::CallReply<R> r) { return Out(std::move(r.value)); }),
                             match<Down>([&](const Down& d) { return d.ref == mref; },
                                         [&](Down d) {
                                           down = true;
                                           return Out(std::unexpect, std::move(d.reason));
                                         }),
                             after(timeout, [] { return Out(std::unexpect, atoms::timeout); }))
                .since(mref);
  if (!down) demonitor(mref, Flush::yes);  // also turns a late reply away (the alias is gone)
  co_return out;
}

/// try_call that ends the caller on failure, as OTP's call exits the caller:
/// `{Reason, {gen_server, call, [Server]}}`.
template <class S, class Req>
Task<detail::reply_t<S, std::decay_t<Req>>> call(ServerRef<S> server, Req request,
                                                 Timeout timeout = std::chrono::seconds(5)) {
  auto r = co_await try_call(server, std::move(request), timeout);
  if (!r)
    exit(ExitReason(Term::tuple(r.error().term(), Term::tuple(atoms::gen_server, atoms::call,
                                                              Term::list(server.describe())))));
  co_return std::move(*r);
}

/// Sends `msg` to handle_cast, without waiting; a server that does not exist is ignored.
template <class S, class Msg>
void cast(const ServerRef<S>& server, Msg msg) {
  if (std::optional<Pid> pid = server.resolve())
    send(*pid, detail::CastRequest<S>{
                   std::make_unique<detail::Cast<S, std::decay_t<Msg>>>(std::move(msg))});
}

/// Stops the server with `reason` (terminate runs) and waits until it is gone. The error is
/// `noproc`, `timeout`, or another reason the server ended with.
template <class S>
Task<std::expected<void, ExitReason>> stop(ServerRef<S> server, ExitReason reason = atoms::normal,
                                           Timeout timeout = infinity) {
  using Out = std::expected<void, ExitReason>;
  std::optional<Pid> pid = server.resolve();
  if (!pid) co_return Out(std::unexpect, atoms::noproc);
  Ref mref = monitor(*pid);
  send(*pid, detail::SystemStop{reason});
  auto down =
      co_await receive_if<Down>([&](const Down& d) { return d.ref == mref; }, timeout).since(mref);
  if (!down) {
    demonitor(mref, Flush::yes);
    co_return Out(std::unexpect, atoms::timeout);
  }
  if (down->reason == reason) co_return Out();
  co_return Out(std::unexpect,
                down->reason.is(atoms::noproc) ? ExitReason(atoms::noproc) : down->reason);
}

}  // namespace gen_server

namespace detail {

template <class S>
using info_types_t = typename S::info;

/// Runs S's terminate, if it has one (it may be a coroutine: a supervisor waits for its
/// children there). Returns the reason the server ends with: `reason`, or, as in OTP, the
/// reason of a crash in terminate (an exception, or exit(r) called there), which is reported.
template <class S>
Task<ExitReason> call_terminate(S& s, ExitReason reason) {
  if constexpr (requires { s.terminate(reason); }) {
    std::optional<ExitReason> crash;
    try {
      using Ret = decltype(s.terminate(reason));
      if constexpr (is_task<Ret>::value)
        co_await s.terminate(reason);
      else
        s.terminate(reason);
    } catch (const ProcessExit& e) {
      crash = e.reason;
    } catch (const std::exception& e) {
      crash = ExitReason::exception(e.what());
    } catch (...) {
      crash = ExitReason::exception("unknown exception");
    }
    if (crash) {
      log(LogReport{LogLevel::error, "gen_server_terminate_failed", self(),
                    "** terminate of " + std::string(type_name<S>()) + " " + to_string(self()) +
                        " (ending with " + reason.to_string() + ") failed: " + crash->to_string()});
      co_return std::move(*crash);
    }
  }
  co_return reason;
}

template <class S>
void report_termination(const ExitReason& reason, std::string_view last_message) {
  if (reason.is_normal() || reason.is_shutdown()) return;  // OTP reports only abnormal ends
  if (!log_enabled(LogLevel::error)) return;
  log(LogReport{LogLevel::error, "gen_server_terminated", self(),
                "** Generic server " + to_string(self()) + " (" + std::string(type_name<S>()) +
                    ") terminating\n** Last message in was of type " + std::string(last_message) +
                    "\n** Reason for termination ==\n** " + reason.to_string()});
}

/// A callback's outcome: at once (a plain handler), or after a co_await (a Task handler).
using Outcome = std::variant<LoopControl, Task<LoopControl>>;

template <class A>
Task<LoopControl> action_task(Task<A> t) {
  co_return Action(co_await std::move(t)).control;
}

template <class Ret, class F>
Outcome action_outcome(F&& f) {
  if constexpr (is_task<Ret>::value)
    return action_task(f());
  else
    return Action(f()).control;
}

/// S::info without Exit (the loop always receives Exit: it must see its parent's).
template <class... T>
struct without_exit;
template <>
struct without_exit<> {
  using type = Types<>;
};
template <class T, class... Rest>
struct without_exit<T, Rest...> {
  template <class... R>
  static Types<T, R...> prepend(Types<R...>);
  using rest = typename without_exit<Rest...>::type;
  using type = std::conditional_t<std::is_same_v<T, Exit>, rest, decltype(prepend(rest{}))>;
};
template <class L>
struct info_list;
template <class... T>
struct info_list<Types<T...>> {
  using type = typename without_exit<T...>::type;
  static constexpr bool has_exit = (std::is_same_v<T, Exit> || ...);
};

/// One message the loop took, handled outside the receive (where handlers may co_await).
template <class S, class... Info>
struct Event {
  std::variant<std::monostate, CallRequest<S>, CastRequest<S>, SystemStop, Exit, ServerTimeout,
               Info...>
      what;
  std::string_view type;
};
inline constexpr std::size_t first_info = 6;  // index of the first Info in Event::what

template <std::size_t I, class S, class V>
Outcome invoke_info(S& s, V& what) {
  auto& m = std::get<I>(what);
  using Ret = decltype(s.handle_info(std::move(m)));
  return action_outcome<Ret>([&] { return s.handle_info(std::move(m)); });
}

template <class S, bool exit_is_info, class... Info>
Outcome handle_event(S& s, Event<S, Info...>& ev, Pid parent, std::string_view& last) {
  auto& what = ev.what;
  switch (what.index()) {
    case 0:  // a message of a type the server did not declare
      log(LogReport{LogLevel::warning, "gen_server_unexpected_message", self(),
                    "** " + std::string(type_name<S>()) + " " + to_string(self()) +
                        " dropped a message of undeclared type " + std::string(ev.type)});
      return LoopControl{};
    case 1: {
      auto& c = std::get<1>(what);
      last = c.request->type_name();
      if (c.request->is_async()) return c.request->handle_async(s, c.from);
      return c.request->handle(s, &c.from);
    }
    case 2: {
      auto& c = std::get<2>(what);
      last = c.request->type_name();
      if (c.request->is_async()) return c.request->handle_async(s, From{});
      return c.request->handle(s, nullptr);
    }
    case 3: {
      LoopControl stop;
      stop.stop = true;
      stop.reason = std::move(std::get<3>(what).reason);
      return stop;
    }
    case 4: {
      auto& e = std::get<4>(what);
      if (e.from == parent) {  // trapping, and the parent ended: so does the server (OTP)
        LoopControl stop;
        stop.stop = true;
        stop.reason = std::move(e.reason);
        return stop;
      }
      if constexpr (exit_is_info) {
        using Ret = decltype(s.handle_info(std::move(e)));
        return action_outcome<Ret>([&] { return s.handle_info(std::move(e)); });
      } else {
        log(LogReport{LogLevel::warning, "gen_server_unexpected_message", self(),
                      "** " + std::string(type_name<S>()) + " " + to_string(self()) +
                          " dropped an Exit from " + to_string(e.from) + ": " +
                          e.reason.to_string()});
        return LoopControl{};
      }
    }
    case 5: {
      using Ret = decltype(s.handle_timeout());
      return action_outcome<Ret>([&] { return s.handle_timeout(); });
    }
    default: {
      Outcome out;
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (void)((what.index() == first_info + I ? (out = invoke_info<first_info + I>(s, what), true)
                                               : false) ||
               ...);
      }(std::index_sequence_for<Info...>{});
      return out;
    }
  }
}

/// The server loop (OTP's gen_server:loop): continues first, then one message at a time.
template <class S, class... Info>
Task<> serve(S& s, LoopControl control, Pid parent, Types<Info...>) {
  constexpr bool exit_is_info = info_list<typename S::info>::has_exit;
  using Ev = Event<S, Info...>;
  std::string_view last = "none";
  std::optional<ExitReason> crash;
  for (;;) {
    if (control.next && !control.stop) {
      auto next = std::move(control.next);
      try {
        control = co_await next->run();
      } catch (const ProcessExit& e) {
        crash = e.reason;
      } catch (const std::exception& e) {
        crash = ExitReason::exception(e.what());
      }
    }
    if (crash || control.stop) {
      ExitReason reason = crash ? *crash : control.reason;
      std::unique_ptr<HeldReply> held = crash ? nullptr : std::move(control.held);
      ExitReason end = co_await call_terminate(s, reason);
      if (end == reason) report_termination<S>(reason, last);
      if (held) held->send();
      exit(std::move(end));
    }
    if (control.next) continue;
    Ev ev = co_await receive(
        [](CallRequest<S> r) {
          return Ev{std::move(r), "call"};
        },
        [](CastRequest<S> r) {
          return Ev{std::move(r), "cast"};
        },
        [](SystemStop r) {
          return Ev{std::move(r), "system stop"};
        },
        [](Exit e) {
          return Ev{std::move(e), "Exit"};
        },
        [](Info m) {
          return Ev{std::move(m), type_name<Info>()};
        }...,
        match_any([](std::string_view type) {
          return Ev{std::monostate{}, type};
        }),
        after(control.timeout, [] {
          return Ev{ServerTimeout{}, "timeout"};
        }));
    last = ev.type;
    try {
      Outcome out = handle_event<S, exit_is_info>(s, ev, parent, last);
      if (auto* t = std::get_if<Task<LoopControl>>(&out))
        control = co_await std::move(*t);
      else
        control = std::move(std::get<LoopControl>(out));
    } catch (const ProcessExit& e) {
      crash = e.reason;
    } catch (const std::exception& e) {
      crash = ExitReason::exception(e.what());
    } catch (...) {
      crash = ExitReason::exception("unknown exception");
    }
  }
}

inline ExitReason already_started(Pid holder) {
  return ExitReason(Term::tuple(atoms::already_started, holder));
}

/// The body of a server process: take the name, build S, run init(), tell the starter, serve.
/// A linked starter is the server's parent; an unlinked server is its own parent, as in OTP.
template <class S, class... A>
Task<> server_process(Pid starter, bool linked, Ref tag, std::optional<ServerName> name,
                      A... args) {
  auto fail = [&](InitAck::Kind kind, ExitReason reason) {
    send(starter, InitAck{tag, kind, reason});
    exit(std::move(reason));
  };
  // A taken name is an answer, not a crash: the starter gets {already_started, Pid} and this
  // process ends `normal`, so a linked starter is not taken down (OTP's init_it does the same).
  auto taken = [&](ExitReason reason) {
    send(starter, InitAck{tag, InitAck::error, std::move(reason)});
    exit(atoms::normal);
  };
  if (name) {
    if (auto* atom = std::get_if<Atom>(&*name)) {
      if (auto holder = whereis(*atom)) taken(already_started(*holder));
      try {
        register_name(*atom, self());
      } catch (const BadArg&) {
        auto holder = whereis(*atom);
        taken(holder ? already_started(*holder) : ExitReason(atoms::badarg));
      }
    } else {
      Pid holder;
      if (!std::get<1>(*name)->register_self(&holder)) taken(already_started(holder));
    }
  }
  std::optional<S> server;
  InitResult init;
  std::optional<ExitReason> crash;
  try {
    server.emplace(std::move(args)...);
    if constexpr (requires { server->init(); }) {
      using Ret = decltype(server->init());
      if constexpr (is_task<Ret>::value)
        init = co_await server->init();
      else
        init = server->init();
    }
  } catch (const ProcessExit& e) {
    crash = e.reason;
  } catch (const std::exception& e) {
    crash = ExitReason::exception(e.what());
  } catch (...) {
    crash = ExitReason::exception("unknown exception");
  }
  if (crash) {
    report_termination<S>(*crash, "init");
    fail(InitAck::error, *crash);
  }
  if (init.ignore) {
    send(starter, InitAck{tag, InitAck::ignore, atoms::ignore});
    co_return;  // ends normal: a linked starter is not affected
  }
  if (init.control.stop) fail(InitAck::error, init.control.reason);
  send(starter, InitAck{tag, InitAck::ok, atoms::normal});
  co_await serve(*server, std::move(init.control), linked ? starter : self(),
                 typename info_list<typename S::info>::type{});
}

template <class S, class... A>
Task<StartResult<S>> start_server(bool link, StartOptions options, A... args) {
  Ref tag = make_ref();
  Pid pid =
      link
          ? spawn_link(server_process<S, A...>, self(), true, tag, options.name, std::move(args)...)
          : spawn(server_process<S, A...>, self(), false, tag, options.name, std::move(args)...);
  Ref mref = monitor(pid);
  using Out = StartResult<S>;
  bool timed_out = false;
  Out out =
      co_await receive(match<InitAck>([&](const InitAck& a) { return a.tag == tag; },
                                      [&](InitAck a) {
                                        if (a.kind == InitAck::ok) return Out(ServerRef<S>(pid));
                                        return Out(std::unexpect, std::move(a.reason));
                                      }),
                       match<Down>([&](const Down& d) { return d.ref == mref; },
                                   [](Down d) { return Out(std::unexpect, std::move(d.reason)); }),
                       after(options.timeout, [&] {
                         timed_out = true;
                         return Out(std::unexpect, atoms::timeout);
                       }));
  if (timed_out) {
    // OTP: init took too long, so the server is killed (unlinked first, so the caller lives)
    // and start fails with `timeout`. An ack it sent meanwhile comes before its Down: drop it.
    if (link) unlink(pid);
    ambitious::exit(pid, atoms::kill);
    co_await receive_if<Down>([&](const Down& d) { return d.ref == mref; });
    co_await receive_if<InitAck>([&](const InitAck& a) { return a.tag == tag; },
                                 std::chrono::milliseconds(0));
    co_return out;
  }
  demonitor(mref, Flush::yes);
  co_return out;
}

}  // namespace detail

/// The base of every server type S (CRTP). It gives S the result functions its callbacks
/// return, defaults for the callbacks it leaves out, and start/start_link.
template <class S>
class GenServer {
 public:
  /// The message types handle_info takes; a server that wants others declares its own list.
  using info = Types<>;

  /// Starts a server process that builds S from `args` and runs init(); returns once init is
  /// done (OTP's gen_server:start). Inside a process.
  template <class... A>
  static Task<StartResult<S>> start(A... args) {
    return detail::start_server<S>(false, StartOptions{}, std::move(args)...);
  }
  template <class... A>
  static Task<StartResult<S>> start(StartOptions options, A... args) {
    return detail::start_server<S>(false, std::move(options), std::move(args)...);
  }
  /// start, linked to the caller (OTP's gen_server:start_link). If init fails, the error is
  /// returned and, as in OTP, the link delivers the failure reason to the caller too.
  template <class... A>
  static Task<StartResult<S>> start_link(A... args) {
    return detail::start_server<S>(true, StartOptions{}, std::move(args)...);
  }
  template <class... A>
  static Task<StartResult<S>> start_link(StartOptions options, A... args) {
    return detail::start_server<S>(true, std::move(options), std::move(args)...);
  }

  /// Default: no message for the timeout a result asked for is not expected; keep going.
  Action handle_timeout() { return noreply(); }

 protected:
  using Ok = std::monostate;

  /// init(): the server is ready.
  detail::ResultBuilder<S, Ok> ok() { return {server(), {}}; }
  /// init(): do not start (start returns the error `ignore`; the process ends normal).
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
    detail::LoopControl c;
    c.stop = true;
    c.reason = std::move(reason);
    return {server(), std::move(c)};
  }
  /// handle_call: reply `value`, then stop with `reason`.
  template <class R>
  detail::ResultBuilder<S, std::decay_t<R>> stop(ExitReason reason, R&& value) {
    detail::LoopControl c;
    c.stop = true;
    c.reason = std::move(reason);
    return {server(), std::move(c), std::optional<std::decay_t<R>>(std::forward<R>(value))};
  }
  /// A deferred reply to `from` (from a later callback).
  template <class R>
  void reply(const From& from, R&& value) {
    gen_server::reply(from, std::forward<R>(value));
  }

 private:
  S* server() noexcept { return static_cast<S*>(this); }
};

}  // namespace ambitious
