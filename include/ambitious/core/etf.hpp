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
  node_table_full,    ///< a pid, port or ref of a new (node, creation) that would eat into the
                      ///< node table's reserve (DecodeOptions::node_reserve)
  node_budget,        ///< more new (node, creation) pairs than DecodeOptions::max_new_nodes
};

/// A decoding failure and the offset of the byte where it was found.
struct DecodeError {
  DecodeErrc code;         ///< what was wrong
  std::size_t offset = 0;  ///< where: the offset of the byte, from the start of the input
  friend bool operator==(const DecodeError&, const DecodeError&) = default;
};

/// Text of a DecodeErrc.
std::string_view to_string(DecodeErrc e) noexcept;
/// "truncated at byte 12".
std::string to_string(const DecodeError& e);

/// The binaries of at least this many bytes that encode_segments() references rather than
/// copies, and that decode_shared() shares rather than copies.
inline constexpr std::size_t share_binaries_from = 64 * 1024;

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
/// The node table (the (name, creation) pairs pids, ports and refs name) is never freed either,
/// and has the same policy: at most `max_new_nodes` new pairs per decode, none once it holds
/// more than `nodes::max_nodes - node_reserve`.
struct DecodeOptions {
  /// Accept only atoms that exist already (binary_to_term(B, [safe])).
  bool safe = false;
  /// Most new atoms one decode call makes.
  std::uint32_t max_new_atoms = 1024;
  /// Atoms of the table kept for the program's own: no new atom once fewer are left.
  std::uint32_t atom_reserve = Atom::max_atoms / 4;
  /// Most new (name, creation) pairs one decode call adds to the node table.
  std::uint32_t max_new_nodes = 1024;
  /// Entries of the node table kept for the program's own nodes: no new pair once fewer are left.
  std::uint32_t node_reserve = nodes::max_nodes / 4;
  /// Deepest nesting of tuples, lists and maps (a list's tail encoded as another LIST_EXT does
  /// not nest: it continues the list). Decoding takes no stack whatever the depth; this bounds
  /// the terms a peer can make the program hold (everything else handles any depth too).
  std::uint32_t max_depth = 512;
  /// Largest uncompressed size accepted for a COMPRESSED term.
  std::size_t max_uncompressed = std::size_t{64} << 20;
  /// decode_shared(): binaries of at least this many bytes share the buffer's bytes; smaller
  /// ones are copied, so that a few small binaries kept do not pin a large buffer.
  std::size_t share_from = share_binaries_from;
};

/// Decodes one term that fills `bytes` exactly (version byte first).
std::expected<Term, DecodeError> decode(std::span<const std::uint8_t> bytes,
                                        const DecodeOptions& options = {});
/// Decodes the term at the front of `bytes`; returns it and the number of bytes it used.
std::expected<std::pair<Term, std::size_t>, DecodeError> decode_prefix(
    std::span<const std::uint8_t> bytes, const DecodeOptions& options = {});

/// Decodes one term that fills the binary `buffer` exactly, as decode() does, except that its
/// binaries of at least options.share_from bytes are slices of `buffer` instead of copies: each
/// keeps the buffer's bytes alive as long as it lives, so nothing is copied and nothing dangles.
/// A carrier reads a frame into a binary (Term::binary_filled) and decodes it here. (Binaries
/// of a COMPRESSED term are copied out of the inflated bytes.) Throws BadTerm when `buffer` is
/// not a binary.
std::expected<Term, DecodeError> decode_shared(const Term& buffer,
                                               const DecodeOptions& options = {});
/// The term at byte `offset` of the binary `buffer`, sharing as decode_shared() does; returns it
/// and the number of bytes it used (error offsets count from `offset`). Throws
/// std::out_of_range when `offset` is past the end of `buffer`.
std::expected<std::pair<Term, std::size_t>, DecodeError> decode_prefix_shared(
    const Term& buffer, std::size_t offset, const DecodeOptions& options = {});

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

// encode_segments (an encoding in pieces for writev(2), large binaries by reference) is in
// etf_segments.hpp.

}  // namespace ambitious::etf
