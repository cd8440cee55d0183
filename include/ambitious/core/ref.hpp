#pragma once
// Ref: a unique reference, shaped as Erlang's (node, creation, up to 5 id words).

#include <array>
#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "ambitious/core/functional.hpp"
#include "ambitious/core/node.hpp"

namespace ambitious {

/// A reference, unique among all refs made by this node while it runs. A value type, any thread;
/// std::hash hashes it.
///
/// Local refs have 3 words, as Erlang's; refs decoded from other nodes may have up to 5.
struct Ref {
  std::uint32_t node_index = nodes::local;  ///< the node, an index into the node table
  std::uint32_t length = 0;                 ///< words in use, 0 for the null ref
  std::array<std::uint32_t, 5> words{};     ///< the id, least significant word first

  /// The null ref (length 0), which no make() returns.
  constexpr Ref() noexcept = default;

  /// A new local ref. Lock-free: each thread counts in its own range.
  static Ref make() noexcept;

  /// True for the null ref.
  constexpr bool is_null() const noexcept { return length == 0; }
  /// True when this node made the ref.
  constexpr bool is_local() const noexcept { return node_index == nodes::local; }
  /// The name of the node that made the ref.
  Atom node() const noexcept { return nodes::get(node_index).name; }
  /// The creation of the node that made the ref.
  std::uint32_t creation() const noexcept { return nodes::get(node_index).creation; }

  friend constexpr bool operator==(const Ref& a, const Ref& b) noexcept {
    // Written out: the defaulted one calls memcmp for the array, on every reply and monitor.
    bool same = a.node_index == b.node_index && a.length == b.length;
    for (std::size_t i = 0; i < a.words.size(); ++i) same = same && a.words[i] == b.words[i];
    return same;
  }
  /// Erlang's term order for refs: node name, then the words from the most significant.
  friend std::strong_ordering operator<=>(const Ref& a, const Ref& b) noexcept;
};

/// `#Ref<0.2541.83612.1>` as Erlang prints it: node index, then the words, last word first.
std::string to_string(const Ref& ref);
/// Writes the value as Erlang prints it.
std::ostream& operator<<(std::ostream& out, const Ref& ref);

}  // namespace ambitious

/// \cond
template <>
struct std::hash<ambitious::Ref> {
  std::size_t operator()(const ambitious::Ref& r) const noexcept {
    std::uint64_t h = r.node_index;
    for (std::uint32_t i = 0; i < r.length; ++i) h = (h ^ r.words[i]) * 0x100000001B3ull;
    return h * 0x9E3779B97F4A7C15ull;
  }
};
/// \endcond
