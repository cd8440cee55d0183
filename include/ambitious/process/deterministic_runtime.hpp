#pragma once
// DeterministicRuntime: a runtime for tests that need an exact order, stepped by the test itself.
//
//   DeterministicRuntime rt;
//   Pid server = rt.spawn(echo_server);
//   Pid client = rt.spawn(client_of, server);
//   rt.step();                                  // the server runs until it waits
//   rt.step(client);                            // the client runs until it waits for the reply
//   EXPECT_TRUE(rt.peek<Request>(server));      // its request waits in the server's mailbox
//   rt.run_until_idle();
//
// No thread of its own: the thread that made it runs the processes, one step at a time, when it
// calls step(). A step runs one process until it next suspends (a receive that waits, a yield,
// its end). step() takes the process one worker would run next: a process woken by the one
// that ran goes first, the others in the order they became runnable; step(pid) runs one out of
// turn. Between steps, every mailbox can be read. Timers fire by the real clock, looked at
// before each step; blocking() calls run on the blocking pool as usual, and their process is
// runnable again when the call returns. Model: CAF's deterministic test fixture.
//
// One runtime at a time per program, like run(). Every member: the thread that made it only.

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "ambitious/core/pid.hpp"
#include "ambitious/process/detail/message.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// A runtime whose processes run only when the test steps them, on the test's thread.
class DeterministicRuntime {
 public:
  /// Starts the runtime; throws std::logic_error if another runtime runs.
  explicit DeterministicRuntime(unsigned blocking_threads = 4);
  /// Destroys every process left (their frames and mailboxes), as run() does when it returns.
  ~DeterministicRuntime();
  DeterministicRuntime(const DeterministicRuntime&) = delete;
  DeterministicRuntime& operator=(const DeterministicRuntime&) = delete;

  /// Starts a process with no parent, runnable at the back of the queue.
  template <class F, class... A>
    requires ProcessBody<F, A...>
  Pid spawn(F&& f, A&&... args) {
    return spawn_task(detail::make_body(std::forward<F>(f), std::forward<A>(args)...));
  }

  /// Sends `value` to `to` from the test, as a process would (ordered with the test's other
  /// sends). A dead `to` drops it.
  template <class T>
    requires std::is_constructible_v<std::decay_t<T>, T&&>
  void send(Pid to, T&& value) {
    detail::post_message(to, detail::make_message<std::decay_t<T>>(std::forward<T>(value)));
  }

  /// Runs the next runnable process for one step; false when none is runnable.
  bool step();
  /// Runs `pid` for one step, out of turn; false when it is not runnable (waiting, or dead).
  bool step(Pid pid);
  /// Steps until no process is runnable, at most `max_steps` times; returns the steps taken
  /// (`max_steps` when processes may still be runnable: runnable() tells).
  std::size_t run_until_idle(std::size_t max_steps = 1'000'000);

  /// The runnable processes, in the order step() runs them.
  std::vector<Pid> runnable();
  /// True while `pid` lives.
  bool alive(Pid pid);
  /// How many messages wait in `pid`'s mailbox, oldest first: those queued and those still in
  /// its inbox (signals are not counted: they become messages, if at all, when it runs). 0 for a
  /// dead pid.
  std::size_t queued(Pid pid);
  /// The `i`th waiting message of `pid` (as counted by queued) if it is a T, else null. Valid
  /// until the next step.
  template <class T>
  const T* peek(Pid pid, std::size_t i = 0) {
    const detail::Message* m = waiting(pid, i);
    return m && m->type == detail::message_type<T> ? &detail::value_of<T>(*m) : nullptr;
  }

 private:
  struct State;

  Pid spawn_task(Task<> body);
  const detail::Message* waiting(Pid pid, std::size_t i);

  std::unique_ptr<State> state_;
};

}  // namespace ambitious
