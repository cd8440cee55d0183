#pragma once
// Monitors: one-way observation of a process's end.

#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/process/exit_reason.hpp"

namespace ambitious {

/// Sent once to the monitoring process when the monitored one ends (Erlang's
/// {'DOWN', Ref, process, Pid, Reason}).
struct Down {
  Ref ref;
  Pid pid;
  ExitReason reason;
};

/// Monitors `pid`; returns the monitor's ref. A dead or unknown pid gives Down with `noproc`
/// at once. Also marks the mailbox, so `receive_if<Down>(...).since(ref)` skips older messages.
Ref monitor(Pid pid);

/// demonitor options, as Erlang's [flush].
enum class Flush : bool { no = false, yes = true };

/// Removes the monitor `ref`. With Flush::yes, also removes its Down message if it already
/// arrived. Returns true when the monitor was still active. No Down for `ref` arrives after.
bool demonitor(const Ref& ref, Flush flush = Flush::no);

}  // namespace ambitious
