#include "ambitious/dist/nodes.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "../common.hpp"
#include "ambitious/dist/epmd_server.hpp"
#include "ambitious/process/detail/node_watch.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "erl_node.hpp"

// Node life as processes see it (dist::nodes(), monitor_node, monitor_nodes, connect, the
// net_kernel process, dist::start/stop, short names), against real Erlang nodes on this host
// with an epmd of the test's own (the embedded one, which the node starts on a free port).

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::test;
using namespace std::chrono_literals;

namespace {

const char* const cookie = "ambitious_cookie";
const Atom a_node("a@127.0.0.1");
const Atom x_node("x@127.0.0.1");

struct NodesTest : ::testing::Test {
  void SetUp() override {
    if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
  }
  std::uint16_t epmd = free_port();

  NodeOptions options(std::string name = "a@127.0.0.1") {
    NodeOptions o;
    o.name = std::move(name);
    o.cookie = cookie;
    o.epmd_port = epmd;
    return o;
  }
  std::unique_ptr<Node> start(std::string name = "a@127.0.0.1") {
    auto n = Node::start(options(std::move(name)));
    if (!n) ADD_FAILURE() << "the node did not start: " << n.error().detail;
    return n ? std::move(*n) : nullptr;
  }
  ErlNode erl(std::string name, bool short_name = false) {
    return ErlNode({.name = name, .short_name = short_name, .cookie = cookie, .epmd_port = epmd});
  }
};

// This host's short name, as erl -sname takes it.
std::string short_host() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  std::string h(buf);
  return h.substr(0, h.find('.'));
}

// Evaluates `expr` on `n` from inside a process, off the worker (the node's answers need it).
Task<std::string> eval(ErlNode& n, std::string expr) {
  auto job = blocking([&n, expr] { return n.eval(expr); });
  co_return co_await job;
}

// Tells `n` to halt, without waiting for an answer (there is none).
void halt(ErlNode& n) { n.process().write("erlang:halt().\n"); }

}  // namespace

TEST_F(NodesTest, node_is_nonode_at_nohost_until_distribution_starts) {
  EXPECT_EQ(node(), Atom("nonode@nohost"));
  EXPECT_TRUE(dist::nodes(NodeSet::connected).empty());
  EXPECT_EQ(dist::nodes(NodeSet::this_node), std::vector<Atom>{Atom("nonode@nohost")});
  auto n = start();
  ASSERT_TRUE(n);
  EXPECT_EQ(node(), a_node);
  n->stop();
  EXPECT_EQ(node(), Atom("nonode@nohost"));
}

TEST_F(NodesTest, nodes_lists_a_peer_once_connected_by_the_kind_of_its_connection) {
  auto n = start();
  ASSERT_TRUE(n);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    EXPECT_TRUE(dist::nodes(NodeSet::connected).empty());
    EXPECT_TRUE(co_await connect(x_node));
    // This node is hidden (no PUBLISHED), so every connection of it is: dist::nodes() is empty.
    EXPECT_TRUE(dist::nodes().empty());
    EXPECT_EQ(dist::nodes(NodeSet::hidden), std::vector<Atom>{x_node});
    EXPECT_EQ(dist::nodes(NodeSet::connected), std::vector<Atom>{x_node});
    EXPECT_EQ(dist::nodes(NodeSet::this_node | NodeSet::hidden),
              (std::vector<Atom>{a_node, x_node}));
    EXPECT_FALSE(co_await connect(Atom("nobody@127.0.0.1"))) << "epmd knows no such node";
    EXPECT_TRUE(co_await connect(a_node)) << "this node is always connected to itself";
  });
}

TEST_F(NodesTest, monitor_node_sends_one_nodedown_per_call_when_erl_halts) {
  auto n = start();
  ASSERT_TRUE(n);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    if (!co_await connect(x_node)) give_up("no connection to x");
    monitor_node(x_node, true);
    monitor_node(x_node, true);
    monitor_node(x_node, true);
    monitor_node(x_node, false);  // removes one of the three
    halt(x);
    // The same message as a Term of OTP's shape, and as the typed NodeDown.
    Term t = co_await expect<Term>([](const Term&) { return true; });
    EXPECT_EQ(t, Term::tuple(Atom("nodedown"), x_node));
    NodeDown d = co_await expect<NodeDown>([](const NodeDown&) { return true; });
    EXPECT_EQ(d.node, x_node);
    EXPECT_FALSE(d.info);
    // No third: a message sent to self after them comes first.
    ambitious::send(self(), Term(Atom("mark")));
    Term next = co_await expect<Term>([](const Term&) { return true; });
    EXPECT_EQ(next, Term(Atom("mark")));
  });
}

