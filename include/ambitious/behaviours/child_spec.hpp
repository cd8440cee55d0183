#pragma once
// ChildSpec: what a supervisor needs to start, restart and stop one child.

#include <expected>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "ambitious/behaviours/start_options.hpp"
#include "ambitious/core/chrono.hpp"
#include "ambitious/core/functional.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/spawn.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// When a child is restarted (OTP's restart types).
enum class Restart {
  permanent,  ///< always
  transient,  ///< only after an abnormal exit (not normal, shutdown, {shutdown, _})
  temporary,  ///< never; its spec is dropped when it ends
};

/// Worker or supervisor (changes the default shutdown and the counts).
enum class ChildType { worker, supervisor };

/// How a supervisor stops a child: kill at once, or exit(shutdown) and wait (for a time, or
/// forever), then kill.
class Shutdown {
 public:
  /// Kill at once (exit(child, kill)); its terminate does not run.
  static Shutdown brutal_kill() noexcept { return Shutdown(0, true); }
  /// exit(child, shutdown), then wait as long as it takes (for a child that is a supervisor).
  static Shutdown infinity() noexcept { return Shutdown(0, false, true); }
  /// exit(child, shutdown), wait up to `t`, then kill.
  static Shutdown timeout(std::chrono::milliseconds t) noexcept {
    return Shutdown(t.count(), false);
  }

  /// True for brutal_kill().
  bool is_brutal_kill() const noexcept { return brutal_; }
  /// True for infinity().
  bool is_infinity() const noexcept { return infinite_; }
  /// How long timeout(t) waits: `t` (0 for the other two).
  std::chrono::milliseconds time() const noexcept { return std::chrono::milliseconds(ms_); }

 private:
  Shutdown(std::int64_t ms, bool brutal, bool infinite = false) noexcept
      : ms_(ms), brutal_(brutal), infinite_(infinite) {}
  std::int64_t ms_;
  bool brutal_;
  bool infinite_;
};

/// What a child's start returns: its pid (linked to the supervisor), the error `ignore` (not
/// started, not an error either), or why it failed.
using StartChildResult = std::expected<Pid, ExitReason>;

namespace detail {
// The callable is copied into this frame, so a coroutine lambda's captures live as long as the
// start they run (a capturing coroutine lambda must not outlive its own closure object).
template <class F, class... A>
Task<StartChildResult> run_owned(F f, A... args) {
  co_return co_await f(std::move(args)...);
}
/// Tags a ChildStart whose callable needs no run_owned frame.
struct SelfContained {};
}  // namespace detail

/// Starts a child linked to the calling supervisor. Accepts a callable returning
/// Task<StartChildResult>, taking nothing, or the DynamicSupervisor's extra_arguments.
class ChildStart {
 public:
  /// No start (a spec without one is refused, with atoms::missing_start).
  ChildStart() = default;
  /// A start that takes nothing: `[]() -> Task<StartChildResult> { ... }`.
  template <class F>
    requires std::same_as<std::invoke_result_t<F&>, Task<StartChildResult>>
  ChildStart(F f)  // NOLINT: implicit, so that `spec.start = [] ... ` reads naturally
      : fn_([f = std::move(f)](std::span<const Term>) { return detail::run_owned(f); }) {}
  /// A start that takes the DynamicSupervisor's extra_arguments (a `std::span<const Term>`).
  template <class F>
    requires std::same_as<std::invoke_result_t<F&, std::span<const Term>>, Task<StartChildResult>>
  ChildStart(F f)  // NOLINT
      : fn_([f = std::move(f)](std::span<const Term> extra) {
          return detail::run_owned(f, std::vector<Term>(extra.begin(), extra.end()));
        }) {}

  /// A start `f` that returns a task owning all it needs (a call to a coroutine function, not
  /// a coroutine lambda, or a function that returns such a task): called as it is, with no
  /// frame of run_owned around it.
  template <class F>
  ChildStart(detail::SelfContained, F f)
      : fn_([f = std::move(f)](std::span<const Term>) { return f(); }) {}
  // Copy, move and destruction are out of line (src/behaviours/supervisor.cpp): a spec is
  // copied into every supervisor's child list, and the std::function's copy need not be
  // compiled in each file that does it.
  /// The same start.
  ChildStart(const ChildStart& other);
  /// The same start; `other` is left without one.
  ChildStart(ChildStart&& other) noexcept;
  /// The same start as `other`.
  ChildStart& operator=(const ChildStart& other);
  /// The start of `other`, which is left without one.
  ChildStart& operator=(ChildStart&& other) noexcept;
  ~ChildStart();

