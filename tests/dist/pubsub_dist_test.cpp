#include "ambitious/naming/pubsub.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../common.hpp"
#include "ambitious/dist/node.hpp"
#include "ambitious/dist/nodes.hpp"
#include "ambitious/naming/pg.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/spawn.hpp"
#include "carrier_under_test.hpp"
#include "child_process.hpp"
#include "erl_node.hpp"
#include "pubsub_subscriber.hpp"

// PubSub across nodes: this test's node and ambitious nodes in child processes (pubsub_node,
// driven by lines on its stdin) run the PubSub `chat`; every subscriber, on any node, reports
// what each round brought it to this process (tests/dist/pubsub_subscriber.hpp), so that the
// test sees exactly once, in order, per subscriber; the nodes' counters of messages sent to and
// fanned out from other nodes show one message per broadcast and remote node. One suite, run per
// carrier (TCP, TLS, QUIC: carrier_under_test.hpp).

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::test;
using namespace std::chrono_literals;

namespace {

const char* const cookie = "ambitious_cookie";
const Atom this_node("a@127.0.0.1");
// The nodes of the tests, for their certificates over TLS and QUIC (carrier_under_test.hpp).
const std::vector<std::string> cluster = {"a@127.0.0.1", "b@127.0.0.1", "c@127.0.0.1"};

std::vector<std::string> child_argv(const std::string& name, std::uint16_t epmd) {
  std::vector<std::string> argv{PUBSUB_NODE_BINARY, name, std::to_string(epmd), cookie,
                                std::string(this_node.name())};
  for (auto& a : carrier_arguments(name, cluster)) argv.push_back(a);
  return argv;
}
const Atom chat("chat");

// A pubsub_node child, ready once it printed so.
class PubSubNode {
 public:
  PubSubNode(const std::string& name, std::uint16_t epmd)
      : name_(name), child_(child_argv(name, epmd)) {
    while (auto line = child_.read_line(patience))
      if (*line == "pubsub_node " + name + " ready") {
        ready_ = true;
        break;
      }
  }
  bool ready() const noexcept { return ready_; }
  Atom node() const { return Atom(name_); }
  const std::string& log() const noexcept { return child_.log(); }
  // Tells the node to end (its stdin's "quit").
  void quit() { child_.write("quit\n"); }

  // Sends `command` and waits (off the worker) for the line that starts with `answer`.
  Task<std::string> ask(std::string command, std::string answer) {
    auto job = blocking([this, command, answer] {
      child_.write(command + "\n");
      while (auto line = child_.read_line(patience))
        if (line->starts_with(answer)) return *line;
      return std::string("no answer");
    });
    std::string line = co_await job;
    if (line == "no answer") give_up("pubsub_node " + name_ + ": no answer to " + command);
    co_return line;
  }

