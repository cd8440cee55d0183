// The cluster workloads on three ambitious nodes on 127.0.0.1 (cluster_bench.erl runs the same on
// three Erlang nodes; run.sh runs both). This program is node bench_c, the coordinator; it
// starts itself twice more as bench_a and bench_b (peer_flag), over the epmd it embeds on a
// private port; the peers join the cluster (a full mesh) and die with it (PR_SET_PDEATHSIG),
// and it gives up after `deadline`, so that nothing outlives the bench. Figures:
//
//   cluster_broadcast       one PubSub broadcast to 10,000 subscribers spread over the three
//                           nodes (one message to each other node, which fans it out), round
//                           after round: deliveries per second
//   cluster_broadcast_last  the median, over the rounds, of the time from the broadcast until
//                           the last subscriber has it (each node's last one says so)
//   global_lookup           global::whereis_name per second, one looker per worker, names among
//                           1,000 (the integers 0..999) held on this node (local reads)
//   global_register         global::register_name + unregister_name pairs per second, from
//                           bench_c, in the three-node cluster (bench_a, the smallest name, is
//                           the leader: each one is a round trip to another node)

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ambitious/ambitious.hpp"
#include "ambitious/dist/cluster.hpp"
#include "ambitious/dist/node.hpp"
#include "ambitious/dist/nodes.hpp"
#include "ambitious/naming/global.hpp"
#include "local_node.hpp"

using namespace std::chrono_literals;
using namespace ambitious;

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view peer_flag = "--cluster-peer";
constexpr std::int64_t subscribers = 10'000;
constexpr int rounds = 100;
constexpr int names = 1'000;
constexpr int lookups_per_looker = 2'000'000;
constexpr int registrations = 2'000;
constexpr auto deadline = 300s;
constexpr auto patience = 60s;
const char* const topic = "cluster_bench";
const Atom coordinator_name("bench_c@127.0.0.1");
const Atom peer_names[] = {Atom("bench_a@127.0.0.1"), Atom("bench_b@127.0.0.1")};
const Atom root_name("cluster_bench");

// --- the messages (Erlang's shapes in the comments) -----------------------------------------
struct Round {  // {round, R}
  std::int64_t r;
};
struct Delivered {  // {delivered, R}
  std::int64_t r;
};
struct Ready {  // {ready, Pid}: a peer is in the full mesh
  Pid from;
};
struct Subscribe {  // {subscribe, Count, Coordinator}
  std::int64_t count;
  Pid coordinator;
};
struct Subscribed {};  // subscribed: a peer's subscribers are all there
struct Quit {};        // quit

CodecError no(const char* what) { return CodecError{"", what}; }

}  // namespace

template <>
struct ambitious::Codec<Round> {
  static Term to_term(const Round& m) { return Term::tuple(Atom("round"), m.r); }
  static std::expected<Round, CodecError> from_term(const Term& t) {
    Round m;
    if (!t.match(Atom("round"), &m.r)) return std::unexpected(no("not {round, R}"));
    return m;
  }
};
template <>
struct ambitious::Codec<Delivered> {
  static Term to_term(const Delivered& m) { return Term::tuple(Atom("delivered"), m.r); }
  static std::expected<Delivered, CodecError> from_term(const Term& t) {
    Delivered m;
    if (!t.match(Atom("delivered"), &m.r)) return std::unexpected(no("not {delivered, R}"));
    return m;
  }
};
template <>
struct ambitious::Codec<Ready> {
  static Term to_term(const Ready& m) { return Term::tuple(Atom("ready"), m.from); }
  static std::expected<Ready, CodecError> from_term(const Term& t) {
    Ready m;
    if (!t.match(Atom("ready"), &m.from)) return std::unexpected(no("not {ready, Pid}"));
    return m;
  }
};
template <>
struct ambitious::Codec<Subscribe> {
  static Term to_term(const Subscribe& m) {
    return Term::tuple(Atom("subscribe"), m.count, m.coordinator);
  }
  static std::expected<Subscribe, CodecError> from_term(const Term& t) {
    Subscribe m;
    if (!t.match(Atom("subscribe"), &m.count, &m.coordinator))
      return std::unexpected(no("not {subscribe, Count, Pid}"));
    return m;
  }
};
template <>
struct ambitious::Codec<Subscribed> {
  static Term to_term(const Subscribed&) { return Term(Atom("subscribed")); }
  static std::expected<Subscribed, CodecError> from_term(const Term& t) {
    if (t != Term(Atom("subscribed"))) return std::unexpected(no("not subscribed"));
    return Subscribed{};
  }
};
template <>
struct ambitious::Codec<Quit> {
  static Term to_term(const Quit&) { return Term(Atom("quit")); }
  static std::expected<Quit, CodecError> from_term(const Term& t) {
    if (t != Term(Atom("quit"))) return std::unexpected(no("not quit"));
    return Quit{};
  }
};

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "cluster bench: %s\n", what.c_str());
  std::fflush(stdout);
  std::_Exit(1);
}

