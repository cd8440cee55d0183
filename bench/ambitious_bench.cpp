// The anchor workloads (../shared/bench-anchors) written with ambitious. Usage:
//   ambitious_bench WORKLOAD [ARGS...] [--workers=N] [--worker-slice-us=N]
// Prints `bench=<name> impl=ambitious value=<number> unit=<unit>` per figure, and `# ...` notes.

#include <sys/resource.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "ambitious/ambitious.hpp"
#include "ambitious/behaviours/dynamic_supervisor.hpp"
#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/behaviours/supervisor.hpp"
#include "dist/dist_bench.hpp"

using namespace ambitious;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

long proc_status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  std::size_t n = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':')
      return std::stol(line.substr(n + 1));
  return -1;
}

void result(const char* name, double value, const char* unit) {
  std::printf("bench=%s impl=ambitious value=%.1f unit=%s\n", name, value, unit);
  std::fflush(stdout);
}

std::int64_t arg(const std::vector<std::int64_t>& a, std::size_t i, std::int64_t fallback) {
  return i < a.size() ? a[i] : fallback;
}

// --- skynet: a tree of 1,111,111 processes summing the leaves' ordinals -----------------------
struct Sum {
  std::int64_t value;
};

Task<> skynet(Pid parent, std::int64_t num, std::int64_t size, std::int64_t div) {
  if (size == 1) {
    send(parent, Sum{num});
    co_return;
  }
  std::int64_t sub = size / div;
  for (std::int64_t i = 0; i < div; ++i) spawn(skynet, self(), num + i * sub, sub, div);
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < div; ++i) sum += (co_await receive<Sum>()).value;
  send(parent, Sum{sum});
}

Task<> run_skynet(std::int64_t leaves, std::int64_t div) {
  auto t0 = Clock::now();
  spawn(skynet, self(), std::int64_t{0}, leaves, div);
  std::int64_t sum = (co_await receive<Sum>()).value;
  double ms = seconds_since(t0) * 1000;
  std::int64_t expected = leaves * (leaves - 1) / 2;
  std::printf("# skynet leaves=%lld div=%lld sum=%lld expected=%lld ok=%s\n", (long long)leaves,
              (long long)div, (long long)sum, (long long)expected,
              sum == expected ? "true" : "false");
  if (sum != expected) std::exit(1);
  result("skynet", ms, "ms");
}

// --- pingpong: two processes, N round trips -----------------------------------------------------
struct PingMsg {
  Pid from;
  std::int64_t k;
};
struct PongMsg {
  std::int64_t k;
};
struct Stop {};
struct Done {};

Task<> pong_loop() {
  for (;;) {
    bool stop = co_await receive(
        [](PingMsg p) {
          send(p.from, PongMsg{p.k});
          return false;
        },
        [](Stop) { return true; });
    if (stop) co_return;
  }
}

Task<> ping_loop(Pid pong, std::int64_t n, Pid done) {
  for (std::int64_t k = n; k > 0; --k) {
    send(pong, PingMsg{self(), k});
    co_await receive_if<PongMsg>([k](const PongMsg& m) { return m.k == k; });
  }
  send(done, Done{});
}

Task<> run_pingpong(std::int64_t n) {
  Pid pong = spawn(pong_loop);
  auto t0 = Clock::now();
  spawn(ping_loop, pong, n, self());
  co_await receive<Done>();
  double s = seconds_since(t0);
  send(pong, Stop{});
  std::printf("# pingpong round_trips=%lld elapsed_ms=%.1f\n", (long long)n, s * 1000);
  result("pingpong", n / s, "roundtrips_per_s");
}

// --- ring: a token passed around 1,000 processes ------------------------------------------------
struct Next {
  Pid next;
};
struct Token {
  std::int64_t k;
};

Task<> ring_node(Pid main) {
  Pid next = (co_await receive<Next>()).next;
  for (;;) {
    bool stop = co_await receive(
        [&](Token t) {
          if (t.k == 0)
            send(main, Done{});
          else
            send(next, Token{t.k - 1});
          return false;
        },
        [](Stop) { return true; });
    if (stop) co_return;
  }
}

