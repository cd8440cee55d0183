#pragma once
// Children for the supervisor tests: GenServer and plain-process children that report when
// they are up, journal their start and terminate, and end as they are told.

#include <atomic>
#include <string>
#include <string_view>
#include <utility>

#include "support.hpp"

namespace ambitious::test {

inline const Atom foo("foo");

/// A child says it is up: its name and pid.
struct Up {
  std::string name;
  Pid pid;
};
/// Tells an obedient child how to end.
struct ExitWith {
  ExitReason reason;
};
struct Get {};

/// A GenServer child: journals its start and its terminate, tells `observer` it is up. It traps
/// exits (unless told not to), so terminate runs when its supervisor shuts it down.
struct Worker : GenServer<Worker> {
  Worker(std::string name, Journal* journal, Pid observer, bool trap = true)
      : name(std::move(name)), journal(journal), observer(observer), trap(trap) {}
  InitResult init() {
    if (trap) trap_exit(true);
    journal->add("start " + name);
    send(observer, Up{name, self()});
    return ok();
  }
  using calls = Types<Get>;
  CallResult<std::string> handle_call(Get, const From&) { return reply(name); }
  void terminate(const ExitReason&) { journal->add("stop " + name); }

  std::string name;
  Journal* journal;
  Pid observer;
  bool trap;
};

/// init() fails with `foo`.
struct FailingInit : GenServer<FailingInit> {
  InitResult init() { return stop(foo); }
};

/// A plain child: says it is up, then ends as it is told.
inline Task<> obedient(std::string name, Pid observer) {
  send(observer, Up{name, self()});
  ExitWith e = co_await receive<ExitWith>();
  exit(std::move(e.reason));
}

/// A plain child that traps exits and ignores them (shutdown included): only kill ends it.
inline Task<> ignores_shutdown(std::string name, Pid observer) {
  trap_exit(true);
  send(observer, Up{name, self()});
  for (;;) co_await receive<Exit>();
}

inline Term id(const char* name) { return Term(Atom(name)); }

inline ChildSpec worker(const char* name, Journal* journal, Pid observer, bool trap = true) {
  return server_child<Worker>(id(name), std::string(name), journal, observer, trap);
}

inline ChildSpec obedient_child(const char* name, Pid observer,
                                Restart restart = Restart::permanent) {
  ChildSpec spec = process_child(id(name), obedient, std::string(name), observer);
  spec.restart = restart;
  return spec;
}

/// A child start that says `ignore`.
inline ChildSpec ignoring_child(const char* name, Restart restart = Restart::permanent) {
  ChildSpec child;
  child.id = id(name);
  child.restart = restart;
  child.start = []() -> Task<StartChildResult> {
    co_return std::unexpected(ExitReason(Atom("ignore")));
  };
  return child;
}

/// A child whose start fails while `failures_left` is positive (counting each attempt), and
/// otherwise runs `obedient`.
struct FlakyStart {
  std::atomic<int> failures_left{0};
  std::atomic<int> attempts{0};
};

inline ChildSpec flaky_child(const char* name, Pid observer, FlakyStart* flaky) {
  ChildSpec child;
  child.id = id(name);
  child.start = [name = std::string(name), observer, flaky]() -> Task<StartChildResult> {
    flaky->attempts.fetch_add(1);
    if (flaky->failures_left.load() > 0) {
      flaky->failures_left.fetch_sub(1);
      co_return std::unexpected(ExitReason(foo));
    }
    co_return spawn_link(obedient, name, observer);
  };
  return child;
}

/// Waits until the child `name` says it is up; its pid.
inline Task<Pid> up(std::string_view name) {
  Up u = co_await expect<Up>([name](const Up& x) { return x.name == name; });
  co_return u.pid;
}

}  // namespace ambitious::test
