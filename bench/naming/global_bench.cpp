// Global name benchmarks on one node (global_bench.erl runs the same workloads on Erlang's
// global: `erlc -o /tmp bench/naming/global_bench.erl && erl -noshell -pa /tmp -eval
// 'global_bench:main()'`). Prints `bench=<name> impl=ambitious value=<n> unit=<u>` lines.
//
//   global_lookup     whereis_name per second: one looker per worker, names among 1,000
//                     held by 1,000 processes
//   global_register   register_name + unregister_name pairs per second, one process, one node
//                     (no peers: the cluster-wide figure needs three nodes, not measured here)

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "ambitious/ambitious.hpp"
#include "ambitious/naming/global.hpp"

using namespace ambitious;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int names = 1'000;
constexpr int lookups_per_looker = 2'000'000;
constexpr int registrations = 20'000;

unsigned workers() { return std::max(1u, std::thread::hardware_concurrency()); }

void print(const char* bench, double value, const char* unit) {
  std::printf("bench=%s impl=ambitious value=%.0f unit=%s\n", bench, value, unit);
  std::fflush(stdout);
}

struct Done {
  std::int64_t found = 0;
};

Task<> bench() {
  // One holder per name (a process holds one global name).
  for (int i = 0; i < names; ++i)
    co_await global::register_name(Term(i), spawn([]() -> Task<> { co_await receive<Done>(); }));
  Pid parent = self();
  auto t0 = Clock::now();
  for (unsigned w = 0; w < workers(); ++w)
    spawn([parent, w]() -> Task<> {
      Done d;
      for (int i = 0; i < lookups_per_looker; ++i)
        d.found += global::whereis_name(Term(static_cast<int>((i + w) % names))).has_value();
      send(parent, d);
      co_return;
    });
  std::int64_t found = 0;
  for (unsigned w = 0; w < workers(); ++w) found += (co_await receive<Done>()).found;
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (found != std::int64_t{lookups_per_looker} * workers()) exit(atoms::error);
  print("global_lookup", static_cast<double>(found) / s, "lookups/s");

  t0 = Clock::now();
  for (int i = 0; i < registrations; ++i) {
    if (!co_await global::register_name(Atom("bench_name"), self())) exit(atoms::error);
    co_await global::unregister_name(Atom("bench_name"));
  }
  s = std::chrono::duration<double>(Clock::now() - t0).count();
  print("global_register", registrations / s, "pairs/s");
}

}  // namespace

int main() { return run(RuntimeOptions{.workers = workers()}, bench); }
