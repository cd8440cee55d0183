#pragma once
// Private: what the process-facing API (nodes.hpp, net_kernel.cpp) asks of the running Node
// (node.cpp). Any thread; each answers "no node" when none runs.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ambitious::dist::detail {

/// A peer connected now (handshake done).
struct ConnectedPeer {
  std::string name;             ///< its full node name
  bool hidden = false;          ///< either side is hidden (no PUBLISHED on both)
  const char* carrier = "tcp";  ///< what the connection travels on (Carrier::kind)
};

/// The running node's peers, sorted by name; empty when no node runs.
std::vector<ConnectedPeer> running_peers();

/// Asks the running node to connect to `node`: `done(ok)` is called once, on the node's
/// thread, when it is connected (at once when it is already) or cannot be. False, and `done`
/// never called, when no node runs or it is stopping.
bool connect_running(const std::string& node, std::function<void(bool)> done);

/// The running node's net_setuptime (zero when none runs).
std::chrono::milliseconds running_setuptime();

/// Node::set_cookie on the running node; false when none runs. Throws std::invalid_argument
/// when `cookie` is empty.
bool set_running_cookie(std::string_view node, std::string cookie);

}  // namespace ambitious::dist::detail
