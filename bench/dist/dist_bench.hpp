#pragma once
// The distribution workloads of ../shared/bench-anchors (erlang/dist_anchors.erl): two ambitious
// nodes on 127.0.0.1, this program as node A and a child process of it (the same program,
// re-executed with dist_peer_flag) as node B, over an embedded epmd on a private port.

#include <cstdint>
#include <string_view>
#include <vector>

#include "ambitious/process/runtime.hpp"

namespace ambitious::bench {

/// The hidden first argument that makes this program node B.
inline constexpr std::string_view dist_peer_flag = "--dist-peer";

/// True for the workloads dist_main runs.
bool is_dist_workload(std::string_view workload);

/// Runs `workload` (dist_pingpong, dist_window, dist_fanin, dist_bulk, dist_hol) with the
/// positional `args` of the Erlang twin, printing its `bench=` line; the exit status.
int dist_main(std::string_view workload, const std::vector<std::int64_t>& args,
              RuntimeOptions options);

/// Node B: `argv` after dist_peer_flag (epmd port, cookie, node A's name); the exit status.
int dist_peer_main(int argc, char** argv, RuntimeOptions options);

}  // namespace ambitious::bench
