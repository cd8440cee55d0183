#include "ambitious/core/port.hpp"

#include <ostream>

namespace ambitious {

std::string to_string(const Port& port) {
  return "#Port<" + std::to_string(port.node_index) + "." + std::to_string(port.id) + ">";
}

std::ostream& operator<<(std::ostream& out, const Port& port) { return out << to_string(port); }

}  // namespace ambitious