Task<> run_ring(std::int64_t procs, std::int64_t hops) {
  auto ts = Clock::now();
  std::vector<Pid> nodes;
  nodes.reserve(procs);
  for (std::int64_t i = 0; i < procs; ++i) nodes.push_back(spawn(ring_node, self()));
  for (std::int64_t i = 0; i < procs; ++i) send(nodes[i], Next{nodes[(i + 1) % procs]});
  double setup = seconds_since(ts);
  auto t0 = Clock::now();
  send(nodes[0], Token{hops});
  co_await receive<Done>();
  double s = seconds_since(t0);
  for (Pid p : nodes) send(p, Stop{});
  std::printf("# ring procs=%lld hops=%lld setup_ms=%.1f elapsed_ms=%.1f\n", (long long)procs,
              (long long)hops, setup * 1000, s * 1000);
  result("ring", hops / s, "hops_per_s");
}

// --- spawn_idle: a million processes waiting in receive -----------------------------------------
std::atomic<std::int64_t> idle_ready{0};

Task<> idle_process() {
  idle_ready.fetch_add(1, std::memory_order_relaxed);
  co_await receive<Stop>();
}

Task<> run_spawn_idle(std::int64_t n) {
  std::size_t base = process_count();
  long rss0 = proc_status_kb("VmRSS");
  auto t0 = Clock::now();
  for (std::int64_t i = 0; i < n; ++i) spawn(idle_process);
  double spawned = seconds_since(t0);
  while (idle_ready.load(std::memory_order_relaxed) < n) co_await sleep(1ms);
  double all_waiting = seconds_since(t0);
  long rss1 = proc_status_kb("VmRSS");
  double per = (rss1 - rss0) * 1024.0 / n;
  std::printf("# spawn_idle n=%lld spawn_call_ms=%.1f all_waiting_ms=%.1f\n", (long long)n,
              spawned * 1000, all_waiting * 1000);
  std::printf("# spawn_idle rss_kb_before=%ld rss_kb_after=%ld rss_bytes_per_proc=%.1f\n", rss0,
              rss1, per);
  result("spawn_idle", n / all_waiting, "procs_per_s");
  result("spawn_idle_mem", per, "bytes_per_proc");
  // Pids collected only now, so that the list is not part of the memory figure (as Erlang's).
  auto t2 = Clock::now();
  Pid me = self();
  std::int64_t stopped = 0;
  for (Pid p : processes())
    if (p != me) {
      send(p, Stop{});
      ++stopped;
    }
  while (process_count() > base) co_await sleep(1ms);
  std::printf("# spawn_idle stopped=%lld exit_ms=%.1f\n", (long long)stopped,
              seconds_since(t2) * 1000);
}

// --- fanin: producers flooding one consumer -----------------------------------------------------
Task<> consumer(std::int64_t total, Pid done) {
  for (std::int64_t k = 0; k < total; ++k) co_await receive<std::int64_t>();
  send(done, Done{});
}

Task<> producer(Pid to, std::int64_t n) {
  for (std::int64_t k = n; k > 0; --k) send(to, k);
  co_return;
}

Task<> run_fanin(std::int64_t producers, std::int64_t per) {
  std::int64_t total = producers * per;
  auto t0 = Clock::now();
  Pid c = spawn(consumer, total, self());
  for (std::int64_t p = 0; p < producers; ++p) spawn(producer, c, per);
  co_await receive<Done>();
  double s = seconds_since(t0);
  std::printf("# fanin producers=%lld per_producer=%lld elapsed_ms=%.1f\n", (long long)producers,
              (long long)per, s * 1000);
  result("fanin", total / s, "msgs_per_s");
}

// --- call: one client, sequential GenServer calls ----------------------------------------------
struct CounterServer : GenServer<CounterServer> {
  struct Incr {};
  using calls = Types<Incr>;
  std::int64_t value = 0;
  CallResult<std::int64_t> handle_call(Incr, const From&) { return reply(++value); }
};

