#pragma once
// Helpers shared by the behaviour tests.

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ambitious/behaviours/application.hpp"
#include "ambitious/behaviours/child_spec.hpp"
#include "ambitious/behaviours/dynamic_supervisor.hpp"
#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/behaviours/gen_server_result.hpp"
#include "ambitious/behaviours/logger.hpp"
#include "ambitious/behaviours/server_ref.hpp"
#include "ambitious/behaviours/supervisor.hpp"
#include "ambitious/behaviours/task.hpp"
#include "ambitious/behaviours/types.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/process_info.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "ambitious/process/timer.hpp"

#include "../common.hpp"

namespace ambitious::test {

/// Monitors `pid` and waits for its end; returns the reason.
inline Task<ExitReason> wait_end(Pid pid) { co_return (co_await expect_down(monitor(pid))).reason; }

/// Events recorded by callbacks (terminate, init, ...) in the order they ran, from any thread.
class Journal {
 public:
  void add(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> events_;
};

/// Replaces the logger while alive, keeping every report; restores the default logger and
/// level when it goes.
class CapturedLog {
 public:
  struct Entry {
    LogLevel level;
    std::string kind;
    Pid who;
    std::string text;
  };

  CapturedLog() {
    set_logger([this](const LogReport& r) {
      std::lock_guard lock(mutex_);
      entries_.push_back(Entry{r.level, std::string(r.kind), r.who, r.text});
    });
  }
  ~CapturedLog() {
    set_logger(nullptr);
    set_log_level(LogLevel::info);
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::vector<Entry> of_kind(std::string_view kind) const {
    std::lock_guard lock(mutex_);
    std::vector<Entry> out;
    for (auto& e : entries_)
      if (e.kind == kind) out.push_back(e);
    return out;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

inline bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace ambitious::test
