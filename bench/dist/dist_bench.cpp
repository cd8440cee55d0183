// The distribution workloads (../shared/bench-anchors, erlang/dist_anchors.erl), between two
// ambitious nodes on 127.0.0.1. Node A is this program; node B is this program again, started
// as a child with dist_peer_flag: its root registers as `bench_b`, tells A it is ready, and
// spawns what A asks for (the Erlang twin spawns on B with spawn/4; the messages have the same
// shapes as there: {From, I}, {echo, I}, {n, I}, {data, Bin}). Both nodes use the epmd that A
// embeds on a private port; the child dies with A (PR_SET_PDEATHSIG), and A gives up after
// `deadline`, so that nothing outlives the bench.
//
// One invocation runs the workload over each carrier, TCP first, then TLS distribution, then QUIC
// (both with certificates made by scripts/cluster-certs.sh in a private directory), printing
// `bench=dist_X`, `bench=dist_X_tls` and `bench=dist_X_quic`; AMBITIOUS_DIST_CARRIERS="tcp"
// (or any of "tcp tls quic") runs only those.

#include "dist_bench.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "ambitious/ambitious.hpp"
#include "ambitious/dist/node.hpp"
#include "local_node.hpp"

using namespace std::chrono_literals;

namespace ambitious::bench {
namespace {

using Clock = std::chrono::steady_clock;

const Atom a_name("a@127.0.0.1"), b_name("b@127.0.0.1");
const Atom bench_a("bench_a"), bench_b("bench_b");
const Atom echo_tag("echo"), n_tag("n"), data_tag("data"), done_tag("done"), got_tag("got"),
    stop_tag("stop"), ready_tag("ready"), spawn_tag("spawn"), spawned_tag("spawned"),
    quit_tag("quit");
// What B spawns for A.
const Atom echo_kind("echo_loop"), count_kind("count_loop"), bulk_kind("bulk_sink"),
    hol_kind("hol_sink");

// The longest a whole workload may take (the Erlang twin has no bound; ours must not hang).
constexpr auto deadline = 300s;
constexpr auto setup_patience = 30s;

// --- the messages, with the Erlang twin's shapes ---------------------------------------------
struct Ping {  // {From, I}
  Pid from;
  std::int64_t i;
};
struct Echo {  // {echo, I}
  std::int64_t i;
};
struct Count {  // {n, I}
  std::int64_t i;
};
struct Data {  // {data, Bin}
  Term bin;
};
struct Warm {  // {From, Bin}: the bulk sink answers {got, byte_size(Bin)}
  Pid from;
  Term bin;
};
struct AskTotal {  // {From, done}: the bulk sink answers {got, N}
  Pid from;
};
struct Got {  // {got, N}
  std::int64_t n;
};
struct Counted {};  // {counted, done}
struct Stop {};     // stop
struct Ready {      // {ready, Pid}: B's root is there
  Pid from;
};
struct SpawnOnB {  // {spawn, Kind, From, Arg}
  Atom kind;
  Pid from;
  std::int64_t arg;
};
struct Spawned {  // {spawned, Pid}
  Pid pid;
};
struct Quit {};  // quit

CodecError no(const char* what) { return CodecError{"", what}; }

}  // namespace
}  // namespace ambitious::bench

namespace ab = ambitious::bench;

