#include "ambitious/naming/pg.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "../common.hpp"
#include "ambitious/dist/node.hpp"
#include "ambitious/dist/nodes.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "child_process.hpp"
#include "erl_node.hpp"

// pg across nodes against real Erlang nodes (erlang-base) running OTP's own pg: this node's
// scope and an Erlang node's scope of the same name exchange their groups (pg.erl's discover,
// sync, join and leave) although this node connects as hidden; joins and leaves show both ways,
// a dead node's members go, and monitors hear of remote changes. Then the interop node's pg
// section of ../shared/protocols/erlang-dist-contract.md, driven from Erlang.

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::test;
using namespace std::chrono_literals;

namespace {

const char* const cookie = "ambitious_cookie";
const Atom x_node("x@127.0.0.1");
const Term group_g(Atom("g"));
const Term group_h(Atom("h"));

struct PgDistTest : ::testing::Test {
  void SetUp() override {
    if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
    NodeOptions o;
    o.name = "a@127.0.0.1";
    o.cookie = cookie;
    o.epmd_port = epmd;
    auto n = Node::start(o);
    ASSERT_TRUE(n) << "the node did not start: " << n.error().detail;
    node = std::move(*n);
  }
  std::uint16_t epmd = free_port();
  std::unique_ptr<Node> node;

  // An Erlang node running the default pg scope, as kernel starts it.
  ErlNode erl(std::string name = "x@127.0.0.1") {
    return ErlNode({.name = std::move(name),
                    .cookie = cookie,
                    .epmd_port = epmd,
                    .args = {"-kernel", "start_pg", "true"}});
  }
};

// Evaluates `expr` on `n` from inside a process, off the worker.
Task<std::string> eval(ErlNode& n, std::string expr) {
  auto job = blocking([&n, expr] { return n.eval(expr); });
  co_return co_await job;
}

// The next notification of monitor `ref`, of `event` in `group`.
Task<pg::Notification> expect_change(const Ref& ref, pg::Notification::Event event,
                                     const Term& group) {
  co_return co_await expect<pg::Notification>([&](const pg::Notification& n) {
    return n.ref == ref && n.event == event && n.group == group;
  });
}

// Erlang: the members of group G once it has some (pg:monitor, then its first join): the
// proof that the node's scope has what the other side joined.
const char* const await_fun =
    "Await = fun(G) -> {R, Ms} = pg:monitor(G),"
    "  Got = case Ms of [] -> receive {R, join, G, M} -> M after 10000 -> timeout end;"
    "    _ -> Ms end,"
    "  pg:demonitor(R), Got end, ok.";

// This node's scope and x's meet: x has a member P1 in g (bound on x) before, this node the
// test's process in h; the nodes connect (this side dials), and each side proves it has the
// other's member. Returns the scope monitor made before, whose first join (P1) was taken.
Task<pg::ScopeMonitor> meet(ErlNode& x) {
  if (co_await eval(x, "P1 = spawn(fun() -> receive stop -> ok end end), pg:join(g, P1).") != "ok")
    give_up("no join on x");
  if (co_await eval(x, await_fun) != "ok") give_up("no Await on x");
  auto scope = co_await pg::start_link();
  if (!scope) give_up("no scope");
  pg::ScopeMonitor mon = co_await pg::monitor_scope();
  co_await pg::join(group_h, self());
  if (!co_await connect(x_node)) give_up("no connection to x");
  // x's member came in x's sync.
  pg::Notification j = co_await expect_change(mon.ref, pg::Notification::join, group_g);
  EXPECT_EQ(j.pids.size(), 1u);
  for (Pid p : j.pids) EXPECT_EQ(p.node(), x_node);
  EXPECT_EQ(pg::get_members(group_g), j.pids);
  EXPECT_TRUE(pg::get_local_members(group_g).empty());
  EXPECT_EQ(pg::which_local_groups(), std::vector<Term>{group_h});
  // Ours came in our sync: x sends it a message, so it is this process.
  EXPECT_EQ(co_await eval(x, "[H] = Await(h), H ! {hello, node()}, node(H)."), "'a@127.0.0.1'");
  Term hello = co_await expect<Term>([](const Term& t) { return t.is_tuple() && t.size() == 2; });
  EXPECT_EQ(hello, Term::tuple(Atom("hello"), x_node));
  co_return mon;
}

}  // namespace

