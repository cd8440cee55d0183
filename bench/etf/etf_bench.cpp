// Encodes and decodes the shapes of etf_bench.erl with our codec; prints
// `bench=<name> impl=ambitious value=<number> unit=<unit>` lines.

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "ambitious/core/etf.hpp"
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

  for (const Shape& s : shapes) {
    std::vector<std::uint8_t> bytes = etf::encode(s.term);
    double enc = ns_per_op([&] {
      auto out = etf::encode(s.term);
      keep(out);
    });
    double dec = ns_per_op([&] {
      auto t = etf::decode(bytes);
      keep(t);
    });
    std::printf("bench=etf_encode_%s impl=ambitious value=%.1f unit=ns_per_msg\n", s.name, enc);
    std::printf("bench=etf_decode_%s impl=ambitious value=%.1f unit=ns_per_msg\n", s.name, dec);
    double mb = static_cast<double>(bytes.size()) / 1e6;
    std::printf("bench=etf_encode_%s_mbps impl=ambitious value=%.1f unit=MB_per_s\n", s.name,
                mb / (enc * 1e-9));
    std::printf("bench=etf_decode_%s_mbps impl=ambitious value=%.1f unit=MB_per_s\n", s.name,
                mb / (dec * 1e-9));
  }
  return 0;
}
