#pragma once
// Node watch: the little of node life the process layer knows, for the layers under dist that
// must follow other nodes (pg's scope process discovers its peer scopes on every nodeup, as
// OTP's pg does with net_kernel:monitor_nodes). The dist layer reports each connection that
// comes up or goes away (node_changed, from its net_kernel process); each watcher of the
// runtime gets a NodeChange message for it. Every node type is reported, visible and hidden
// alike: ambitious nodes connect as hidden, and a watcher that saw only visible nodes (OTP's
// monitor_nodes default) would never see them.
//
// Without distribution nothing is reported and watch_nodes() returns no node; a watcher that
// subscribed before the node started hears of the connections made after.
//
// The runtime also keeps dist::monitor_nodes' subscriptions (NodeSubscription), so that they
// outlive distribution starting and stopping, as OTP's do; the dist layer's net_kernel reads them
// for each report.

#include <cstdint>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"

namespace ambitious::detail {

/// A connection to `node` (of any type) came up (`up`) or went away.
struct NodeChange {
  Atom node;        ///< the peer's name
  bool up = false;  ///< true: connected now; false: disconnected
};

/// Subscribes the calling process to the NodeChange messages of the running runtime (once: a
/// second call only returns the list) and returns the nodes connected now. The subscription
/// ends with the process. Inside a process.
std::vector<Atom> watch_nodes();

/// The dist layer's report: the connection to `node` came up (`up`) or went away. Sends
/// NodeChange to every live watcher, in the order of the reports. Inside a process of the
/// runtime (the dist layer's net_kernel), one report at a time.
void node_changed(Atom node, bool up);

/// One monitor_nodes subscription: `who`, with `options` (the dist layer's encoding of its
/// NodeMonitorOptions; opaque here).
struct NodeSubscription {
  Pid who;
  std::uint8_t options = 0;
};

/// Adds one subscription of the calling process with `options`. Inside a process.
void subscribe_nodes(std::uint8_t options);
/// Ends every subscription of the calling process with `options`. Inside a process.
void unsubscribe_nodes(std::uint8_t options);
/// The subscriptions of live processes, in the order made (those of processes that ended are
/// dropped here). Inside a process.
std::vector<NodeSubscription> node_subscriptions();

}  // namespace ambitious::detail
