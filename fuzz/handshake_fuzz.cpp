// libFuzzer: the handshake's decoders never crash on arbitrary bytes and what they accept
// round-trips; both sides' state machines, fed the input as a stream of frames, never crash and
// establish a connection only on a frame that carries the right digest of their challenge.
#include "ambitious/dist/handshake.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace {
using namespace ambitious::dist;
namespace hs = ambitious::dist::handshake;

template <class T, class D>
void round_trip(std::span<const std::uint8_t> body, D decode) {
  if (auto m = decode(body)) {
    auto frame = hs::encode(*m);
    auto again = decode(std::span<const std::uint8_t>(frame).subspan(2));
    if (!again || !(*again == *m)) __builtin_trap();
  }
}

void drive(Handshake::Role role, std::span<const std::uint8_t> stream) {
  Handshake h(
      role,
      HandshakeSettings{"fuzz@127.0.0.1", 1, default_flags, Cookie("cookie"), "peer@127.0.0.1"},
      12345);
  h.start();
  while (!h.finished()) {
    auto f = hs::next_frame(stream);
    if (!f) return;
    stream = stream.subspan(f->second);
    for (auto& a : h.on_frame(f->first)) {
      if (auto* admit = std::get_if<handshake_action::Admit>(&a)) {
        (void)admit;
        auto decision = static_cast<Admission>(f->first.size() % 5);
        for (auto& b : h.admit(decision))
          if (std::holds_alternative<handshake_action::Established>(b)) __builtin_trap();
      } else if (std::holds_alternative<handshake_action::ConfirmAlive>(a)) {
        h.confirm_alive(f->first.size() % 2 == 0);
      } else if (std::holds_alternative<handshake_action::Established>(a)) {
        Digest d{};
        if (auto r = hs::decode_challenge_reply(f->first))
          d = r->digest;
        else if (auto k = hs::decode_challenge_ack(f->first))
          d = k->digest;
        else
          __builtin_trap();
        if (!Cookie("cookie").verify(12345, d)) __builtin_trap();
      }
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  round_trip<hs::SendName>(bytes, hs::decode_send_name);
  round_trip<hs::Status>(bytes, hs::decode_status);
  round_trip<hs::Challenge>(bytes, hs::decode_challenge);
  round_trip<hs::ChallengeReply>(bytes, hs::decode_challenge_reply);
  round_trip<hs::ChallengeAck>(bytes, hs::decode_challenge_ack);
  if (auto f = hs::next_frame(bytes); f && f->second > size) __builtin_trap();
  drive(Handshake::Role::acceptor, bytes);
  drive(Handshake::Role::initiator, bytes);
  return 0;
}
