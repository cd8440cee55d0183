#include "ambitious/dist/node.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include <boost/describe/class.hpp>
#include <future>

#include "../common.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "erl_node.hpp"

// The node against real Erlang nodes (erlang-base), all on 127.0.0.1 with an epmd of the
// test's own (the embedded one, which the node starts on a free port).

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::test;
using namespace std::chrono_literals;

namespace {

const char* const cookie = "ambitious_cookie";

struct NodeTest : ::testing::Test {
  void SetUp() override {
    if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
  }
  std::uint16_t epmd = free_port();

  std::unique_ptr<Node> start(std::chrono::milliseconds ticktime = 60s,
                              std::size_t busy_limit = NodeOptions{}.busy_limit) {
    NodeOptions o;
    o.name = "a@127.0.0.1";
    o.cookie = cookie;
    o.epmd_port = epmd;
    o.net_ticktime = ticktime;
    o.busy_limit = busy_limit;
    auto n = Node::start(o);
    if (!n) ADD_FAILURE() << "the node did not start: " << n.error().detail;
    return n ? std::move(*n) : nullptr;
  }
  ErlNode erl(std::string name, std::string with_cookie = cookie, int ticktime = 0) {
    return ErlNode({.name = name, .cookie = with_cookie, .epmd_port = epmd, .ticktime = ticktime});
  }
};

// The next "=> " result the node prints (of an expression written without waiting).
std::string next_result(ErlNode& n) {
  for (;;) {
    auto line = n.process().read_line(patience);
    if (!line) return "<no answer>";
    if (line->starts_with("=> ")) return line->substr(3);
  }
}

const Atom cpp("cpp");
const Atom x_node("x@127.0.0.1");

// An erl process that reports its links, or exits with the reason it is told.
const char* const erl_partner =
    "spawn(fun L() -> receive {links, To} -> To ! process_info(self(), links), L(); "
    "{die, R} -> exit(R) end end)";

// The pid the next Term message names (an erl process the test's erl side sent).
Task<Pid> expect_pid() {
  Term t = co_await expect<Term>([](const Term& t) { return t.is_pid(); });
  co_return t.as_pid();
}

struct Never {};

// Links to `partner`, tells it to exit with `reason`, and waits.
Task<> link_and_wait(Pid partner, Term reason) {
  link(partner);
  send(partner, Term::tuple(Atom("die"), reason));
  co_await receive<Never>();
}

// Exits with the reason it receives (a Term).
Task<> exit_when_told() {
  Term reason = co_await receive<Term>();
  exit(ExitReason(reason));
}

}  // namespace

TEST_F(NodeTest, net_adm_ping_from_erl_gives_pong) {
  auto node = start();
  ASSERT_TRUE(node);
  EXPECT_EQ(node->name(), "a@127.0.0.1");
  EXPECT_EQ(Pid(nodes::local, 1, 0).node(), Atom("a@127.0.0.1"));
  EXPECT_EQ(Pid(nodes::local, 1, 0).creation(), node->creation());
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  // The call is answered by the node's net_kernel process, which runs in a runtime.
  run_test([&]() -> Task<> {
    auto ping = blocking([&x] { return x.eval("net_adm:ping('a@127.0.0.1')."); });
    EXPECT_EQ(co_await ping, "pong") << x.log();
  });
  EXPECT_EQ(x.eval("lists:member('a@127.0.0.1', nodes(hidden))."), "true");
  EXPECT_EQ(node->connected(), std::vector<std::string>{"x@127.0.0.1"});
}

TEST_F(NodeTest, the_node_connects_to_erl_on_demand) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_TRUE(node->connect("x@127.0.0.1", patience));
  EXPECT_EQ(x.eval("nodes(hidden)."), "['a@127.0.0.1']");
  EXPECT_FALSE(node->connect("nobody@127.0.0.1", patience)) << "epmd knows no such node";
}