TEST_F(NodesTest, monitor_node_of_a_node_that_cannot_be_reached_fires_at_once) {
  auto n = start();
  ASSERT_TRUE(n);
  run_test([&]() -> Task<> {
    const Atom nobody("nobody@127.0.0.1");
    monitor_node(nobody, true);
    NodeDown d = co_await expect<NodeDown>([](const NodeDown&) { return true; });
    EXPECT_EQ(d.node, nobody);
    monitor_node(Atom("not a node name"), true);
    d = co_await expect<NodeDown>([](const NodeDown&) { return true; });
    EXPECT_EQ(d.node, Atom("not a node name"));
  });
}

TEST_F(NodesTest, monitor_node_when_not_distributed_is_badarg_as_notalive) {
  run_test([]() -> Task<> {
    EXPECT_THROW(monitor_node(x_node, true), BadArg);
    EXPECT_FALSE(co_await connect(x_node));
  });
}

TEST_F(NodesTest, monitor_nodes_gets_nodeup_then_nodedown_with_the_info_asked_for) {
  auto n = start();
  ASSERT_TRUE(n);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    NodeMonitorOptions all;
    all.node_type = NodeMonitorOptions::Types::all;
    all.nodedown_reason = true;
    EXPECT_TRUE(monitor_nodes(true, all));
    EXPECT_TRUE(monitor_nodes(true));  // visible nodes only: this hidden node has none
    EXPECT_TRUE(co_await connect(x_node));
    Term up = co_await expect<Term>([](const Term&) { return true; });
    EXPECT_EQ(up, Term::tuple(Atom("nodeup"), x_node,
                              Term::list(Term::tuple(Atom("node_type"), Atom("hidden")))));
    halt(x);
    NodeDown d = co_await expect<NodeDown>([](const NodeDown&) { return true; });
    EXPECT_EQ(d.node, x_node);
    if (!d.info) give_up("no Info in the nodedown");
    EXPECT_EQ(d.info->node_type, NodeType::hidden);
    EXPECT_EQ(d.info->nodedown_reason, Term(Atom("connection_closed")));
    ambitious::send(self(), Term(Atom("mark")));
    Term next = co_await expect<Term>([](const Term&) { return true; });
    EXPECT_EQ(next, Term(Atom("mark"))) << "the visible-only subscription got nothing";
  });
}

TEST_F(NodesTest, monitor_nodes_false_ends_the_subscriptions_with_the_same_options) {
  auto n = start();
  ASSERT_TRUE(n);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    NodeMonitorOptions hidden;
    hidden.node_type = NodeMonitorOptions::Types::hidden;
    monitor_nodes(true, hidden);
    monitor_nodes(true, hidden);
    monitor_nodes(false, hidden);
    NodeMonitorOptions all;
    all.node_type = NodeMonitorOptions::Types::all;
    monitor_nodes(true, all);
    EXPECT_TRUE(co_await connect(x_node));
    NodeUp up = co_await expect<NodeUp>([](const NodeUp&) { return true; });
    EXPECT_EQ(up.node, x_node);
    ambitious::send(self(), Term(Atom("mark")));
    Term next = co_await expect<Term>([](const Term&) { return true; });
    EXPECT_EQ(next, Term(Atom("mark")));
  });
}

