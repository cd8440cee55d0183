#pragma once
// The process behind a GenServer (OTP's gen_server:init_it and loop): take the name, build the
// server, run init, tell the starter, then take one message at a time and dispatch it.
// Included at the end of gen_server.hpp; not a header to include on its own.
//
// Only what depends on the server type S is a template here: building S, calling its callbacks,
// the loop. Taking the name, the init handshake with the starter and the reports' text are the
// same for every server: they are compiled once, in src/behaviours/gen_server.cpp.

#include <exception>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

#include "ambitious/behaviours/detail/gen_server_protocol.hpp"
#include "ambitious/process/detail/exit_exception.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/spawn.hpp"

namespace ambitious::detail {

// --- The parts that do not depend on S (src/behaviours/gen_server.cpp) ----------------------

/// Takes `name` for the calling server process. When it is taken, tells the starter
/// `{already_started, Pid}` (or badarg) and ends the process `normal`: an answer, not a crash,
/// so a linked starter is not taken down (OTP's init_it does the same). A via name may wait
/// (a global name asks the cluster's leader).
Task<> claim_server_name(Pid starter, Ref tag, const ServerName& name);
/// Tells the starter that init is done: the server runs.
void ack_server_started(Pid starter, Ref tag);
/// Tells the starter that init said ignore.
void ack_server_ignored(Pid starter, Ref tag);
/// Tells the starter that init failed with `reason`, and ends the process with it.
[[noreturn]] void fail_server_init(Pid starter, Ref tag, ExitReason reason);
/// The starter's side: waits for the answer of the server process `pid` (spawned with `tag`),
/// its end, or `timeout` (then kills it, as OTP does). The server's pid, or why it did not start.
Task<std::expected<Pid, ExitReason>> await_server_start(Pid pid, bool linked, Ref tag,
                                                        Timeout timeout);

/// The reports of a server of type `server` (its type_name).
void report_unexpected_message(std::string_view server, std::string_view what);
void report_unexpected_call(std::string_view server, const Term& request);
/// The From of a call from another node, `{Pid, [alias | Ref]}` or `{Pid, Ref}`, if it is one.
std::optional<From> from_of_wire(const Term& from);
void report_unexpected_exit(std::string_view server, const Exit& e);
void report_terminate_failed(std::string_view server, const ExitReason& reason,
                             const ExitReason& crash);
void report_server_terminated(std::string_view server, const ExitReason& reason,
                              std::string_view last_message);

template <class R>
struct HeldReplyOf final : HeldReply {
  From from;
  R value;
  HeldReplyOf(From f, R v) : from(std::move(f)), value(std::move(v)) {}
  void send() override { send_reply(from, std::move(value)); }
};

/// Sends a call's reply, or holds it until terminate has run (OTP's {stop, Reason, Reply, S}).
template <class R>
LoopControl finish_call(CallResult<R>&& r, const From& from) {
  if (r.reply) {
    if (r.control.stopping())
      r.control.extra->held.reset(new HeldReplyOf<R>(from, std::move(*r.reply)));
    else
      send_reply(from, std::move(*r.reply));
  }
  return std::move(r.control);
}

// Each dispatch below runs one callback. A plain callback's result is set in `control` at once;
// a coroutine callback is returned as the task that gives it, for the loop to await (handlers
// may co_await inside). Nothing is allocated for a plain callback.
using Pending = Task<LoopControl>;

template <class R>
Pending reply_after(Task<CallResult<R>> handler, const From& from) {
  co_return finish_call(co_await std::move(handler), from);
}
/// Runs `f`, a callback returning Action or Task<Action>.
template <class F>
Pending run_action(LoopControl& control, F&& f) {
  if constexpr (is_task<decltype(f())>::value) {
    return action_after(f());
  } else {
    control = Action(f()).control;
    return {};
  }
}

template <class S, class Req>
Pending handle_request(S& s, CallOf<S, Req>& c, LoopControl& control) {
  if constexpr (is_task<decltype(s.handle_call(std::move(c.request),
                                               std::as_const(c.from)))>::value) {
    return reply_after(s.handle_call(std::move(c.request), std::as_const(c.from)), c.from);
  } else {
    control = finish_call(s.handle_call(std::move(c.request), std::as_const(c.from)), c.from);
    return {};
  }
}
template <class S, class Msg>
Pending handle_request(S& s, CastOf<S, Msg>& c, LoopControl& control) {
  return run_action(control, [&] { return s.handle_cast(std::move(c.request)); });
}

/// A message of S's family: the call or cast at its index. `last` names the request type.
template <class S>
Pending dispatch_request(S& s, Message& m, LoopControl& control, std::string_view& last) {
  using Calls = calls_of<S>;
  using Casts = casts_of<S>;
  constexpr std::size_t requests = Calls::size + Casts::size;
  if constexpr (requests == 0) {
    control = {};  // no request type is declared, so none can be sent
    return {};
  } else {
    return visit_index<requests>(m.type->family_index, [&](auto index) -> Pending {
      constexpr std::size_t i = decltype(index)::value;
      if constexpr (i < Calls::size) {
        using Req = type_at_t<i, Calls>;
        last = type_name<Req>();
        return handle_request(s, value_of<CallOf<S, Req>>(m), control);
      } else {
        using Msg = type_at_t<i - Calls::size, Casts>;
        last = type_name<Msg>();
        return handle_request(s, value_of<CastOf<S, Msg>>(m), control);
      }
    });
  }
}

/// An Exit: the parent's ends the server (it traps exits); another goes to handle_info if S
/// declares Exit in its info list.
template <class S>
Pending dispatch_exit(S& s, Exit& e, Pid parent, LoopControl& control) {
  if (e.from == parent) {
    control = stop_with(std::move(e.reason));
    return {};
  }
  if constexpr (contains_v<Exit, info_of<S>>) {
    return run_action(control, [&] { return s.handle_info(std::move(e)); });
  } else {
    report_unexpected_exit(type_name<S>(), e);
    control = {};
    return {};
  }
}

/// A message of a type in S's info list goes to handle_info; any other is logged and dropped,
/// as OTP's default handle_info does.
template <class S, class... Info>
Pending dispatch_info(S& s, Message& m, LoopControl& control, Types<Info...>) {
  Pending pending;
  bool taken =
      ((m.type == message_type<Info> &&
        (pending = run_action(control, [&] { return s.handle_info(std::move(value_of<Info>(m))); }),
         true)) ||
       ...);
  if (!taken) {
    report_unexpected_message(type_name<S>(), m.type->name());
    control = {};
  }
  return pending;
}

/// A call from another node as the Req it decodes as, if Req and its reply have Codecs.
template <class S, class Req>
Message* decode_call(const From& from, const Term& request) {
  if constexpr (Encodable<Req> && Encodable<reply_t<S, Req>>) {
    if (auto r = Codec<Req>::from_term(request)) return make_message<CallOf<S, Req>>(from, *r);
  }
  return nullptr;
}
template <class S, class Msg>
Message* decode_cast(const Term& request) {
  if constexpr (Encodable<Msg>) {
    if (auto r = Codec<Msg>::from_term(request)) return make_message<CastOf<S, Msg>>(*r);
  }
  return nullptr;
}

/// A request from another node, a Term `{'$gen_call', From, Req}` or `{'$gen_cast', Req}`,
/// becomes the CallOf or CastOf message of the first type of S's lists whose Codec decodes Req
/// (null: a call none decodes, reported and dropped: the caller waits until its timeout; S
/// never crashes for it). Any other term is returned as it is, a plain message.
template <class S>
MessagePtr from_wire(MessagePtr m) {
  const Term& t = value_of<Term>(*m.get());
  if (!t.is_tuple()) return m;
  if (t.size() == 3 && t[0] == Term(atoms::gen_call)) {
    std::optional<From> from = from_of_wire(t[1]);
    if (!from) return m;
    Message* call = [&]<class... Calls>(Types<Calls...>) {
      Message* out = nullptr;
      (void)((out = decode_call<S, Calls>(*from, t[2])) || ...);  // the first that decodes
      return out;
    }(calls_of<S>{});
    if (!call) report_unexpected_call(type_name<S>(), t[2]);
    return MessagePtr(call);
  }
  if (t.size() == 2 && t[0] == Term(atoms::gen_cast)) {
    Message* cast = [&]<class... Casts>(Types<Casts...>) {
      Message* out = nullptr;
      (void)((out = decode_cast<S, Casts>(t[1])) || ...);
      return out;
    }(casts_of<S>{});
    if (cast) return MessagePtr(cast);
  }
  return m;
}

/// One turn of the loop: `taken` is the message taken, or null after a timeout. A request from
/// another node (a Term) becomes its CallOf or CastOf message here, in `taken`.
template <class S>
Pending dispatch(S& s, MessagePtr& taken, Pid parent, LoopControl& control,
                 std::string_view& last) {
  Message* m = taken.get();
  if (!m) {
    last = "timeout";
    return run_action(control, [&] { return s.handle_timeout(); });
  }
  if (m->type == message_type<Term>) [[unlikely]] {
    taken = from_wire<S>(std::move(taken));
    m = taken.get();
    if (!m) {  // an undecodable call: dropped, the server goes on (as {noreply, S})
      control.timeout = infinity;
      return {};
    }
  }
  last = m->type->name();
  if (m->type->family == &server_family<S>) return dispatch_request(s, *m, control, last);
  if (m->type == message_type<SystemStop>) {
    control = stop_with(std::move(value_of<SystemStop>(*m).reason));
    return {};
  }
  if (m->type == message_type<Exit>) return dispatch_exit(s, value_of<Exit>(*m), parent, control);
  return dispatch_info(s, *m, control, info_of<S>{});
}

/// Whether S's terminate is a coroutine (a supervisor waits for its children there).
template <class S>
constexpr bool terminate_awaits =
    requires(S& s, const ExitReason& r) { requires is_task<decltype(s.terminate(r))>::value; };

/// Runs S's terminate, if it has one and it is a plain function. Returns the reason the server
/// ends with: `reason`, or, as in OTP, the reason of a crash in terminate (an exception, or
/// exit(r) called there), which is reported.
template <class S>
ExitReason terminate_now(S& s, const ExitReason& reason) {
  if constexpr (requires { s.terminate(reason); }) {
    try {
      s.terminate(reason);
    } catch (...) {
      ExitReason crash = exit_reason_of(std::current_exception());
      report_terminate_failed(type_name<S>(), reason, crash);
      return crash;
    }
  }
  return reason;
}

/// terminate_now for a terminate that is a coroutine.
template <class S>
Task<ExitReason> terminate_later(S& s, const ExitReason& reason) {
  std::optional<ExitReason> crash;
  try {
    co_await s.terminate(reason);
  } catch (...) {
    crash = exit_reason_of(std::current_exception());
  }
  if (crash) {
    report_terminate_failed(type_name<S>(), reason, *crash);
    co_return std::move(*crash);
  }
  co_return reason;
}

/// The body of a server process: take the name, build S, run init(), tell the starter, then
/// the server loop (OTP's gen_server:loop): a pending continue first, else the next message. A
/// crash in any callback becomes the exit reason, after terminate, as OTP's try_dispatch. A
/// linked starter is the server's parent; an unlinked server is its own parent, as in OTP.
/// One coroutine for the whole life of the server: one frame, and one coroutine per server
/// type for the compiler to build (the loop was a second one).
template <class S, class... A>
Task<> server_process(Pid starter, bool linked, Ref tag, std::optional<ServerName> name,
                      A... args) {
  if (name) co_await claim_server_name(starter, tag, *name);
  std::optional<S> server;
  InitResult init;
  std::optional<ExitReason> crash;
  try {
    server.emplace(std::move(args)...);
    if constexpr (requires { server->init(); }) {
      if constexpr (is_task<decltype(server->init())>::value)
        init = co_await server->init();
      else
        init = server->init();
    }
  } catch (...) {
    crash = exit_reason_of(std::current_exception());
  }
  if (crash) {
    report_server_terminated(type_name<S>(), *crash, "init");
    fail_server_init(starter, tag, std::move(*crash));
  }
  if (init.ignore) {
    ack_server_ignored(starter, tag);
    co_return;  // ends normal: a linked starter is not affected
  }
  if (init.control.stopping()) fail_server_init(starter, tag, init.control.extra->reason);
  ack_server_started(starter, tag);

  S& s = *server;
  LoopControl control = std::move(init.control);
  const Pid parent = linked ? starter : self();
  std::string_view last = "none";
  for (;;) {
    try {
      if (control.extra && control.extra->next) {
        auto next = std::move(control.extra->next);  // lives until its handler is done
        Pending pending = next->run(control);
        if (pending) control = co_await std::move(pending);
      } else {
        // The message lives until its handler is done: a handler may hold its From.
        MessagePtr m = co_await receive_next(control.timeout);
        Pending pending = dispatch(s, m, parent, control, last);
        if (pending) control = co_await std::move(pending);
      }
    } catch (...) {
      crash = exit_reason_of(std::current_exception());
    }
    if (crash || control.stopping()) {
      ExitReason reason = crash ? std::move(*crash) : std::move(control.extra->reason);
      std::unique_ptr<HeldReply> held = crash ? nullptr : std::move(control.extra->held);
      // Only a coroutine terminate costs a coroutine frame.
      ExitReason end = reason;
      if constexpr (terminate_awaits<S>)
        end = co_await terminate_later(s, reason);
      else
        end = terminate_now(s, reason);
      if (end == reason) report_server_terminated(type_name<S>(), reason, last);
      if (held) held->send();
      exit(std::move(end));
    }
  }
}

/// Spawns the process of a server S built from `args` (linked to the caller or not) and
/// returns the caller's wait for its init, which does not depend on S: the one coroutine of a
/// server's start that is compiled per server type is the server process itself. The process
/// is spawned at once, by this call, not when the task is first awaited.
template <class S, class... A>
Task<std::expected<Pid, ExitReason>> spawn_server(bool link, const StartOptions& options,
                                                  A... args) {
  Ref tag = make_ref();
  // One call of server_process (its frame keeps copies of the arguments), linked or not.
  Pid pid = spawn_task(server_process<S, A...>(self(), link, tag, options.name, std::move(args)...),
                       link ? SpawnLink::link : SpawnLink::none, nullptr);
  return await_server_start(pid, link, tag, options.timeout);
}

template <class S, class... A>
Task<StartResult<S>> start_server(bool link, StartOptions options, A... args) {
  auto started = co_await spawn_server<S, A...>(link, options, std::move(args)...);
  if (!started) co_return std::unexpected(std::move(started.error()));
  co_return ServerRef<S>(*started);
}

}  // namespace ambitious::detail