 private:
  std::string name_;
  ChildProcess child_;
  bool ready_ = false;
};

struct PubSubDistTest : ::testing::Test {
  void SetUp() override {
    NodeOptions o;
    o.name = this_node.name();
    o.cookie = cookie;
    o.epmd_port = epmd;  // none answers there: the node starts the embedded epmd on it
    ASSERT_TRUE(use_carrier_under_test(o, cluster))
        << "scripts/cluster-certs.sh failed (is gnutls-bin installed?)";
    auto n = Node::start(o);
    ASSERT_TRUE(n) << "the node did not start: " << n.error().detail;
    node = std::move(*n);
  }
  // Starts the child nodes `names`; false (and a failure) when one is not ready.
  bool start_peers(std::vector<std::string> names) {
    for (auto& name : names) {
      peers.push_back(std::make_unique<PubSubNode>(name, epmd));
      if (!peers.back()->ready()) {
        ADD_FAILURE() << name << " did not start: " << peers.back()->log();
        return false;
      }
    }
    return true;
  }
  std::uint16_t epmd = free_port();
  std::unique_ptr<Node> node;
  std::vector<std::unique_ptr<PubSubNode>> peers;
};

// What one subscriber reported for a round.
struct Report {
  std::int64_t count = 0;
  bool in_order = false;
};

// Starts chat here, connects to every peer, and waits until every node's group has every
// node's server (so that a broadcast from any node reaches them all).
Task<PubSub> meet(std::vector<std::unique_ptr<PubSubNode>>& peers) {
  register_name(collector_name, self());
  auto ps = co_await PubSub::start_link(chat);
  if (!ps) give_up("no pubsub");
  pg::GroupMonitor mon = co_await pg::monitor(PubSub::scope(), Term(ps->adapter_name()));
  for (auto& p : peers)
    if (!co_await connect(p->node())) give_up("no connection");
  // The peers connect to each other too: every node sees every other (a full mesh).
  for (std::size_t i = 0; i < peers.size(); ++i)
    for (std::size_t j = i + 1; j < peers.size(); ++j) {
      std::string other(peers[j]->node().name());
      if (co_await peers[i]->ask("connect " + other, "connect ") != "connect " + other + " ok")
        give_up("the peers did not connect");
    }
  const std::size_t all = peers.size() + 1;
  while (pg::get_members(PubSub::scope(), Term(ps->adapter_name())).size() < all) {
    auto is_ours = [ref = mon.ref](const pg::Notification& n) { return n.ref == ref; };
    (void)co_await expect<pg::Notification>(is_ours);
  }
  (void)co_await pg::demonitor(PubSub::scope(), mon.ref);
  for (auto& p : peers) (void)co_await p->ask("servers " + std::to_string(all), "servers ");
  co_return *ps;
}

// `n` subscribers here and `n` on each peer (or `counts` per node: here first); their pids by
// node, once each has said it subscribed.
Task<std::map<Atom, std::vector<Pid>>> subscribe(const PubSub& ps,
                                                 std::vector<std::unique_ptr<PubSubNode>>& peers,
                                                 std::vector<int> counts) {
  for (int i = 0; i < counts[0]; ++i) spawn([ps] { return pubsub_subscriber(ps, this_node); });
  int total = counts[0];
  for (std::size_t p = 0; p < peers.size(); ++p) {
    (void)co_await peers[p]->ask("subscribe " + std::to_string(counts[p + 1]), "subscribed ");
    total += counts[p + 1];
  }
  std::map<Atom, std::vector<Pid>> by_node;
  auto is_subscribed = [](const Term& t) {
    return t.is_tuple() && t.size() == 2 && t[0] == Term(Atom("subscribed"));
  };
  for (int i = 0; i < total; ++i) {
    Term t = co_await expect<Term>(is_subscribed);
    Pid pid = t[1].as_pid();
    by_node[pid.node()].push_back(pid);
  }
  co_return by_node;
}

// The reports of `n` subscribers for one round.
Task<std::map<Pid, Report>> reports(std::size_t n) {
  std::map<Pid, Report> out;
  auto is_report = [](const Term& t) {
    return t.is_tuple() && t.size() == 4 && t[0] == Term(Atom("report"));
  };
  while (out.size() < n) {
    Term t = co_await expect<Term>(is_report);
    auto [it, fresh] = out.try_emplace(t[1].as_pid());
    if (!fresh) ADD_FAILURE() << "a subscriber reported twice in one round";
    it->second = {t[2].as_int64(), t[3].as_bool()};
  }
  co_return out;
}

std::vector<int> counts(int here, int b, int c = -1) {
  std::vector<int> v{here, b};
  if (c >= 0) v.push_back(c);
  return v;
}

std::size_t total(const std::map<Atom, std::vector<Pid>>& by_node) {
  std::size_t n = 0;
  for (const auto& [node, pids] : by_node) n += pids.size();
  return n;
}

std::pair<long, long> both(long s, long r) { return {s, r}; }

// The "sends=S receives=R" of a peer's stats line.
std::pair<long, long> stats(const std::string& line) {
  long s = 0, r = 0;
  if (std::sscanf(line.c_str(), "stats sends=%ld receives=%ld", &s, &r) != 2) return {-1, -1};
  return {s, r};
}

}  // namespace

