#pragma once
// Timers: send_after, start_timer, exit_after, cancel_timer, read_timer.

#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/chrono.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/process/detail/message.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/timeout.hpp"

namespace ambitious {

/// Names an armed timer (Erlang's timer reference). Cancel or read it from any process.
struct TimerRef {
  Ref ref;                ///< unique, for printing and comparing
  std::uint32_t run = 0;  ///< the run that armed it: in any other, the ref names no timer
  void* entry = nullptr;  ///< the runtime's timer entry, valid only in the run named by `run`
  std::uint64_t generation = 0;  ///< which arming of the entry: a stale ref names none
  friend bool operator==(const TimerRef& a, const TimerRef& b) noexcept { return a.ref == b.ref; }
};

/// What start_timer delivers (Erlang's {timeout, TimerRef, Msg}).
template <class T>
struct TimerTimeout {
  TimerRef timer;  ///< == the ref start_timer returned
  T msg;           ///< the message given to start_timer
};

/// erlang:cancel_timer/2's options.
struct CancelTimerOptions {
  bool async = false;  ///< return at once; with `info`, the result comes as a CancelTimerResult
  bool info = true;    ///< tell the time that was left (else only cancel)
};

/// The result of an async cancel_timer with info (Erlang's {cancel_timer, TimerRef, Result}).
struct CancelTimerResult {
  TimerRef timer;                                 ///< the timer that was cancelled
  std::optional<std::chrono::milliseconds> left;  ///< nothing: it had fired or was cancelled
};

namespace detail {
/// Arms the delivery of `m` under `ref`; `function` names the caller in errors.
TimerRef send_message_after(Timeout delay, Pid dest, Message* m, const Ref& ref,
                            const char* function);
TimerRef send_message_after(Timeout delay, Atom dest, Message* m, const Ref& ref,
                            const char* function);
}  // namespace detail

/// Sends `value` to `dest` after `delay`. A timer to a pid is cancelled when that process ends
/// (at once if it is not alive), as OTP's. Inside a process only.
template <class T>
TimerRef send_after(Timeout delay, Pid dest, T&& value) {
  return detail::send_message_after(delay, dest,
                                    detail::make_message<std::decay_t<T>>(std::forward<T>(value)),
                                    Ref::make(), "send_after");
}

/// Sends `value` to the process registered as `name` when the timer fires (dropped if nobody
/// holds the name then). Not cancelled when a process holding the name ends, as OTP's.
template <class T>
TimerRef send_after(Timeout delay, Atom name, T&& value) {
  return detail::send_message_after(delay, name,
                                    detail::make_message<std::decay_t<T>>(std::forward<T>(value)),
                                    Ref::make(), "send_after");
}

/// As send_after, but delivers TimerTimeout<T>{timer, value} (Erlang's start_timer/3): the
/// message names its timer, so that a receiver can tell it from one it has cancelled.
template <class T>
TimerRef start_timer(Timeout delay, Pid dest, T&& value) {
  using M = TimerTimeout<std::decay_t<T>>;
  Ref ref = Ref::make();
  return detail::send_message_after(
      delay, dest, detail::make_message<M>(M{TimerRef{ref}, std::forward<T>(value)}), ref,
      "start_timer");
}

/// start_timer to the process registered as `name` when the timer fires.
template <class T>
TimerRef start_timer(Timeout delay, Atom name, T&& value) {
  using M = TimerTimeout<std::decay_t<T>>;
  Ref ref = Ref::make();
  return detail::send_message_after(
      delay, name, detail::make_message<M>(M{TimerRef{ref}, std::forward<T>(value)}), ref,
      "start_timer");
}

/// Sends the exit signal `reason` to `pid` after `delay`, as if the caller called exit(pid, r).
TimerRef exit_after(Timeout delay, Pid pid, ExitReason reason);

/// Cancels the timer: the time that was left, or nothing if it already fired or was cancelled.
/// When this returns a value, the message is never delivered.
std::optional<std::chrono::milliseconds> cancel_timer(const TimerRef& timer);

/// erlang:cancel_timer(Timer, Options). With the default options, as cancel_timer(timer).
/// Otherwise it cancels and returns nothing (OTP's ok); with async and info, the caller then
/// gets a CancelTimerResult message.
std::optional<std::chrono::milliseconds> cancel_timer(const TimerRef& timer,
                                                      CancelTimerOptions options);

/// The time left before the timer fires, or nothing if it fired or was cancelled.
std::optional<std::chrono::milliseconds> read_timer(const TimerRef& timer);

/// The runtime's monotonic clock in milliseconds: the clock timers and receive timeouts run on
/// (OTP's erlang:monotonic_time(millisecond)). Any thread.
std::uint64_t monotonic_time_ms() noexcept;

}  // namespace ambitious
