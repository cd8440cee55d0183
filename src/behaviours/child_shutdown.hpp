#pragma once
// Stopping children as OTP's supervisor does.

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ambitious/behaviours/child_spec.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious::detail {

/// A child as its stop needs it: who, how, and what its report says.
struct ChildToStop {
  Pid pid;
  Shutdown how;
  Restart restart;
  Term id;
};

/// The Exits of a set of children, taken out of the supervisor's mailbox in passes: when many
/// children died at once, each stop finds its child's Exit here instead of scanning the mailbox
/// past all the others' (n stops would take n^2 steps). Owner: the supervisor's process.
class ExitsOf {
 public:
  explicit ExitsOf(std::unordered_set<Pid> children) : children_(std::move(children)) {}
  /// Takes every queued Exit from the children (one pass, without waiting).
  Task<> collect();
  /// The reason of the Exit from `child` that was taken, if one was (and forgets it).
  std::optional<ExitReason> take(Pid child);
  /// Keeps the Exit from `child` that the caller took out of the mailbox itself.
  void keep(Pid child, ExitReason reason) { taken_.insert_or_assign(child, std::move(reason)); }

 private:
  std::unordered_set<Pid> children_;
  std::unordered_map<Pid, ExitReason> taken_;
};

/// Stops a child linked to the caller, as OTP's supervisor:shutdown/1: monitor it, send it
/// exit(kill) (brutal_kill) or exit(shutdown) and wait for its Down up to its shutdown time
/// before killing it, then unlink it and drop its Exit (unlink_flush). A Down saying noproc (it
/// had ended already) gives way to its Exit's reason. Returns the reason it ended with, and
/// reports one other than the stop asked for (OTP's shutdown_error): not killed for
/// brutal_kill, not shutdown otherwise; also shutdown, {shutdown, _} or normal for a permanent
/// child. The caller traps exits. `exits`: where to find the child's Exit when many are stopped.
Task<ExitReason> shutdown_child(ChildToStop child, ExitsOf* exits = nullptr);

/// Stops several children at once (DynamicSupervisor, Elixir's terminate_children): every one
/// is asked together, each gets its own shutdown time, stragglers are killed, and unexpected
/// reasons are reported once per reason, as shutdown_child would. O(n) for n children. The
/// caller traps exits.
Task<> shutdown_children(std::vector<ChildToStop> children);

/// True when a child ending with `reason` is restarted under `restart`.
bool should_restart(Restart restart, const ExitReason& reason) noexcept;

/// The supervisor report for a child that ended abnormally (not for normal/shutdown ends).
void report_child_terminated(const Term& id, Pid child, const ExitReason& reason);

}  // namespace ambitious::detail