template <>
struct ambitious::Codec<ab::Ping> {
  static Term to_term(const ab::Ping& p) { return Term::tuple(p.from, p.i); }
  static std::expected<ab::Ping, CodecError> from_term(const Term& t) {
    ab::Ping p;
    if (!t.match(&p.from, &p.i)) return std::unexpected(ab::no("not {From, I}"));
    return p;
  }
};
template <>
struct ambitious::Codec<ab::Echo> {
  static Term to_term(const ab::Echo& e) { return Term::tuple(ab::echo_tag, e.i); }
  static std::expected<ab::Echo, CodecError> from_term(const Term& t) {
    ab::Echo e;
    if (!t.match(ab::echo_tag, &e.i)) return std::unexpected(ab::no("not {echo, I}"));
    return e;
  }
};
template <>
struct ambitious::Codec<ab::Count> {
  static Term to_term(const ab::Count& c) { return Term::tuple(ab::n_tag, c.i); }
  static std::expected<ab::Count, CodecError> from_term(const Term& t) {
    ab::Count c;
    if (!t.match(ab::n_tag, &c.i)) return std::unexpected(ab::no("not {n, I}"));
    return c;
  }
};
template <>
struct ambitious::Codec<ab::Data> {
  static Term to_term(const ab::Data& d) { return Term::tuple(ab::data_tag, d.bin); }
  static std::expected<ab::Data, CodecError> from_term(const Term& t) {
    ab::Data d;
    if (!t.match(ab::data_tag, &d.bin) || !d.bin.is_binary())
      return std::unexpected(ab::no("not {data, Bin}"));
    return d;
  }
};
template <>
struct ambitious::Codec<ab::Warm> {
  static Term to_term(const ab::Warm& w) { return Term::tuple(w.from, w.bin); }
  static std::expected<ab::Warm, CodecError> from_term(const Term& t) {
    ab::Warm w;
    if (!t.match(&w.from, &w.bin) || !w.bin.is_binary())
      return std::unexpected(ab::no("not {From, Bin}"));
    return w;
  }
};
template <>
struct ambitious::Codec<ab::AskTotal> {
  static Term to_term(const ab::AskTotal& a) { return Term::tuple(a.from, ab::done_tag); }
  static std::expected<ab::AskTotal, CodecError> from_term(const Term& t) {
    ab::AskTotal a;
    if (!t.match(&a.from, ab::done_tag)) return std::unexpected(ab::no("not {From, done}"));
    return a;
  }
};
template <>
struct ambitious::Codec<ab::Got> {
  static Term to_term(const ab::Got& g) { return Term::tuple(ab::got_tag, g.n); }
  static std::expected<ab::Got, CodecError> from_term(const Term& t) {
    ab::Got g;
    if (!t.match(ab::got_tag, &g.n)) return std::unexpected(ab::no("not {got, N}"));
    return g;
  }
};
template <>
struct ambitious::Codec<ab::Counted> {
  static Term to_term(const ab::Counted&) { return Term::tuple(Atom("counted"), ab::done_tag); }
  static std::expected<ab::Counted, CodecError> from_term(const Term& t) {
    if (!t.match(Atom("counted"), ab::done_tag))
      return std::unexpected(ab::no("not {counted, done}"));
    return ab::Counted{};
  }
};
template <>
struct ambitious::Codec<ab::Stop> {
  static Term to_term(const ab::Stop&) { return Term(ab::stop_tag); }
  static std::expected<ab::Stop, CodecError> from_term(const Term& t) {
    if (t != Term(ab::stop_tag)) return std::unexpected(ab::no("not stop"));
    return ab::Stop{};
  }
};
template <>
struct ambitious::Codec<ab::Ready> {
  static Term to_term(const ab::Ready& r) { return Term::tuple(ab::ready_tag, r.from); }
  static std::expected<ab::Ready, CodecError> from_term(const Term& t) {
    ab::Ready r;
    if (!t.match(ab::ready_tag, &r.from)) return std::unexpected(ab::no("not {ready, Pid}"));
    return r;
  }
};
template <>
struct ambitious::Codec<ab::SpawnOnB> {
  static Term to_term(const ab::SpawnOnB& s) {
    return Term::tuple(ab::spawn_tag, s.kind, s.from, s.arg);
  }
  static std::expected<ab::SpawnOnB, CodecError> from_term(const Term& t) {
    ab::SpawnOnB s;
    if (!t.match(ab::spawn_tag, &s.kind, &s.from, &s.arg))
      return std::unexpected(ab::no("not {spawn, Kind, From, Arg}"));
    return s;
  }
};
template <>
struct ambitious::Codec<ab::Spawned> {
  static Term to_term(const ab::Spawned& s) { return Term::tuple(ab::spawned_tag, s.pid); }
  static std::expected<ab::Spawned, CodecError> from_term(const Term& t) {
    ab::Spawned s;
    if (!t.match(ab::spawned_tag, &s.pid)) return std::unexpected(ab::no("not {spawned, Pid}"));
    return s;
  }
};
template <>
struct ambitious::Codec<ab::Quit> {
  static Term to_term(const ab::Quit&) { return Term(ab::quit_tag); }
  static std::expected<ab::Quit, CodecError> from_term(const Term& t) {
    if (t != Term(ab::quit_tag)) return std::unexpected(ab::no("not quit"));
    return ab::Quit{};
  }
};

