#pragma once
// Packets of a connection after the handshake: a 4-byte length, then the packet; length 0 is a
// tick. A packet is one of (erl_ext_dist.md, "Distribution Header"):
//
//   112, Control, [Payload]                   pass through: two complete terms (version 131
//                                             each); what OTP sends without FRAGMENTS
//   131, 68, 0, Control, [Payload]            a distribution header with no atom cache refs;
//                                             the terms follow without their version byte.
//                                             What OTP 25 sends once FRAGMENTS is negotiated,
//                                             even without DIST_HDR_ATOM_CACHE (observed)
//   131, 69, SeqId(8), FragId(8), 0, Control, Payload start     the first of FragId fragments
//   131, 70, SeqId(8), FragId(8), Payload ...                   the next ones, FragId down to 1
//
// The atom cache (DIST_HDR_ATOM_CACHE) is not negotiated by this node: a header that refers to
// cached atoms is refused. PacketDecoder reassembles fragments, within limits; encode_packet
// and encode_fragments write what a connection sends.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "ambitious/core/etf.hpp"
#include "ambitious/core/etf_segments.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/dist/control.hpp"
#include "ambitious/dist/flags.hpp"
#include "ambitious/dist/wire_error.hpp"

namespace ambitious::dist {

/// The first bytes of each kind of packet.
namespace packet_tag {
inline constexpr std::uint8_t pass_through = 112;    ///< first byte: two versioned terms follow
inline constexpr std::uint8_t dist_header = 68;      ///< after 131: a distribution header
inline constexpr std::uint8_t fragment_header = 69;  ///< after 131: a message's first fragment
inline constexpr std::uint8_t fragment_cont = 70;    ///< after 131: a following fragment
}  // namespace packet_tag

/// What a connection accepts from its peer.
struct PacketLimits {
  /// The largest packet (a frame after its 4-byte length).
  std::size_t max_packet = std::size_t{64} << 20;
  /// The most payload bytes held for messages being reassembled from fragments, all of them
  /// together (and so the largest fragmented message).
  std::size_t max_message = std::size_t{64} << 20;
  /// Fragmented messages being reassembled at once (OTP interleaves those of several senders).
  std::size_t max_sequences = 256;
  /// How terms from the peer are decoded (atom budget, depth...).
  etf::DecodeOptions decode{};
};

/// Decodes one connection's packets, in order, into control messages, reassembling fragments.
/// Owner only.
class PacketDecoder {
 public:
  /// A decoder that holds its peer to `limits`.
  explicit PacketDecoder(PacketLimits limits = {}) : limits_(std::move(limits)) {}

  /// Decodes `bytes`, one packet without its length (not a tick). The decoder may overwrite
  /// them (terms sent without a version byte get one written before them, in place). `owner`,
  /// when given, is the binary the bytes lie in: large binaries of the payload then share its
  /// bytes instead of copying them. Returns the message the packet completes, nothing for a
  /// fragment that leaves more to come, or why the packet is refused (the connection must then
  /// close: the stream cannot be trusted after it).
  std::expected<std::optional<ControlMessage>, WireError> decode(std::span<std::uint8_t> bytes,
                                                                 const Term* owner = nullptr);
  /// Decodes a continuation fragment whose head (`bytes`, fragment_head bytes) place() was
  /// given and whose other `placed` bytes were written to the room place() returned, as
  /// decode() does the whole packet (without copying those bytes again).
  std::expected<std::optional<ControlMessage>, WireError> decode_placed(
      std::span<std::uint8_t> bytes, std::size_t placed);

  /// The bytes of a continuation fragment's head (131, 70, SequenceId, FragmentId).
  static constexpr std::size_t fragment_head = 2 + 8 + 8;
  /// Where the rest of a packet of `length` bytes that starts with `head` (fragment_head bytes)
  /// may be written: the room at the end of its message's reassembly, when the packet is the
  /// continuation fragment that message expects next and fits the limits; nothing otherwise
  /// (the packet is then decoded whole by decode(), which refuses it if it is bad). The room
  /// stays valid until the next call of any member; the packet must then go to decode_placed().
  /// A FrameReader::Placer.
  std::span<std::uint8_t> place(std::span<const std::uint8_t> head, std::size_t length);