TEST_F(PgDistTest, members_joined_before_the_nodes_met_show_on_both_sides) {
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> { (void)co_await meet(x); });
}

TEST_F(PgDistTest, joins_after_the_nodes_met_show_on_both_sides) {
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    pg::ScopeMonitor scope = co_await meet(x);
    pg::GroupMonitor g = co_await pg::monitor(group_g);
    // Erlang joins: the scope monitor and the group monitor hear of it.
    EXPECT_EQ(co_await eval(x, "P2 = spawn(fun() -> receive stop -> ok end end), pg:join(g, P2)."),
              "ok");
    pg::Notification j = co_await expect_change(scope.ref, pg::Notification::join, group_g);
    pg::Notification jg = co_await expect_change(g.ref, pg::Notification::join, group_g);
    EXPECT_EQ(j.pids, jg.pids);
    if (j.pids.size() != 1) give_up("not one pid");
    EXPECT_EQ(j.pids[0].node(), x_node);
    EXPECT_EQ(pg::get_members(group_g).size(), 2u);
    // We join g: Erlang's monitor of g hears of it, and its table has the three members.
    EXPECT_EQ(co_await eval(x, "{RG, _} = pg:monitor(g), ok."), "ok");
    co_await pg::join(group_g, self());
    EXPECT_EQ(co_await eval(x, "receive {RG, join, g, [Q]} -> node(Q) after 10000 -> timeout end."),
              "'a@127.0.0.1'");
    EXPECT_EQ(co_await eval(x,
                            "{lists:sort([node(M) || M <- pg:get_members(g)]),"
                            " length(pg:get_local_members(g))}."),
              "{['a@127.0.0.1','x@127.0.0.1','x@127.0.0.1'],2}");
    EXPECT_EQ(pg::get_members(group_g).size(), 3u);
    EXPECT_EQ(pg::get_local_members(group_g), std::vector<Pid>{self()});
  });
}

TEST_F(PgDistTest, leaves_show_on_both_sides_and_a_dead_erlang_member_leaves_here) {
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    pg::ScopeMonitor scope = co_await meet(x);
    std::vector<Pid> p1 = pg::get_members(group_g);
    // Erlang leaves.
    EXPECT_EQ(co_await eval(x, "pg:leave(g, P1)."), "ok");
    pg::Notification l = co_await expect_change(scope.ref, pg::Notification::leave, group_g);
    EXPECT_EQ(l.pids, p1);
    EXPECT_TRUE(pg::get_members(group_g).empty());
    EXPECT_TRUE(pg::which_groups() == std::vector<Term>{group_h});
    // We leave: Erlang's monitor of h hears of it.
    EXPECT_EQ(co_await eval(x, "{RH, [_]} = pg:monitor(h), ok."), "ok");
    EXPECT_EQ(co_await pg::leave(group_h, self()), pg::Left::ok);
    EXPECT_EQ(co_await eval(x,
                            "receive {RH, leave, h, [L]} -> {node(L), pg:get_members(h)}"
                            " after 10000 -> timeout end."),
              "{'a@127.0.0.1',[]}");
    // An Erlang member that dies leaves here (x's scope tells us).
    EXPECT_EQ(co_await eval(x, "P3 = spawn(fun() -> receive stop -> ok end end), pg:join(g, P3)."),
              "ok");
    pg::Notification j = co_await expect_change(scope.ref, pg::Notification::join, group_g);
    EXPECT_EQ(co_await eval(x, "exit(P3, kill)."), "true");
    l = co_await expect_change(scope.ref, pg::Notification::leave, group_g);
    EXPECT_EQ(l.pids, j.pids);
    EXPECT_TRUE(pg::get_members(group_g).empty());
  });
}

// The members of a node that goes away leave, whichever way it goes.
class PgNodeGone : public PgDistTest, public ::testing::WithParamInterface<bool> {};

