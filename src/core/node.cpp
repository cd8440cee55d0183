#include "ambitious/core/node.hpp"

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace ambitious::nodes {
namespace {

struct NodeIdHash {
  std::size_t operator()(const NodeId& n) const noexcept {
    return std::hash<Atom>{}(n.name) ^ (std::size_t{n.creation} * 0xC2B2AE3D27D4EB4Full);
  }
};

// An entry in one word (the name's atom index, the creation), so that get() reads it with one
// atomic load and set_local() renames this node with one store.
constexpr std::uint64_t pack(NodeId n) noexcept {
  return std::uint64_t{n.name.index()} << 32 | n.creation;
}
constexpr NodeId unpack(std::uint64_t v) noexcept {
  return NodeId{Atom::from_index(static_cast<std::uint32_t>(v >> 32)),
                static_cast<std::uint32_t>(v)};
}

// get() takes no lock: encoding a pid or printing one reads the table on every call, from any
// thread. Entries are written once, before `size` publishes them (release), and never move:
// the array is static (zero pages until used, 512 KiB at most). Entry 0, this node, is apart
// so that it can start as NodeId{} without putting the whole array in the data segment.
constinit std::atomic<std::uint64_t> local_entry{pack(NodeId{})};
constinit std::atomic<std::uint64_t> remote_entries[max_nodes]{};
constinit std::atomic<std::uint32_t> size{1};

// intern() and set_local() serialize on the mutex, which guards the index.
struct Index {
  std::mutex mutex;
  std::unordered_map<NodeId, std::uint32_t, NodeIdHash> map;  // remote pairs only
};

Index& index() {
  static Index* i = new Index;  // never destroyed: pids may be interned during static destruction
  return *i;
}

}  // namespace

NodeId get(std::uint32_t i) noexcept {
  if (i == local) return unpack(local_entry.load(std::memory_order_acquire));
  if (i >= size.load(std::memory_order_acquire)) return NodeId{};
  return unpack(remote_entries[i].load(std::memory_order_relaxed));
}

std::optional<std::uint32_t> intern(NodeId node) {
  Index& t = index();
  std::lock_guard lock(t.mutex);
  if (node == unpack(local_entry.load(std::memory_order_relaxed))) return local;
  if (auto it = t.map.find(node); it != t.map.end()) return it->second;
  std::uint32_t i = size.load(std::memory_order_relaxed);
  if (i >= max_nodes) return std::nullopt;
  t.map.emplace(node, i);
  remote_entries[i].store(pack(node), std::memory_order_relaxed);
  size.store(i + 1, std::memory_order_release);
  return i;
}

std::optional<std::uint32_t> find(NodeId node) {
  Index& t = index();
  std::lock_guard lock(t.mutex);
  if (node == unpack(local_entry.load(std::memory_order_relaxed))) return local;
  if (auto it = t.map.find(node); it != t.map.end()) return it->second;
  return std::nullopt;
}

std::uint32_t count() noexcept { return size.load(std::memory_order_acquire); }

void set_local(NodeId node) {
  Index& t = index();
  std::lock_guard lock(t.mutex);
  local_entry.store(pack(node), std::memory_order_release);
}

}  // namespace ambitious::nodes
