#pragma once
// Port: a port identifier, shaped as Erlang's (node, id, creation).

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "ambitious/core/functional.hpp"
#include "ambitious/core/node.hpp"

namespace ambitious {

/// Names an Erlang port. ambitious opens no ports; it carries the ones other nodes send, so
/// that they round-trip through terms and the External Term Format. A value type, any thread;
/// std::hash hashes it.
struct Port {
  std::uint32_t node_index = nodes::local;  ///< the node, an index into the node table
  std::uint64_t id = 0;                     ///< the port's number on its node

  constexpr Port() noexcept = default;
  /// The port of these parts (as decoded from a peer's term).
  constexpr Port(std::uint32_t node_index, std::uint64_t id) noexcept
      : node_index(node_index), id(id) {}

  /// The node's name.
  Atom node() const noexcept { return nodes::get(node_index).name; }
  /// The node's creation.
  std::uint32_t creation() const noexcept { return nodes::get(node_index).creation; }

  friend constexpr bool operator==(const Port&, const Port&) noexcept = default;
  /// Erlang's term order for ports: node name, then id, then creation.
  friend std::strong_ordering operator<=>(const Port& a, const Port& b) noexcept {
    if (a.node_index != b.node_index)
      if (auto c = a.node() <=> b.node(); c != 0) return c;
    if (auto c = a.id <=> b.id; c != 0) return c;
    return a.creation() <=> b.creation();
  }
};

/// `#Port<0.5>` as Erlang prints it, the first number being the node index.
std::string to_string(const Port& port);
/// Writes the value as Erlang prints it.
std::ostream& operator<<(std::ostream& out, const Port& port);

}  // namespace ambitious

/// \cond
template <>
struct std::hash<ambitious::Port> {
  std::size_t operator()(const ambitious::Port& p) const noexcept {
    return (p.id ^ (std::uint64_t{p.node_index} << 48)) * 0x9E3779B97F4A7C15ull;
  }
};
/// \endcond