// OTP 25: net_kernel:monitor_nodes(true, [{node_type, all}, nodedown_reason]) before
// net_kernel:start gets {nodeup, Self, [{node_type, visible}]}, the peers' nodeups, and at
// net_kernel:stop() each peer's nodedown then its own, all for net_kernel_terminated; the
// subscription holds for the next start.
TEST_F(NodesTest, monitor_nodes_without_distribution_hears_it_start_and_stop) {
  // An epmd of the test's own, which outlives the node's stop (x stays registered with it).
  auto epmd_server = epmd::Server::start({.address = "127.0.0.1", .port = epmd});
  ASSERT_TRUE(epmd_server) << epmd_server.error().detail;
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    NodeMonitorOptions all;
    all.node_type = NodeMonitorOptions::Types::all;
    all.nodedown_reason = true;
    EXPECT_TRUE(monitor_nodes(true, all));
    EXPECT_TRUE(monitor_nodes(true));  // visible nodes only: this node, not the hidden peer
    EXPECT_TRUE(ambitious::detail::watch_nodes().empty());
    auto info = [](const char* type, const char* reason = nullptr) {
      Term kind = Term::tuple(Atom("node_type"), Atom(type));
      if (!reason) return Term::list(kind);
      return Term::list(Term::tuple(Atom("nodedown_reason"), Atom(reason)), kind);
    };
    auto next = []() { return expect<Term>([](const Term&) { return true; }); };
    if (!co_await dist::start(options())) give_up("distribution did not start");
    EXPECT_EQ(co_await next(), Term::tuple(Atom("nodeup"), a_node, info("visible")));
    EXPECT_EQ(co_await next(), Term::tuple(Atom("nodeup"), a_node));
    EXPECT_TRUE(co_await connect(x_node));
    EXPECT_EQ(co_await next(), Term::tuple(Atom("nodeup"), x_node, info("hidden")));
    co_await expect<ambitious::detail::NodeChange>(
        [](const ambitious::detail::NodeChange& c) { return c.node == x_node && c.up; });
    EXPECT_TRUE(co_await dist::stop());
    const char* why = "net_kernel_terminated";
    EXPECT_EQ(co_await next(), Term::tuple(Atom("nodedown"), x_node, info("hidden", why)));
    EXPECT_EQ(co_await next(), Term::tuple(Atom("nodedown"), a_node, info("visible", why)));
    EXPECT_EQ(co_await next(), Term::tuple(Atom("nodedown"), a_node));
    // The process layer's node watch forgets the peer too: no node stays up in it.
    co_await expect<ambitious::detail::NodeChange>(
        [](const ambitious::detail::NodeChange& c) { return c.node == x_node && !c.up; });
    EXPECT_TRUE(ambitious::detail::watch_nodes().empty());
    auto again = co_await dist::start(options());
    if (!again) give_up("distribution did not start again: " + again.error().detail);
    EXPECT_EQ(co_await next(), Term::tuple(Atom("nodeup"), a_node, info("visible")));
    EXPECT_EQ(co_await next(), Term::tuple(Atom("nodeup"), a_node));
    EXPECT_TRUE(monitor_nodes(false, all));
    EXPECT_TRUE(monitor_nodes(false));
    EXPECT_TRUE(co_await dist::stop());
    ambitious::send(self(), Term(Atom("mark")));
    EXPECT_EQ(co_await next(), Term(Atom("mark"))) << "monitor_nodes(false) ended both";
  });
}

// Node::start inside a process is net_kernel:start as dist::start is: subscribers hear this
// node come up.
TEST_F(NodesTest, node_start_inside_a_process_reports_this_node_up_as_dist_start_does) {
  run_test([&]() -> Task<> {
    EXPECT_TRUE(monitor_nodes(true));
    auto n = Node::start(options());
    if (!n) give_up("the node did not start: " + n.error().detail);
    EXPECT_EQ(co_await expect<Term>([](const Term&) { return true; }),
              Term::tuple(Atom("nodeup"), a_node));
    (*n)->stop();
  });
}

TEST_F(NodesTest, net_adm_ping_is_answered_by_the_net_kernel_process) {
  auto n = start();
  ASSERT_TRUE(n);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    auto kernel = whereis(Atom("net_kernel"));
    if (!kernel) give_up("no net_kernel");
    EXPECT_EQ(co_await eval(x, "net_adm:ping('a@127.0.0.1')."), "pong");
    // A monitor of the name finds a live process: the is_auth reply that comes after it on the
    // same connection comes with no DOWN before it.
    EXPECT_EQ(co_await eval(x,
                            "M = erlang:monitor(process, {net_kernel, 'a@127.0.0.1'}), "
                            "gen_server:call({net_kernel, 'a@127.0.0.1'}, {is_auth, node()}),"
                            " {messages, Ms} = process_info(self(), messages), Ms."),
              "[]");
    // A local process monitoring it sees it end when the node stops.
    Ref ref = monitor(Atom("net_kernel"));
    auto stopping = blocking([&n] { n->stop(); });
    co_await stopping;
    Down d = co_await expect<Down>([&](const Down& d) { return d.ref == ref; });
    EXPECT_EQ(d.pid, *kernel);
    EXPECT_FALSE(whereis(Atom("net_kernel")));
  });
}

