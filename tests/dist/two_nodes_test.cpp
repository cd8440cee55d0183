// Two ambitious nodes, C++ to C++: this test process is one (a@127.0.0.1, with the embedded epmd
// on a port of the test's own), and examples/interop_node, started as a child process, is the
// other (cpp@127.0.0.1; its processes are ../shared/protocols/erlang-dist-contract.md's echo,
// counter and crasher). Each test drives a capability of the dist layer both ways where the
// interop node can act on its own: echo's ping_me_reg sends to a name of ours and its
// call_erlang calls a GenServer of ours.
//
// One suite, run per carrier: AMBITIOUS_TEST_CARRIER (tcp when unset, tls, quic) says which one
// both nodes speak (CTest runs the suite once per carrier: tests/dist/CMakeLists.txt). TLS and
// QUIC use certificates from scripts/cluster-certs.sh.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/describe.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../common.hpp"
#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/dist/node.hpp"
#include "ambitious/dist/nodes.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "carrier_under_test.hpp"
#include "erl_node.hpp"

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::test;
using namespace std::chrono_literals;

// The counter's protocol as the interop node speaks it: get, {add, N}, reset.
enum class Get { get };
BOOST_DESCRIBE_ENUM(Get, get)
enum class Reset { reset };
BOOST_DESCRIBE_ENUM(Reset, reset)
struct Add {
  std::int64_t n = 0;
};
BOOST_DESCRIBE_STRUCT(Add, (), (n))
template <>
struct ambitious::CodecRecord<Add> {
  static constexpr auto tag = "add";
};

namespace {

namespace fs = std::filesystem;

const char* const cookie = "two_nodes_cookie";

std::string carrier() { return carrier_under_test(); }
bool secure() { return secure_carrier(); }
// The net_ticktime of both nodes, in seconds: OTP's default, over every carrier (a killed peer
// is noticed long before it: TCP's FIN, or over QUIC the ICMP port unreachable that answers
// the next keep-alive).
int ticktime_s() { return 60; }

// The nodes of the cluster, and their certificates (TLS and QUIC).
const std::vector<std::string> cluster = {"a@127.0.0.1", "cpp@127.0.0.1"};
const fs::path& certificates() { return cluster_certificates(cluster); }

// The environment that starts the interop node on the carrier of this run.
std::vector<std::pair<std::string, std::string>> interop_env(std::uint16_t epmd) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"INTEROP_NODE_NAME", "cpp@127.0.0.1"},
      {"INTEROP_COOKIE", cookie},
      {"ERL_EPMD_PORT", std::to_string(epmd)},
      {"INTEROP_NET_TICKTIME", std::to_string(ticktime_s())}};
  if (secure()) {
    const fs::path& c = certificates();
    env.insert(env.end(), {{"INTEROP_TLS_CA", (c / "ca.pem").string()},
                           {"INTEROP_TLS_CERT", (c / "cpp@127.0.0.1.pem").string()},
                           {"INTEROP_TLS_KEY", (c / "cpp@127.0.0.1-key.pem").string()}});
  }
  if (carrier() == "quic") env.emplace_back("INTEROP_QUIC", "0");
  return env;
}
const Atom a_node("a@127.0.0.1");
const Atom cpp("cpp@127.0.0.1");
const Atom echo("echo"), counter("counter"), crasher("crasher");

// The same counter on this node, for the interop node to call; also the type this node's
// clients name the interop node's counter by.
struct Counter : GenServer<Counter> {
  using calls = Types<Get, Add>;
  using casts = Types<Reset>;
  std::int64_t count = 0;
  CallResult<std::int64_t> handle_call(Get, const From&) { return reply(count); }
  CallResult<std::int64_t> handle_call(Add add, const From&) { return reply(count += add.n); }
  Action handle_cast(Reset) {
    count = 0;
    return noreply();
  }
};

// Any server: the request and the reply are terms. Echo is not a gen_server, so a call to it is
// never answered.
struct AnyServer : GenServer<AnyServer> {
  using calls = Types<Term>;
  CallResult<Term> handle_call(Term request, const From&) { return reply(std::move(request)); }
};

