#pragma once
// Distribution flags (DFLAG_*, lib/kernel/include/dist.hrl of OTP 25): what each side of a
// connection says it can do. The connection runs on the intersection of both sides' flags.

#include <cstdint>

namespace ambitious::dist {

/// A set of DFLAG_* bits.
using Flags = std::uint64_t;

namespace flag {
inline constexpr Flags published = 0x1;
inline constexpr Flags atom_cache = 0x2;
inline constexpr Flags extended_references = 0x4;
inline constexpr Flags dist_monitor = 0x8;
inline constexpr Flags fun_tags = 0x10;
inline constexpr Flags dist_monitor_name = 0x20;
inline constexpr Flags hidden_atom_cache = 0x40;
inline constexpr Flags new_fun_tags = 0x80;
inline constexpr Flags extended_pids_ports = 0x100;
inline constexpr Flags export_ptr_tag = 0x200;
inline constexpr Flags bit_binaries = 0x400;
inline constexpr Flags new_floats = 0x800;
inline constexpr Flags unicode_io = 0x1000;
inline constexpr Flags dist_hdr_atom_cache = 0x2000;
inline constexpr Flags small_atom_tags = 0x4000;
inline constexpr Flags utf8_atoms = 0x10000;
inline constexpr Flags map_tag = 0x20000;
inline constexpr Flags big_creation = 0x40000;
inline constexpr Flags send_sender = 0x80000;
inline constexpr Flags big_seqtrace_labels = 0x100000;
inline constexpr Flags exit_payload = 0x400000;
inline constexpr Flags fragments = 0x800000;
inline constexpr Flags handshake_23 = 0x1000000;
inline constexpr Flags unlink_id = 0x2000000;
/// "Every flag OTP 25 makes mandatory" in one bit: bit 26, as dist.hrl and the wire have it
/// (a newer erl_dist_protocol.md gives 1 bsl 36; OTP 25 itself sends bit 26).
inline constexpr Flags mandatory_25_digest = 0x4000000;
inline constexpr Flags spawn = Flags{1} << 32;
inline constexpr Flags name_me = Flags{2} << 32;
inline constexpr Flags v4_nc = Flags{4} << 32;
inline constexpr Flags alias = Flags{8} << 32;
}  // namespace flag

/// What OTP 25 refuses to connect without (16#1070F94).
inline constexpr Flags mandatory_flags =
    flag::extended_references | flag::fun_tags | flag::new_fun_tags | flag::extended_pids_ports |
    flag::export_ptr_tag | flag::bit_binaries | flag::new_floats | flag::utf8_atoms |
    flag::map_tag | flag::big_creation | flag::handshake_23;
static_assert(mandatory_flags == 0x1070F94);

/// What this node advertises: the mandatory bits one by one and MANDATORY_25_DIGEST (so that
/// OTP 23/24 peers and OTP 27 peers are both content), monitors by pid and by name, UTF-8 I/O,
/// small atom tags, SEND_SENDER, big seq-trace labels, exit reasons as payloads, UNLINK_ID,
/// V4 node containers, aliases, fragments (reassembled, see fragments.hpp), and SPAWN_REQUEST
/// (served by the rpc server, rpc.hpp; without it OTP 25's erpc and rpc fail with notsup). Hidden:
/// no PUBLISHED (a published node would owe its peers the `global` protocol).
inline constexpr Flags default_flags =
    mandatory_flags | flag::mandatory_25_digest | flag::dist_monitor | flag::dist_monitor_name |
    flag::unicode_io | flag::small_atom_tags | flag::send_sender | flag::big_seqtrace_labels |
    flag::exit_payload | flag::fragments | flag::unlink_id | flag::v4_nc | flag::alias |
    flag::spawn;
static_assert(default_flags == 0xD07DF5FBC);

/// The mandatory flags `peer` lacks (0 when none). A peer that sets MANDATORY_25_DIGEST has
/// them all, as OTP 25 reads that bit.
constexpr Flags missing_mandatory(Flags peer) noexcept {
  if (peer & flag::mandatory_25_digest) return 0;
  return mandatory_flags & ~peer;
}

}  // namespace ambitious::dist
