// libFuzzer: the epmd decoders (requests from a stream, the three responses) never crash on
// arbitrary bytes, and what they accept encodes back to bytes that decode to the same value.
#include "ambitious/dist/epmd_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ambitious::dist::epmd;
  std::span<const std::uint8_t> bytes(data, size);
  if (auto r = decode_request_prefix(bytes)) {
    if (r->second > size) __builtin_trap();
    auto again = decode_request_prefix(encode(r->first));
    if (!again || !(again->first == r->first)) __builtin_trap();
  }
  if (auto r = decode_request(bytes)) {
    auto again = decode_request_prefix(encode(*r));
    if (!again || !(again->first == *r)) __builtin_trap();
  }
  if (auto r = decode_alive2_response(bytes)) {
    auto again = decode_alive2_response(encode(r->first));
    if (!again || !(again->first == r->first)) __builtin_trap();
  }
  if (auto r = decode_port2_response(bytes)) {
    auto again = decode_port2_response(encode(*r));
    if (!again || !(*again == *r)) __builtin_trap();
  }
  if (auto r = decode_names_response(bytes)) {
    auto again = decode_names_response(encode(*r));
    if (!again || !(*again == *r)) __builtin_trap();
  }
  return 0;
}
