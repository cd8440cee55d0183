#pragma once
// SupervisorServer: the server behind supervisor::start_link.

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "ambitious/behaviours/supervisor.hpp"

namespace ambitious::detail {

/// Counts restarts in a sliding window: more than `intensity` within `period` is too many.
class RestartIntensity {
 public:
  explicit RestartIntensity(const SupervisorFlags& flags)
      : intensity_(flags.intensity), period_ms_(static_cast<std::uint64_t>(flags.period.count())) {}
  /// Records a restart now; false when that makes too many.
  bool add(std::uint64_t now_ms);

 private:
  int intensity_;
  std::uint64_t period_ms_;
  std::deque<std::uint64_t> restarts_;  // oldest first: dropping the expired ones is O(1) each
};

class SupervisorServer : public GenServer<SupervisorServer> {
 public:
  using info = Types<Exit>;

  struct WhichChildren {};
  struct CountChildren {};
  struct StartChild {
    ChildSpec spec;
  };
  struct TerminateChild {
    Term id;
  };
  struct RestartChild {
    Term id;
  };
  struct DeleteChild {
    Term id;
  };
  using StartReply = std::expected<std::optional<Pid>, ExitReason>;
  using VoidReply = std::expected<void, ExitReason>;

  explicit SupervisorServer(SupervisorSpec spec);

  Task<InitResult> init();
  CallResult<std::vector<ChildInfo>> handle_call(WhichChildren, const From&);
  CallResult<ChildCounts> handle_call(CountChildren, const From&);
  Task<CallResult<StartReply>> handle_call(StartChild, const From&);
  Task<CallResult<VoidReply>> handle_call(TerminateChild, const From&);
  Task<CallResult<StartReply>> handle_call(RestartChild, const From&);
  CallResult<VoidReply> handle_call(DeleteChild, const From&);
  Task<Action> handle_info(Exit e);
  Task<> terminate(const ExitReason& reason);

 private:
  struct Child {
    ChildSpec spec;
    std::optional<Pid> pid;
  };

  std::optional<std::size_t> find(const Term& id) const;
  std::optional<std::size_t> find(Pid pid) const;
  /// Starts child `i`: its pid, nothing for `ignore`, or the error.
  Task<StartReply> start(std::size_t i);
  /// Stops the running children among [first, end), last first.
  Task<> stop_range(std::size_t first, std::size_t end);
  /// Starts the stopped children among [first, end) in order, retrying a failed start as OTP
  /// does (each attempt counts as a restart). False when the intensity is exceeded.
  Task<bool> restart_range(std::size_t first, std::size_t end);

  SupervisorFlags flags_;
  std::vector<Child> children_;
  RestartIntensity intensity_;
};

}  // namespace ambitious::detail
