#include "ambitious/core/node.hpp"

#include <mutex>
#include <vector>

namespace ambitious::nodes {
namespace {

struct Table {
  std::mutex mutex;
  std::vector<NodeId> entries{NodeId{}};  // entry 0: this node
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

std::uint32_t intern(NodeId node) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  for (std::uint32_t i = 0; i < t.entries.size(); ++i)
    if (t.entries[i] == node) return i;
  t.entries.push_back(node);
  return static_cast<std::uint32_t>(t.entries.size() - 1);
}

void set_local(NodeId node) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  t.entries[local] = node;
}

}  // namespace ambitious::nodes