// The interop node's binary, started as its documentation says (from the environment); ready()
// once it printed that it registered with epmd.
class InteropNode {
 public:
  explicit InteropNode(std::uint16_t epmd) : child_({INTEROP_NODE_BINARY}, interop_env(epmd)) {
    while (auto line = child_.read_line(patience))
      if (line->starts_with("interop_node ") && line->find(" ready (port ") != std::string::npos) {
        ready_ = true;
        break;
      }
  }
  bool ready() const noexcept { return ready_; }
  ChildProcess& process() noexcept { return child_; }
  const std::string& log() const noexcept { return child_.log(); }

 private:
  ChildProcess child_;
  bool ready_ = false;
};

struct TwoNodesTest : ::testing::Test {
  void SetUp() override {
    NodeOptions o;
    o.name = "a@127.0.0.1";
    o.cookie = cookie;
    o.epmd_port = epmd;  // none answers there: the node starts the embedded epmd on it
    o.net_ticktime = std::chrono::seconds(ticktime_s());
    ASSERT_TRUE(use_carrier_under_test(o, cluster))
        << "scripts/cluster-certs.sh failed (is gnutls-bin installed?)";
    auto n = Node::start(o);
    ASSERT_TRUE(n) << "the node did not start: " << n.error().detail;
    node = std::move(*n);
    peer = std::make_unique<InteropNode>(epmd);
    ASSERT_TRUE(peer->ready()) << peer->log();
  }
  std::uint16_t epmd = free_port();
  std::unique_ptr<Node> node;
  std::unique_ptr<InteropNode> peer;
};

// The pid of the interop node's process `name` (its answer to {whoami, Pid}), one not in `dead`.
// A restarted process takes its name again only once it runs, and a message sent to a name nobody
// holds is dropped: so each question goes behind a monitor of the name on the one connection, and
// the monitor's noproc says the question was lost and must be asked again.
Task<Pid> whoami(Atom name, std::vector<Pid> dead = {}) {
  const RegisteredName at{name, cpp};
  for (;;) {
    Ref watch = monitor(at);
    send(at, Term::tuple(Atom("whoami"), self()));
    // The clauses built outside the co_await: g++ 12 destroys a capturing lambda's captures
    // twice when the lambda is a temporary of a co_await's full-expression (README).
    auto is_iam = [name](const Term& m) {
      return m.is_tuple() && m.size() == 3 && m[0] == Term(Atom("iam")) && m[1] == Term(name);
    };
    auto is_watch = [watch](const Down& d) { return d.ref == watch; };
    auto question = receive(
        match<Term>(is_iam, [](Term m) { return std::optional<Pid>(m[2].as_pid()); }),
        match<Down>(is_watch, [](Down) { return std::optional<Pid>(); }),
        after(patience, []() -> std::optional<Pid> { give_up("no answer to whoami came"); }));
    std::optional<Pid> answer = co_await std::move(question);
    demonitor(watch, Flush::yes);
    if (answer && std::find(dead.begin(), dead.end(), *answer) == dead.end()) co_return *answer;
  }
}

// What echo answers to {self(), term}: {echo, Term}.
Task<Term> echoed(Term to, Term term) {
  Term request = Term::tuple(self(), std::move(term));
  if (to.is_pid())
    send(to.as_pid(), request);
  else
    send(RegisteredName{echo, cpp}, request);
  Term t = co_await expect<Term>(
      [](const Term& m) { return m.is_tuple() && m.size() == 2 && m[0] == Term(Atom("echo")); });
  co_return t[1];
}

// The big integer 2^bits, negated when `negative`.
Term power_of_two(unsigned bits, bool negative) {
  std::vector<std::uint8_t> magnitude(bits / 8 + 1, 0);
  magnitude.back() = static_cast<std::uint8_t>(1u << (bits % 8));
  return Term::integer(negative, magnitude);
}

}  // namespace