TEST_F(PubSubDistTest, a_broadcast_reaches_local_and_remote_subscribers_exactly_once) {
  ASSERT_TRUE(start_peers({"b@127.0.0.1"}));
  run_test([&]() -> Task<> {
    PubSub ps = co_await meet(peers);
    auto subs = co_await subscribe(ps, peers, counts(3, 3));
    EXPECT_EQ(subs[this_node].size(), 3u);
    EXPECT_EQ(subs[peers[0]->node()].size(), 3u);
    ps.broadcast(pubsub_topic, std::string("1"));
    ps.broadcast(pubsub_topic, std::string("end"));
    for (const auto& [pid, r] : co_await reports(6)) {
      EXPECT_EQ(r.count, 1) << pid;
      EXPECT_TRUE(r.in_order) << pid;
    }
    // One message per broadcast to the one remote node, whatever its subscribers.
    EXPECT_EQ(ps.remote_sends(), 2u);
    EXPECT_EQ(stats(co_await peers[0]->ask("stats", "stats ")), both(0, 2));
    // And the other way: b's broadcast reaches b's subscribers and ours.
    (void)co_await peers[0]->ask("broadcast 1", "broadcast ");
    for (const auto& [pid, r] : co_await reports(6)) EXPECT_EQ(r.count, 1) << pid;
    EXPECT_EQ(ps.remote_receives(), 2u);
  });
}

TEST_F(PubSubDistTest, broadcast_from_leaves_out_the_sender_on_whichever_node_it_is) {
  ASSERT_TRUE(start_peers({"b@127.0.0.1"}));
  run_test([&]() -> Task<> {
    PubSub ps = co_await meet(peers);
    auto subs = co_await subscribe(ps, peers, counts(2, 2));
    Pid local = subs[this_node][0];
    Pid remote = subs[peers[0]->node()][0];
    ps.broadcast_from(local, pubsub_topic, std::string("1"));
    ps.broadcast(pubsub_topic, std::string("end"));
    for (const auto& [pid, r] : co_await reports(4)) EXPECT_EQ(r.count, pid == local ? 0 : 1);
    ps.broadcast_from(remote, pubsub_topic, std::string("1"));
    ps.broadcast(pubsub_topic, std::string("end"));
    for (const auto& [pid, r] : co_await reports(4)) EXPECT_EQ(r.count, pid == remote ? 0 : 1);
  });
}

TEST_F(PubSubDistTest, local_broadcast_stays_on_its_node) {
  ASSERT_TRUE(start_peers({"b@127.0.0.1"}));
  run_test([&]() -> Task<> {
    PubSub ps = co_await meet(peers);
    (void)co_await subscribe(ps, peers, counts(2, 2));
    ps.local_broadcast(pubsub_topic, std::string("1"));
    ps.broadcast(pubsub_topic, std::string("end"));
    for (const auto& [pid, r] : co_await reports(4))
      EXPECT_EQ(r.count, pid.is_local() ? 1 : 0) << pid;
    EXPECT_EQ(ps.remote_sends(), 1u);  // the end only
  });
}

TEST_F(PubSubDistTest, a_stream_from_one_broadcaster_arrives_in_order_on_every_node) {
  ASSERT_TRUE(start_peers({"b@127.0.0.1"}));
  run_test([&]() -> Task<> {
    PubSub ps = co_await meet(peers);
    (void)co_await subscribe(ps, peers, counts(3, 3));
    const int n = 2000;
    for (int i = 1; i <= n; ++i) ps.broadcast(pubsub_topic, std::to_string(i));
    ps.broadcast(pubsub_topic, std::string("end"));
    for (const auto& [pid, r] : co_await reports(6)) {
      EXPECT_EQ(r.count, n) << pid;
      EXPECT_TRUE(r.in_order) << pid;
    }
    // From b: its subscribers directly, ours through this node's server.
    (void)co_await peers[0]->ask("broadcast " + std::to_string(n), "broadcast ");
    for (const auto& [pid, r] : co_await reports(6)) {
      EXPECT_EQ(r.count, n) << pid;
      EXPECT_TRUE(r.in_order) << pid;
    }
  });
}

