#pragma once
// Cluster membership: a node joins a cluster from a list of seed nodes, connects to every node
// it learns of (a full mesh, as Erlang's default) and reconnects, with backoff, to members that
// went down. As OTP:
//
//   here                                  OTP 25
//   ClusterOptions::seeds                 kernel's sync_nodes_optional (nodes tried at start,
//                                         none of them required)
//   AMBITIOUS_SEEDS, AMBITIOUS_SEEDS_FILE -kernel sync_nodes_optional '[...]' / sys.config
//   ClusterOptions::connect_all = false   erl -connect_all false (no full mesh)
//   dist::connect(Node) (nodes.hpp)       net_kernel:connect_node/1
//   reconnection with backoff             none in OTP (libcluster's, in Elixir)
//   monitor_nodes (nodes.hpp)             net_kernel:monitor_nodes/1,2
//
// Why a process of our own: Erlang's full mesh is made by `global`, which tells each new peer the
// nodes it knows; ambitious nodes connect as hidden nodes (so that Erlang's global and pg do not
// count them), and global does not run over hidden connections. So each node that joins runs a
// membership process, registered as `ambitious_members`, that does it: on nodeup it sends the
// peer `{ambitious_members, hello, ThisNode, KnownMembers}` over distribution; a node that gets
// one counts the sender as a member and, with connect_all, connects to the members it is not
// connected to. A member is a seed or a node whose membership process said hello; other peers
// (an Erlang node, a node that did not join) are never dialed by it.
//
// Reconnection: a member that goes down is dialed again after initial_backoff, then after twice
// as long each time, at most max_backoff apart. Seeds are dialed forever (a seed is meant to
// come back); a learned member is forgotten after forget_after of being down (it may be gone for
// good, and dialing it forever would cost each node an epmd lookup per attempt).
//
// Erlang nodes may be seeds: they are connected to (and redialed) like any seed, but take no part
// in the exchange (they have no `ambitious_members`: the hello is dropped), so they tell nobody of
// other nodes. Nothing runs until join_cluster: a node without seeds behaves as before.

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/chrono.hpp"
#include "ambitious/core/pid.hpp"

namespace ambitious::dist {

/// How a node takes part in a cluster.
struct ClusterOptions {
  /// Full node names (`alive@host`) dialed at start and redialed forever when down; this node's
  /// own name may be among them (the same list on every node). Empty: the seeds of
  /// AMBITIOUS_SEEDS, else of the file AMBITIOUS_SEEDS_FILE names, else none.
  std::vector<std::string> seeds;
  /// True: a full mesh (connect to every member learned of). False: connect to the seeds only
  /// (learned members are known, not dialed), as erl -connect_all false.
  bool connect_all = true;
  /// The first wait before dialing a member that went down (or a seed that did not answer).
  std::chrono::milliseconds initial_backoff = std::chrono::milliseconds(100);
  /// The longest wait between two attempts.
  std::chrono::milliseconds max_backoff = std::chrono::seconds(10);
  /// A learned (non-seed) member down this long is forgotten (seeds never are).
  std::chrono::milliseconds forget_after = std::chrono::minutes(5);
};

/// Why join_cluster or a seed list failed.
enum class ClusterErrc : std::uint8_t {
  bad_seed,        ///< a seed entry is not a node name (`alive@host`)
  no_seed_file,    ///< the seed file could not be read
  not_alive,       ///< this node is not distributed
  already_joined,  ///< this node's membership process runs already
};

/// A failed join or seed list: what, and which entry or file.
struct ClusterError {
  ClusterErrc code = ClusterErrc::bad_seed;  ///< what failed
  std::string detail;                        ///< the entry, the file, and why
};

/// The seeds of `text`: node names separated by commas, spaces or newlines; `#` starts a comment
/// to the end of its line (for files). An entry that is not `alive@host` is an error naming it.
std::expected<std::vector<std::string>, ClusterError> parse_seeds(std::string_view text);
/// The seeds of the file `path` (parse_seeds of its text).
std::expected<std::vector<std::string>, ClusterError> seeds_from_file(const std::string& path);
/// The seeds of AMBITIOUS_SEEDS, else of the file AMBITIOUS_SEEDS_FILE names; empty when neither
/// is set.
std::expected<std::vector<std::string>, ClusterError> seeds_from_environment();

/// Starts this node's membership process (registered as `ambitious_members`) with `options`:
/// it dials the seeds and from then on keeps the cluster as the header says, until
/// leave_cluster or the node stops. Its pid, or why not. Inside a process, on a running node.
std::expected<Pid, ClusterError> join_cluster(ClusterOptions options = {});
/// Ends the membership process (connections stay up; nothing is redialed). False when none
/// runs. Inside a process.
bool leave_cluster();

/// The members known to the membership process, and which of them are connected.
struct Members {
  std::vector<Atom> up;     ///< connected now, sorted
  std::vector<Atom> known;  ///< every member known (up ones included), sorted
  friend bool operator==(const Members&, const Members&) = default;
};

/// The members now (empty when no membership process runs). Any thread.
Members cluster_members();

/// What a monitor_members subscriber gets: the members after each change, and once at once.
struct MembersChanged {
  Members members;  ///< the members after the change
};

/// `on`: the calling process gets MembersChanged at once and after each change of the members
/// (a member learned, up, down or forgotten), until `!on` or its end. False when no membership
/// process runs. Inside a process.
bool monitor_members(bool on);

}  // namespace ambitious::dist
