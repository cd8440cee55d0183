#include "ambitious/behaviours/logger.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace ambitious {
namespace {

std::atomic<LogLevel> level{LogLevel::info};
std::mutex sink_mutex;

void write_stderr(const LogReport& r) {
  static constexpr const char* names[] = {"none", "error", "warning", "info", "debug"};
  std::fprintf(stderr, "=%s REPORT==== %.*s %s ====\n%s\n", names[static_cast<int>(r.level)],
               static_cast<int>(r.kind.size()), r.kind.data(), to_string(r.who).c_str(),
               r.text.c_str());
}

std::function<void(const LogReport&)>& sink() {
  static std::function<void(const LogReport&)> s = write_stderr;
  return s;
}

}  // namespace

void set_logger(std::function<void(const LogReport&)> s) {
  std::lock_guard lock(sink_mutex);
  sink() = s ? std::move(s) : std::function<void(const LogReport&)>(write_stderr);
}

void set_log_level(LogLevel l) { level.store(l, std::memory_order_relaxed); }

LogLevel log_level() noexcept { return level.load(std::memory_order_relaxed); }

void log(const LogReport& report) {
  LogLevel l = level.load(std::memory_order_relaxed);
  if (l == LogLevel::none || report.level == LogLevel::none || report.level > l) return;
  std::lock_guard lock(sink_mutex);
  sink()(report);
}

}  // namespace ambitious
