#pragma once
// Private: how the node hands a peer's SPAWN_REQUEST to the rpc server (rpc.hpp) and hears
// back. The node calls serve_spawn on its thread; the rpc server spawns the process, held
// before it runs anything, and answers through `done`; the node, on its thread again, records
// the link and monitor in the peer's tables, makes them (remote_link, remote_monitor), sends
// the SPAWN_REPLY and only then releases the process. So the link and monitor exist before
// the process can end, and the SPAWN_REPLY leaves before anything the process sends.

#include <functional>
#include <optional>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/dist/control.hpp"
#include "ambitious/process/exit_reason.hpp"

namespace ambitious::dist::detail {

/// A spawned process that waits to be released. Released or aborted once; one destroyed
/// without either is aborted with `noconnection` (its requester's node is gone). Any thread.
class HeldProcess {
 public:
  explicit HeldProcess(Pid pid) noexcept : pid_(pid) {}
  HeldProcess(HeldProcess&& o) noexcept : pid_(o.pid_) { o.pid_ = Pid(); }
  HeldProcess& operator=(HeldProcess&&) = delete;
  ~HeldProcess();

  /// The process.
  Pid pid() const noexcept { return pid_; }
  /// Lets it run its function.
  void release();
  /// Ends it with `reason` before it ran anything.
  void abort(const ExitReason& reason);

 private:
  Pid pid_;
};

/// What became of a spawn request: a process, or the error atom of the SPAWN_REPLY.
struct SpawnAnswer {
  std::optional<HeldProcess> process;  ///< the new process; none: `error` says why
  Atom error;                          ///< badopt, badarg or notsup, when no process
  bool link = false;                   ///< the request asked for a link to the requester
  bool monitor = false;                ///< ... and a monitor by the requester
};

/// Called once with the answer, on any thread.
using SpawnDone = std::function<void(SpawnAnswer)>;

/// Starts the rpc server in the calling process's runtime, registered as `rex`, unless one runs
/// already (the node calls it where it starts net_kernel). Inside a process.
void start_rpc_server() noexcept;

/// Serves `request`: checks its options and arguments, hands it to the rpc server, and calls
/// `done` once (at once with `notsup` when no rpc server runs). Any thread.
void serve_spawn(control::SpawnRequest request, SpawnDone done);

}  // namespace ambitious::dist::detail
