#pragma once
// Introspection: process_info, processes(), process_count().

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

/// What process_info tells of a process, as Erlang's process_info/1 items.
struct ProcessInfo {
  enum class Status { running, runnable, waiting };
  Status status = Status::running;
  std::size_t message_queue_len = 0;
  std::vector<std::string> message_types;  ///< the C++ type of each queued message, in order
  std::vector<Pid> links;
  std::vector<Pid> monitors;      ///< processes this one monitors
  std::vector<Pid> monitored_by;  ///< processes monitoring this one
  std::optional<Atom> registered_name;
  bool trap_exit = false;
};

/// Asks `pid` about itself. Like OTP's, the request is a signal: it is answered when the
/// process next handles signals (at once if it waits in receive). Empty if `pid` is dead.
Task<std::optional<ProcessInfo>> process_info(Pid pid);

/// Every live local process.
std::vector<Pid> processes();

/// How many local processes are alive.
std::size_t process_count() noexcept;

}  // namespace ambitious