namespace ambitious::bench {
namespace {

// The carrier of the run under way: "" for TCP, "_tls", "_quic" (appended to each figure's name).
std::string carrier_suffix;

void result(const char* name, double value, const char* unit) {
  std::printf("bench=%s%s impl=ambitious value=%.1f unit=%s\n", name, carrier_suffix.c_str(), value,
              unit);
  std::fflush(stdout);
}

std::int64_t arg(const std::vector<std::int64_t>& a, std::size_t i, std::int64_t fallback) {
  return i < a.size() ? a[i] : fallback;
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
      .count();
}

long peak_rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "dist bench: %s\n", what);
  std::fflush(stdout);
  std::_Exit(1);
}

// A binary that no compression or sharing could shorten on the wire.
Term random_binary(std::size_t bytes) {
  return Term::binary_filled(bytes, [](std::span<std::uint8_t> to) {
    std::mt19937_64 r(123);
    for (std::size_t i = 0; i < to.size(); i += 8) {
      std::uint64_t v = r();
      std::memcpy(to.data() + i, &v, std::min<std::size_t>(8, to.size() - i));
    }
  });
}

// --- node B's processes -------------------------------------------------------------------
Task<> echo_loop() {
  for (;;) {
    bool stop = co_await receive(
        [](Ping p) {
          send(p.from, Echo{p.i});
          return false;
        },
        [](Stop) { return true; });
    if (stop) co_return;
  }
}

Task<> count_loop(Pid report, std::int64_t total) {
  for (std::int64_t k = 0; k < total; ++k) co_await receive<Count>();
  send(report, Counted{});
}

Task<> bulk_sink() {
  std::int64_t n = 0;
  for (;;) {
    co_await receive(
        [&](Data d) { n += static_cast<std::int64_t>(d.bin.bytes().size()); },
        [&](AskTotal a) {
          send(a.from, Got{n});
          n = 0;
        },
        [&](Warm w) { send(w.from, Got{static_cast<std::int64_t>(w.bin.bytes().size())}); });
  }
}

Task<> hol_sink() {
  for (;;) co_await receive<Data>();
}

Task<> peer_root(Atom a_node) {
  register_name(bench_b, self());
  send(RegisteredName{bench_a, a_node}, Ready{self()});
  for (;;) {
    bool quit = co_await receive(
        [](SpawnOnB s) {
          Pid p;
          if (s.kind == echo_kind)
            p = spawn(echo_loop);
          else if (s.kind == count_kind)
            p = spawn(count_loop, s.from, s.arg);
          else if (s.kind == bulk_kind)
            p = spawn(bulk_sink);
          else if (s.kind == hol_kind)
            p = spawn(hol_sink);
          send(s.from, Spawned{p});
          return false;
        },
        [](Quit) { return true; });
    if (quit) co_return;
  }
}

// --- node A's side ------------------------------------------------------------------------
Task<Pid> spawn_on_b(Pid b, Atom kind, std::int64_t arg = 0) {
  send(b, SpawnOnB{kind, self(), arg});
  auto s = co_await receive<Spawned>(setup_patience);
  if (!s || s->pid.is_null()) fail("node B did not spawn what it was asked to");
  co_return s->pid;
}

Task<> warm(Pid echo, std::int64_t k) {
  for (std::int64_t i = 1; i <= k; ++i) {
    send(echo, Ping{self(), i});
    co_await receive_if<Echo>([i](const Echo& e) { return e.i == i; });
  }
}

