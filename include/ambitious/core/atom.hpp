#pragma once
// Atom: an interned name, as Erlang's atoms.

#include <compare>
#include <cstdint>
#include <expected>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string_view>

namespace ambitious {

/// Why an atom could not be made.
enum class AtomError : std::uint8_t {
  too_long,      ///< more than Atom::max_chars characters
  invalid_utf8,  ///< the name is not valid UTF-8
  table_full,    ///< the table already holds Atom::max_atoms atoms
};

/// Text of an AtomError.
std::string_view to_string(AtomError e) noexcept;

/// An interned UTF-8 name: copying and `==` cost one integer; the table never shrinks.
///
/// Thread safety: all members may be called from any thread. Atoms are compared by identity
/// with `==`, and ordered by their text with `<=>` (Erlang's term order for atoms).
class Atom {
 public:
  /// Most atoms the table holds (Erlang's default `+t`).
  static constexpr std::uint32_t max_atoms = 1'048'576;
  /// Longest name, in characters (code points), as Erlang's limit.
  static constexpr std::size_t max_chars = 255;

  /// The empty atom `''`.
  constexpr Atom() noexcept = default;
  /// Interns `name`; throws std::invalid_argument when it cannot (see make()).
  explicit Atom(std::string_view name);

  /// Interns `name`, or says why it cannot.
  static std::expected<Atom, AtomError> make(std::string_view name) noexcept;
  /// The atom named `name` if it exists already; never grows the table.
  static std::optional<Atom> existing(std::string_view name) noexcept;
  /// How many atoms exist.
  static std::uint32_t count() noexcept;

  /// The name, valid for the life of the program.
  std::string_view name() const noexcept;
  /// The index in the table (stable for the life of the program).
  constexpr std::uint32_t index() const noexcept { return index_; }
  /// The atom at `index`, which must come from index() of an existing atom.
  static constexpr Atom from_index(std::uint32_t index) noexcept { return Atom(index, 0); }

  friend constexpr bool operator==(Atom a, Atom b) noexcept { return a.index_ == b.index_; }
  friend std::strong_ordering operator<=>(Atom a, Atom b) noexcept;

 private:
  constexpr Atom(std::uint32_t index, int) noexcept : index_(index) {}
  std::uint32_t index_ = 0;
};

std::ostream& operator<<(std::ostream& out, Atom a);

/// Atoms that exist from the start, with fixed indices, so that using them costs nothing.
namespace atoms {
// The order here is the order of the table's first entries (atom.cpp seeds it from this list).
inline constexpr std::string_view predefined[] = {"",
                                                  "normal",
                                                  "kill",
                                                  "killed",
                                                  "shutdown",
                                                  "noproc",
                                                  "noconnection",
                                                  "exception",
                                                  "true",
                                                  "false",
                                                  "undefined",
                                                  "nonode@nohost",
                                                  "ok",
                                                  "error",
                                                  "timeout",
                                                  "badarg",
                                                  "EXIT",
                                                  "DOWN",
                                                  "process",
                                                  "infinity",
                                                  "calling_self",
                                                  "nil",
                                                  "already_registered"};
inline constexpr Atom empty = Atom::from_index(0);
inline constexpr Atom normal = Atom::from_index(1);
inline constexpr Atom kill = Atom::from_index(2);
inline constexpr Atom killed = Atom::from_index(3);
inline constexpr Atom shutdown = Atom::from_index(4);
inline constexpr Atom noproc = Atom::from_index(5);
inline constexpr Atom noconnection = Atom::from_index(6);
inline constexpr Atom exception = Atom::from_index(7);
inline constexpr Atom true_ = Atom::from_index(8);
inline constexpr Atom false_ = Atom::from_index(9);
inline constexpr Atom undefined = Atom::from_index(10);
inline constexpr Atom nonode_nohost = Atom::from_index(11);
inline constexpr Atom ok = Atom::from_index(12);
inline constexpr Atom error = Atom::from_index(13);
inline constexpr Atom timeout = Atom::from_index(14);
inline constexpr Atom badarg = Atom::from_index(15);
inline constexpr Atom EXIT = Atom::from_index(16);
inline constexpr Atom DOWN = Atom::from_index(17);
inline constexpr Atom process = Atom::from_index(18);
inline constexpr Atom infinity = Atom::from_index(19);
inline constexpr Atom calling_self = Atom::from_index(20);
inline constexpr Atom nil = Atom::from_index(21);
inline constexpr Atom already_registered = Atom::from_index(22);
}  // namespace atoms

/// `"ok"_atom`: shorthand for Atom("ok").
inline namespace literals {
inline Atom operator""_atom(const char* s, std::size_t n) { return Atom(std::string_view(s, n)); }
}  // namespace literals

}  // namespace ambitious

template <>
struct std::hash<ambitious::Atom> {
  std::size_t operator()(ambitious::Atom a) const noexcept {
    return a.index() * 0x9E3779B97F4A7C15ull;
  }
};
