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
  /// Sent to itself after a restart failed: try again, after the messages already queued (so
  /// calls, and its parent's shutdown, are handled between attempts), as OTP's try_again_restart.
  struct TryAgainRestart {
    Term id;
  };
  using info = Types<Exit, TryAgainRestart>;

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
  using calls =
      Types<WhichChildren, CountChildren, StartChild, TerminateChild, RestartChild, DeleteChild>;
  using StartReply = std::expected<std::optional<Pid>, ExitReason>;
  using VoidReply = std::expected<void, ExitReason>;

  explicit SupervisorServer(SupervisorSpec spec);
  /// The spec comes from `init`, run by init() (it may say ignore).
  explicit SupervisorServer(SupervisorInit init);

  Task<InitResult> init();
  CallResult<std::vector<ChildInfo>> handle_call(WhichChildren, const From&);
  CallResult<ChildCounts> handle_call(CountChildren, const From&);
  Task<CallResult<StartReply>> handle_call(StartChild, const From&);
  Task<CallResult<VoidReply>> handle_call(TerminateChild, const From&);
  Task<CallResult<StartReply>> handle_call(RestartChild, const From&);
  CallResult<VoidReply> handle_call(DeleteChild, const From&);
  Task<Action> handle_info(Exit e);
  Task<Action> handle_info(TryAgainRestart t);
  Task<> terminate(const ExitReason& reason);

 private:
  struct Child {
    ChildSpec spec;
    std::optional<Pid> pid;
    bool restarting = false;  // a restart failed; a TryAgainRestart is on its way
  };

  std::optional<std::size_t> find(const Term& id) const;
  std::optional<std::size_t> find(Pid pid) const;
  /// Starts child `i`: its pid, nothing for `ignore`, or the error.
  Task<StartReply> start(std::size_t i);
  /// Stops the running children among [first, end), last first.
  Task<> stop_range(std::size_t first, std::size_t end);
  /// Restarts child `i` by the strategy (the others it takes along included); counts toward
  /// the intensity. A failed start is tried again later by a TryAgainRestart.
  Task<Action> restart(std::size_t i);
  /// Starts the stopped children among [first, end) in order, up to the first that fails to
  /// start: its index (it and the ones after it stay stopped).
  Task<std::optional<std::size_t>> restart_range(std::size_t first, std::size_t end);

  /// Takes the flags and children of `spec`.
  void adopt(SupervisorSpec spec);

  SupervisorFlags flags_;
  std::vector<Child> children_;
  RestartIntensity intensity_;
  SupervisorInit init_;  // empty when the spec was given to the constructor
};

}  // namespace ambitious::detail
