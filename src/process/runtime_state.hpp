#pragma once
// RuntimeState: everything one run() owns, reachable from the process layer.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "ambitious/process/detail/node_watch.hpp"
#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/runtime/blocking_pool.hpp"
#include "ambitious/runtime/scheduler.hpp"
#include "process_table.hpp"
#include "signals.hpp"

namespace ambitious::detail {

/// The local name table (register/whereis). Any thread, under its lock.
struct NameTable {
  std::shared_mutex mutex;
  std::unordered_map<Atom, Pid> by_name;
};

/// The watchers of node life, the nodes connected now and the monitor_nodes subscriptions
/// (node_watch.hpp). Any thread, under
/// its lock.
struct NodeWatch {
  std::mutex mutex;
  std::vector<Pid> watchers;
  std::vector<Atom> up;
  std::vector<NodeSubscription> subscriptions;  // dist::monitor_nodes', in the order made
};

struct RuntimeState {
  RuntimeState(unsigned workers, unsigned blocking_threads,
               std::chrono::microseconds worker_slice = {})
      : scheduler(workers, true, worker_slice),
        table(scheduler.worker_count()),
        pool(std::make_unique<BlockingPool>(blocking_threads)) {}

  Scheduler scheduler;
  ProcessTable table;
  NameTable names;
  NodeWatch node_watch;
  /// The way to other nodes, once distribution started (see install_remote_nodes).
  std::atomic<RemoteNodes*> remote{nullptr};
  std::unique_ptr<BlockingPool> pool;  // reset first at teardown: its jobs refer to processes

  // How run() ends.
  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool done = false;
  int exit_code = 0;
  Pid root;
  std::optional<ExitReason> root_reason;
};

/// The running runtime, or null outside run().
RuntimeState* runtime() noexcept;
/// Makes `rt` the running runtime; throws std::logic_error if another one runs.
void publish_runtime(RuntimeState* rt);
/// Stops `rt`'s threads, destroys every process left, unpublishes and frees it.
void end_runtime(std::unique_ptr<RuntimeState> rt) noexcept;

/// Held by a thread that is not a worker while it uses the runtime (post, deliver_term): run()
/// takes it to unpublish the runtime before freeing it.
std::mutex& foreign_gate() noexcept;

/// Delivers `m` to `to`, scheduling `to` if this woke it; handles an undeliverable signal.
/// False when `to` is dead or unknown. On a worker, or as a reader (Scheduler::run_as_reader).
bool deliver_message(Pid to, Message* m);

/// Delivers `m`, which a send() made, to `to`: as deliver_message, except that a message for a
/// process of another node whose type has no Codec throws BadArg (it cannot leave the node).
void deliver_from_send(Pid to, Message* m);

/// DEMONITOR_P by name, for a monitor `from` made with `ref` on `to`, of another node.
void send_remote_demonitor(Pid from, const Ref& ref, const RegisteredName& to) noexcept;

/// Tells the target of monitor `ref`, held by `from`, that it is dropped: `target` (a local or
/// remote pid), or for a monitor by name on another node (`by_name`), that node.
inline void send_demonitor(Pid from, const Ref& ref, Pid target,
                           const RegisteredName* by_name) noexcept {
  if (by_name && target.is_null() && !is_local_node(by_name->node)) [[unlikely]]
    return send_remote_demonitor(from, ref, *by_name);
  Signal* s = make_signal(SignalKind::demonitor, from);
  s->ref = ref;
  deliver_message(target, s);
}

/// Makes `p` runnable: on this worker if called by one, else through the global queue.
void schedule_woken(Process* p) noexcept;

}  // namespace ambitious::detail