TEST_F(NodeTest, a_wrong_cookie_is_refused_both_ways) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1", "not_the_cookie");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("net_adm:ping('a@127.0.0.1')."), "pang");
  EXPECT_FALSE(node->connect("x@127.0.0.1", patience));
  EXPECT_TRUE(node->connected().empty());
  EXPECT_EQ(x.eval("nodes(hidden)."), "[]");
}

TEST_F(NodeTest, erl_sends_to_a_registered_cpp_process_which_replies_through_the_node) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  Node* n = node.get();
  run_test([&]() -> Task<> {
    register_name(Atom("echo"), self());
    // erl sends, then waits for the answer: its result comes once we have replied.
    x.process().write(
        "{echo, 'a@127.0.0.1'} ! {hello, self()}, "
        "receive R -> R after 10000 -> no_reply end.\n");
    Term got = co_await expect<Term>();
    if (!got.is_tuple() || got.size() != 2 || got[0] != Term(Atom("hello")) || !got[1].is_pid())
      give_up("echo got " + got.to_string());
    Pid erl_pid = got[1].as_pid();
    EXPECT_EQ(erl_pid.node(), Atom("x@127.0.0.1"));
    EXPECT_TRUE(n->send(self(), erl_pid, Term::tuple(Atom("echo"), Atom("hello"), self())));
  });
  EXPECT_EQ(next_result(x).substr(0, 13), "{echo,hello,<") << x.log();
}

TEST_F(NodeTest, the_node_sends_to_a_registered_name_on_erl) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("register(sink, self())."), "true");
  // Connects on demand, then REG_SEND; a large message goes as fragments.
  Term big = Term::binary(std::string(300'000, 'z'));
  ASSERT_TRUE(node->send(Pid(nodes::local, 1, 0), Atom("sink"), Atom("x@127.0.0.1"),
                         Term::tuple(Atom("first"), 1)));
  ASSERT_TRUE(node->send(Pid(nodes::local, 1, 0), Atom("sink"), Atom("x@127.0.0.1"),
                         Term::tuple(Atom("big"), big)));
  EXPECT_EQ(x.eval("receive M1 -> M1 after 10000 -> none end."), "{first,1}");
  EXPECT_EQ(x.eval("receive {big, B} -> byte_size(B) after 10000 -> none end."), "300000");
}

// Node::send waits as a process's send does: towards a peer that reads nothing (stopped), a
// thread sending 64 MiB is held once about busy_limit (plus what the sockets hold) is on its
// way, and everything arrives, in order, when the peer reads again.
TEST_F(NodeTest, node_send_to_a_peer_that_does_not_read_waits_instead_of_queueing_everything) {
  auto node = start(60s, std::size_t{1} << 20);
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("register(sink, self())."), "true");
  ASSERT_TRUE(node->connect("x@127.0.0.1", patience));
  ::kill(-x.process().pid(), SIGSTOP);
  constexpr int count = 64;
  std::atomic<int> sent{0};
  std::thread sender([&] {
    Term chunk = Term::binary(std::string(std::size_t{1} << 20, 'c'));
    for (int i = 0; i < count; ++i) {
      node->send(Pid(nodes::local, 1, 0), Atom("sink"), x_node, Term::tuple(i, chunk));
      sent.fetch_add(1);
    }
  });
  // Bounded: without back-pressure all 64 are queued within milliseconds.
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (sent.load() < count && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  EXPECT_LT(sent.load(), count);
  ::kill(-x.process().pid(), SIGCONT);
  sender.join();
  EXPECT_EQ(sent.load(), count);
  EXPECT_EQ(x.eval("lists:all(fun(I) -> receive {I, B} -> byte_size(B) =:= 1048576"
                   " after 10000 -> false end end, lists:seq(0, 63))."),
            "true");
}

TEST_F(NodeTest, large_binaries_cross_from_erl_and_back_byte_exact_in_fragments) {
  // 3 MiB each way: OTP's fragments read straight into their reassembly here, ours written
  // from the binary's own bytes, both compared byte for byte with what the other side made.
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  Node* n = node.get();
  constexpr std::size_t size = 251 * 12532;  // about 3 MiB: 0..250 over and over
  Term ours = Term::binary_filled(size, [](std::span<std::uint8_t> b) {
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i % 251);
  });
  run_test([&]() -> Task<> {
    register_name(Atom("bulk"), self());
    x.process().write(
        "B = binary:copy(list_to_binary(lists:seq(0, 250)), 12532), "
        "{bulk, 'a@127.0.0.1'} ! {self(), B}, "
        "receive {back, B2, Ours} -> {B2 =:= B, Ours =:= B, byte_size(Ours)} "
        "after 20000 -> no_reply end.\n");
    Term got = co_await expect<Term>();
    if (!got.is_tuple() || got.size() != 2 || !got[0].is_pid() || !got[1].is_binary())
      give_up("bulk got " + got.to_string().substr(0, 200));
    EXPECT_EQ(got[1], ours);
    EXPECT_TRUE(n->send(self(), got[0].as_pid(), Term::tuple(Atom("back"), got[1], ours)));
  });
  EXPECT_EQ(next_result(x), "{true,true,3145532}") << x.log();
}

