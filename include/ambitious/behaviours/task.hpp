#pragma once
// Async tasks (Elixir's Task and Task.Supervisor): run a function in a process, await its result.
//
//   task::async(f)                     a process running f, linked to and monitored by the caller
//   task::await(t, timeout = 5 s)      its result; a crash, or no result in time, ends the caller
//   task::yield(t, timeout)            its result, its crash reason, or nothing yet (it goes on)
//   task::yield_many(ts, timeout)      the same for several, waiting for them together
//   task::shutdown(t, how)             stops it; its result if it came first
//   task::async_nolink(sup, f)         a task started by a task supervisor (a DynamicSupervisor),
//                                      not linked to the caller: a crash is a yield/await error
//
// f returns a value, or Task<value> to co_await inside; a void f gives std::monostate. A reply
// that arrives after the caller gave up waiting (await's timeout, shutdown) is dropped.

#include <expected>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ambitious/behaviours/child_spec.hpp"
#include "ambitious/behaviours/dynamic_supervisor.hpp"
#include "ambitious/core/chrono.hpp"
#include "ambitious/core/functional.hpp"
#include "ambitious/process/detail/alias.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// A running task (Elixir's %Task{}): its process and the ref its result comes tagged with.
template <class T>
struct AsyncTask {
  Pid pid;                ///< the task's process
  Ref ref;                ///< the caller's monitor on the task; also where its result is accepted
  Pid owner;              ///< only the owner may await it
  bool finished = false;  ///< its outcome was taken (by yield, await, yield_many or shutdown)
};

/// A task's outcome: its result, or the reason it ended without one.
template <class T>
using TaskOutcome = std::expected<T, ExitReason>;

namespace detail {

struct TaskGo {
  Ref ref;
};
template <class T>
struct TaskReply {
  Ref ref;
  T value;
};

/// What a task of f gives: f's value (co_awaited if f returns a Task), std::monostate for void.
template <class F>
struct task_value {
  using unwrapped = unwrap_task_t<std::invoke_result_t<F&>>;
  using type = std::conditional_t<std::is_void_v<unwrapped>, std::monostate, unwrapped>;
};

/// The task process: wait until the owner watches (it sends the ref), run f, send the result
/// to the owner's monitor ref (dropped there if the owner stopped waiting).
template <class F, class T = typename task_value<F>::type>
Task<> task_body(Pid owner, F f) {
  TaskGo go = co_await ambitious::receive<TaskGo>();
  Ref ref = go.ref;
  using Raw = std::invoke_result_t<F&>;
  std::optional<T> value;
  if constexpr (is_task<Raw>::value) {
    if constexpr (std::is_void_v<typename is_task<Raw>::value_type>) {
      co_await f();
      value.emplace();
    } else {
      value.emplace(co_await f());
    }
  } else if constexpr (std::is_void_v<Raw>) {
    f();
    value.emplace();
  } else {
    value.emplace(f());
  }
  send_to_alias(owner, ref, make_message<TaskReply<T>>(TaskReply<T>{ref, std::move(*value)}));
}

template <class T>
void require_owner(const AsyncTask<T>& t, const char* function) {
  if (t.owner != self())
    throw BadArg(std::string(function) +
                 ": only the process that started the task may wait for it");
}

template <class T>
auto task_clauses_result(const AsyncTask<T>& t) {
  return std::make_tuple(
      match<TaskReply<T>>(
          [ref = t.ref](const TaskReply<T>& r) { return r.ref == ref; },
          [](TaskReply<T> r) { return std::optional<TaskOutcome<T>>(std::move(r.value)); }),
      match<Down>([ref = t.ref](const Down& d) { return d.ref == ref; },
                  [](Down d) {
                    return std::optional<TaskOutcome<T>>(std::unexpected(std::move(d.reason)));
                  }));
}

}  // namespace detail