void print(const char* bench, double value, const char* unit) {
  std::printf("bench=%s impl=ambitious value=%.0f unit=%s\n", bench, value, unit);
  std::fflush(stdout);
}

unsigned workers() { return std::max(1u, std::thread::hardware_concurrency()); }

std::unique_ptr<dist::Node> start_node(Atom name, const std::string& cookie, std::uint16_t epmd) {
  dist::NodeOptions o;
  o.name = std::string(name.name());
  o.cookie = cookie;
  o.epmd_port = epmd;
  auto node = dist::Node::start(std::move(o));
  if (!node) fail("the node did not start: " + node.error().detail);
  return std::move(*node);
}

// --- the subscribers, on every node ---------------------------------------------------------
// Subscribed to `topic`; the one whose delivery completes a round on this node (all `count`
// of them have had rounds 1..r) tells the coordinator.
struct Tally {
  std::atomic<std::int64_t> seen{0};
  std::int64_t count = 0;
};

Task<> subscriber(PubSub ps, std::shared_ptr<Tally> tally, Pid coordinator, Pid ready_to) {
  ps.subscribe(topic);
  send(ready_to, Subscribed{});
  for (;;) {
    Round m = co_await receive<Round>();
    if (tally->seen.fetch_add(1, std::memory_order_acq_rel) + 1 == tally->count * m.r)
      send(coordinator, Delivered{m.r});
  }
}

// Starts `count` subscribers on this node and waits until each has subscribed.
Task<> subscribe(const PubSub& ps, std::int64_t count, Pid coordinator) {
  auto tally = std::make_shared<Tally>();
  tally->count = count;
  for (std::int64_t i = 0; i < count; ++i)
    spawn([ps, tally, coordinator, me = self()] { return subscriber(ps, tally, coordinator, me); });
  for (std::int64_t i = 0; i < count; ++i)
    if (!co_await receive<Subscribed>(patience)) fail("a subscriber did not subscribe");
}

// Waits until `k` nodes' PubSub servers are in the pg group a broadcast goes to.
Task<> wait_for_servers(const PubSub& ps, std::size_t k) {
  pg::GroupMonitor mon = co_await pg::monitor(PubSub::scope(), Term(ps.adapter_name()));
  while (pg::get_members(PubSub::scope(), Term(ps.adapter_name())).size() < k) {
    auto is_ours = [ref = mon.ref](const pg::Notification& n) { return n.ref == ref; };
    if (!co_await receive_if<pg::Notification>(is_ours, patience))
      fail("the PubSub servers of the other nodes did not join");
  }
  (void)co_await pg::demonitor(PubSub::scope(), mon.ref);
}

// --- a peer (bench_a, bench_b) ------------------------------------------------------------
Task<> peer_root() {
  auto ps = co_await PubSub::start_link(Atom("bench"));
  if (!ps) fail("no PubSub");
  std::vector<std::string> seeds{std::string(coordinator_name.name())};
  for (Atom p : peer_names) seeds.emplace_back(p.name());
  dist::monitor_nodes(true,
                      dist::NodeMonitorOptions{.node_type = dist::NodeMonitorOptions::Types::all});
  if (!dist::join_cluster(dist::ClusterOptions{.seeds = seeds})) fail("join_cluster failed");
  // In the full mesh: connected to the coordinator and to the other peer.
  while (dist::nodes(dist::NodeSet::connected).size() < 2)
    if (!co_await receive<dist::NodeUp>(patience)) fail("the full mesh did not form");
  send(RegisteredName{root_name, coordinator_name}, Ready{self()});
  for (;;) {
    std::optional<Subscribe> ask;
    bool quit = co_await receive(
        [&](Subscribe s) {
          ask = s;
          return false;
        },
        [](Quit) { return true; }, [](dist::NodeUp) { return false; },
        [](dist::NodeDown) { return false; });
    if (quit) co_return;
    if (ask) {
      co_await subscribe(*ps, ask->count, ask->coordinator);
      send(ask->coordinator, Subscribed{});
    }
  }
}