TEST_F(NodeTest, ticks_keep_a_quiet_connection_up_and_a_halted_peer_is_a_nodedown) {
  auto node = start(4s);
  ASSERT_TRUE(node);
  std::promise<std::pair<std::string, std::string>> down;
  node->on_nodedown([&down](const std::string& peer, const std::string& why) {
    down.set_value({peer, why});
  });
  ErlNode x = erl("x@127.0.0.1", cookie, 4);
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("net_kernel:connect_node('a@127.0.0.1')."), "true");
  // Three ticktimes with no traffic but ticks: erl reports no nodedown.
  EXPECT_EQ(x.eval("net_kernel:monitor_nodes(true, [{node_type, all}]), "
                   "receive {nodedown, N, _} -> {down, N} after 12000 -> still_up end.",
                   30s),
            "still_up");
  EXPECT_EQ(node->connected(), std::vector<std::string>{"x@127.0.0.1"});
  // The peer halts: the connection reports its loss.
  auto lost = down.get_future();
  x.process().close_stdin();
  ASSERT_EQ(lost.wait_for(patience), std::future_status::ready);
  EXPECT_EQ(lost.get().first, "x@127.0.0.1");
  EXPECT_TRUE(node->connected().empty());
}

TEST_F(NodeTest, a_second_node_in_one_program_is_refused) {
  auto node = start();
  ASSERT_TRUE(node);
  NodeOptions o;
  o.name = "b@127.0.0.1";
  o.cookie = cookie;
  o.epmd_port = epmd;
  auto second = Node::start(o);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, NodeErrc::already_started);
  node->stop();
  EXPECT_EQ(Pid(nodes::local, 1, 0).node(), atoms::nonode_nohost);
}

// --- links, monitors and exit signals across the connection, with real erl ------------------

TEST_F(NodeTest, a_cpp_link_to_an_erl_process_brings_its_exit_reason) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    register_name(cpp, self());
    trap_exit(true);
    EXPECT_EQ(x.eval(std::string("P = ") + erl_partner + ", {cpp, 'a@127.0.0.1'} ! P, ok."), "ok");
    Pid p = co_await expect_pid();
    link(p);
    send(p, Term::tuple(Atom("links"), self()));
    Term links = co_await expect<Term>([](const Term& t) { return t.is_tuple(); });
    EXPECT_EQ(links, Term::tuple(Atom("links"), Term::list(self())));
    send(p, Term::tuple(Atom("die"), Atom("boom")));
    Exit e = co_await expect<Exit>();
    EXPECT_EQ(e.from, p);
    EXPECT_EQ(e.reason, ExitReason(Atom("boom")));
    // Not trapping exits: the linked process dies with the reason.
    EXPECT_EQ(x.eval(std::string("Q = ") + erl_partner + ", {cpp, 'a@127.0.0.1'} ! Q, ok."), "ok");
    Pid q = co_await expect_pid();
    Ref r = monitor(spawn(link_and_wait, q, Term(Atom("bang"))));
    co_await expect_down(r, ExitReason(Atom("bang")));
  });
}

