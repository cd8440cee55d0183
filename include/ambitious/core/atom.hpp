#pragma once
// Atom: an interned name, as Erlang's atoms.

#include <compare>
#include <cstdint>
#include <expected>
#include <iosfwd>
#include <iterator>
#include <optional>
#include <string_view>

#include "ambitious/core/functional.hpp"

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
/// with `==`, and ordered by their text with `<=>` (Erlang's term order for atoms); std::hash
/// hashes them.
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

/// Writes the value as Erlang prints it.
std::ostream& operator<<(std::ostream& out, Atom a);

/// Atoms that exist from the start, with fixed indices, so that using them costs nothing.
namespace atoms {
// The order here is the order of the table's first entries (atom.cpp seeds it from this list);
// add new names at the end.
/// The names of the predefined atoms, at indices 0, 1, ... of the table.
inline constexpr std::string_view predefined[] = {
    "", "normal", "kill", "killed", "shutdown", "noproc", "noconnection", "exception", "true",
    "false", "undefined", "nonode@nohost", "ok", "error", "timeout", "badarg", "EXIT", "DOWN",
    "process", "infinity", "calling_self", "nil", "already_registered",
    // Errors of the behaviours and naming layers (each named in its function's brief).
    "not_found", "already_started", "already_present", "ignore", "running", "restarting",
    "max_children", "start_spec", "duplicate_child_name", "failed_to_start_child", "missing_start",
    "no_start_function", "application_terminated", "already_loaded", "not_loaded", "not_started",
    // Parts of exit reasons and names that OTP spells with atoms.
    "gen_server", "call", "via", "task", "await", "application_controller", "pg",
    // Added later (new names go here, at the end, so the indices above stay fixed).
    "invalid_child_spec", "child_process_unlinked",
    // gen_server on the wire (gen.erl, gen_server.erl).
    "$gen_call", "$gen_cast", "alias", "nodedown"};

/// The atom `name` of the list above; a name not in the list does not compile.
consteval Atom predefined_atom(std::string_view name) {
  for (std::uint32_t i = 0; i < std::size(predefined); ++i)
    if (predefined[i] == name) return Atom::from_index(i);
  throw "not a predefined atom";  // not a constant expression: the use does not compile
}

/// @name Predefined atoms
///@{

/// The predefined atom of this name (`empty` is `''`, `true_` and `false_` are `true` and
/// `false`, `nonode_nohost` is the name of a node without distribution): an exit reason, an
/// error atom that a function returns (named in the function's brief), or a part of one of
/// OTP's terms.
inline constexpr Atom empty = predefined_atom("");
inline constexpr Atom normal = predefined_atom("normal");
inline constexpr Atom kill = predefined_atom("kill");
inline constexpr Atom killed = predefined_atom("killed");
inline constexpr Atom shutdown = predefined_atom("shutdown");
inline constexpr Atom noproc = predefined_atom("noproc");
inline constexpr Atom noconnection = predefined_atom("noconnection");
inline constexpr Atom exception = predefined_atom("exception");
inline constexpr Atom true_ = predefined_atom("true");
inline constexpr Atom false_ = predefined_atom("false");
inline constexpr Atom undefined = predefined_atom("undefined");
inline constexpr Atom nonode_nohost = predefined_atom("nonode@nohost");
inline constexpr Atom ok = predefined_atom("ok");
inline constexpr Atom error = predefined_atom("error");
inline constexpr Atom timeout = predefined_atom("timeout");
inline constexpr Atom badarg = predefined_atom("badarg");
inline constexpr Atom EXIT = predefined_atom("EXIT");
inline constexpr Atom DOWN = predefined_atom("DOWN");
inline constexpr Atom process = predefined_atom("process");
inline constexpr Atom infinity = predefined_atom("infinity");
inline constexpr Atom calling_self = predefined_atom("calling_self");
inline constexpr Atom nil = predefined_atom("nil");
inline constexpr Atom already_registered = predefined_atom("already_registered");

inline constexpr Atom not_found = predefined_atom("not_found");
inline constexpr Atom already_started = predefined_atom("already_started");
inline constexpr Atom already_present = predefined_atom("already_present");
inline constexpr Atom ignore = predefined_atom("ignore");
inline constexpr Atom running = predefined_atom("running");
inline constexpr Atom restarting = predefined_atom("restarting");
inline constexpr Atom max_children = predefined_atom("max_children");
inline constexpr Atom start_spec = predefined_atom("start_spec");
inline constexpr Atom duplicate_child_name = predefined_atom("duplicate_child_name");
inline constexpr Atom failed_to_start_child = predefined_atom("failed_to_start_child");
inline constexpr Atom missing_start = predefined_atom("missing_start");
inline constexpr Atom no_start_function = predefined_atom("no_start_function");
inline constexpr Atom application_terminated = predefined_atom("application_terminated");
inline constexpr Atom already_loaded = predefined_atom("already_loaded");
inline constexpr Atom not_loaded = predefined_atom("not_loaded");
inline constexpr Atom not_started = predefined_atom("not_started");

inline constexpr Atom gen_server = predefined_atom("gen_server");
inline constexpr Atom call = predefined_atom("call");
inline constexpr Atom via = predefined_atom("via");
inline constexpr Atom task = predefined_atom("task");
inline constexpr Atom await = predefined_atom("await");
inline constexpr Atom application_controller = predefined_atom("application_controller");
inline constexpr Atom pg = predefined_atom("pg");

inline constexpr Atom invalid_child_spec = predefined_atom("invalid_child_spec");
inline constexpr Atom child_process_unlinked = predefined_atom("child_process_unlinked");

inline constexpr Atom gen_call = predefined_atom("$gen_call");
inline constexpr Atom gen_cast = predefined_atom("$gen_cast");
inline constexpr Atom alias = predefined_atom("alias");
inline constexpr Atom nodedown = predefined_atom("nodedown");
///@}
}  // namespace atoms

inline namespace literals {
/// `"ok"_atom`: shorthand for Atom("ok").
inline Atom operator""_atom(const char* s, std::size_t n) { return Atom(std::string_view(s, n)); }
}  // namespace literals

}  // namespace ambitious

/// \cond
template <>
struct std::hash<ambitious::Atom> {
  std::size_t operator()(ambitious::Atom a) const noexcept {
    return a.index() * 0x9E3779B97F4A7C15ull;
  }
};
/// \endcond
