#pragma once
// Application: a named unit with dependencies, an environment, and a supervision tree
// (OTP's application).
//
//   ApplicationSpec field | OTP
//   ----------------------|------------------------------------------------------------
//   name                  | the application's name
//   applications          | the applications it needs, started before it
//   env                   | its environment (application:get_env/2)
//   start                 | Mod:start/2: starts the top supervisor, linked to the caller
//   prep_stop             | Mod:prep_stop/1: runs before the tree is stopped (or after it
//                         | ended on its own); what it returns is passed to stop
//   stop                  | Mod:stop/1: runs after its supervision tree has stopped
//
// When the top supervisor of a started application ends: a permanent application stops every
// other application and the runtime (run() returns 1); a transient one does so only if the
// reason is not normal; a temporary one just goes away. Each case is reported.
// stop_program() stops every application in reverse start order, then the runtime (OTP's
// init:stop); shutdown() halts at once and stops nothing (erlang:halt).

#include <concepts>
#include <expected>
#include <optional>
#include <utility>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/functional.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// What the end of an application's tree does to the program (the table above).
enum class AppType {
  permanent,  ///< its end stops the program
  transient,  ///< an abnormal end stops the program
  temporary,  ///< its end is only reported
};

/// An application's stop callback: takes nothing, or the state prep_stop returned (`[]`, OTP's
/// default state, when there is no prep_stop).
class ApplicationStop {
 public:
  /// No stop callback.
  ApplicationStop() = default;
  /// A stop callback that takes nothing.
  template <class F>
    requires std::invocable<F&>
  ApplicationStop(F f)  // NOLINT: implicit, so that `spec.stop = [] { ... }` reads naturally
      : fn_([f = std::move(f)](const Term&) mutable { f(); }) {}
  /// A stop callback that takes prep_stop's state.
  template <class F>
    requires(std::invocable<F&, const Term&> && !std::invocable<F&>)
  ApplicationStop(F f)  // NOLINT
      : fn_(std::move(f)) {}

  /// Runs the callback with prep_stop's `state`.
  void operator()(const Term& state) const { fn_(state); }
  /// True when there is a callback.
  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }

 private:
  std::function<void(const Term&)> fn_;
};

/// An application: its name, dependencies, environment and callbacks (OTP's .app file and
/// callback module; the table above).
struct ApplicationSpec {
  Atom name;                               ///< the application's name
  std::vector<Atom> applications;          ///< the applications it needs, started before it
  std::vector<std::pair<Atom, Term>> env;  ///< its environment (application::get_env)
  /// Starts the top supervisor, linked to the caller, and returns its pid (Mod:start/2).
  std::function<Task<std::expected<Pid, ExitReason>>()> start;
  /// Runs in the application controller before the top supervisor is stopped (application::stop,
  /// or the program's stop), and also when the top supervisor ended on its own, before stop.
  std::function<Term()> prep_stop;
  /// Runs after the tree has stopped, with what prep_stop returned (Mod:stop/1).
  ApplicationStop stop;
};

namespace application {

/// Makes `spec` known. Error: `{already_loaded, Name}`.
Task<std::expected<void, ExitReason>> load(ApplicationSpec spec);
/// Starts a loaded application whose dependencies run. Errors: `{not_loaded, Name}`,
/// `{not_started, Dep}`, `{already_started, Name}`, or the start's.
Task<std::expected<void, ExitReason>> start(Atom name, AppType type = AppType::temporary);
/// start, and ok when the application already runs (OTP's application:ensure_started/2).
/// Errors: `{not_loaded, Name}`, `{not_started, Dep}`, or the start's.
Task<std::expected<void, ExitReason>> ensure_started(Atom name, AppType type = AppType::temporary);
/// Starts the dependencies (recursively) and then the application; returns those it started.
Task<std::expected<std::vector<Atom>, ExitReason>> ensure_all_started(
    Atom name, AppType type = AppType::temporary);
/// Runs the application's prep_stop, stops its supervision tree, then runs its stop with what
/// prep_stop returned. Error: `{not_started, Name}`.
Task<std::expected<void, ExitReason>> stop(Atom name);
/// The running applications, the last started first (as OTP lists them).
Task<std::vector<Atom>> which_applications();
/// A value of an application's environment. Any process, no call.
std::optional<Term> get_env(Atom app, Atom key);
/// Sets a value of an application's environment. Any process.
void set_env(Atom app, Atom key, Term value);

}  // namespace application

/// Runs `main` and its dependencies as the program: starts them (as permanent), waits until
/// SIGINT or SIGTERM (sent to the program, or raised in any of its threads) or stop_program(),
/// then stops them in reverse order (their trees shut down child by child, terminate callbacks
/// run) and returns 0 (stop_program's code). Returns 1 if an application could not start or a
/// permanent one died. shutdown(code) ends it at once instead, stopping nothing.
int run_application(std::vector<ApplicationSpec> applications, Atom main,
                    RuntimeOptions options = {});

/// Stops the program in order, as OTP's init:stop/1: every running application stops in
/// reverse start order (prep_stop, its tree child by child, stop; each reported), then run()
/// or run_application returns `code`. Returns at once: the stop runs in the application
/// controller, so a process of an application it stops may call it. With no application
/// started it is shutdown(code). Inside a process. The abrupt halt, as erlang:halt/1, is
/// shutdown(code) (ambitious/process/runtime.hpp): no application's stop runs.
void stop_program(int code = 0);

}  // namespace ambitious