TEST_F(NodeTest, an_erl_link_to_a_cpp_process_brings_its_exit_reason_and_kill_is_killed) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("register(shell, self()), process_flag(trap_exit, true), ok."), "ok");
  // Two workers: the C++ processes run while the test's process waits for erl's answer.
  run_test(two_workers, [&]() -> Task<> {
    trap_exit(true);
    Pid c = spawn(exit_when_told);
    send(RegisteredName{Atom("shell"), x_node}, c);
    EXPECT_EQ(x.eval("receive C when is_pid(C) -> link(C), C ! crashed, "
                     "receive {'EXIT', C, W} -> W after 10000 -> timeout end end."),
              "crashed");
    // exit(Pid, kill) from erl: the C++ process's links see killed.
    Pid k = spawn(exit_when_told);
    link(k);
    send(RegisteredName{Atom("shell"), x_node}, k);
    EXPECT_EQ(x.eval("receive K when is_pid(K) -> exit(K, kill) end."), "true");
    Exit e = co_await expect<Exit>();
    EXPECT_EQ(e.from, k);
    EXPECT_EQ(e.reason, ExitReason(atoms::killed));
  });
}

TEST_F(NodeTest, unlink_works_both_ways) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    register_name(cpp, self());
    EXPECT_EQ(x.eval(std::string("P = ") + erl_partner + ", {cpp, 'a@127.0.0.1'} ! P, ok."), "ok");
    Pid p = co_await expect_pid();
    auto links_of_p = [&]() -> Task<Term> {
      send(p, Term::tuple(Atom("links"), self()));
      co_return co_await expect<Term>([](const Term& t) { return t.is_tuple(); });
    };
    link(p);
    EXPECT_EQ(co_await links_of_p(), Term::tuple(Atom("links"), Term::list(self())));
    unlink(p);
    EXPECT_EQ(co_await links_of_p(), Term::tuple(Atom("links"), Term::list()));
    // erl links to us and unlinks: each step is seen here before the message that follows it.
    x.process().write(
        "R = spawn(fun() -> link(C = receive Pid -> Pid end), C ! linked, "
        "receive go -> unlink(C), C ! unlinked end end), {cpp, 'a@127.0.0.1'} ! R, ok.\n");
    Pid r = co_await expect_pid();
    send(r, self());
    co_await expect<Term>([](const Term& t) { return t == Term(Atom("linked")); });
    EXPECT_TRUE(linked(r));
    send(r, Atom("go"));
    co_await expect<Term>([](const Term& t) { return t == Term(Atom("unlinked")); });
    EXPECT_FALSE(linked(r));
  });
}

