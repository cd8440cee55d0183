#pragma once
// The running process: self(), exit(), yield(), sleep(), and exit signals to others.

#include <coroutine>
#include <utility>

#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/process/detail/exit_exception.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/timeout.hpp"

namespace ambitious {

/// The pid of the calling process. Throws NotInProcess outside one.
Pid self();

/// A new ref (Erlang's make_ref/0). Inside a process it also marks the mailbox, so that
/// `receive...(...).since(ref)` skips the messages queued before it. Any thread.
Ref make_ref();

/// True when the caller runs inside a process.
bool in_process() noexcept;

namespace detail {
/// Throws NotInProcess naming `function` unless the caller runs inside a process.
void check_in_process(const char* function);
}  // namespace detail

/// Ends the calling process with `reason` (Erlang's exit/1): unwinds the process body as an
/// exception that only the runtime catches as a process exit (it derives from no std type).
/// Inline, so that the exception starts in the caller's frame: one frame less to unwind, which
/// is a good part of what a crash costs.
[[noreturn]] inline void exit(ExitReason reason) {
  detail::check_in_process("exit");
  throw detail::ProcessExit{std::move(reason)};
}

/// Sends an exit signal to `pid` (Erlang's exit/2): `kill` ends it whatever it traps (partners
/// then see `killed`); `normal` is ignored unless `pid` traps exits (then it gets an Exit
/// message) or is the caller; any other reason ends it, or becomes an Exit message if it traps.
void exit(Pid pid, ExitReason reason);

/// Not a process exit: deleted so that `exit(0)` in a process does not compile. Without it, an
/// int argument picks `<cstdlib>`'s ::exit over exit(ExitReason) and ends the whole program
/// silently. End the process with `exit(atoms::normal)`; end the program with `std::exit(code)`.
void exit(int) = delete;

/// True when `pid` names a live local process (false for remote pids, for now).
bool alive(Pid pid);

/// Lets the other runnable processes run; the caller continues after them.
struct YieldAwaiter {
  /// Never ready: yielding suspends.
  bool await_ready() const noexcept { return false; }
  /// Queues the caller behind the other runnable processes.
  void await_suspend(std::coroutine_handle<> h) noexcept;
  /// Nothing to give back.
  void await_resume() const noexcept {}
};
/// `co_await yield()`: long CPU work yields now and then, as there is no preemption.
inline YieldAwaiter yield() noexcept { return {}; }

namespace detail {
struct Nothing {};
}  // namespace detail

/// `co_await sleep(d)`: waits `d` (Erlang's `receive after D -> ok end`): messages stay queued,
/// signals (exits, monitors) are handled meanwhile.
inline auto sleep(Timeout d) {
  return receive(
      match<detail::Nothing>([](const detail::Nothing&) { return false; }, [](detail::Nothing) {}),
      after(d, [] {}));
}

/// Sets the caller's trap_exit flag, returning the old value: exit signals then arrive as
/// Exit messages instead of ending the process (`kill` still ends it).
bool trap_exit(bool on);

}  // namespace ambitious
