#include "ambitious/core/etf.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

// What a decode of hostile bytes may cost in memory: this executable counts every allocation
// (it replaces the global operator new) so the tests can bound the peak a decode reaches.

namespace {

std::atomic<std::size_t> live{0};
std::atomic<std::size_t> peak{0};

void* counted(std::size_t n) {
  auto* p = static_cast<std::size_t*>(std::malloc(n + sizeof(std::max_align_t)));
  if (!p) throw std::bad_alloc();
  *p = n;
  std::size_t now = live.fetch_add(n) + n;
  for (std::size_t seen = peak.load(); now > seen && !peak.compare_exchange_weak(seen, now);) {
  }
  return reinterpret_cast<char*>(p) + sizeof(std::max_align_t);
}
void uncounted(void* q) noexcept {
  if (!q) return;
  auto* p = reinterpret_cast<std::size_t*>(static_cast<char*>(q) - sizeof(std::max_align_t));
  live.fetch_sub(*p);
  std::free(p);
}

/// The peak of live allocations while `f` runs, above what was live before.
template <class F>
std::size_t peak_of(F&& f) {
  std::size_t before = live.load();
  peak = before;
  f();
  return peak.load() - before;
}

}  // namespace

void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void operator delete(void* p) noexcept { uncounted(p); }
void operator delete[](void* p) noexcept { uncounted(p); }
void operator delete(void* p, std::size_t) noexcept { uncounted(p); }
void operator delete[](void* p, std::size_t) noexcept { uncounted(p); }

using namespace ambitious;
using namespace ambitious::etf;

// Each tuple claims as many elements as bytes are left after it, and holds the next one: every
// claim fits the input on its own, together they promise depth times the input.
TEST(EtfLimits, nested_containers_that_each_claim_the_rest_of_the_input_fail_in_bounded_memory) {
  constexpr std::size_t size = 64 * 1024, depth = 500;
  std::vector<std::uint8_t> in{131};
  for (std::size_t i = 0; i < depth; ++i) {
    std::uint32_t rest = static_cast<std::uint32_t>(size - in.size() - 5);
    in.insert(in.end(), {105, std::uint8_t(rest >> 24), std::uint8_t(rest >> 16),
                         std::uint8_t(rest >> 8), std::uint8_t(rest)});
  }
  in.resize(size, 106);  // the rest: NIL_EXT, one byte each
  DecodeOptions options;
  options.max_depth = depth + 10;
  bool failed = false;
  std::size_t used = peak_of([&] { failed = !decode(in, options).has_value(); });
  EXPECT_TRUE(failed);
  // Slots are 16 bytes; the slots of one decode are at most one per input byte.
  EXPECT_LT(used, 24 * size) << "a 64 KiB input made the decoder hold " << used << " bytes";
}

TEST(EtfLimits, a_valid_term_with_as_many_slots_as_bytes_still_decodes) {
  // [[] , [], ...]: a list of 1,000 empty lists is 1,000 slots in 1,006 bytes.
  std::vector<std::uint8_t> in{131, 108, 0, 0, 3, 232};
  in.insert(in.end(), 1000, 106);
  in.push_back(106);
  auto t = decode(in);
  ASSERT_TRUE(t.has_value()) << t.error().offset;
  EXPECT_EQ(t->size(), 1000u);
}