Task<> window(Pid b, const char* name, std::int64_t n, std::int64_t w) {
  Pid echo = co_await spawn_on_b(b, echo_kind);
  co_await warm(echo, 1000);
  auto t0 = now_us();
  std::int64_t sent = std::min(w, n), got = 0;
  for (std::int64_t i = 1; i <= sent; ++i) send(echo, Ping{self(), i});
  while (got < n) {
    co_await receive<Echo>();
    ++got;
    if (sent < n) send(echo, Ping{self(), ++sent});
  }
  auto us = now_us() - t0;
  send(echo, Stop{});
  std::printf("# %s round_trips=%lld window=%lld elapsed_ms=%.1f\n", name, (long long)n,
              (long long)w, us / 1000.0);
  result(name, static_cast<double>(n) * 1e6 / static_cast<double>(us), "roundtrips_per_s");
}

struct Go {};
struct ProducerDone {};

Task<> produce(Pid consumer, std::int64_t m, Pid parent) {
  co_await receive<Go>();
  for (std::int64_t k = m; k > 0; --k) send(consumer, Count{k});
  send(parent, ProducerDone{});
}

Task<> fanin(Pid b, std::int64_t producers, std::int64_t per) {
  Pid consumer = co_await spawn_on_b(b, count_kind, producers * per);
  std::vector<Pid> ps;
  for (std::int64_t i = 0; i < producers; ++i) ps.push_back(spawn(produce, consumer, per, self()));
  auto t0 = now_us();
  for (Pid p : ps) send(p, Go{});
  co_await receive<Counted>();
  auto us = now_us() - t0;
  for (std::int64_t i = 0; i < producers; ++i) co_await receive<ProducerDone>();
  std::printf("# dist_fanin producers=%lld per_producer=%lld elapsed_ms=%.1f\n",
              (long long)producers, (long long)per, us / 1000.0);
  result("dist_fanin", static_cast<double>(producers * per) * 1e6 / static_cast<double>(us),
         "msgs_per_s");
}

Task<> bulk(Pid b, std::int64_t count, std::int64_t bytes) {
  Pid sink = co_await spawn_on_b(b, bulk_kind);
  Term bin = random_binary(static_cast<std::size_t>(bytes));
  send(sink, Warm{self(), bin});
  co_await receive<Got>();
  auto t0 = now_us();
  for (std::int64_t i = 0; i < count; ++i) send(sink, Data{bin});
  send(sink, AskTotal{self()});
  std::int64_t total = (co_await receive<Got>()).n;
  auto us = now_us() - t0;
  std::printf("# dist_bulk count=%lld bytes=%lld received=%lld elapsed_ms=%.1f\n", (long long)count,
              (long long)bytes, (long long)total, us / 1000.0);
  if (total != count * bytes) fail("dist_bulk: the sink did not get every byte");
  result("dist_bulk", static_cast<double>(count * bytes) / static_cast<double>(us), "mb_per_s");
}

struct Streaming {};
struct Streamed {
  std::int64_t k;
};
struct StopStreaming {};

Task<> stream(Pid sink, Term bin, Pid parent) {
  send(parent, Streaming{});
  for (std::int64_t k = 0;; ++k) {
    if (co_await receive<StopStreaming>(0ms)) {
      send(parent, Streamed{k});
      co_return;
    }
    send(sink, Data{bin});
  }
}

// The p99 of `pings` round trips to `echo`, in microseconds (and p50, max).
struct RoundTrips {
  std::int64_t p50, p99, max;
};
Task<RoundTrips> round_trips(Pid echo, std::int64_t pings) {
  std::vector<std::int64_t> samples;
  samples.reserve(static_cast<std::size_t>(pings));
  for (std::int64_t i = 1; i <= pings; ++i) {
    auto t = now_us();
    send(echo, Ping{self(), i});
    co_await receive_if<Echo>([i](const Echo& e) { return e.i == i; });
    samples.push_back(now_us() - t);
  }
  std::sort(samples.begin(), samples.end());
  auto nth = [&](double q) {
    auto k = std::max<std::int64_t>(1, std::llround(q * static_cast<double>(pings)));
    return samples[static_cast<std::size_t>(k - 1)];
  };
  co_return RoundTrips{nth(0.50), nth(0.99), samples.back()};
}