TEST_F(NodesTest, dist_start_and_stop_make_a_running_program_a_node_and_not) {
  std::optional<ErlNode> x;
  run_test([&]() -> Task<> {
    EXPECT_FALSE(co_await dist::stop()) << "nothing started";
    auto started = co_await dist::start(options());
    if (!started) give_up(started.error().detail);
    EXPECT_EQ(node(), a_node);
    EXPECT_TRUE(whereis(Atom("net_kernel")));
    auto again = co_await dist::start(options());
    EXPECT_FALSE(again);
    if (!again) {
      EXPECT_EQ(again.error().code, NodeErrc::already_started);
    }
    // The erl node registers with the node's embedded epmd, so it starts now.
    auto starting = blocking(
        [&] { x.emplace(ErlOptions{.name = "x@127.0.0.1", .cookie = cookie, .epmd_port = epmd}); });
    co_await starting;
    if (!x->ready()) give_up("erl did not start");
    EXPECT_EQ(co_await eval(*x, "net_adm:ping('a@127.0.0.1')."), "pong");
    EXPECT_EQ(dist::nodes(NodeSet::hidden), std::vector<Atom>{x_node});
    Ref ref = monitor(Atom("net_kernel"));
    EXPECT_TRUE(co_await dist::stop());
    co_await expect<Down>([&](const Down& d) { return d.ref == ref; });
    EXPECT_EQ(node(), Atom("nonode@nohost"));
    EXPECT_TRUE(dist::nodes(NodeSet::connected).empty());
  });
}

TEST_F(NodesTest, a_short_named_node_talks_to_erl_sname_both_ways) {
  const std::string host = short_host();
  auto n = start("a@" + host);
  ASSERT_TRUE(n);
  ErlNode x = erl("x", true);
  ASSERT_TRUE(x.ready()) << x.log();
  ErlNode y = erl("y", true);
  ASSERT_TRUE(y.ready()) << y.log();
  const Atom x_short("x@" + host);
  run_test([&]() -> Task<> {
    EXPECT_EQ(co_await eval(x, "net_adm:ping('a@" + host + "')."), "pong");
    EXPECT_TRUE(co_await connect(Atom("y@" + host)));
    EXPECT_EQ(dist::nodes(NodeSet::hidden), (std::vector<Atom>{x_short, Atom("y@" + host)}));
  });
}

TEST_F(NodesTest, a_short_named_node_and_a_long_named_one_refuse_each_other) {
  const std::string host = short_host();
  auto n = start("a@" + host);
  ASSERT_TRUE(n);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    EXPECT_FALSE(co_await connect(x_node));
    EXPECT_EQ(co_await eval(x, "net_adm:ping('a@" + host + "')."), "pang");
    EXPECT_TRUE(dist::nodes(NodeSet::connected).empty());
  });
}

TEST_F(NodesTest, a_cookie_set_for_one_peer_is_used_with_it_both_ways) {
  auto n = start();
  ASSERT_TRUE(n);
  // y and z share no cookie with this node; each has one of its own.
  ErlNode y({.name = "y@127.0.0.1", .cookie = "y_secret", .epmd_port = epmd});
  ASSERT_TRUE(y.ready()) << y.log();
  ErlNode z({.name = "z@127.0.0.1", .cookie = "z_secret", .epmd_port = epmd});
  ASSERT_TRUE(z.ready()) << z.log();
  run_test([&]() -> Task<> {
    const Atom y_node("y@127.0.0.1");
    EXPECT_FALSE(co_await connect(y_node)) << "the node's own cookie is refused";
    EXPECT_TRUE(set_cookie(y_node, "y_secret"));
    EXPECT_TRUE(co_await connect(y_node)) << "as initiator, with y's cookie";
    EXPECT_TRUE(set_cookie(Atom("z@127.0.0.1"), "z_secret"));
    EXPECT_EQ(co_await eval(z, "net_adm:ping('a@127.0.0.1')."), "pong") << "as acceptor";
    EXPECT_EQ(dist::nodes(NodeSet::hidden), (std::vector<Atom>{y_node, Atom("z@127.0.0.1")}));
    EXPECT_THROW(set_cookie(y_node, ""), BadArg);
  });
}