Task<> run_call(std::int64_t n) {
  auto server = co_await CounterServer::start_link();
  if (!server) std::exit(1);
  auto t0 = Clock::now();
  std::int64_t last = 0;
  for (std::int64_t i = 0; i < n; ++i)
    last = co_await gen_server::call(*server, CounterServer::Incr{});
  double s = seconds_since(t0);
  if (last != n) std::exit(1);
  co_await gen_server::stop(*server);
  std::printf("# call calls=%lld last_reply=%lld elapsed_ms=%.1f\n", (long long)n, (long long)last,
              s * 1000);
  result("call", n / s, "calls_per_s");
}

// --- restart: a one_for_one supervisor whose child crashes right after it starts -------------
std::atomic<std::int64_t> restart_starts{0};
std::int64_t restart_target = 0;
Pid restart_notify;

const Atom crash("crash");  // an atom literal, as in the Erlang twin

Task<> crash_at_once() {
  exit(crash);
  co_return;
}

Task<> run_restart(std::int64_t n) {
  set_log_level(LogLevel::none);  // as the Erlang anchor: time supervision, not console I/O
  trap_exit(true);
  restart_target = n;
  restart_notify = self();
  ChildSpec child;
  child.id = Atom("crasher");
  child.shutdown = Shutdown::brutal_kill();
  child.start = []() -> Task<StartChildResult> {
    // The first start is not a restart: the n-th restart is start number n + 1.
    if (restart_starts.fetch_add(1) + 1 == restart_target + 1) send(restart_notify, Done{});
    co_return spawn_link(crash_at_once);
  };
  SupervisorSpec spec{
      {Strategy::one_for_one, static_cast<int>(10 * n + 10), std::chrono::seconds(1)}, {child}};
  auto t0 = Clock::now();
  auto sup = co_await supervisor::start_link(spec);
  if (!sup) std::exit(1);
  co_await receive<Done>();
  double s = seconds_since(t0);
  unlink(*sup->pid());
  exit(*sup->pid(), atoms::shutdown);
  std::printf("# restart restarts=%lld starts=%lld elapsed_ms=%.1f logger=none\n", (long long)n,
              (long long)restart_starts.load(), s * 1000);
  result("restart", n / s, "restarts_per_s");
}

// --- dynsup_shutdown: a DynamicSupervisor stopping n children at once (no anchor: our own) ---
Task<> run_dynsup_shutdown(std::int64_t n) {
  set_log_level(LogLevel::none);
  trap_exit(true);  // the supervisor's end must not end us
  auto sup = co_await dynamic_supervisor::start_link();
  if (!sup) std::exit(1);
  // Children that do not trap exits: exit(shutdown) ends each at once, so all die together.
  ChildSpec child = process_child(Term(), idle_process);
  for (std::int64_t i = 0; i < n; ++i) {
    auto started = co_await dynamic_supervisor::start_child(*sup, child);
    if (!started || !*started) {
      std::printf("# dynsup_shutdown: start_child failed: %s\n",
                  started ? "ignore" : started.error().to_string().c_str());
      std::exit(1);
    }
  }
  while (idle_ready.load(std::memory_order_relaxed) < n) co_await sleep(1ms);
  auto t0 = Clock::now();
  co_await gen_server::stop(*sup, atoms::shutdown);
  double s = seconds_since(t0);
  std::printf("# dynsup_shutdown children=%lld stop_ms=%.1f\n", (long long)n, s * 1000);
  result("dynsup_shutdown", s * 1000, "ms");
}

// --- sup_restart_all: a one_for_all supervisor of n children that all die at once -----------
std::atomic<std::int64_t> restart_all_starts{0};
std::int64_t restart_all_target = 0;
Pid restart_all_notify;