TEST_P(PgNodeGone, the_members_of_an_erlang_node_that_goes_down_leave_here) {
  const bool kill9 = GetParam();
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    pg::ScopeMonitor scope = co_await meet(x);
    EXPECT_EQ(co_await eval(x,
                            "P2 = spawn(fun() -> receive stop -> ok end end),"
                            " pg:join([k], [P2, P2])."),
              "ok");
    pg::Notification j =
        co_await expect_change(scope.ref, pg::Notification::join, Term::list(Atom("k")));
    EXPECT_EQ(j.pids.size(), 2u);
    if (kill9)
      ::kill(x.process().pid(), SIGKILL);
    else
      x.process().write("erlang:halt().\n");
    // Both of x's groups empty out, each with one leave of all its x members.
    std::vector<Term> gone;
    for (int i = 0; i < 2; ++i) {
      pg::Notification l = co_await expect<pg::Notification>([&](const pg::Notification& n) {
        return n.ref == scope.ref && n.event == pg::Notification::leave;
      });
      for (Pid p : l.pids) EXPECT_EQ(p.node(), x_node);
      gone.push_back(l.group);
    }
    std::sort(gone.begin(), gone.end());
    EXPECT_EQ(gone, (std::vector<Term>{group_g, Term::list(Atom("k"))}));
    EXPECT_EQ(pg::which_groups(), std::vector<Term>{group_h});
    EXPECT_EQ(pg::get_members(group_h), std::vector<Pid>{self()});
  });
}

INSTANTIATE_TEST_SUITE_P(KillOrHalt, PgNodeGone, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "kill_9" : "halt"; });

TEST_F(PgDistTest, an_erlang_node_that_dials_this_hidden_node_finds_its_scope_too) {
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    auto started = co_await pg::start_link();
    if (!started) give_up("no scope");
    pg::GroupMonitor g = co_await pg::monitor(group_g);
    co_await pg::join(group_h, self());
    EXPECT_EQ(co_await eval(x, await_fun), "ok");
    // x dials: the connection is hidden, so x's pg never hears a nodeup; ours discovers it.
    EXPECT_EQ(co_await eval(x, "{net_kernel:connect_node('a@127.0.0.1'), nodes(), nodes(hidden)}."),
              "{true,[],['a@127.0.0.1']}");
    EXPECT_EQ(co_await eval(x, "[H] = Await(h), node(H)."), "'a@127.0.0.1'");
    EXPECT_EQ(co_await eval(x, "P1 = spawn(fun() -> receive stop -> ok end end), pg:join(g, P1)."),
              "ok");
    pg::Notification j = co_await expect_change(g.ref, pg::Notification::join, group_g);
    if (j.pids.size() != 1) give_up("not one pid");
    EXPECT_EQ(j.pids[0].node(), x_node);
  });
}

namespace {

// Erlang: asks echo for its view of `interop` until it is Want (each answer a message), until
// the monotonic millisecond Until; then {last, Members}.
const char* const ask_fun =
    "Ask = fun A(Want, Until) ->"
    "  {echo, 'cpp@127.0.0.1'} ! {pg_members, interop, self()},"
    "  receive {pg_members, interop, Ms} ->"
    "    case Ms =:= Want of true -> true;"
    "      false -> case erlang:monotonic_time(millisecond) > Until of true -> {last, Ms};"
    "        false -> A(Want, Until) end end"
    "  after 10000 -> no_answer end end,"
    " Soon = fun() -> erlang:monotonic_time(millisecond) + 10000 end, ok.";

// The interop node's binary on the test's epmd, once it says it is ready.
std::unique_ptr<ChildProcess> start_interop_node(std::uint16_t epmd) {
  auto cpp = std::make_unique<ChildProcess>(
      std::vector<std::string>{INTEROP_NODE_BINARY, "--name", "cpp@127.0.0.1", "--cookie", cookie},
      std::vector<std::pair<std::string, std::string>>{{"ERL_EPMD_PORT", std::to_string(epmd)}});
  bool ready = false;
  while (auto line = cpp->read_line(patience))
    if ((ready = line->find(" ready (port ") != std::string::npos)) break;
  EXPECT_TRUE(ready) << cpp->log();
  return ready ? std::move(cpp) : nullptr;
}

}  // namespace

