#include "ambitious/core/pid.hpp"

#include <ostream>

namespace ambitious {

std::strong_ordering operator<=>(const Pid& a, const Pid& b) noexcept {
  if (a.node_index != b.node_index) {
    NodeId na = nodes::get(a.node_index), nb = nodes::get(b.node_index);
    if (auto c = na.name <=> nb.name; c != 0) return c;
  }
  if (auto c = a.id <=> b.id; c != 0) return c;
  if (auto c = a.serial <=> b.serial; c != 0) return c;
  return a.creation() <=> b.creation();
}

std::string to_string(const Pid& pid) {
  return "<" + std::to_string(pid.node_index) + "." + std::to_string(pid.id) + "." +
         std::to_string(pid.serial) + ">";
}

std::ostream& operator<<(std::ostream& out, const Pid& pid) { return out << to_string(pid); }

}  // namespace ambitious
