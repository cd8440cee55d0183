#pragma once
// The logger: where crash and supervisor reports go. Replaceable; quiet when set to `none`.

#include <string>
#include <string_view>

#include "ambitious/core/functional.hpp"
#include "ambitious/core/pid.hpp"

namespace ambitious {

/// Severity of a report, as OTP logger levels (a subset).
enum class LogLevel { none, error, warning, info, debug };

/// One structured report: who, what kind of event, and a readable text.
struct LogReport {
  LogLevel level = LogLevel::error;  ///< its severity
  std::string_view kind;             ///< "gen_server_terminated", ... (docs/logger-reports.md)
  Pid who;                           ///< the process the report is about (or the supervisor)
  std::string text;                  ///< multi-line, OTP-like
};

/// Replaces the function that writes reports (the default writes them to stderr). Any thread.
void set_logger(std::function<void(const LogReport&)> sink);
/// Reports above `level` are dropped (LogLevel::none drops everything). Default: info.
void set_log_level(LogLevel level);
/// The level set by set_log_level.
LogLevel log_level() noexcept;
/// Writes `report` if its level is enabled. Any thread.
void log(const LogReport& report);
/// True when reports of `level` are written: callers check it before formatting a report.
inline bool log_enabled(LogLevel level) noexcept {
  LogLevel current = log_level();
  return current != LogLevel::none && level != LogLevel::none && level <= current;
}

}  // namespace ambitious