// Two ambitious nodes: both connect as hidden, so neither would hear of the other through
// visible-only node events; each scope discovers on every nodeup.
TEST_F(PgDistTest, the_scopes_of_two_ambitious_nodes_find_each_other_over_a_hidden_connection) {
  auto cpp = start_interop_node(epmd);
  ASSERT_TRUE(cpp);
  const Atom cpp_node("cpp@127.0.0.1");
  const Term interop(Atom("interop"));
  run_test([&]() -> Task<> {
    auto started = co_await pg::start_link();
    if (!started) give_up("no scope");
    co_await pg::join(interop, self());
    pg::GroupMonitor g = co_await pg::monitor(interop);
    if (!co_await connect(cpp_node)) give_up("no connection to cpp");
    // The interop node's echo came in its sync.
    pg::Notification j = co_await expect_change(g.ref, pg::Notification::join, interop);
    if (j.pids.size() != 1) give_up("not one pid");
    const Pid echo = j.pids[0];
    EXPECT_EQ(echo.node(), cpp_node);
    // Our member came in our sync: echo's view is both (asked again until it is; each answer
    // is a message, and echo, a member, exists).
    std::vector<Term> both{Term(echo), Term(self())};
    std::sort(both.begin(), both.end());
    const Term want = Term::list_from(std::span<Term>(both));
    const auto until = std::chrono::steady_clock::now() + patience;
    Term seen;
    while (seen != want && std::chrono::steady_clock::now() < until) {
      send(echo, Term::tuple(Atom("pg_members"), interop, self()));
      Term answer = co_await expect<Term>([](const Term& t) {
        return t.is_tuple() && t.size() == 3 && t[0] == Term(Atom("pg_members"));
      });
      seen = answer[2];
    }
    EXPECT_EQ(seen, want);
    // The interop node killed: echo leaves here.
    ::kill(cpp->pid(), SIGKILL);
    pg::Notification l = co_await expect_change(g.ref, pg::Notification::leave, interop);
    EXPECT_EQ(l.pids, std::vector<Pid>{echo});
    EXPECT_EQ(pg::get_members(interop), std::vector<Pid>{self()});
  });
}

// Three nodes in the default scope: this node, the interop node (C++) and an Erlang node. Each
// sees the members the others joined, and when the interop node is killed its member leaves the
// group on both of the others.
TEST_F(PgDistTest, three_nodes_share_a_group_and_a_killed_nodes_member_leaves_everywhere) {
  auto cpp = start_interop_node(epmd);
  ASSERT_TRUE(cpp);
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  const Atom cpp_node("cpp@127.0.0.1");
  const Term interop(Atom("interop"));
  // Erlang: waits (on pg:monitor's notifications) until `interop` has N members, then tells
  // their nodes, sorted.
  ASSERT_EQ(x.eval("{RW, _} = pg:monitor(interop),"
                   " WaitN = fun W(N) -> case length(pg:get_members(interop)) of"
                   "   N -> lists:sort([node(M) || M <- pg:get_members(interop)]);"
                   "   _ -> receive {RW, _, interop, _} -> W(N) after 10000 -> timeout end end end,"
                   " P = spawn(fun() -> receive stop -> ok end end), pg:join(interop, P)."),
            "ok");
  run_test([&]() -> Task<> {
    auto started = co_await pg::start_link();
    if (!started) give_up("no scope");
    pg::GroupMonitor g = co_await pg::monitor(interop);
    co_await pg::join(interop, self());
    if (!co_await connect(cpp_node)) give_up("no connection to cpp");
    if (!co_await connect(x_node)) give_up("no connection to x");
    EXPECT_EQ(co_await eval(x, "net_kernel:connect_node('cpp@127.0.0.1')."), "true");
    // Here: echo (from cpp's sync) and P (from x's) join.
    while (pg::get_members(interop).size() < 3)
      (void)co_await expect_change(g.ref, pg::Notification::join, interop);
    Pid echo;
    for (Pid p : pg::get_members(interop))
      if (p.node() == cpp_node) echo = p;
    std::vector<Atom> nodes;
    for (Pid p : pg::get_members(interop)) nodes.push_back(p.node());
    std::sort(nodes.begin(), nodes.end(), [](Atom l, Atom r) { return l.name() < r.name(); });
    EXPECT_EQ(nodes, (std::vector<Atom>{Atom("a@127.0.0.1"), cpp_node, x_node}));
    // On x: ours and echo, beside its own.
    EXPECT_EQ(co_await eval(x, "WaitN(3)."), "['a@127.0.0.1','cpp@127.0.0.1','x@127.0.0.1']");
    // The interop node killed: echo leaves here and on x.
    ::kill(cpp->pid(), SIGKILL);
    pg::Notification l = co_await expect_change(g.ref, pg::Notification::leave, interop);
    EXPECT_EQ(l.pids, std::vector<Pid>{echo});
    EXPECT_EQ(pg::get_members(interop).size(), 2u);
    EXPECT_EQ(co_await eval(x, "WaitN(2)."), "['a@127.0.0.1','x@127.0.0.1']");
  });
}

