#pragma once
// The External Term Format: Term to the bytes a BEAM node reads (term_to_binary), and back.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "ambitious/core/term.hpp"

namespace ambitious::etf {

/// The version byte that starts every encoded term.
inline constexpr std::uint8_t version = 131;

/// Why bytes could not be decoded.
enum class DecodeErrc : std::uint8_t {
  truncated,          ///< the input ends inside a term (or inside a compressed term's zlib data)
  bad_version,        ///< the first byte is not 131
  unknown_tag,        ///< a tag this decoder does not know (or that OTP 25 rejects, FUN_EXT)
  malformed,          ///< a field out of range: bit count, sign byte, ref length, NaN float...
  trailing_bytes,     ///< bytes left after the term (decode_prefix() accepts them)
  too_deep,           ///< nesting beyond DecodeOptions::max_depth
  bad_atom,           ///< an atom that is not valid UTF-8 or longer than 255 characters
  unknown_atom,       ///< safe mode: an atom that does not exist yet
  atom_budget,        ///< more new atoms than DecodeOptions::max_new_atoms
  atom_table_full,    ///< making the atom would eat into the reserve of the atom table
  duplicate_map_key,  ///< a MAP_EXT with the same key twice
  too_large,          ///< a compressed term whose size exceeds DecodeOptions::max_uncompressed
  bad_compression,    ///< corrupt zlib data (offset: where inflating stopped), or data that
                      ///< inflates to more or fewer bytes than announced (offset 2: the size)
  node_table_full,    ///< a pid, port or ref of a new (node, creation) once nodes::max_nodes exist
};

/// A decoding failure and the offset of the byte where it was found.
struct DecodeError {
  DecodeErrc code;
  std::size_t offset = 0;
  friend bool operator==(const DecodeError&, const DecodeError&) = default;
};

/// Text of a DecodeErrc.
std::string_view to_string(DecodeErrc e) noexcept;
/// "truncated at byte 12".
std::string to_string(const DecodeError& e);

/// Limits for decoding untrusted bytes. The defaults suit bytes from a network peer: memory is
/// bounded by a small multiple of the input size (each element takes at least one input byte
/// and 16 bytes of Term), compressed terms by what they really inflate to (at most
/// max_uncompressed; the announced size is never allocated up front), nesting by max_depth.
/// No decode uses stack in proportion to its input, whatever the options.
///
/// Atom policy: atoms are never freed, so bytes from a peer must not be able to fill the table.
/// `safe` accepts only existing atoms (as binary_to_term(B, [safe])). Otherwise a decode call
/// makes at most `max_new_atoms` new atoms, and none once the table holds more than
/// `Atom::max_atoms - atom_reserve` atoms, which keeps room for the program's own atoms.
struct DecodeOptions {
  bool safe = false;
  std::uint32_t max_new_atoms = 1024;
  std::uint32_t atom_reserve = Atom::max_atoms / 4;
  /// Deepest nesting of tuples, lists and maps (a list's tail encoded as another LIST_EXT does
  /// not nest: it continues the list). Decoding takes no stack whatever the depth; this bounds
  /// the terms a peer can make the program hold (everything else handles any depth too).
  std::uint32_t max_depth = 512;
  /// Largest uncompressed size accepted for a COMPRESSED term.
  std::size_t max_uncompressed = std::size_t{64} << 20;
};

/// Decodes one term that fills `bytes` exactly (version byte first).
std::expected<Term, DecodeError> decode(std::span<const std::uint8_t> bytes,
                                        const DecodeOptions& options = {});
/// Decodes the term at the front of `bytes`; returns it and the number of bytes it used.
std::expected<std::pair<Term, std::size_t>, DecodeError> decode_prefix(
    std::span<const std::uint8_t> bytes, const DecodeOptions& options = {});

/// The exact size of encode(t), version byte included.
std::size_t encoded_size(const Term& t);
/// Writes the encoding of `t` (version byte first) to the front of `out`, which must hold
/// encoded_size(t) bytes (std::length_error otherwise); returns the bytes written.
std::size_t encode_into(const Term& t, std::span<std::uint8_t> out);
/// Appends the encoding of `t` to `out`.
void encode_append(const Term& t, std::vector<std::uint8_t>& out);
/// The encoding of `t` as OTP 25's term_to_binary(T, [{minor_version, 2}]) writes it: UTF-8
/// atoms, NEW_FLOAT_EXT, NEW_PID_EXT, NEWER_REFERENCE_EXT, STRING_EXT for lists of bytes, the
/// smallest integer tag. Maps are written in key order, as OTP writes maps of up to 32 keys.
std::vector<std::uint8_t> encode(const Term& t);

}  // namespace ambitious::etf