  /// Bytes held by fragments waiting for the rest of their message.
  std::size_t pending_bytes() const noexcept { return pending_bytes_; }
  /// Messages whose fragments have started to arrive.
  std::size_t pending_sequences() const noexcept { return sequences_.size(); }

 private:
  // A message being reassembled straight into a binary (sized from its first fragment), whose
  // large binaries the decoded payload then shares: one copy of the bytes, not three.
  struct Assembly {
    Term control;
    std::uint64_t next_fragment = 0;  // the FragmentId the next continuation must carry
    Term buffer;                      // a binary: 131, then the payload's bytes so far
    std::uint8_t* data = nullptr;     // buffer's bytes (written only while it is ours alone)
    std::size_t size = 0, capacity = 0;
  };
  void append(Assembly& a, std::span<const std::uint8_t> bytes);
  void reserve(Assembly& a, std::size_t more);

  std::expected<std::optional<ControlMessage>, WireError> whole(std::span<std::uint8_t> bytes,
                                                                std::size_t at, bool versioned,
                                                                const Term* owner);
  std::expected<std::optional<ControlMessage>, WireError> first_fragment(
      std::span<std::uint8_t> bytes);
  std::expected<std::optional<ControlMessage>, WireError> next_fragment(
      std::span<std::uint8_t> bytes, std::size_t placed);
  std::expected<std::optional<ControlMessage>, WireError> complete(std::uint64_t sequence);

  PacketLimits limits_;
  std::map<std::uint64_t, Assembly> sequences_;
  std::size_t pending_bytes_ = 0;
  std::size_t reserved_ = 0;  // the capacities of the assemblies' buffers, all together
  // What place() last gave room for, until decode_placed() takes it.
  struct Placing {
    std::uint64_t sequence = 0, fragment = 0;
    std::size_t bytes = 0;
  };
  std::optional<Placing> placing_;
};

/// The tick: a packet of length 0.
inline constexpr std::uint8_t tick_bytes[4] = {0, 0, 0, 0};

/// The packet of `m` with its 4-byte length, as a connection that negotiated `flags` sends it:
/// a distribution header (131, 68, 0) when FRAGMENTS (or the atom cache) was negotiated, for
/// OTP then reads nothing else; the pass-through form (112) otherwise.
std::vector<std::uint8_t> encode_packet(const ControlMessage& m, Flags flags);
/// The packet of the terms `t` (to_terms() of a message), length first, appended to `out` as
/// encode_packet() writes it; returns the bytes appended.
std::size_t encode_packet_append(const ControlTerms& t, Flags flags,
                                 std::vector<std::uint8_t>& out);
/// `m` as fragments of at most `fragment_size` payload bytes each (131, 69 first, then
/// 131, 70), each with its 4-byte length; for a peer that negotiated FRAGMENTS. `sequence` names
/// the message among those the connection has in flight (OTP uses the sender's pid number).
std::vector<std::vector<std::uint8_t>> encode_fragments(const ControlMessage& m, Flags flags,
                                                        std::uint64_t sequence,
                                                        std::size_t fragment_size);

/// `m` as encode_fragments() cuts it, with the payload's large binaries referenced instead of
/// copied: fragment i is heads[i] (its length, header and, in the first, the control term)
/// followed by the payload bytes [from[i], from[i] + length[i]) of the pieces of `payload`
/// (whose version byte, at 0, is never part of a fragment). What a connection writes with one
/// gather write per batch.
struct Fragments {
  std::vector<std::vector<std::uint8_t>> heads;  ///< each fragment's own bytes
  std::vector<std::size_t> from;    ///< where each fragment's slice of `payload` starts
  std::vector<std::size_t> length;  ///< each fragment's slice's length
  etf::Segments payload;            ///< the payload term's encoding, in pieces
};
/// `m` as Fragments when its payload exceeds `fragment_size` bytes (FRAGMENTS negotiated);
/// nothing when it fits in one packet (then encode_packet() writes it).
std::optional<Fragments> fragment(const ControlMessage& m, Flags flags, std::uint64_t sequence,
                                  std::size_t fragment_size);
/// The same for the terms `t` of a message (to_terms()).
std::optional<Fragments> fragment(const ControlTerms& t, std::uint64_t sequence,
                                  std::size_t fragment_size);

}  // namespace ambitious::dist
