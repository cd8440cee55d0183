#pragma once
// ProcessExit: how exit/1 unwinds a process body.

#include "ambitious/process/exit_reason.hpp"

namespace ambitious::detail {

/// Thrown by exit(reason) and caught only where the process body ends. It derives from no
/// standard exception, so `catch (const std::exception&)` in user code does not swallow it.
struct ProcessExit {
  ExitReason reason;
};

}  // namespace ambitious::detail
