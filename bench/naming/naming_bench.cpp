// Registry and PubSub benchmarks (registry_bench.exs runs the same workloads on Elixir's
// Registry). Prints `bench=<name> impl=ambitious value=<n> unit=<u>` lines.
//
//   registry_lookup    lookups per second: one looker per worker, random keys among 100,000
//                      unique keys registered by one process
//   registry_register  register + unregister pairs per second: one process per worker, each on
//                      its own keys
//   pubsub_broadcast   deliveries per second of one broadcast to 10,000 local subscribers,
//                      measured until the last one has received it (median of 21 rounds)

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "ambitious/ambitious.hpp"
#include "ambitious/naming/pubsub.hpp"
#include "ambitious/naming/registry.hpp"

using namespace ambitious;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t registered_keys = 100'000;
constexpr int lookups_per_looker = 2'000'000;
constexpr int registrations_per_process = 500'000;
constexpr int subscribers = 10'000;
constexpr int broadcast_rounds = 21;

unsigned workers() { return std::max(1u, std::thread::hardware_concurrency()); }

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void print(const char* bench, double value, const char* unit) {
  std::printf("bench=%s impl=ambitious value=%.0f unit=%s\n", bench, value, unit);
  std::fflush(stdout);
}

struct Go {};
struct Finished {};
struct Ready {};
struct Stop {};

using Table = Registry<std::int64_t, std::int64_t>;

// The same key sequence as the Elixir script: an LCG modulo the number of keys.
std::int64_t next_key(std::int64_t x) { return (x * 1103515245 + 12345) % 2147483648; }

Task<> lookup_bench() {
  auto r = co_await Table::start_link(Atom("bench_lookup"), Keys::unique, workers());
  Pid parent = self();
  Pid holder = spawn(
      [](Table r, Pid parent) -> Task<> {
        for (std::int64_t i = 0; i < registered_keys; ++i) (void)r.register_key(i, i);
        send(parent, Ready{});
        co_await receive<Stop>();
      },
      *r, parent);
  co_await receive<Ready>();
  std::vector<Pid> lookers;
  for (unsigned j = 1; j <= workers(); ++j)
    lookers.push_back(spawn(
        [](Table r, Pid parent, std::int64_t seed) -> Task<> {
          co_await receive<Go>();
          std::int64_t x = seed;
          std::size_t found = 0;
          for (int i = 0; i < lookups_per_looker; ++i) {
            found += r.lookup(x % registered_keys).size();
            x = next_key(x);
          }
          if (found != static_cast<std::size_t>(lookups_per_looker)) std::abort();
          send(parent, Finished{});
        },
        *r, parent, static_cast<std::int64_t>(j)));
  auto t0 = Clock::now();
  for (Pid p : lookers) send(p, Go{});
  for (std::size_t i = 0; i < lookers.size(); ++i) co_await receive<Finished>();
  print("registry_lookup",
        lookups_per_looker * static_cast<double>(lookers.size()) / seconds_since(t0),
        "lookups_per_s");
  send(holder, Stop{});
  (void)co_await r->stop();
}

Task<> register_bench() {
  auto r = co_await Table::start_link(Atom("bench_register"), Keys::unique, workers());
  Pid parent = self();
  std::vector<Pid> procs;
  for (unsigned j = 1; j <= workers(); ++j)
    procs.push_back(spawn(
        [](Table r, Pid parent, std::int64_t j) -> Task<> {
          co_await receive<Go>();
          for (std::int64_t k = 0; k < registrations_per_process; ++k) {
            std::int64_t key = j * 1'000'000'000 + k;
            if (!r.register_key(key, k)) std::abort();
            r.unregister(key);
          }
          send(parent, Finished{});
        },
        *r, parent, static_cast<std::int64_t>(j)));
  auto t0 = Clock::now();
  for (Pid p : procs) send(p, Go{});
  for (std::size_t i = 0; i < procs.size(); ++i) co_await receive<Finished>();
  print("registry_register",
        registrations_per_process * static_cast<double>(procs.size()) / seconds_since(t0),
        "register_unregister_per_s");
  (void)co_await r->stop();
}

struct AllReceived {};

Task<> subscriber(PubSub ps, Pid parent, std::atomic<int>* remaining) {
  ps.subscribe("topic");
  send(parent, Ready{});
  for (;;) {
    co_await receive<std::string>();
    if (remaining->fetch_sub(1, std::memory_order_acq_rel) == 1) send(parent, AllReceived{});
  }
}

Task<> pubsub_bench() {
  auto ps = co_await PubSub::start_link(Atom("bench_pubsub"), workers());
  std::atomic<int> remaining{0};
  std::vector<Pid> subs;
  for (int i = 0; i < subscribers; ++i) subs.push_back(spawn(subscriber, *ps, self(), &remaining));
  for (int i = 0; i < subscribers; ++i) co_await receive<Ready>();
  std::vector<double> times;
  const std::string message = "hello";
  for (int round = 0; round < broadcast_rounds; ++round) {
    remaining.store(subscribers, std::memory_order_release);
    auto t0 = Clock::now();
    ps->broadcast("topic", message);
    co_await receive<AllReceived>();
    times.push_back(seconds_since(t0));
  }
  std::sort(times.begin(), times.end());
  print("pubsub_broadcast", subscribers / times[times.size() / 2], "deliveries_per_s");
  for (Pid p : subs) exit(p, atoms::kill);
}

}  // namespace

int main() {
  RuntimeOptions options{.workers = workers()};
  int rc = run(options, lookup_bench);
  rc |= run(options, register_bench);
  rc |= run(options, pubsub_bench);
  return rc;
}