  /// Runs the start; `extra` are the DynamicSupervisor's extra_arguments (else empty).
  Task<StartChildResult> operator()(std::span<const Term> extra = {}) const { return fn_(extra); }
  /// True when there is a start.
  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }

 private:
  std::function<Task<StartChildResult>(std::span<const Term>)> fn_;
};

/// One child of a supervisor (OTP's child_spec map).
struct ChildSpec {
  Term id;                               ///< unique among the supervisor's children
  ChildStart start;                      ///< runs in the supervisor; must link the child to it
  Restart restart = Restart::permanent;  ///< when it is restarted
  std::optional<Shutdown> shutdown;      ///< default: 5 s for a worker, infinity for a supervisor
  ChildType type = ChildType::worker;    ///< a worker, or a supervisor

  /// `shutdown`, or the default for the child's type.
  Shutdown effective_shutdown() const noexcept {
    if (shutdown) return *shutdown;
    return type == ChildType::supervisor ? Shutdown::infinity()
                                         : Shutdown::timeout(std::chrono::seconds(5));
  }
};

namespace detail {
/// Whether S declares a start_link of its own (server_child then starts S through it). A
/// start_link template of S's could take the probe: only GenServer's returns void.
template <class S>
constexpr bool own_start_link = !requires {
  { S::start_link(InheritedStartLink{}) } -> std::same_as<void>;
};
/// GenServer<S>::start_link's spawn and the wait for init, without the coroutine that turns
/// the pid into a ServerRef<S> (gen_server_loop.hpp).
template <class S, class... A>
Task<StartChildResult> spawn_server(bool link, const StartOptions& options, A... args);
template <class S, class... A>
Task<StartChildResult> start_server_child(A... args) {
  auto started = co_await S::start_link(std::move(args)...);
  if (!started) co_return std::unexpected(started.error());
  co_return *started->pid();
}
template <class F, class... A>
Task<StartChildResult> start_process_child(F f, A... args) {
  co_return spawn_link(std::move(f), std::move(args)...);
}
}  // namespace detail

/// A child spec for a GenServer S started with S::start_link(args...).
template <class S, class... A>
ChildSpec server_child(Term id, A... args) {
  ChildSpec spec;
  spec.id = std::move(id);
  // Each start spawns the server from copies of the arguments. A server started by
  // GenServer<S>::start_link costs no coroutine but its own process.
  if constexpr (detail::own_start_link<S>)
    spec.start = ChildStart(detail::SelfContained{},
                            [args...] { return detail::start_server_child<S>(args...); });
  else
    spec.start = ChildStart(detail::SelfContained{}, [args...] {
      return detail::spawn_server<S, A...>(true, StartOptions{}, args...);
    });
  return spec;
}

/// A child spec for a GenServer S started with S::start_link(options, args...): a server
/// under a name (`StartOptions{.name = Atom("cache")}`, or a via name), taken again by each
/// restart.
template <class S, class... A>
ChildSpec server_child(Term id, StartOptions options, A... args) {
  ChildSpec spec;
  spec.id = std::move(id);
  if constexpr (detail::own_start_link<S>)
    spec.start = ChildStart(detail::SelfContained{}, [options, args...] {
      return detail::start_server_child<S>(options, args...);
    });
  else
    spec.start = ChildStart(detail::SelfContained{}, [options, args...] {
      return detail::spawn_server<S, A...>(true, options, args...);
    });
  return spec;
}

/// A child spec for a plain process running f(args...), spawned linked to the supervisor.
template <class F, class... A>
  requires ProcessBody<F, A...>
ChildSpec process_child(Term id, F f, A... args) {
  ChildSpec spec;
  spec.id = std::move(id);
  spec.start = ChildStart(detail::SelfContained{},
                          [f, args...] { return detail::start_process_child(f, args...); });
  return spec;
}

}  // namespace ambitious
