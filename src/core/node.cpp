#include "ambitious/core/node.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

namespace ambitious::nodes {
namespace {

struct NodeIdHash {
  std::size_t operator()(const NodeId& n) const noexcept {
    return std::hash<Atom>{}(n.name) ^ (std::size_t{n.creation} * 0xC2B2AE3D27D4EB4Full);
  }
};

struct Table {
  std::mutex mutex;
  std::vector<NodeId> entries{NodeId{}};                        // entry 0: this node
  std::unordered_map<NodeId, std::uint32_t, NodeIdHash> index;  // remote pairs only
};

Table& table() {
  static Table* t = new Table;  // never destroyed: pids may be printed during static destruction
  return *t;
}

}  // namespace

NodeId get(std::uint32_t index) noexcept {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  return index < t.entries.size() ? t.entries[index] : NodeId{};
}

std::optional<std::uint32_t> intern(NodeId node) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  if (node == t.entries[local]) return local;
  if (auto it = t.index.find(node); it != t.index.end()) return it->second;
  if (t.entries.size() >= max_nodes) return std::nullopt;
  auto i = static_cast<std::uint32_t>(t.entries.size());
  t.entries.push_back(node);
  t.index.emplace(node, i);
  return i;
}

void set_local(NodeId node) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  t.entries[local] = node;
}

}  // namespace ambitious::nodes
