#pragma once
// The node table: the nodes that pids and refs can name, by (name, creation).

#include <cstdint>
#include <optional>

#include "ambitious/core/atom.hpp"

namespace ambitious {

/// A node as pids and refs name it: its name and its creation (a node restarted under the same
/// name gets a new creation, and its old pids no longer match).
struct NodeId {
  Atom name = atoms::nonode_nohost;  ///< the node's name, `name@host`
  std::uint32_t creation = 0;        ///< which incarnation of the node of that name
  friend bool operator==(const NodeId&, const NodeId&) = default;
};

/// Index 0 is always this node, whatever its name (it changes when distribution starts), so a
/// local pid stays local. Other indices are remote (name, creation) pairs, assigned on first
/// use and never reused. All functions may be called from any thread.
///
/// Entries are never freed (pids hold their index), so the table is bounded: a peer sending
/// pids with ever new creations must not be able to grow it without limit.
namespace nodes {
/// The index of this node.
inline constexpr std::uint32_t local{0};  // braced: Doxygen misreads `local = 0`
/// The most (name, creation) pairs the table holds, this node included.
inline constexpr std::uint32_t max_nodes = 1u << 16;
/// The identity behind `index`.
NodeId get(std::uint32_t index) noexcept;
/// The index of `node`: 0 if it is this node, else a remote index (made on first use). Empty
/// when `node` is new and the table already holds max_nodes pairs.
std::optional<std::uint32_t> intern(NodeId node);
/// The index of `node` if the table holds it already; never adds it.
std::optional<std::uint32_t> find(NodeId node);
/// How many pairs the table holds, this node included.
std::uint32_t count() noexcept;
/// Renames this node (distribution start); existing local pids follow the new name.
void set_local(NodeId node);
}  // namespace nodes

}  // namespace ambitious