TEST_F(TwoNodesTest, the_first_send_connects_and_monitor_nodes_and_nodes_see_the_peer) {
  run_test([&]() -> Task<> {
    NodeMonitorOptions all;
    all.node_type = NodeMonitorOptions::Types::all;
    EXPECT_TRUE(monitor_nodes(true, all));
    EXPECT_TRUE(dist::nodes(NodeSet::connected).empty());
    // No connect first: the send dials the interop node.
    EXPECT_EQ(co_await echoed(Term(echo), Atom("hello")), Term(Atom("hello")));
    NodeUp up = co_await expect<NodeUp>([](const NodeUp&) { return true; });
    EXPECT_EQ(up.node, cpp);
    if (!up.info) give_up("no Info in the nodeup");
    EXPECT_EQ(up.info->node_type, NodeType::hidden);
    // Both nodes are hidden, as ambitious nodes are: the peer is listed among the hidden ones.
    EXPECT_TRUE(dist::nodes().empty());
    EXPECT_EQ(dist::nodes(NodeSet::hidden), std::vector<Atom>{cpp});
    EXPECT_EQ(dist::nodes(NodeSet::this_node | NodeSet::connected),
              (std::vector<Atom>{a_node, cpp}));
    EXPECT_TRUE(co_await connect(cpp)) << "connected already";
  });
}

// Both nodes speak the carrier of this run (QUIC: dialed over QUIC, as the peer announced
// through epmd, and accepted there); the peer's end closes with the connection.
TEST_F(TwoNodesTest, the_connection_travels_on_the_carrier_of_the_run) {
  Node* n = node.get();
  EXPECT_EQ(n->carrier("cpp@127.0.0.1"), std::nullopt);
  std::string step = "connect";
  run_test([&]() -> Task<> {
    EXPECT_TRUE(co_await connect(cpp));
    EXPECT_EQ(n->carrier("cpp@127.0.0.1"), std::optional<std::string>(carrier()));
    step = "echo";
    EXPECT_EQ(co_await echoed(Term(echo), Atom("hi")), Term(Atom("hi")));
    monitor_node(cpp, true);
    EXPECT_TRUE(n->disconnect("cpp@127.0.0.1"));
    step = "nodedown";
    co_await expect<NodeDown>([](const NodeDown&) { return true; });
    EXPECT_EQ(n->carrier("cpp@127.0.0.1"), std::nullopt);
    step = "echo after the reconnection";
    // The next send dials again, on the same carrier.
    EXPECT_EQ(co_await echoed(Term(echo), Atom("again")), Term(Atom("again")));
    EXPECT_EQ(n->carrier("cpp@127.0.0.1"), std::optional<std::string>(carrier()));
  });
  if (HasFailure())
    ADD_FAILURE() << "at the step " << step << ", connected to "
                  << (n->connected().empty() ? "nobody" : n->connected()[0])
                  << "; the interop node's output:\n"
                  << peer->log();
}

TEST_F(TwoNodesTest, connect_dials_the_peer_before_any_message_and_reports_nodeup) {
  run_test([&]() -> Task<> {
    EXPECT_TRUE(
        monitor_nodes(true, NodeMonitorOptions{.node_type = NodeMonitorOptions::Types::all}));
    EXPECT_TRUE(co_await connect(cpp));
    NodeUp up = co_await expect<NodeUp>([](const NodeUp&) { return true; });
    EXPECT_EQ(up.node, cpp);
    EXPECT_EQ(dist::nodes(NodeSet::connected), std::vector<Atom>{cpp});
    EXPECT_FALSE(co_await connect(Atom("nobody@127.0.0.1"))) << "epmd knows no such node";
  });
}