Task<> run_sup_restart_all(std::int64_t n) {
  set_log_level(LogLevel::none);
  trap_exit(true);
  restart_all_target = 2 * n;  // n starts, then n restarts
  restart_all_notify = self();
  SupervisorSpec spec{{Strategy::one_for_all, 1, std::chrono::seconds(5)}, {}};
  spec.children.reserve(n);
  for (std::int64_t i = 0; i < n; ++i) {
    ChildSpec child;
    child.id = Term(i);
    child.start = []() -> Task<StartChildResult> {
      if (restart_all_starts.fetch_add(1) + 1 == restart_all_target)
        send(restart_all_notify, Done{});
      co_return spawn_link(idle_process);
    };
    spec.children.push_back(std::move(child));
  }
  auto t_start = Clock::now();
  auto sup = co_await supervisor::start_link(std::move(spec));
  if (!sup) std::exit(1);
  double start_s = seconds_since(t_start);
  std::vector<Pid> children;
  for (auto& c : co_await supervisor::which_children(*sup)) children.push_back(*c.pid);
  // All are killed at once: the first Exit makes the supervisor stop the others (dead, or about
  // to be) and start all n again, while their Exits pile up in its mailbox.
  auto t0 = Clock::now();
  for (Pid c : children) exit(c, atoms::kill);
  co_await receive<Done>();
  double s = seconds_since(t0);
  std::printf("# sup_restart_all children=%lld start_ms=%.1f restart_ms=%.1f\n", (long long)n,
              start_s * 1000, s * 1000);
  result("sup_restart_all", s * 1000, "ms");
  auto t_stop = Clock::now();
  co_await gen_server::stop(*sup, atoms::shutdown);
  std::printf("# sup_restart_all stop_ms=%.1f (one child after another, last first)\n",
              seconds_since(t_stop) * 1000);
}

// --- idle: what the runtime costs while nothing happens (no anchor: a figure of our own) -------
Task<> run_idle(std::int64_t seconds) {
  // A thousand processes waiting in receive and a timer armed far ahead: all workers park.
  std::vector<Pid> waiting;
  for (int i = 0; i < 1000; ++i) waiting.push_back(spawn(idle_process));
  TimerRef far = send_after(1h, self(), Stop{});
  while (idle_ready.load(std::memory_order_relaxed) < 1000) co_await yield();
  rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  auto t0 = Clock::now();
  co_await sleep(std::chrono::seconds(seconds));
  getrusage(RUSAGE_SELF, &r1);
  double wall = seconds_since(t0);
  auto cpu_s = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  double cpu = cpu_s(r1) - cpu_s(r0);
  std::printf("# idle processes=1000 armed_timers=1 wall_s=%.2f cpu_ms=%.2f\n", wall, cpu * 1000);
  result("idle_cpu", cpu * 1000 / wall, "cpu_ms_per_s");
  cancel_timer(far);
  for (Pid p : waiting) send(p, Stop{});
}

// --- timers: a million armed timers (not an anchor workload: Erlang and CAF have no twin) ----
struct Tick {
  int n;
};

Task<> run_timers(std::int64_t n) {
  std::vector<TimerRef> timers;
  timers.reserve(n);
  long rss0 = proc_status_kb("VmRSS");
  auto t0 = Clock::now();
  // Deadlines spread over 10..70 s, so that none fires while we measure.
  for (std::int64_t i = 0; i < n; ++i)
    timers.push_back(send_after(std::chrono::milliseconds(10'000 + (i * 7919) % 60'000), self(),
                                Tick{static_cast<int>(i)}));
  double arm = seconds_since(t0);
  long rss1 = proc_status_kb("VmRSS");
  auto t1 = Clock::now();
  std::int64_t cancelled = 0;
  for (auto& t : timers) cancelled += cancel_timer(t).has_value();
  double cancel = seconds_since(t1);
  if (cancelled != n) std::exit(1);
  // Firing: n timers due within 100 ms, all delivered.
  auto t2 = Clock::now();
  for (std::int64_t i = 0; i < n; ++i)
    send_after(std::chrono::milliseconds(1 + i % 100), self(), Tick{static_cast<int>(i)});
  for (std::int64_t i = 0; i < n; ++i) co_await receive<Tick>();
  double fire = seconds_since(t2);
  std::printf("# timers n=%lld arm_ms=%.1f cancel_ms=%.1f arm_fire_receive_ms=%.1f\n", (long long)n,
              arm * 1000, cancel * 1000, fire * 1000);
  result("timer_arm", arm * 1e9 / n, "ns_per_timer");
  result("timer_cancel", cancel * 1e9 / n, "ns_per_timer");
  result("timer_mem", (rss1 - rss0) * 1024.0 / n - sizeof(TimerRef), "bytes_per_timer");
  result("timer_fire", n / fire, "timers_per_s");
}

