// libFuzzer: whatever decodes re-encodes to bytes that decode to an equal term, and encoding is
// canonical (the second encoding equals the first); encode_append and encode_segments (every
// binary by reference) write the same bytes.
#include "ambitious/core/etf.hpp"
#include "ambitious/core/etf_segments.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ambitious;
  auto first = etf::decode(std::span(data, size));
  if (!first) return 0;
  auto bytes = etf::encode(*first);
  if (bytes.size() != etf::encoded_size(*first)) __builtin_trap();
  std::vector<std::uint8_t> appended{1, 2};
  etf::encode_append(*first, appended);
  if (!std::equal(bytes.begin(), bytes.end(), appended.begin() + 2, appended.end()))
    __builtin_trap();
  if (etf::encode_segments(*first, 1).flatten() != bytes) __builtin_trap();
  auto second = etf::decode(bytes);
  if (!second) {
    std::fprintf(stderr, "re-encoded term does not decode: %s\n%s\n",
                 etf::to_string(second.error()).c_str(), first->to_string().c_str());
    __builtin_trap();
  }
  if (!(*second == *first) || etf::encode(*second) != bytes) {
    std::fprintf(stderr, "round trip differs:\n%s\n%s\n", first->to_string().c_str(),
                 second->to_string().c_str());
    __builtin_trap();
  }
  return 0;
}
