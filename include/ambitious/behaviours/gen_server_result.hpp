#pragma once
// What GenServer callbacks return: reply / noreply / stop, with a timeout or a continue.

#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "ambitious/behaviours/types.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/timeout.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// Who made a call: what reply() needs (OTP's From = {Pid, Tag}).
struct From {
  Pid pid;  ///< the caller
  Ref tag;  ///< the call's tag, which the reply carries back
  /// The reply type the caller waits for, as its type-name function (reply() checks it).
  std::string_view (*reply_type)() noexcept = nullptr;
  /// A caller of another node that tagged its call with a plain ref, not `[alias | Ref]`: the
  /// reply goes to its pid as `{Tag, Reply}`, not to the alias.
  bool plain_tag = false;
};

namespace detail {

/// A reply held back until terminate has run (stop(reason, value): OTP replies after terminate).
struct HeldReply {
  virtual ~HeldReply() = default;
  virtual void send() = 0;
};

struct LoopControl;

/// A pending handle_continue(X), with X and the server bound.
struct Continuation {
  virtual ~Continuation() = default;
  /// Runs handle_continue: a plain one sets `control` and returns no task; a coroutine one
  /// returns the task that gives the control, for the loop to await.
  virtual Task<LoopControl> run(LoopControl& control) = 0;
};

/// The rare part of what a callback returns: a stop (its reason, and a reply held until
/// terminate has run) or a handle_continue to run.
struct LoopExtra {
  bool stop = false;
  ExitReason reason;                   ///< with stop
  std::unique_ptr<Continuation> next;  ///< handle_continue(X) to run before the next message
  std::unique_ptr<HeldReply> held;     ///< with stop: the reply, sent once terminate has run
};
/// Deletes a LoopExtra out of line (src/behaviours/gen_server.cpp).
struct DropLoopExtra {
  void operator()(LoopExtra* extra) const noexcept;
};

/// What the server loop does after a callback. Most callbacks reply or go on with at most a
/// timeout; only a stop or a continue has an extra part, so that destroying or assigning a
/// control, which every handler's result does several times over in the user's code, is a
/// null test and not the inlined destructors of a reason and two handlers.
struct LoopControl {
  Timeout timeout = infinity;  ///< no message for this long: handle_timeout()
  std::unique_ptr<LoopExtra, DropLoopExtra> extra;

  /// A stop was asked for.
  bool stopping() const noexcept { return extra && extra->stop; }
  /// The extra part, made on first use.
  LoopExtra& more();
};

/// The control of a stop with `reason`.
LoopControl stop_with(ExitReason reason);

}  // namespace detail

/// The result of handle_cast, handle_info, handle_continue, handle_timeout: noreply() or stop().
class Action {
 public:
  detail::LoopControl control;  ///< what the server loop does next (the library's)
};

/// The result of handle_call: reply(v), noreply() (reply later with reply(from, v)), stop(r),
/// or stop(r, v).
template <class R>
class CallResult {
 public:
  using reply_type = R;         ///< what the call returns to the caller
  detail::LoopControl control;  ///< what the server loop does next (the library's)
  std::optional<R> reply;       ///< the reply, if there is one now
};

/// The result of the optional init() callback: ok(), ignore(), or stop(r).
class InitResult {
 public:
  detail::LoopControl control;  ///< what the server loop does next (the library's)
  bool ignore = false;          ///< init said ignore()
};

namespace detail {

/// The control a coroutine handler's Action gives, once it is done.
template <class A>
Task<LoopControl> action_after(Task<A> handler) {
  co_return Action(co_await std::move(handler)).control;
}

template <class S, class X>
struct ContinueWith final : Continuation {
  S* server;
  X value;
  ContinueWith(S* s, X x) : server(s), value(std::move(x)) {}
  // Not a coroutine: a plain handle_continue costs no coroutine frame, nor a coroutine for the
  // compiler to build per (S, X).
  Task<LoopControl> run(LoopControl& control) override {
    if constexpr (is_task<decltype(server->handle_continue(std::move(value)))>::value) {
      return action_after(server->handle_continue(std::move(value)));
    } else {
      control = Action(server->handle_continue(std::move(value))).control;
      return {};
    }
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
    control_.more().next.reset(new ContinueWith<S, X>(server_, std::move(x)));
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

}  // namespace ambitious
