#pragma once
// Supervisor: starts children, restarts them by a strategy, stops them in order (OTP's
// supervisor).
//
//   flags                    | meaning                                       | OTP default
//   -------------------------|-----------------------------------------------|-------------
//   strategy                 | one_for_one: restart the one that ended;      | one_for_one
//                            | one_for_all: stop the others, restart all;    |
//                            | rest_for_one: stop the later ones, restart    |
//                            | it and them                                   |
//   intensity, period        | more than `intensity` restarts within         | 1, 5 s
//                            | `period`: stop all children, exit `shutdown`  |
//
// The spec is given to start_link, or made by an init function in the supervisor's process,
// which may say `ignore` instead. Children start in order and stop in reverse order. A child is
// stopped as OTP does: unlink, exit(child, shutdown), wait for its end up to its shutdown time,
// then kill. The supervisor traps exits; its parent's exit stops it the same way. A restart whose
// start fails is tried again after the messages already queued (OTP's try_again_restart), so the
// supervisor answers calls meanwhile; every attempt counts toward the intensity.

#include <cstddef>
#include <expected>
#include <optional>
#include <vector>

#include "ambitious/behaviours/child_spec.hpp"
#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/core/chrono.hpp"
#include "ambitious/core/functional.hpp"

namespace ambitious {

/// What a supervisor restarts when a child ends (the table above).
enum class Strategy {
  one_for_one,   ///< the child alone
  one_for_all,   ///< every child: the others are stopped first
  rest_for_one,  ///< the child and those started after it
};

/// How a supervisor restarts (OTP's sup_flags).
struct SupervisorFlags {
  Strategy strategy = Strategy::one_for_one;                   ///< which children restart
  int intensity = 1;                                           ///< restarts allowed per period
  std::chrono::milliseconds period = std::chrono::seconds(5);  ///< the window of `intensity`
};

/// What a supervisor supervises: OTP's {SupFlags, [ChildSpec]} from init/1.
struct SupervisorSpec {
  SupervisorFlags flags;            ///< strategy and restart intensity
  std::vector<ChildSpec> children;  ///< started in this order, stopped in the reverse order
};

/// A supervisor's init (OTP's Module:init/1), run in the supervisor's process before any child
/// starts: the spec; or the error atoms::ignore, so that start_link returns atoms::ignore and the
/// supervisor ends normal (OTP's init returning ignore); or another error, which start_link
/// returns (as when OTP's init exits).
using SupervisorInit = std::function<Task<std::expected<SupervisorSpec, ExitReason>>()>;

/// One line of which_children: the pid is empty while the child is not running, and
/// `restarting` is set while the supervisor tries again to start it after a failed restart
/// (OTP shows `restarting` in place of the pid).
struct ChildInfo {
  Term id;                  ///< the child's id (`undefined` under a DynamicSupervisor)
  std::optional<Pid> pid;   ///< its process, while it runs
  ChildType type;           ///< worker or supervisor
  bool restarting = false;  ///< a failed restart is being tried again
};

/// count_children: specs, running children, and specs by type.
struct ChildCounts {
  std::size_t specs = 0;        ///< child specs, running or not
  std::size_t active = 0;       ///< children running
  std::size_t supervisors = 0;  ///< specs of type supervisor
  std::size_t workers = 0;      ///< specs of type worker
};

namespace detail {
class SupervisorServer;
}

/// Client functions of a supervisor. A supervisor is a server of type detail::SupervisorServer.
namespace supervisor {

/// Names a supervisor: by pid, local name or via name.
using Ref = ServerRef<detail::SupervisorServer>;

/// Starts a supervisor linked to the caller; returns when every child has started, or the
/// error `{shutdown, {failed_to_start_child, Id, Reason}}` (the started ones are stopped), or
/// a bad spec, found before any child starts: `{start_spec, missing_start}` (a child without a
/// start) or `{start_spec, {duplicate_child_name, Id}}`.
Task<StartResult<detail::SupervisorServer>> start_link(SupervisorSpec spec,
                                                       StartOptions options = {});
/// start_link with the spec from `init`, which runs in the supervisor and may say atoms::ignore:
/// then start_link returns the error atoms::ignore and the supervisor ends normal.
Task<StartResult<detail::SupervisorServer>> start_link(SupervisorInit init,
                                                       StartOptions options = {});

/// A child spec that starts a supervisor of `spec` with start_link(spec, options): a supervisor
/// as another's child, with no start function to write. Its type is ChildType::supervisor (so
/// its shutdown is infinity: it stops its own children first); each restart starts it from
/// `spec` again.
ChildSpec child_spec(Term id, SupervisorSpec spec, StartOptions options = {});
/// A child spec that starts a supervisor with start_link(init, options).
ChildSpec child_spec(Term id, SupervisorInit init, StartOptions options = {});

/// Every child, running or not, the last started first (as OTP lists them).
Task<std::vector<ChildInfo>> which_children(Ref sup);
/// The numbers of specs, of running children, and of specs by type.
Task<ChildCounts> count_children(Ref sup);
/// Starts a new child: its pid, or atoms::missing_start (the spec has no start), `{already_started,
/// Pid}`, atoms::already_present (a stopped child has the id), or the start's error. atoms::ignore
/// leaves the spec, not running.
Task<std::expected<std::optional<Pid>, ExitReason>> start_child(Ref sup, ChildSpec spec);
/// Stops the child, keeping its spec (a temporary child's spec goes). Error: atoms::not_found.
Task<std::expected<void, ExitReason>> terminate_child(Ref sup, Term id);
/// Starts a stopped child again. Errors: atoms::running, atoms::restarting, atoms::not_found, or
/// the start's.
Task<std::expected<std::optional<Pid>, ExitReason>> restart_child(Ref sup, Term id);
/// Removes a stopped child's spec. Errors: atoms::running, atoms::restarting, atoms::not_found.
Task<std::expected<void, ExitReason>> delete_child(Ref sup, Term id);

}  // namespace supervisor
}  // namespace ambitious