// The contract's pg section: the interop node runs the default scope, echo is in `interop`
// (again after a restart), and echo tells its view of a group, sorted, as Erlang changes it.
TEST_F(PgDistTest, interop_node_echo_is_in_interop_and_tells_its_view_of_the_group) {
  auto cpp = start_interop_node(epmd);
  ASSERT_TRUE(cpp);
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_EQ(x.eval(ask_fun), "ok");
  ASSERT_EQ(x.eval("net_kernel:connect_node('cpp@127.0.0.1')."), "true");
  // Erlang's scope has echo, from the interop node's sync; and it is echo.
  ASSERT_EQ(x.eval("{RI, M0} = pg:monitor(interop), Echo0 = case M0 of [E] -> E;"
                   " [] -> receive {RI, join, interop, [E]} -> E after 10000 -> timeout end end,"
                   " {echo, 'cpp@127.0.0.1'} ! {whoami, self()},"
                   " R0 = receive {iam, echo, W} -> W =:= Echo0 after 10000 -> timeout end,"
                   " pg:demonitor(RI), R0."),
            "true");
  EXPECT_EQ(x.eval("Ask([Echo0], Soon())."), "true");
  // An Erlang member joins, then leaves: echo's view follows, sorted as lists:sort sorts.
  EXPECT_EQ(x.eval("Me = self(), pg:join(interop, Me)."), "ok");
  EXPECT_EQ(x.eval("Ask(lists:sort([Echo0, Me]), Soon())."), "true");
  EXPECT_EQ(x.eval("lists:sort(pg:get_members(interop)) =:= lists:sort([Echo0, Me])."), "true");
  EXPECT_EQ(x.eval("pg:leave(interop, Me)."), "ok");
  EXPECT_EQ(x.eval("Ask([Echo0], Soon())."), "true");
  // An Erlang member that dies leaves echo's view.
  EXPECT_EQ(x.eval("Q = spawn(fun() -> receive stop -> ok end end), pg:join(interop, [Q, Q])."),
            "ok");
  EXPECT_EQ(x.eval("Ask(lists:sort([Echo0, Q, Q]), Soon())."), "true");
  EXPECT_EQ(x.eval("exit(Q, kill)."), "true");
  EXPECT_EQ(x.eval("Ask([Echo0], Soon())."), "true");
  // echo killed: it leaves, and its restart joins again.
  EXPECT_EQ(x.eval("{RK, [Echo0]} = pg:monitor(interop), exit(Echo0, kill),"
                   " receive {RK, leave, interop, [Echo0]} -> ok"
                   " after 10000 -> timeout end."),
            "ok");
  EXPECT_EQ(x.eval("Echo1 = receive {RK, join, interop, [E1]} -> E1 after 10000 -> timeout end,"
                   " is_pid(Echo1) andalso Echo1 =/= Echo0."),
            "true");
  EXPECT_EQ(x.eval("{echo, 'cpp@127.0.0.1'} ! {whoami, self()},"
                   " receive {iam, echo, W1} -> W1 =:= Echo1 after 10000 -> timeout end."),
            "true");
  EXPECT_EQ(x.eval("Ask([Echo1], Soon())."), "true");
}
