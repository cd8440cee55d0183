#pragma once
// Private: net_kernel, the node's own process (as OTP's net_kernel), registered as
// `net_kernel` in each runtime while the node runs. It answers the `{is_auth, Node}` call of
// net_adm:ping from other nodes, keeps the monitor_node monitors of local processes (nodes.hpp),
// monitoring each so that its end clears them, and reports node life to monitor_nodes'
// subscribers, which the runtime keeps (they outlive the node): this node up as it starts, down
// (net_kernel_terminated) as it stops. The node's thread tells it of connections coming up and
// going (net_kernel_up/down).

#include <string>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/dist/nodes.hpp"

namespace ambitious::dist::detail {

/// Starts net_kernel in the running runtime, registered as `net_kernel`; `report_up`
/// (dist::start) tells the monitor_nodes subscribers this node is up. Inside a process.
void start_net_kernel(bool report_up = false);
/// Ends the running net_kernel, if any (it unregisters as it ends). Any thread.
void stop_net_kernel() noexcept;
/// The running net_kernel (null when none). Any thread.
Pid net_kernel_pid() noexcept;
/// monitor_nodes(on, options) of the calling process: the subscription is kept by the runtime
/// (node_watch.hpp), with or without distribution. Inside a process.
void subscribe_nodes(bool on, const NodeMonitorOptions& options);

/// The connection to `node` is up (the node's thread).
void net_kernel_up(const std::string& node, bool hidden) noexcept;
/// The connection to `node` that was up is gone, for `reason` (the node's thread).
void net_kernel_down(const std::string& node, bool hidden, Atom reason) noexcept;

/// monitor_node(node, on) of `who` (sent by the caller to net_kernel).
struct MonitorNodeRequest {
  Pid who;
  Atom node;
  bool on = true;
};

}  // namespace ambitious::dist::detail
