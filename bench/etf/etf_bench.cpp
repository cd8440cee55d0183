// Encodes and decodes the shapes of etf_bench.erl with our codec; prints
// `bench=<name> impl=ambitious value=<number> unit=<unit>` lines.
//
// Two lines per shape and direction:
//   etf_encode_<shape>, etf_decode_<shape>: the copying path, etf::encode() to a vector and
//     etf::decode() of a span (the twin of term_to_binary/binary_to_term);
//   etf_encode_<shape>_iovec, etf_decode_<shape>_shared: the zero-copy path the distribution
//     layer takes, etf::encode_segments() (pieces for writev; binaries of 64 KiB and more by
//     reference; the twin of term_to_iovec) and etf::decode_shared() of the frame's buffer
//     (binaries of 64 KiB and more become slices of it; Erlang has no such call, so run.sh
//     compares it with binary_to_term).
// And etf_decode_map_100_unsorted: map_100 with its entries in hash order, as OTP writes maps
// of more than 32 keys (Erlang's own map_100 bytes are in that order already).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "ambitious/core/etf.hpp"
#include "ambitious/core/etf_segments.hpp"
#include "ambitious/core/term.hpp"

using namespace ambitious;
using Clock = std::chrono::steady_clock;

namespace {

// Keeps the optimizer from dropping a result.
template <typename T>
void keep(const T& value) {
  asm volatile("" : : "g"(&value) : "memory");
}

// Runs `op` in growing batches until `budget` has passed; returns ns per call.
template <typename Op>
double ns_per_op(Op&& op, std::chrono::milliseconds budget = std::chrono::milliseconds(300)) {
  for (int i = 0; i < 3; ++i) op();  // warm up caches and the allocator
  std::size_t n = 1, done = 0;
  auto start = Clock::now();
  Clock::duration elapsed{};
  while (elapsed < budget) {
    for (std::size_t i = 0; i < n; ++i) op();
    done += n;
    n *= 2;
    elapsed = Clock::now() - start;
  }
  return std::chrono::duration<double, std::nano>(elapsed).count() / static_cast<double>(done);
}

// The MAP_EXT of `entries` with its entries in a fixed shuffled order, as OTP writes a map of
// more than 32 keys (in the order of its hash trie): what a peer's map looks like to decode.
std::vector<std::uint8_t> map_in_hash_order(std::vector<std::pair<Term, Term>> entries) {
  std::shuffle(entries.begin(), entries.end(), std::mt19937(2025));
  std::vector<std::uint8_t> out{etf::version, 116};
  auto n = static_cast<std::uint32_t>(entries.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(n >> shift));
  for (const auto& [k, v] : entries)
    for (const Term* t : {&k, &v}) {
      auto b = etf::encode(*t);
      out.insert(out.end(), b.begin() + 1, b.end());  // without the version byte
    }
  return out;
}

Term tree(int depth, int& counter) {
  if (depth == 0) return Term(counter++);
  Term left = tree(depth - 1, counter);
  Term right = tree(depth - 1, counter);
  return Term::tuple(atom("node"), counter++, std::move(left), std::move(right));
}

struct Shape {
  const char* name;
  Term term;
};

}  // namespace

int main() {
  Pid self(0, 80, 0);
  std::vector<Term> ints;
  for (int i = 0; i < 1000; ++i) ints.emplace_back(i);
  std::vector<std::pair<Term, Term>> entries;
  for (int i = 1; i <= 100; ++i) entries.emplace_back(Term::binary("key_" + std::to_string(i)), i);
  int counter = 0;
  std::vector<Shape> shapes = {
      {"small", Term::tuple(atom("ping"), self, 42)},
      {"list_1000_ints", Term::list_from(std::span<const Term>(ints))},
      {"map_100", Term::map_from(entries)},
      {"binary_1mb", Term::binary(std::string(1 << 20, 'x'))},
      {"nested_tuples", tree(8, counter)},
  };

  auto line = [](const char* what, const char* name, const char* how, double ns, double mb) {
    std::printf("bench=etf_%s_%s%s impl=ambitious value=%.1f unit=ns_per_msg\n", what, name, how,
                ns);
    std::printf("bench=etf_%s_%s%s_mbps impl=ambitious value=%.1f unit=MB_per_s\n", what, name, how,
                mb / (ns * 1e-9));
  };
  for (const Shape& s : shapes) {
    std::vector<std::uint8_t> bytes = etf::encode(s.term);
    double mb = static_cast<double>(bytes.size()) / 1e6;
    line("encode", s.name, "", ns_per_op([&] {
           auto out = etf::encode(s.term);
           keep(out);
         }),
         mb);
    line("decode", s.name, "", ns_per_op([&] {
           auto t = etf::decode(bytes);
           keep(t);
         }),
         mb);
    line("encode", s.name, "_iovec", ns_per_op([&] {
           auto out = etf::encode_segments(s.term);
           keep(out);
         }),
         mb);
    // The buffer a carrier has read the frame into (made once, as a read makes it).
    Term frame = Term::binary(std::span<const std::uint8_t>(bytes));
    line("decode", s.name, "_shared", ns_per_op([&] {
           auto t = etf::decode_shared(frame);
           keep(t);
         }),
         mb);
  }
  // map_100 as an Erlang peer sends it: in hash order, which decoding sorts into key order.
  std::vector<std::uint8_t> unsorted = map_in_hash_order(entries);
  if (*etf::decode(unsorted) != shapes[2].term) return 1;
  line("decode", "map_100", "_unsorted", ns_per_op([&] {
         auto t = etf::decode(unsorted);
         keep(t);
       }),
       static_cast<double>(unsorted.size()) / 1e6);
  return 0;
}
