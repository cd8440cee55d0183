#pragma once
// Links: bidirectional failure propagation, and the Exit message of a trapping process.

#include "ambitious/core/pid.hpp"
#include "ambitious/process/exit_reason.hpp"

namespace ambitious {

/// What a process that traps exits receives instead of dying (Erlang's {'EXIT', From, Reason}).
struct Exit {
  Pid from;           ///< the process that sent the exit signal (the one that ended)
  ExitReason reason;  ///< why
};

/// Links the caller and `pid`, as OTP 25's link/1. When `pid` is already dead or unknown, a
/// caller that traps exits gets an `Exit{pid, noproc}` message, and one that does not gets a
/// NoProc exception (Erlang raises `noproc`). A `pid` that dies while the link is being made
/// sends the caller an exit signal `noproc`. Linking to self, or again to a partner, does nothing.
void link(Pid pid);

/// Removes the link, if any. Once unlink returns, the link has no further effect on the caller:
/// an exit signal it sent and that is still in flight is ignored.
void unlink(Pid pid);

/// True when the caller is linked to `pid` (as `process_info(self(), links)` would list it): an
/// exit signal from a linked partner that ended is still to come. Inside a process.
bool linked(Pid pid);

}  // namespace ambitious