// Round trips while another process streams large messages to the same node, and (the
// reference the QUIC floor is set against) the same round trips on the idle connection before.
Task<> hol(Pid b, std::int64_t pings, std::int64_t bulk_bytes) {
  Pid sink = co_await spawn_on_b(b, hol_kind);
  Pid echo = co_await spawn_on_b(b, echo_kind);
  co_await warm(echo, 1000);
  const RoundTrips idle = co_await round_trips(echo, pings);
  Term bin = random_binary(static_cast<std::size_t>(bulk_bytes));
  Pid streamer = spawn(stream, sink, bin, self());
  co_await receive<Streaming>();
  const RoundTrips busy = co_await round_trips(echo, pings);
  send(streamer, StopStreaming{});
  std::int64_t sent = (co_await receive<Streamed>()).k;
  send(echo, Stop{});
  std::printf(
      "# dist_hol pings=%lld bulk_bytes=%lld bulk_messages_sent=%lld p50_us=%lld p99_us=%lld "
      "max_us=%lld idle_p50_us=%lld idle_p99_us=%lld\n",
      (long long)pings, (long long)bulk_bytes, (long long)sent, (long long)busy.p50,
      (long long)busy.p99, (long long)busy.max, (long long)idle.p50, (long long)idle.p99);
  result("dist_hol", static_cast<double>(busy.p99), "us_p99");
  result("dist_hol_idle", static_cast<double>(idle.p99), "us_p99");
}

Task<> root(std::string workload, std::vector<std::int64_t> a) {
  register_name(bench_a, self());
  auto ready = co_await receive<Ready>(setup_patience);
  if (!ready) fail("node B did not come up");
  Pid b = ready->from;
  if (workload == "dist_pingpong")
    co_await window(b, "dist_pingpong", arg(a, 0, 100000), 1);
  else if (workload == "dist_window")
    co_await window(b, "dist_window", arg(a, 0, 200000), arg(a, 1, 64));
  else if (workload == "dist_fanin")
    co_await fanin(b, arg(a, 0, 4), arg(a, 1, 250000));
  else if (workload == "dist_bulk")
    co_await bulk(b, arg(a, 0, 200), arg(a, 1, 1048576));
  else if (workload == "dist_hol")
    co_await hol(b, arg(a, 0, 2000), arg(a, 1, 8388608));
  send(b, Quit{});
}

std::uint16_t free_port() {
  std::uint16_t port = free_loopback_port();
  if (port == 0) fail("no free port for epmd");
  return port;
}

// How both nodes of a run speak: `carrier` "tcp", "tls" or "quic"; `certs`, a directory of
// cluster-certs.sh's files (for tls and quic).
struct Carrier {
  std::string name;
  std::string certs;
  // As the peer's command line carries it: "tcp", or "tls=DIR", "quic=DIR".
  std::string arg() const { return certs.empty() ? name : name + "=" + certs; }
  static Carrier parse(std::string_view a) {
    const std::size_t eq = a.find('=');
    if (eq == std::string_view::npos) return {std::string(a), ""};
    return {std::string(a.substr(0, eq)), std::string(a.substr(eq + 1))};
  }
};

std::unique_ptr<dist::Node> start_node(Atom name, const std::string& cookie, std::uint16_t epmd,
                                       const Carrier& carrier) {
  dist::NodeOptions o;
  o.name = std::string(name.name());
  o.cookie = cookie;
  o.epmd_port = epmd;
  if (!carrier.certs.empty())
    o.tls = dist::TlsOptions{.ca_file = carrier.certs + "/ca.pem",
                             .cert_file = carrier.certs + "/" + o.name + ".pem",
                             .key_file = carrier.certs + "/" + o.name + "-key.pem"};
  if (carrier.name == "quic") o.quic = dist::QuicDistOptions{};
  auto node = dist::Node::start(std::move(o));
  if (!node) fail(("the node did not start: " + node.error().detail).c_str());
  return std::move(*node);
}

}  // namespace

