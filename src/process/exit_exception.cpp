#include "ambitious/process/detail/exit_exception.hpp"

#include "ambitious/runtime/exception_cast.hpp"

namespace ambitious::detail {

ExitReason exit_reason_of(const std::exception_ptr& e) {
  if (!e) return atoms::normal;
  if (const auto* exit = exception_cast<ProcessExit>(e)) return exit->reason;
  if (const auto* ex = exception_cast<std::exception>(e)) return ExitReason::exception(ex->what());
  return ExitReason::exception("unknown exception");
}

}  // namespace ambitious::detail