namespace task {

/// Runs f in a new process linked to the caller (Elixir's Task.async).
template <class F>
  requires std::invocable<F&>
AsyncTask<typename detail::task_value<F>::type> async(F f) {
  using T = typename detail::task_value<F>::type;
  Pid owner = self();
  auto [pid, ref] = spawn_monitor(detail::task_body<F, T>, owner, std::move(f));
  link(pid);  // before it runs f: it waits for TaskGo
  send(pid, detail::TaskGo{ref});
  return AsyncTask<T>{pid, ref, owner};
}

/// Waits up to `timeout` for the task: its result, its crash reason, or nothing if it is still
/// running (then it keeps running and may be waited for again). Elixir's Task.yield.
template <class T>
Task<std::optional<TaskOutcome<T>>> yield(AsyncTask<T>& t,
                                          Timeout timeout = std::chrono::seconds(5)) {
  detail::require_owner(t, "task::yield");
  if (t.finished) co_return std::nullopt;
  auto [on_reply, on_down] = detail::task_clauses_result(t);
  auto r = co_await receive(std::move(on_reply), std::move(on_down),
                            after(timeout, [] { return std::optional<TaskOutcome<T>>(); }))
               .since(t.ref);
  if (r) {
    t.finished = true;
    if (r->has_value()) demonitor(t.ref, Flush::yes);
  }
  co_return r;
}

/// The task's result (Elixir's Task.await). If it crashes, or gives nothing within `timeout`,
/// the caller exits: `{Reason, {task, await}}` (a linked task then ends with the caller).
template <class T>
Task<T> await(AsyncTask<T>& t, Timeout timeout = std::chrono::seconds(5)) {
  auto r = co_await yield(t, timeout);
  ExitReason why = !r ? ExitReason(atoms::timeout) : r->has_value() ? ExitReason() : r->error();
  if (r && r->has_value()) co_return std::move(**r);
  if (!r) demonitor(t.ref, Flush::yes);
  t.finished = true;
  exit(ExitReason(Term::tuple(why.term(), Term::tuple(atoms::task, atoms::await))));
}

/// Waits for several tasks together, up to `timeout` in all: for each, its outcome, or nothing
/// if it is still running (Elixir's Task.yield_many).
template <class T>
Task<std::vector<std::optional<TaskOutcome<T>>>> yield_many(
    std::vector<AsyncTask<T>>& tasks, Timeout timeout = std::chrono::seconds(5)) {
  std::vector<std::optional<TaskOutcome<T>>> out(tasks.size());
  std::size_t left = 0;
  for (auto& t : tasks) {
    detail::require_owner(t, "task::yield_many");
    if (!t.finished) ++left;
  }
  std::uint64_t deadline_ms =
      timeout.is_infinite() ? 0 : static_cast<std::uint64_t>(timeout.milliseconds());
  auto start = std::chrono::steady_clock::now();
  auto index_of = [&](const Ref& ref) -> std::size_t {
    for (std::size_t i = 0; i < tasks.size(); ++i)
      if (tasks[i].ref == ref && !tasks[i].finished) return i;
    return tasks.size();
  };
  while (left > 0) {
    Timeout wait = infinity;
    if (!timeout.is_infinite()) {
      auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      std::uint64_t used = static_cast<std::uint64_t>(spent.count());
      wait = std::chrono::milliseconds(used >= deadline_ms ? 0 : deadline_ms - used);
    }
    bool got = co_await receive(
        match<detail::TaskReply<T>>(
            [&](const detail::TaskReply<T>& r) { return index_of(r.ref) < tasks.size(); },
            [&](detail::TaskReply<T> r) {
              std::size_t i = index_of(r.ref);
              out[i].emplace(std::move(r.value));
              tasks[i].finished = true;
              demonitor(r.ref, Flush::yes);
              return true;
            }),
        match<Down>([&](const Down& d) { return index_of(d.ref) < tasks.size(); },
                    [&](Down d) {
                      std::size_t i = index_of(d.ref);
                      out[i].emplace(std::unexpected(std::move(d.reason)));
                      tasks[i].finished = true;
                      return true;
                    }),
        after(wait, [] { return false; }));
    if (!got) break;
    --left;
  }
  co_return out;
}

/// Stops the task: unlinks it, asks it to stop (kills it after `how`'s time), and returns its
/// outcome if it came before it stopped, else nothing (Elixir's Task.shutdown).
template <class T>
Task<std::optional<TaskOutcome<T>>> shutdown(
    AsyncTask<T>& t, Shutdown how = Shutdown::timeout(std::chrono::seconds(5))) {
  detail::require_owner(t, "task::shutdown");
  if (t.finished) co_return std::nullopt;
  t.finished = true;
  unlink(t.pid);
  exit(t.pid, how.is_brutal_kill() ? atoms::kill : atoms::shutdown);
  Timeout wait = how.is_brutal_kill() || how.is_infinity() ? infinity : Timeout(how.time());
  auto [on_reply, on_down] = detail::task_clauses_result(t);
  auto r = co_await receive(std::move(on_reply), std::move(on_down),
                            after(wait, [] { return std::optional<TaskOutcome<T>>(); }));
  if (!r) {  // out of time: kill it and take its Down (or a reply that beat the kill)
    exit(t.pid, atoms::kill);
    auto [reply2, down2] = detail::task_clauses_result(t);
    r = co_await receive(std::move(reply2), std::move(down2));
  }
  if (r->has_value()) {
    demonitor(t.ref, Flush::yes);
    co_return r;
  }
  // Ended without a result: report the reason unless it is the one we asked for.
  const ExitReason& reason = r->error();
  if (reason.is(atoms::shutdown) || reason.is(atoms::killed)) co_return std::nullopt;
  co_return r;
}

/// Runs f in a new process started by the task supervisor `sup`, not linked to the caller, but
/// monitored by it (Elixir's Task.Supervisor.async_nolink). Errors: the supervisor's
/// (`max_children`, `noproc` if it is gone).
template <class F>
  requires std::invocable<F&>
Task<std::expected<AsyncTask<typename detail::task_value<F>::type>, ExitReason>> async_nolink(
    dynamic_supervisor::Ref sup, F f) {
  using T = typename detail::task_value<F>::type;
  Pid owner = self();
  ChildSpec spec =
      process_child(Term(atoms::undefined), detail::task_body<F, T>, owner, std::move(f));
  spec.restart = Restart::temporary;
  auto started = co_await dynamic_supervisor::start_child(sup, std::move(spec));
  if (!started) co_return std::unexpected(started.error());
  if (!*started) co_return std::unexpected(ExitReason(atoms::ignore));
  Pid pid = **started;
  Ref ref = monitor(pid);
  send(pid, detail::TaskGo{ref});
  co_return AsyncTask<T>{pid, ref, owner};
}

}  // namespace task
}  // namespace ambitious