TEST_F(PubSubDistTest, ten_thousand_subscribers_on_three_nodes_each_get_a_broadcast_exactly_once) {
  ASSERT_TRUE(start_peers({"b@127.0.0.1", "c@127.0.0.1"}));
  run_test([&]() -> Task<> {
    PubSub ps = co_await meet(peers);
    auto subs = co_await subscribe(ps, peers, counts(3334, 3333, 3333));
    EXPECT_EQ(total(subs), 10000u);
    EXPECT_EQ(subs.size(), 3u);
    ps.broadcast(pubsub_topic, std::string("1"));
    ps.broadcast(pubsub_topic, std::string("end"));
    auto got = co_await reports(10000);
    std::size_t once = 0;
    for (const auto& [pid, r] : got) once += r.count == 1 && r.in_order;
    EXPECT_EQ(once, 10000u);
    // On the wire: one message per broadcast and remote node (2 broadcasts, 2 nodes), each
    // fanned out there by the node's server.
    EXPECT_EQ(ps.remote_sends(), 4u);
    for (auto& p : peers) EXPECT_EQ(stats(co_await p->ask("stats", "stats ")), both(0, 2));
  });
}

TEST_F(PubSubDistTest, a_node_that_goes_down_leaves_the_group_and_broadcasts_stay_here) {
  ASSERT_TRUE(start_peers({"b@127.0.0.1"}));
  run_test([&]() -> Task<> {
    PubSub ps = co_await meet(peers);
    (void)co_await subscribe(ps, peers, counts(2, 2));
    const Term group(ps.adapter_name());
    pg::GroupMonitor mon = co_await pg::monitor(PubSub::scope(), group);
    peers[0]->quit();
    while (pg::get_members(PubSub::scope(), group).size() > 1) {
      auto is_ours = [ref = mon.ref](const pg::Notification& n) { return n.ref == ref; };
      (void)co_await expect<pg::Notification>(is_ours);
    }
    EXPECT_EQ(pg::get_members(PubSub::scope(), group), std::vector<Pid>{ps.server()});
    ps.broadcast(pubsub_topic, std::string("1"));
    ps.broadcast(pubsub_topic, std::string("end"));
    for (const auto& [pid, r] : co_await reports(2)) EXPECT_EQ(r.count, 1) << pid;
    EXPECT_EQ(ps.remote_sends(), 0u);
  });
}

// Evaluates `expr` on `n` from inside a process, off the worker.
Task<std::string> eval(ErlNode& n, std::string expr) {
  auto job = blocking([&n, expr] { return n.eval(expr); });
  co_return co_await job;
}