int usage() {
  std::fprintf(stderr,
               "usage: ambitious_bench WORKLOAD [ARGS...] [--workers=N] [--worker-slice-us=N]\n"
               "workloads: skynet [leaves div] | pingpong [n] | ring [procs hops] |\n"
               "           spawn_idle [n] | fanin [producers per_producer] | call [n] |\n"
               "           restart [n] | dynsup_shutdown [n] | sup_restart_all [n] |\n"
               "           timers [n] | idle [seconds] |\n"
               "           dist_pingpong [n] | dist_window [n window] |\n"
               "           dist_fanin [producers per_producer] | dist_bulk [count bytes] |\n"
               "           dist_hol [pings bulk_bytes]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string workload = argv[1];
  std::vector<std::int64_t> a;
  RuntimeOptions options;
  // The runtime's flags; false for an argument of the workload.
  auto option = [&options](const char* arg) {
    if (std::strncmp(arg, "--workers=", 10) == 0)
      options.workers = std::atoi(arg + 10);
    else if (std::strncmp(arg, "--worker-slice-us=", 18) == 0)
      options.worker_slice = std::chrono::microseconds(std::atoi(arg + 18));
    else
      return false;
    return true;
  };
  if (workload == bench::dist_peer_flag) {  // node B of a dist_ workload
    for (int i = 2; i < argc; ++i) option(argv[i]);
    return bench::dist_peer_main(argc - 2, argv + 2, options);
  }
  for (int i = 2; i < argc; ++i)
    if (!option(argv[i])) a.push_back(std::atoll(argv[i]));
  std::printf("# ambitious workers=%u worker_slice_us=%lld\n", options.workers,
              static_cast<long long>(options.worker_slice.count()));
  std::fflush(stdout);
  int rc;
  if (workload == "skynet")
    rc = run(options, run_skynet, arg(a, 0, 1000000), arg(a, 1, 10));
  else if (workload == "pingpong")
    rc = run(options, run_pingpong, arg(a, 0, 1000000));
  else if (workload == "ring")
    rc = run(options, run_ring, arg(a, 0, 1000), arg(a, 1, 10000000));
  else if (workload == "spawn_idle")
    rc = run(options, run_spawn_idle, arg(a, 0, 1000000));
  else if (workload == "fanin")
    rc = run(options, run_fanin, arg(a, 0, 4), arg(a, 1, 1000000));
  else if (workload == "call")
    rc = run(options, run_call, arg(a, 0, 1000000));
  else if (workload == "restart")
    rc = run(options, run_restart, arg(a, 0, 10000));
  else if (workload == "dynsup_shutdown")
    rc = run(options, run_dynsup_shutdown, arg(a, 0, 100000));
  else if (workload == "sup_restart_all")
    rc = run(options, run_sup_restart_all, arg(a, 0, 10000));
  else if (workload == "idle")
    rc = run(options, run_idle, arg(a, 0, 10));
  else if (workload == "timers")
    rc = run(options, run_timers, arg(a, 0, 1000000));
  else if (bench::is_dist_workload(workload))
    return bench::dist_main(workload, a, options);
  else
    return usage();
  std::printf("# peak_rss_kb=%ld\n", proc_status_kb("VmHWM"));
  return rc;
}