TEST_F(NodeTest, monitors_work_both_ways_by_pid_and_by_name) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("register(shell, self()), ok."), "ok");
  run_test(two_workers, [&]() -> Task<> {
    register_name(cpp, self());
    EXPECT_EQ(x.eval(std::string("P = ") + erl_partner + ", register(named, P), " +
                     "{cpp, 'a@127.0.0.1'} ! P, ok."),
              "ok");
    Pid p = co_await expect_pid();
    Ref by_pid = monitor(p);
    Ref by_name = monitor(RegisteredName{Atom("named"), x_node});
    Ref nobody = monitor(RegisteredName{Atom("nobody"), x_node});
    Down none = co_await expect_down(nobody, ExitReason(atoms::noproc));
    EXPECT_EQ(none.name, (RegisteredName{Atom("nobody"), x_node}));
    send(p, Term::tuple(Atom("die"), Atom("boom")));
    co_await expect_down(by_pid, ExitReason(Atom("boom")));
    Down named = co_await expect_down(by_name, ExitReason(Atom("boom")));
    EXPECT_EQ(named.name, (RegisteredName{Atom("named"), x_node}));
    // erl monitors C++ processes, by pid and by {Name, Node}.
    Pid c = spawn(exit_when_told);
    send(RegisteredName{Atom("shell"), x_node}, c);
    EXPECT_EQ(x.eval("receive C when is_pid(C) -> R = monitor(process, C), C ! gone, "
                     "receive {'DOWN', R, process, C, W} -> W after 10000 -> timeout end end."),
              "gone");
    Pid d = spawn(exit_when_told);
    register_name(Atom("watched"), d);
    EXPECT_EQ(x.eval("R2 = monitor(process, {watched, 'a@127.0.0.1'}), "
                     "{watched, 'a@127.0.0.1'} ! away, "
                     "receive {'DOWN', R2, process, Who, W2} -> {Who, W2} after 10000 -> timeout "
                     "end."),
              "{{watched,'a@127.0.0.1'},away}");
    EXPECT_EQ(x.eval("R3 = monitor(process, {nobody, 'a@127.0.0.1'}), "
                     "receive {'DOWN', R3, process, Who3, W3} -> {Who3, W3} after 10000 -> "
                     "timeout end."),
              "{{nobody,'a@127.0.0.1'},noproc}");
  });
}

TEST_F(NodeTest,
       a_halted_erl_node_is_noconnection_for_links_and_monitors_and_the_next_send_reconnects) {
  auto node = start();
  ASSERT_TRUE(node);
  auto x = std::make_unique<ErlNode>(ErlOptions{.name = "x@127.0.0.1", .epmd_port = epmd});
  ASSERT_TRUE(x->ready()) << x->log();
  run_test([&]() -> Task<> {
    register_name(cpp, self());
    trap_exit(true);
    EXPECT_EQ(x->eval(std::string("P = ") + erl_partner + ", {cpp, 'a@127.0.0.1'} ! P, ok."), "ok");
    Pid p = co_await expect_pid();
    link(p);
    Ref r = monitor(p);
    // The link is in place at erl's end before it halts.
    send(p, Term::tuple(Atom("links"), self()));
    co_await expect<Term>([](const Term& t) { return t.is_tuple(); });
    x->process().close_stdin();
    Exit e = co_await expect<Exit>();
    EXPECT_EQ(e.from, p);
    EXPECT_EQ(e.reason, ExitReason(atoms::noconnection));
    co_await expect_down(r, ExitReason(atoms::noconnection));
    x.reset();
    // A new node of that name: the next send connects again.
    x = std::make_unique<ErlNode>(ErlOptions{.name = "x@127.0.0.1", .epmd_port = epmd});
    if (!x->ready()) give_up("the second erl did not start");
    EXPECT_EQ(x->eval("register(shell, self()), ok."), "ok");
    send(RegisteredName{Atom("shell"), x_node}, Atom("again"));
    EXPECT_EQ(x->eval("receive M -> M after 10000 -> timeout end."), "again");
  });
}

namespace {
struct Point {
  std::int64_t x;
  std::int64_t y;
};
BOOST_DESCRIBE_STRUCT(Point, (), (x, y))
struct Ask {
  Pid from;
  Point p;
};
BOOST_DESCRIBE_STRUCT(Ask, (), (from, p))
}  // namespace

TEST_F(NodeTest, a_codec_type_sent_to_erl_and_its_reply_are_matched_by_their_types) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test([&]() -> Task<> {
    register_name(cpp, self());
    EXPECT_EQ(x.eval("P = spawn(fun() -> receive #{from := F, p := #{x := X, y := Y}} -> "
                     "F ! #{x => X + 10, y => Y} end end), {cpp, 'a@127.0.0.1'} ! P, ok."),
              "ok");
    Pid p = co_await expect_pid();
    send(p, Ask{self(), Point{1, 2}});
    Point got = co_await receive<Point>();
    EXPECT_EQ(got.x, 11);
    EXPECT_EQ(got.y, 2);
  });
}