TEST_F(TwoNodesTest, echo_returns_a_range_of_terms_equal_by_name_and_by_pid) {
  run_test([&]() -> Task<> {
    Pid e = co_await whoami(echo);
    EXPECT_EQ(e.node(), cpp);
    Pid other = spawn([]() -> Task<> { co_await receive<Atom>(); });
    std::vector<Term> terms = {
        Atom("a"),
        Atom("hello world"),
        Term::atom("\xc3\xbc\x6e\xc3\xaf"),
        0,
        -1,
        255,
        256,
        std::int64_t{2147483647},
        std::int64_t{-2147483648},
        std::numeric_limits<std::int64_t>::max(),
        std::numeric_limits<std::int64_t>::min(),
        power_of_two(64, false),
        power_of_two(64, true),
        power_of_two(2100, false),
        power_of_two(2100, true),
        3.14,
        -0.5,
        Term::binary(""),
        Term::binary("bin"),
        Term::binary_filled(100000,
                            [](std::span<std::uint8_t> b) {
                              for (std::size_t i = 0; i < b.size(); ++i)
                                b[i] = static_cast<std::uint8_t>(i);
                            }),
        Term::list(),
        Term::list(1, 2, 3),
        Term::string("string"),
        Term::cons(Atom("a"), Atom("b")),
        Term::tuple(),
        Term::tuple(Atom("a"), 1, Term::string("x")),
        Term::map_from({}),
        Term::map(
            {{Atom("a"), 1},
             {Term::binary("b"), Term::list(2)},
             {Atom("nested"), Term::map({{1, Term::map({{Atom("deep"), Term::tuple(self())}})}})}}),
        self(),
        other,
        e,
        make_ref(),
        Term::tuple(Atom("nested"),
                    Term::list(Term::map({{Atom("k"), Term::tuple(self(), make_ref())}})))};
    for (const Term& t : terms) {
      EXPECT_EQ(co_await echoed(Term(echo), t), t) << t.to_string();
      EXPECT_EQ(co_await echoed(Term(e), t), t) << t.to_string();
    }
    send(other, Atom("done"));
  });
}

TEST_F(TwoNodesTest, large_binaries_echo_byte_exact_in_fragments_both_ways) {
  // Sent as gather-written fragments of the binary's own bytes, read on both sides straight
  // into their reassembly: the sizes around one fragment, and several fragments long.
  run_test([&]() -> Task<> {
    Pid e = co_await whoami(echo);
    for (std::size_t size :
         {std::size_t{64 * 1024 - 40}, std::size_t{64 * 1024 + 1}, std::size_t{1} << 20,
          std::size_t{(3 << 20) + 17}, std::size_t{8} << 20}) {
      Term big = Term::binary_filled(size, [size](std::span<std::uint8_t> b) {
        auto x = static_cast<std::uint32_t>(size);
        for (std::uint8_t& c : b) {
          x = x * 1664525u + 1013904223u;
          c = static_cast<std::uint8_t>(x >> 24);
        }
      });
      Term sent = Term::tuple(Atom("data"), big, size);
      EXPECT_EQ(co_await echoed(Term(e), sent), sent) << size;
      EXPECT_EQ(co_await echoed(Term(echo), Atom("small")), Term(Atom("small")));
    }
  });
}

TEST_F(TwoNodesTest, echo_sends_to_our_registered_name_and_to_our_pid) {
  run_test([&]() -> Task<> {
    register_name(Atom("shell"), self());
    send(RegisteredName{echo, cpp}, Term::tuple(Atom("ping_me_reg"), Atom("shell"), a_node));
    co_await expect<Term>([](const Term& t) { return t == Term(Atom("pong_from_cpp")); });
    send(RegisteredName{echo, cpp}, Term::tuple(Atom("ping_me"), self()));
    co_await expect<Term>([](const Term& t) { return t == Term(Atom("pong_from_cpp")); });
  });
}

TEST_F(TwoNodesTest, gen_server_calls_and_casts_the_interop_counter) {
  run_test([&]() -> Task<> {
    ServerRef<Counter> server(RegisteredName{counter, cpp});
    EXPECT_TRUE(server.remote());
    EXPECT_EQ(co_await gen_server::call(server, Get::get), 0);
    EXPECT_EQ(co_await gen_server::call(server, Add{5}), 5);
    EXPECT_EQ(co_await gen_server::call(server, Add{-7}), -2);
    EXPECT_EQ(co_await gen_server::call(server, Add{std::int64_t{1} << 62}),
              (std::int64_t{1} << 62) - 2);
    gen_server::cast(server, Reset::reset);
    EXPECT_EQ(co_await gen_server::call(server, Get::get), 0);
    auto none = co_await gen_server::try_call(
        ServerRef<Counter>(RegisteredName{Atom("nobody"), cpp}), Get::get);
    if (none) give_up("a call to nobody was answered");
    EXPECT_EQ(none.error(), ExitReason(atoms::noproc));
  });
}