// An Erlang node doing what Phoenix.PubSub's PG2 adapter does for a PubSub named chat (its
// worker, registered as 'Elixir.chat.Adapter', joins that group in the scope
// 'Elixir.Phoenix.PubSub'; a broadcast sends {forward_to_local, Topic, Msg, Dispatcher} to
// each remote member): both sides' broadcasts reach the other.
TEST_F(PubSubDistTest, an_erlang_node_in_phoenix_pubsubs_wire_form_shares_the_pubsub) {
  if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
  // Erlang over TLS is tls_test's; this test is about Phoenix.PubSub's wire form.
  if (secure_carrier()) GTEST_SKIP() << "an Erlang peer on plain TCP: run over TCP only";
  ErlNode x({.name = "x@127.0.0.1", .cookie = cookie, .epmd_port = epmd});
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    // The worker hands what it gets to the evaluating process.
    const char* const setup =
        "{ok, _} = pg:start('Elixir.Phoenix.PubSub'), Self = self(),"
        " W = spawn(fun L() -> receive M -> Self ! {worker, M}, L() end end),"
        " true = register('Elixir.chat.Adapter', W),"
        " pg:join('Elixir.Phoenix.PubSub', 'Elixir.chat.Adapter', W).";
    EXPECT_EQ(co_await eval(x, setup), "ok");
    register_name(collector_name, self());
    auto ps = co_await PubSub::start_link(chat);
    if (!ps) give_up("no pubsub");
    EXPECT_EQ(ps->adapter_name(), Atom("Elixir.chat.Adapter"));
    pg::GroupMonitor mon = co_await pg::monitor(PubSub::scope(), Term(ps->adapter_name()));
    if (!co_await connect(Atom("x@127.0.0.1"))) give_up("no connection");
    while (pg::get_members(PubSub::scope(), Term(ps->adapter_name())).size() < 2) {
      auto is_ours = [ref = mon.ref](const pg::Notification& n) { return n.ref == ref; };
      (void)co_await expect<pg::Notification>(is_ours);
    }
    // Erlang has our server once its monitor says so (or already has it).
    const char* const await_ours =
        "{R, Ms} = pg:monitor('Elixir.Phoenix.PubSub', 'Elixir.chat.Adapter'),"
        " case [P || P <- Ms, node(P) =/= node()] of [_] -> ok;"
        "  [] -> receive {R, join, _, _} -> ok after 10000 -> timeout end end.";
    EXPECT_EQ(co_await eval(x, await_ours), "ok");
    for (int i = 0; i < 2; ++i) spawn([p = *ps] { return pubsub_subscriber(p, this_node); });
    auto is_subscribed = [](const Term& t) {
      return t.is_tuple() && t.size() == 2 && t[0] == Term(Atom("subscribed"));
    };
    for (int i = 0; i < 2; ++i) (void)co_await expect<Term>(is_subscribed);

    // Ours reaches the Erlang worker in Phoenix's form.
    ps->broadcast(pubsub_topic, std::string("1"));
    EXPECT_EQ(co_await eval(x,
                            "receive {worker, {forward_to_local, <<\"t\">>, <<\"1\">>,"
                            " 'Elixir.Phoenix.PubSub'}} -> ok after 10000 -> timeout end."),
              "ok");
    ps->broadcast(pubsub_topic, std::string("end"));
    for (const auto& [pid, r] : co_await reports(2)) EXPECT_EQ(r.count, 1) << pid;
    EXPECT_EQ(ps->remote_sends(), 2u);

    // Erlang's broadcast (PG2.broadcast/4) and direct_broadcast (to {Adapter, Node}) reach ours.
    const char* const broadcast =
        "[S] = [P || P <- pg:get_members('Elixir.Phoenix.PubSub', 'Elixir.chat.Adapter'),"
        "  node(P) =/= node()],"
        " S ! {forward_to_local, <<\"t\">>, <<\"1\">>, 'Elixir.Phoenix.PubSub'},"
        " {'Elixir.chat.Adapter', 'a@127.0.0.1'} !"
        "  {forward_to_local, <<\"t\">>, <<\"2\">>, 'Elixir.Phoenix.PubSub'},"
        " {'Elixir.chat.Adapter', 'a@127.0.0.1'} !"
        "  {forward_to_local, <<\"t\">>, <<\"end\">>, 'Elixir.Phoenix.PubSub'}, ok.";
    EXPECT_EQ(co_await eval(x, broadcast), "ok");
    for (const auto& [pid, r] : co_await reports(2)) {
      EXPECT_EQ(r.count, 2) << pid;
      EXPECT_TRUE(r.in_order) << pid;
    }
    EXPECT_EQ(ps->remote_receives(), 3u);
  });
}
