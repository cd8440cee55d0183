#pragma once
// Pid: a process identifier, shaped as Erlang's (node, id, serial, creation).

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "ambitious/core/functional.hpp"
#include "ambitious/core/node.hpp"

namespace ambitious {

/// Names a process, local or remote. A value type: 12 bytes, any thread; std::hash hashes it.
///
/// `id` and `serial` are the two numbers Erlang shows: `<0.42.0>` is local id 42, serial 0. The
/// node (name and creation) is an index into the node table, 0 for this node.
struct Pid {
  std::uint32_t node_index = nodes::local;  ///< the node, an index into the node table
  std::uint32_t id = 0;                     ///< the process's number on its node
  std::uint32_t serial = 0;                 ///< tells apart the processes that had this id

  /// The null pid `<0.0.0>`, which names no process (id 0 is never handed out).
  constexpr Pid() noexcept = default;
  /// The pid of these parts (a decoded pid, or one of the runtime's own).
  constexpr Pid(std::uint32_t node_index, std::uint32_t id, std::uint32_t serial) noexcept
      : node_index(node_index), id(id), serial(serial) {}

  /// True when the pid names a process of this node.
  constexpr bool is_local() const noexcept { return node_index == nodes::local; }
  /// True for the null pid.
  constexpr bool is_null() const noexcept { return id == 0 && serial == 0 && is_local(); }
  /// The node's name.
  Atom node() const noexcept { return nodes::get(node_index).name; }
  /// The node's creation.
  std::uint32_t creation() const noexcept { return nodes::get(node_index).creation; }

  friend constexpr bool operator==(const Pid&, const Pid&) noexcept = default;
  /// Erlang's term order for pids: node name, then id, then serial, then creation.
  friend std::strong_ordering operator<=>(const Pid& a, const Pid& b) noexcept;
};

/// `<0.42.0>` for a local pid; `<N.42.0>` for a remote one, N being its node index.
std::string to_string(const Pid& pid);
/// Writes the value as Erlang prints it.
std::ostream& operator<<(std::ostream& out, const Pid& pid);

}  // namespace ambitious

/// \cond
template <>
struct std::hash<ambitious::Pid> {
  std::size_t operator()(const ambitious::Pid& p) const noexcept {
    std::uint64_t h = (std::uint64_t{p.id} << 32 | p.serial) ^ (std::uint64_t{p.node_index} << 48);
    return h * 0x9E3779B97F4A7C15ull;
  }
};
/// \endcond
