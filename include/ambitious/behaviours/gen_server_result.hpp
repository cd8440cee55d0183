#pragma once
// What GenServer callbacks return: reply / noreply / stop, with a timeout or a continue.

#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/timeout.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// A list of types, for GenServer's `using info = Types<...>`.
template <class... T>
struct Types {};

/// Who made a call: what reply() needs (OTP's From = {Pid, Tag}).
struct From {
  Pid pid;
  Ref tag;
  /// The reply type the caller waits for, as its type-name function (reply() checks it).
  std::string_view (*reply_type)() noexcept = nullptr;
};

namespace detail {

struct Continuation;

/// A reply held back until terminate has run (stop(reason, value): OTP replies after terminate).
struct HeldReply {
  virtual ~HeldReply() = default;
  virtual void send() = 0;
};

/// What the server loop does after a callback.
struct LoopControl {
  bool stop = false;
  ExitReason reason;                   ///< with stop
  Timeout timeout = infinity;          ///< no message for this long: handle_timeout()
  std::unique_ptr<Continuation> next;  ///< handle_continue(X) to run before the next message
  std::unique_ptr<HeldReply> held;     ///< with stop: the reply, sent once terminate has run

  LoopControl() = default;
  LoopControl(LoopControl&&) noexcept = default;
  LoopControl& operator=(LoopControl&&) noexcept = default;
  ~LoopControl();
};

/// A pending handle_continue(X), with X and the server bound.
struct Continuation {
  virtual ~Continuation() = default;
  virtual Task<LoopControl> run() = 0;
};

inline LoopControl::~LoopControl() = default;

}  // namespace detail

/// The result of handle_cast, handle_info, handle_continue, handle_timeout: noreply() or stop().
class Action {
 public:
  detail::LoopControl control;
};

/// The result of handle_call: reply(v), noreply() (reply later with reply(from, v)), stop(r),
/// or stop(r, v).
template <class R>
class CallResult {
 public:
  using reply_type = R;
  detail::LoopControl control;
  std::optional<R> reply;
};

/// The result of the optional init() callback: ok(), ignore(), or stop(r).
class InitResult {
 public:
  detail::LoopControl control;
  bool ignore = false;
};

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<Task<T>> : std::true_type {
  using value_type = T;
};

}  // namespace ambitious