// --- the coordinator (bench_c) --------------------------------------------------------------
Task<> broadcast(const PubSub& ps, const std::vector<Pid>& peers) {
  const std::int64_t here = subscribers - subscribers / 3 * 2;
  co_await subscribe(ps, here, self());
  for (Pid p : peers) send(p, Subscribe{subscribers / 3, self()});
  for (std::size_t i = 0; i < peers.size(); ++i)
    if (!co_await receive<Subscribed>(patience)) fail("a peer's subscribers did not subscribe");
  co_await wait_for_servers(ps, 3);

  std::vector<double> lasts;
  auto t0 = Clock::now();
  for (std::int64_t r = 1; r <= rounds; ++r) {
    auto t = Clock::now();
    ps.broadcast(topic, Round{r});
    for (int node = 0; node < 3; ++node) {
      auto ours = [r](const Delivered& d) { return d.r == r; };
      if (!co_await receive_if<Delivered>(ours, patience)) fail("a round was not delivered");
    }
    lasts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  print("cluster_broadcast", static_cast<double>(subscribers * rounds) / s, "deliveries/s");
  std::sort(lasts.begin(), lasts.end());
  print("cluster_broadcast_last", lasts[(lasts.size() - 1) / 2], "us");
}

struct Found {
  std::int64_t n = 0;
};

Task<> lookup_and_register() {
  // One holder per name, on this node (a process holds one global name).
  for (int i = 0; i < names; ++i) {
    Pid holder = spawn([]() -> Task<> { co_await receive<Quit>(); });
    Term name(i);
    // The answer in a variable: g++ 12 mishandled `if (co_await f(term))` (see global.cpp).
    bool yes = co_await global::register_name(name, holder);
    if (!yes) fail("a holder's name was taken");
  }
  Pid parent = self();
  auto t0 = Clock::now();
  for (unsigned w = 0; w < workers(); ++w)
    spawn([parent, w]() -> Task<> {
      Found f;
      for (int i = 0; i < lookups_per_looker; ++i) {
        f.n += global::whereis_name(Term(static_cast<int>((i + w) % names))).has_value();
      }
      send(parent, f);
      co_return;
    });
  std::int64_t found = 0;
  for (unsigned w = 0; w < workers(); ++w) found += (co_await receive<Found>()).n;
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (found != std::int64_t{lookups_per_looker} * workers()) fail("a lookup found nothing");
  print("global_lookup", static_cast<double>(found) / s, "lookups/s");

  t0 = Clock::now();
  for (int i = 0; i < registrations; ++i) {
    bool yes = co_await global::register_name(Atom("bench_name"), self());
    if (!yes) fail("register_name: no");
    co_await global::unregister_name(Atom("bench_name"));
  }
  s = std::chrono::duration<double>(Clock::now() - t0).count();
  print("global_register", registrations / s, "pairs/s");
}

Task<> coordinator_root() {
  register_name(root_name, self());
  auto ps = co_await PubSub::start_link(Atom("bench"));
  if (!ps) fail("no PubSub");
  std::vector<Pid> peers;
  for (std::size_t i = 0; i < std::size(peer_names); ++i) {
    auto r = co_await receive<Ready>(patience);
    if (!r) fail("a peer did not get ready");
    peers.push_back(r->from);
  }
  co_await global::sync();
  co_await broadcast(*ps, peers);
  co_await lookup_and_register();
  for (Pid p : peers) send(p, Quit{});
}

pid_t start_peer(Atom name, std::uint16_t epmd, const std::string& cookie) {
  pid_t child = bench::start_self({"cluster_bench", std::string(peer_flag),
                                   std::string(name.name()), std::to_string(epmd), cookie});
  if (child < 0) fail("fork failed");
  return child;
}

}  // namespace

int main(int argc, char** argv) {
  RuntimeOptions options{.workers = workers()};
  if (argc == 5 && argv[1] == peer_flag) {  // argv: the flag, the name, epmd's port, the cookie
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() == 1) return 1;  // the coordinator is gone already
    auto node = start_node(Atom(argv[2]), argv[4], static_cast<std::uint16_t>(std::atoi(argv[3])));
    int rc = run(options, peer_root);
    node->stop();
    return rc;
  }
  // SIGALRM ends the coordinator (and the peers with it) if a workload hangs.
  ::alarm(static_cast<unsigned>(std::chrono::seconds(deadline).count()));
  const std::uint16_t epmd = bench::free_loopback_port();
  if (epmd == 0) fail("no free port for epmd");
  const std::string cookie = bench::random_cookie();
  auto node = start_node(coordinator_name, cookie, epmd);  // no epmd there: it embeds one
  std::vector<pid_t> children;
  for (Atom p : peer_names) children.push_back(start_peer(p, epmd, cookie));
  std::printf("# cluster: %s and peers %s, %s on an embedded epmd (port %u), workers=%u\n",
              std::string(coordinator_name.name()).c_str(),
              std::string(peer_names[0].name()).c_str(), std::string(peer_names[1].name()).c_str(),
              epmd, options.workers);
  int rc = run(options, coordinator_root);
  for (pid_t child : children) bench::reap(child);  // each ends on Quit
  node->stop();
  return rc;
}