TEST_F(TwoNodesTest, the_interop_node_calls_a_gen_server_of_ours) {
  run_test(two_workers, [&]() -> Task<> {
    auto started = co_await Counter::start(StartOptions{.name = Atom("tally")});
    if (!started) give_up("our counter did not start");
    auto call_ours = [&](Atom name, Term request) -> Task<Term> {
      send(RegisteredName{echo, cpp},
           Term::tuple(Atom("call_erlang"), name, a_node, std::move(request), self()));
      co_return co_await expect<Term>([](const Term& t) {
        return t.is_tuple() && t.size() == 2 &&
               (t[0] == Term(Atom("call_result")) || t[0] == Term(Atom("call_failed")));
      });
    };
    EXPECT_EQ(co_await call_ours(Atom("tally"), Term::tuple(Atom("add"), 5)),
              Term::tuple(Atom("call_result"), 5));
    EXPECT_EQ(co_await call_ours(Atom("tally"), Term::tuple(Atom("add"), 10)),
              Term::tuple(Atom("call_result"), 15));
    EXPECT_EQ(co_await call_ours(Atom("tally"), Atom("get")), Term::tuple(Atom("call_result"), 15));
    EXPECT_EQ(co_await call_ours(Atom("nobody"), Atom("get")),
              Term::tuple(Atom("call_failed"), atoms::noproc));
  });
}

TEST_F(TwoNodesTest, a_link_and_monitors_by_pid_and_by_name_see_the_crasher_exit_boom) {
  run_test([&]() -> Task<> {
    trap_exit(true);
    Pid c = co_await whoami(crasher);
    link(c);
    Ref by_pid = monitor(c);
    Ref by_name = monitor(RegisteredName{crasher, cpp});
    // The link and the monitors go before the crash on the one connection: all in place.
    send(RegisteredName{crasher, cpp}, Atom("crash"));
    Exit e = co_await expect<Exit>([c](const Exit& x) { return x.from == c; });
    EXPECT_EQ(e.reason, ExitReason(Atom("boom")));
    co_await expect_down(by_pid, ExitReason(Atom("boom")));
    Down named = co_await expect_down(by_name, ExitReason(Atom("boom")));
    EXPECT_EQ(named.name, (RegisteredName{crasher, cpp}));
    // The dead crasher: a monitor and a link of it are noproc.
    co_await expect_down(monitor(c), ExitReason(atoms::noproc));
    link(c);
    Exit again = co_await expect<Exit>([c](const Exit& x) { return x.from == c; });
    EXPECT_EQ(again.reason, ExitReason(atoms::noproc));
    // Its supervisor restarted it under its name, with a new pid.
    std::vector<Pid> dead{c};  // a named vector: g++ 12 rejects a braced list in co_await
    Pid c2 = co_await whoami(crasher, dead);
    EXPECT_NE(c2, c);
  });
}

TEST_F(TwoNodesTest, exit_kill_is_killed_and_a_monitor_of_an_unknown_name_is_noproc) {
  run_test([&]() -> Task<> {
    Pid e = co_await whoami(echo);
    Ref m = monitor(e);
    exit(e, ExitReason(atoms::kill));
    co_await expect_down(m, ExitReason(atoms::killed));
    Ref nobody = monitor(RegisteredName{Atom("nobody"), cpp});
    Down d = co_await expect_down(nobody, ExitReason(atoms::noproc));
    EXPECT_EQ(d.name, (RegisteredName{Atom("nobody"), cpp}));
  });
}

TEST_F(TwoNodesTest, kill_9_of_the_peer_is_noconnection_for_links_and_monitors_and_a_nodedown) {
  run_test([&]() -> Task<> {
    trap_exit(true);
    Pid e = co_await whoami(echo);
    link(e);
    Ref m = monitor(e);
    monitor_node(cpp, true);
    // The link and the monitor are at the peer once echo answers what followed them.
    EXPECT_EQ(co_await echoed(Term(e), Atom("sync")), Term(Atom("sync")));
    peer->process().signal(SIGKILL);
    Exit x = co_await expect<Exit>([e](const Exit& x) { return x.from == e; });
    EXPECT_EQ(x.reason, ExitReason(atoms::noconnection));
    co_await expect_down(m, ExitReason(atoms::noconnection));
    NodeDown d = co_await expect<NodeDown>([](const NodeDown&) { return true; });
    EXPECT_EQ(d.node, cpp);
    EXPECT_TRUE(dist::nodes(NodeSet::connected).empty());
  });
}

