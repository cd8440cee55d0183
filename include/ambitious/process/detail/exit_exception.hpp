#pragma once
// ProcessExit: how exit/1 unwinds a process body, and the exit reason of any exception.

#include <exception>

#include "ambitious/process/exit_reason.hpp"

namespace ambitious::detail {

/// Thrown by exit(reason) and caught only where the process body ends. It derives from no
/// standard exception, so `catch (const std::exception&)` in user code does not swallow it.
struct ProcessExit {
  ExitReason reason;
};

/// The exit reason a caught exception stands for: a ProcessExit's reason, `{exception, What}`
/// for a std::exception, `{exception, <<"unknown exception">>}` for anything else. Reads the
/// exception in place (no rethrow: an unwind is a good part of what a crash costs).
ExitReason exit_reason_of(const std::exception_ptr& e);

}  // namespace ambitious::detail
