// libFuzzer: a connection's byte stream, read in chunks of any size through FrameReader and
// decoded packet by packet with PacketDecoder (fragments reassembled within small limits, the
// continuations read straight into their reassembly as a connection reads them),
// never crashes; every message it yields encodes, as one packet and as fragments, to bytes that
// decode to the same message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <vector>

#include "ambitious/dist/frame_reader.hpp"
#include "ambitious/dist/packet.hpp"

namespace {
using namespace ambitious;
using namespace ambitious::dist;

void check_round_trip(const ControlMessage& m) {
  std::vector<std::uint8_t> packet = encode_packet(m, default_flags);
  PacketDecoder again;
  auto one = again.decode(std::span(packet).subspan(4));
  if (!one || !*one || !(**one == m)) {
    std::fprintf(stderr, "a decoded message does not survive encode_packet\n");
    __builtin_trap();
  }
  std::optional<ControlMessage> whole;
  for (auto& f : encode_fragments(m, default_flags, 7, 64)) {
    auto r = again.decode(std::span(f).subspan(4));
    if (!r || whole) __builtin_trap();
    if (*r) whole = std::move(**r);
  }
  if (!whole || !(*whole == m)) {
    std::fprintf(stderr, "a decoded message does not survive encode_fragments\n");
    __builtin_trap();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the read size, so that frames straddle reads in every way.
  const std::size_t chunk = 1 + data[0] % 64;
  std::span<const std::uint8_t> stream(data + 1, size - 1);
  PacketLimits limits;
  limits.max_message = 16 * 1024;
  limits.max_sequences = 4;
  PacketDecoder decoder(limits);
  FrameReader reader(4, 32 * 1024, 1024, 2048);
  // As a connection reads: continuation fragments go straight into their reassembly.
  reader.set_placer([&](std::span<const std::uint8_t> head,
                        std::size_t length) { return decoder.place(head, length); },
                    PacketDecoder::fragment_head);
  while (!stream.empty()) {
    auto room = reader.space();
    if (room.empty()) __builtin_trap();
    std::size_t n = std::min({room.size(), chunk, stream.size()});
    std::copy_n(stream.begin(), n, room.begin());
    stream = stream.subspan(n);
    reader.commit(n);
    for (;;) {
      auto frame = reader.next();
      if (!frame) return 0;  // the connection closes
      if (!*frame) break;
      if ((*frame)->bytes.empty()) continue;  // a tick
      auto m = (*frame)->placed ? decoder.decode_placed((*frame)->bytes, (*frame)->placed)
                                : decoder.decode((*frame)->bytes, (*frame)->owner);
      if (!m) return 0;
      if (*m) check_round_trip(**m);
      if (decoder.pending_bytes() > limits.max_message) __builtin_trap();
    }
  }
  return 0;
}
