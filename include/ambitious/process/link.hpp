#pragma once
// Links: bidirectional failure propagation, and the Exit message of a trapping process.

#include "ambitious/core/pid.hpp"
#include "ambitious/process/exit_reason.hpp"

namespace ambitious {

/// What a process that traps exits receives instead of dying (Erlang's {'EXIT', From, Reason}).
struct Exit {
  Pid from;
  ExitReason reason;
};

/// Links the caller and `pid`. Linking to a dead or unknown pid sends the caller an exit signal
/// with reason `noproc` (it ends the caller, or arrives as an Exit message if it traps), as
/// OTP 25 does. Linking to self does nothing.
void link(Pid pid);

/// Removes the link, if any. Once unlink returns, the link has no further effect on the caller:
/// an exit signal it sent and that is still in flight is ignored.
void unlink(Pid pid);

}  // namespace ambitious
