#pragma once
// Monitors: one-way observation of a process's end.

#include <optional>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/registered_name.hpp"

namespace ambitious {

/// Sent once to the monitoring process when the monitored one ends: Erlang's
/// {'DOWN', Ref, process, Object, Reason}, Object being the pid, or {Name, Node} for a
/// monitor by name.
struct Down {
  /// The monitor's ref, as monitor() returned it.
  Ref ref;
  /// The process that ended; null for a monitor by a name nobody held, and for a monitor by
  /// name of a process of another node (whose MONITOR_P_EXIT names it by its name only).
  Pid pid;
  /// Why it ended (`noproc` when it was not alive when the monitor was made).
  ExitReason reason;
  /// Set for a monitor by name: the name and its node, which OTP's Down names instead of the
  /// pid.
  std::optional<RegisteredName> name;
};

/// Monitors `pid`; returns the monitor's ref. A dead or unknown pid gives Down with `noproc`
/// at once. Also marks the mailbox, so `receive_if<Down>(...).since(ref)` skips older messages.
/// A pid of another node is monitored over the distribution (MONITOR_P); when this node is not
/// distributed, or the node cannot be reached, Down comes with `noconnection` (as OTP 25).
Ref monitor(Pid pid);

/// Monitors the process registered as `name` now (erlang:monitor(process, Name)): the monitor
/// stays on that process whatever later becomes of the name, and its Down carries the name.
/// Nobody holding the name gives Down with `noproc` at once.
Ref monitor(Atom name);

/// Monitors the process registered as `to.name` on node `to.node` (erlang:monitor(process,
/// {Name, Node})); its Down carries `to`. This node's own name is monitor(to.name). Another
/// node's: over the distribution (MONITOR_P by name; `noproc` when nobody holds the name there,
/// `noconnection` when the node cannot be reached); when this node is not distributed, throws
/// BadArg, as OTP 25 raises badarg.
Ref monitor(const RegisteredName& to);

/// demonitor options, as Erlang's [flush].
enum class Flush : bool { no = false, yes = true };

/// erlang:demonitor/2's options.
struct DemonitorOptions {
  bool flush = false;  ///< also remove the monitor's Down if it already arrived
  bool info = false;   ///< return whether the monitor was still active
};

/// Removes the monitor `ref` (erlang:demonitor/1). No Down for it arrives after; one that
/// already arrived stays queued.
void demonitor(const Ref& ref);

/// demonitor(ref), and with Flush::yes, also removes its Down if it already arrived
/// (erlang:demonitor(Ref, [flush])).
void demonitor(const Ref& ref, Flush flush);

/// erlang:demonitor(Ref, Options). With `info`, returns true when the monitor was still active
/// (false: it was not found, or its Down had already arrived); without, true.
bool demonitor(const Ref& ref, DemonitorOptions options);

}  // namespace ambitious