bool is_dist_workload(std::string_view w) {
  return w == "dist_pingpong" || w == "dist_window" || w == "dist_fanin" || w == "dist_bulk" ||
         w == "dist_hol";
}

namespace {

// A fresh directory with a CA and the certificates of nodes A and B; removed by the caller.
std::string make_certs() {
  char pattern[] = "/tmp/ambitious-bench-certs-XXXXXX";
  if (!::mkdtemp(pattern)) fail("no directory for the TLS certificates");
  std::string dir = pattern;
  std::string command = std::string(CLUSTER_CERTS_SCRIPT) + " " + dir + " " +
                        std::string(a_name.name()) + " " + std::string(b_name.name()) +
                        " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0)
    fail("scripts/cluster-certs.sh failed (is gnutls-bin installed?)");
  return dir;
}

int run_over(std::string_view workload, const std::vector<std::int64_t>& args,
             RuntimeOptions options, const Carrier& carrier);

}  // namespace

int dist_main(std::string_view workload, const std::vector<std::int64_t>& args,
              RuntimeOptions options) {
  // SIGALRM ends A (and B with it, through its parent-death signal) if a workload hangs.
  ::alarm(static_cast<unsigned>(std::chrono::seconds(deadline).count()));
  const char* only = std::getenv("AMBITIOUS_DIST_CARRIERS");
  const std::string carriers = only ? only : "tcp tls quic";
  int rc = 0;
  if (carriers.find("tcp") != std::string::npos) {
    carrier_suffix.clear();
    rc = run_over(workload, args, options, Carrier{"tcp", ""});
  }
  for (const char* secure : {"tls", "quic"}) {
    if (rc != 0 || carriers.find(secure) == std::string::npos) continue;
    ::alarm(static_cast<unsigned>(std::chrono::seconds(deadline).count()));  // a fresh deadline
    const std::string certs = make_certs();
    carrier_suffix = std::string("_") + secure;
    rc = run_over(workload, args, options, Carrier{secure, certs});
    std::error_code ignored;
    std::filesystem::remove_all(certs, ignored);
  }
  std::printf("# peak_rss_kb=%ld\n", peak_rss_kb());
  return rc;
}

namespace {

int run_over(std::string_view workload, const std::vector<std::int64_t>& args,
             RuntimeOptions options, const Carrier& carrier) {
  const std::uint16_t epmd = free_port();
  const std::string cookie = random_cookie();
  auto node = start_node(a_name, cookie, epmd, carrier);  // no epmd answers there: it embeds one
  pid_t child = start_self(
      {"ambitious_bench", std::string(dist_peer_flag), std::to_string(epmd), cookie,
       std::string(a_name.name()), "--workers=" + std::to_string(options.workers),
       "--worker-slice-us=" + std::to_string(options.worker_slice.count()), carrier.arg()});
  if (child < 0) fail("fork failed");
  std::printf("# dist %s over %s: node A %s, node B %s (pid %d), embedded epmd on port %u\n",
              std::string(workload).c_str(), carrier.name.c_str(),
              std::string(a_name.name()).c_str(), std::string(b_name.name()).c_str(),
              static_cast<int>(child), epmd);
  int rc = run(options, root, std::string(workload), args);
  reap(child);  // B ends on Quit
  node->stop();
  return rc;
}

}  // namespace

int dist_peer_main(int argc, char** argv, RuntimeOptions options) {
  // argv: epmd port, cookie, node A's name, then the runtime's flags and the carrier
  // (Carrier::arg).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1 || argc < 3) return 1;  // A is gone already, or called by hand
  auto epmd = static_cast<std::uint16_t>(std::atoi(argv[0]));
  Carrier carrier{"tcp", ""};
  for (int i = 3; i < argc; ++i)
    if (!std::string_view(argv[i]).starts_with("--")) carrier = Carrier::parse(argv[i]);
  auto node = start_node(b_name, argv[1], epmd, carrier);
  int rc = run(options, peer_root, Atom(argv[2]));
  node->stop();
  return rc;
}

}  // namespace ambitious::bench