// erlang:set_cookie(node(), C): the node's own cookie, for every peer without one of its own.
TEST_F(NodesTest, set_cookie_of_this_node_changes_its_own_cookie_for_every_other_peer) {
  auto n = start();
  ASSERT_TRUE(n);
  ErlNode y({.name = "y@127.0.0.1", .cookie = "new_secret", .epmd_port = epmd});
  ASSERT_TRUE(y.ready()) << y.log();
  ErlNode z({.name = "z@127.0.0.1", .cookie = cookie, .epmd_port = epmd});
  ASSERT_TRUE(z.ready()) << z.log();
  run_test([&]() -> Task<> {
    const Atom y_node("y@127.0.0.1");
    EXPECT_FALSE(co_await connect(y_node)) << "the old cookie is refused";
    EXPECT_TRUE(set_cookie(dist::node(), "new_secret"));
    EXPECT_TRUE(co_await connect(y_node)) << "as initiator, with the new cookie";
    EXPECT_EQ(co_await eval(z, "net_adm:ping('a@127.0.0.1')."), "pang") << "the old one is gone";
    EXPECT_EQ(dist::nodes(NodeSet::hidden), std::vector<Atom>{y_node});
  });
}

TEST_F(NodesTest, a_wrong_cookie_set_for_one_peer_is_refused_both_ways) {
  auto n = start();
  ASSERT_TRUE(n);
  ErlNode w({.name = "w@127.0.0.1", .cookie = "w_secret", .epmd_port = epmd});
  ASSERT_TRUE(w.ready()) << w.log();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    const Atom w_node("w@127.0.0.1");
    set_cookie(w_node, "not_w_secret");
    EXPECT_FALSE(co_await connect(w_node));
    EXPECT_EQ(co_await eval(w, "net_adm:ping('a@127.0.0.1')."), "pang");
    // x shares this node's own cookie, but a cookie set for x replaces it.
    set_cookie(x_node, "not_the_cluster_cookie");
    EXPECT_EQ(co_await eval(x, "net_adm:ping('a@127.0.0.1')."), "pang");
    EXPECT_FALSE(co_await connect(x_node));
    EXPECT_TRUE(dist::nodes(NodeSet::connected).empty());
  });
}

TEST_F(NodesTest, the_monitors_of_a_process_end_with_it) {
  auto n = start();
  ASSERT_TRUE(n);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    // A process subscribes both ways and ends; net_kernel forgets it (its monitor of it fires)
    // and serves the next subscriber as before.
    auto [pid, ref] = spawn_monitor([]() -> Task<> {
      NodeMonitorOptions all;
      all.node_type = NodeMonitorOptions::Types::all;
      monitor_nodes(true, all);
      monitor_node(x_node, true);
      co_return;
    });
    co_await expect<Down>([&](const Down& d) { return d.ref == ref; });
    if (!co_await connect(x_node)) give_up("no connection to x");
    monitor_node(x_node, true);
    halt(x);
    NodeDown d = co_await expect<NodeDown>([](const NodeDown&) { return true; });
    EXPECT_EQ(d.node, x_node);
    EXPECT_TRUE(whereis(Atom("net_kernel")));
  });
}

// The epmd a node embeds (none answered on its port) ends with the node; the node starts again
// on the same port and embeds a new one. An erl node registered with the old one meanwhile, and
// was started after it: it must not have inherited the old epmd's listening socket (open in it,
// that socket would take the new node's connection and never answer: "epmd did not answer in
// time"). x finds this node through the new epmd afterwards.
TEST_F(NodesTest, a_node_that_embedded_epmd_starts_again_on_the_same_port_after_a_stop) {
  std::optional<ErlNode> x;
  run_test([&]() -> Task<> {
    auto started = co_await dist::start(options());
    if (!started) give_up(started.error().detail);
    auto starting = blocking(
        [&] { x.emplace(ErlOptions{.name = "x@127.0.0.1", .cookie = cookie, .epmd_port = epmd}); });
    co_await starting;
    if (!x->ready()) give_up("erl did not start: " + x->log());
    EXPECT_EQ(co_await eval(*x, "net_adm:ping('a@127.0.0.1')."), "pong");
    EXPECT_TRUE(co_await dist::stop());
    auto again = co_await dist::start(options());
    if (!again) give_up("distribution did not start again: " + again.error().detail);
    EXPECT_EQ(co_await eval(*x, "net_adm:ping('a@127.0.0.1')."), "pong");
    EXPECT_EQ(dist::nodes(NodeSet::hidden), std::vector<Atom>{x_node});
    EXPECT_TRUE(co_await dist::stop());
  });
}
