#pragma once
// Stopping a child as OTP's supervisor does.

#include <vector>

#include "ambitious/behaviours/child_spec.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious::detail {

/// Stops a child linked to the caller: monitor it, unlink it (if it already ended, its queued
/// Exit gives the reason), then kill it (brutal_kill), or send exit(shutdown) and wait for its
/// Down up to its shutdown time before killing it. Returns the reason it ended with, and reports
/// an unexpected one (OTP's shutdown_error). The caller traps exits.
Task<ExitReason> shutdown_child(Pid child, Shutdown how, Term id);

/// Stops several children at once (DynamicSupervisor): every one is asked together, each gets
/// its own shutdown time, stragglers are killed. O(n) for n children. The caller traps exits
/// and is ending: an Exit queued before the call from a child that had ended is left queued.
Task<> shutdown_children(std::vector<std::pair<Pid, Shutdown>> children);

/// True when a child ending with `reason` is restarted under `restart`.
bool should_restart(Restart restart, const ExitReason& reason) noexcept;

/// The supervisor report for a child that ended abnormally (not for normal/shutdown ends).
void report_child_terminated(const Term& id, Pid child, const ExitReason& reason);

}  // namespace ambitious::detail