TEST_F(TwoNodesTest, a_call_pending_when_the_peer_is_killed_fails_with_nodedown) {
  run_test(two_workers, [&]() -> Task<> {
    EXPECT_TRUE(co_await connect(cpp));
    // Echo is no gen_server: the call waits until the node goes. Another process kills it
    // meanwhile (before or after the request left: either way the call sees the node go).
    Pid killer = spawn([&]() -> Task<> {
      co_await receive<Atom>();
      peer->process().signal(SIGKILL);
    });
    send(killer, Atom("go"));
    auto down = co_await gen_server::try_call(ServerRef<AnyServer>(RegisteredName{echo, cpp}),
                                              Term(Atom("hello")), infinity);
    if (down) give_up("the call was answered");
    EXPECT_EQ(down.error(), ExitReason(Term::tuple(atoms::nodedown, cpp)));
  });
}

// The peer killed and started again under its name: a new incarnation (a new creation).
Task<Pid> restart_the_peer(TwoNodesTest& t, Pid old_echo) {
  monitor_node(cpp, true);
  t.peer->process().signal(SIGKILL);
  NodeDown d = co_await expect<NodeDown>([](const NodeDown&) { return true; });
  EXPECT_EQ(d.node, cpp);
  t.peer.reset();
  // Off this worker: the start is read line by line from the child's output.
  auto start_again = blocking([&t] {
    t.peer = std::make_unique<InteropNode>(t.epmd);
    return t.peer->ready();
  });
  bool restarted = co_await start_again;
  if (!restarted) give_up("the interop node did not start again");
  // The send connects again.
  EXPECT_EQ(co_await echoed(Term(echo), Atom("again")), Term(Atom("again")));
  Pid new_echo = co_await whoami(echo);
  EXPECT_NE(new_echo, old_echo);
  co_return new_echo;
}

TEST_F(TwoNodesTest, after_a_restart_under_the_same_name_the_next_send_connects_again) {
  run_test([&]() -> Task<> {
    Pid old_echo = co_await whoami(echo);
    Pid new_echo = co_await restart_the_peer(*this, old_echo);
    EXPECT_EQ(co_await echoed(Term(new_echo), Atom("by_pid")), Term(Atom("by_pid")));
  });
}

// OTP 25 answers a monitor and a link of a pid of an old creation of a connected node with
// noproc (checked with two erl nodes: monitor gives DOWN noproc, link gives EXIT noproc): the
// restarted node knows no such process.
TEST_F(TwoNodesTest, a_monitor_and_a_link_of_a_pid_of_the_dead_incarnation_are_noproc) {
  run_test([&]() -> Task<> {
    Pid old_echo = co_await whoami(echo);
    co_await restart_the_peer(*this, old_echo);
    co_await expect_down(monitor(old_echo), ExitReason(atoms::noproc));
    trap_exit(true);
    link(old_echo);
    Exit e = co_await expect<Exit>([old_echo](const Exit& x) { return x.from == old_echo; });
    EXPECT_EQ(e.reason, ExitReason(atoms::noproc));
  });
}

TEST_F(TwoNodesTest, sigterm_of_the_peer_is_a_nodedown) {
  run_test([&]() -> Task<> {
    EXPECT_TRUE(co_await connect(cpp));
    monitor_node(cpp, true);
    peer->process().signal(SIGTERM);
    NodeDown d = co_await expect<NodeDown>([](const NodeDown&) { return true; });
    EXPECT_EQ(d.node, cpp);
    auto wait = blocking([this] { return peer->process().wait(patience); });
    auto status = co_await wait;
    EXPECT_EQ(status, 0) << peer->log();
  });
}
