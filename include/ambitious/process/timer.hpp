#pragma once
// Timers: send_after, exit_after, cancel_timer, read_timer.

#include <chrono>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/process/detail/message.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/timeout.hpp"

namespace ambitious {

/// Names an armed timer (Erlang's timer reference). Cancel or read it from any process.
struct TimerRef {
  Ref ref;                ///< unique, for printing and comparing
  void* entry = nullptr;  ///< the runtime's timer entry, valid only in the run named by `run`
  std::uint64_t generation = 0;
  std::uint64_t run = 0;  ///< the run that armed it: in any other, the ref names no timer
  friend bool operator==(const TimerRef& a, const TimerRef& b) noexcept { return a.ref == b.ref; }
};

namespace detail {
TimerRef send_message_after(Timeout delay, Pid dest, Message* m);
}  // namespace detail

/// Sends `value` to `dest` after `delay` (a dead `dest` then drops it). Inside a process only.
template <class T>
TimerRef send_after(Timeout delay, Pid dest, T&& value) {
  return detail::send_message_after(delay, dest,
                                    detail::make_message<std::decay_t<T>>(std::forward<T>(value)));
}

/// Sends the exit signal `reason` to `pid` after `delay`, as if the caller called exit(pid, r).
TimerRef exit_after(Timeout delay, Pid pid, ExitReason reason);

/// Cancels the timer: the time that was left, or nothing if it already fired or was cancelled.
/// When this returns a value, the message is never delivered.
std::optional<std::chrono::milliseconds> cancel_timer(const TimerRef& timer);

/// The time left before the timer fires, or nothing if it fired or was cancelled.
std::optional<std::chrono::milliseconds> read_timer(const TimerRef& timer);

}  // namespace ambitious
