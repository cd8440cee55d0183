// The interop node (examples/interop_node) as a user runs it: the binary, started with its
// environment variables or its flags, beside an epmd of the test's own (OTP's, on a free port),
// driven from real Erlang nodes (erlang-base). Each test checks bullets of
// ../shared/protocols/erlang-dist-contract.md ("Start-up", "Distribution", "Registered
// processes") on the Erlang side, where `=:=` decides what "identical" means.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include "ambitious/dist/cookie.hpp"
#include "ambitious/dist/epmd_client.hpp"
#include "ambitious/dist/flags.hpp"
#include "ambitious/dist/handshake_codec.hpp"
#include "erl_node.hpp"
#include "interop_child.hpp"

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::test;
using namespace std::chrono_literals;
namespace hs = ambitious::dist::handshake;

namespace {

const char* const cookie = "interop_cookie";
const char* const cpp_name = "cpp@127.0.0.1";
const std::string cpp = "'cpp@127.0.0.1'";

struct InteropNodeTest : ::testing::Test {
  void SetUp() override {
    if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
    epmd_process.emplace(std::vector<std::string>{"epmd", "-port", std::to_string(epmd)});
    ASSERT_TRUE(eventually([&] { return epmd::names(at(), 1s).has_value(); }))
        << epmd_process->log();
  }
  std::uint16_t epmd = free_port();
  std::optional<ChildProcess> epmd_process;

  epmd::Address at() const { return {"127.0.0.1", epmd}; }
  // The interop node started the way its documentation says, from the environment.
  std::unique_ptr<InteropNode> start_from_env() {
    auto n = std::make_unique<InteropNode>(
        std::vector<std::string>{},
        std::vector<std::pair<std::string, std::string>>{{"INTEROP_NODE_NAME", cpp_name},
                                                         {"INTEROP_COOKIE", cookie},
                                                         {"ERL_EPMD_PORT", std::to_string(epmd)}});
    EXPECT_TRUE(n->ready()) << n->log();
    return n;
  }
  ErlNode erl(std::string name, std::string with_cookie = cookie, int ticktime = 0) {
    return ErlNode({.name = std::move(name),
                    .cookie = std::move(with_cookie),
                    .epmd_port = epmd,
                    .ticktime = ticktime});
  }
};

// Erlang: asks {Name, cpp} who it is until a pid not in Dead answers, until the monotonic
// millisecond Until (a restarted process takes its name again only once it runs; an answer of a
// dead incarnation that was asked twice may still be queued); `timeout` then.
const char* const whoami_fun =
    "WhoAmI = fun W(Name, Dead, Until) ->"
    "  {Name, 'cpp@127.0.0.1'} ! {whoami, self()},"
    "  Answer = fun A() -> receive {iam, Name, P} -> case lists:member(P, Dead) of"
    "    true -> A(); false -> P end after 50 -> retry end end,"
    "  case Answer() of"
    "    retry -> case erlang:monotonic_time(millisecond) > Until of true -> timeout;"
    "      false -> W(Name, Dead, Until) end;"
    "    Pid -> Pid end end,"
    " Now = fun() -> erlang:monotonic_time(millisecond) end, ok.";

}  // namespace

TEST_F(InteropNodeTest, started_from_the_environment_it_registers_with_epmd_once_ready) {
  auto node = start_from_env();
  ASSERT_TRUE(node->ready());
  auto entry = epmd::port_please(at(), "cpp", patience);
  ASSERT_TRUE(entry) << "registered with epmd";
  EXPECT_EQ(entry->port, node->port());
  // Registered means ready: the three processes answer the first messages.
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("[begin {N, " + cpp +
                   "} ! {whoami, self()}, receive {iam, N, _} -> N after 20000 -> none end end "
                   "|| N <- [echo, crasher]]."),
            "[echo,crasher]")
      << node->log();
  EXPECT_EQ(x.eval("gen_server:call({counter, " + cpp + "}, get)."), "0");
}

// OTP's net_adm:ping monitors {net_kernel, Node} before its is_auth call: the node's net_kernel
// is a real registered process, so the monitor holds and the ping is pong every time.
TEST_F(InteropNodeTest, net_adm_ping_gives_pong_every_time) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("lists:usort([net_adm:ping(" + cpp + ") || _ <- lists:seq(1, 20)])."), "[pong]");
}

TEST_F(InteropNodeTest, echo_returns_every_etf_kind_identical) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  // Every kind the contract lists, at the sizes where the encoding changes (small and large
  // tuples, integers of each tag, Latin-1 and other UTF-8 atoms, local funs with and without
  // an environment).
  EXPECT_EQ(x.eval("Ts = [a, 'hello world', list_to_atom([252, 110, 239]), "
                   "list_to_atom([26085, 26412, 35486]), '', true, "
                   "0, 1, 255, 256, -1, 2147483647, -2147483648, 2147483648, -2147483649, "
                   "1 bsl 64, -(1 bsl 64), 1 bsl 2100, -(1 bsl 2100), "
                   "3.14, -0.5, 1.0e300, 0.0, "
                   "<<>>, <<\"bin\">>, <<0:800000>>, <<1:3>>, <<\"ab\", 5:4>>, "
                   "[], [1, 2, 3], \"string\", [a | b], [1, 2 | 3], [[] | []], "
                   "{}, {a}, {a, 1, \"x\"}, list_to_tuple(lists:seq(1, 300)), "
                   "#{}, #{a => 1, <<\"b\">> => [2]}, "
                   "maps:from_list([{I, I * I} || I <- lists:seq(1, 100)]), "
                   "self(), spawn(fun() -> ok end), make_ref(), hd(erlang:ports()), "
                   "fun lists:map/2, fun(X) -> X + 1 end, (fun(Y) -> fun(X) -> X + Y end end)(5), "
                   "{nested, [#{k => {self(), make_ref()}}]}], ok."),
            "ok");
  EXPECT_EQ(x.eval("[T || T <- Ts, begin {echo, " + cpp +
                   "} ! {self(), T}, receive {echo, R} -> R =/= T after 20000 -> true end end]."),
            "[]")
      << node->log();
}

TEST_F(InteropNodeTest, echo_answers_ping_me_whoami_and_pings_a_name_on_a_node_it_must_connect_to) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1"), y = erl("y@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_TRUE(y.ready()) << y.log();
  const std::string echo = "{echo, " + cpp + "}";
  EXPECT_EQ(x.eval(echo + " ! {ping_me, self()}, receive M -> M after 20000 -> none end."),
            "pong_from_cpp");
  EXPECT_EQ(x.eval(echo + " ! {whoami, self()}, receive {iam, echo, P} -> node(P) end."), cpp);
  // y has never talked to cpp: echo connects to it first, then sends to its name.
  EXPECT_EQ(y.eval("register(shell, self()), nodes(hidden) ++ nodes()."), "[]");
  EXPECT_EQ(x.eval(echo + " ! {ping_me_reg, shell, 'y@127.0.0.1'}, ok."), "ok");
  EXPECT_EQ(y.eval("receive M -> M after 20000 -> none end."), "pong_from_cpp") << node->log();
}

TEST_F(InteropNodeTest, echo_calls_an_erlang_gen_server_and_reports_a_failed_call) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  const std::string echo = "{echo, " + cpp + "}";
  // net_kernel is a gen_server: {is_auth, Node} is net_adm:ping's call.
  EXPECT_EQ(x.eval(echo + " ! {call_erlang, net_kernel, 'x@127.0.0.1', {is_auth, " + cpp +
                   "}, self()}, receive M -> M after 20000 -> none end."),
            "{call_result,yes}");
  EXPECT_EQ(x.eval(echo + " ! {call_erlang, nobody, 'x@127.0.0.1', hello, self()}, "
                          "receive M2 -> M2 after 20000 -> none end."),
            "{call_failed,noproc}");
}

TEST_F(InteropNodeTest, counter_answers_gen_server_calls_and_casts) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  const std::string counter = "{counter, " + cpp + "}";
  EXPECT_EQ(x.eval("gen_server:call(" + counter + ", get)."), "0");
  EXPECT_EQ(x.eval("gen_server:call(" + counter + ", {add, 5})."), "5");
  EXPECT_EQ(x.eval("gen_server:call(" + counter + ", {add, -7})."), "-2");
  EXPECT_EQ(x.eval("gen_server:call(" + counter + ", {add, 1 bsl 62})."),
            std::to_string((std::int64_t{1} << 62) - 2));
  EXPECT_EQ(x.eval("gen_server:cast(" + counter + ", reset)."), "ok");
  EXPECT_EQ(x.eval("gen_server:call(" + counter + ", get)."), "0");
}

TEST_F(InteropNodeTest, erpc_and_rpc_call_its_cpp_functions_and_an_unknown_one_is_undef) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("erpc:call(" + cpp + ", interop, add, [40, 2])."), "42");
  EXPECT_EQ(x.eval("erpc:call(" + cpp +
                   ", interop, add, [1 bsl 64, -(1 bsl 70)]) =:= "
                   "(1 bsl 64) - (1 bsl 70)."),
            "true");
  EXPECT_EQ(x.eval("rpc:call(" + cpp + ", interop, add, [(1 bsl 63) - 1, 1]) =:= 1 bsl 63."),
            "true");
  EXPECT_EQ(x.eval("T = {a, [1 | 2], #{<<\"k\">> => self()}, make_ref(), 1 bsl 100}, "
                   "erpc:call(" +
                   cpp + ", interop, echo, [T]) =:= T."),
            "true");
  EXPECT_EQ(x.eval("try erpc:call(" + cpp +
                   ", interop, add, [1, a]) catch error:{exception, "
                   "R, _} -> R end."),
            "badarith");
  EXPECT_EQ(x.eval("try erpc:call(" + cpp +
                   ", interop, nope, [1]) catch error:{exception, "
                   "Why, [{M, F, A, _}]} -> {Why, M, F, A} end."),
            "{undef,interop,nope,[1]}");
  EXPECT_EQ(x.eval("{badrpc, {'EXIT', {undef, [{interop, add, [1], _}]}}} = "
                   "rpc:call(" +
                   cpp + ", interop, add, [1]), ok."),
            "ok");
}

TEST_F(InteropNodeTest, crasher_exits_boom_and_comes_back_under_its_name_with_a_new_pid) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_EQ(x.eval(whoami_fun), "ok");
  EXPECT_EQ(x.eval("C1 = WhoAmI(crasher, [], Now() + 20000), node(C1)."), cpp);
  // A link (trapped) and a monitor both see boom.
  EXPECT_EQ(x.eval("process_flag(trap_exit, true), link(C1), M1 = monitor(process, C1), "
                   "{crasher, " +
                   cpp +
                   "} ! crash, T0 = Now(), [receive {'DOWN', M1, process, C1, R} -> R after "
                   "20000 -> none end, receive {'EXIT', C1, R2} -> R2 after 20000 -> none end]."),
            "[boom,boom]");
  // Restarted within 2 s of the crash, under the same name.
  EXPECT_EQ(x.eval("C2 = WhoAmI(crasher, [C1], T0 + 2000), is_pid(C2) andalso C2 =/= C1."), "true")
      << node->log();
}

TEST_F(InteropNodeTest,
       exit_signals_normal_is_ignored_kill_is_killed_and_others_carry_their_reason) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_EQ(x.eval(whoami_fun), "ok");
  // The exit signal and the next message go from one process to another: in order.
  EXPECT_EQ(x.eval("E1 = WhoAmI(echo, [], Now() + 20000), M1 = monitor(process, E1), "
                   "exit(E1, normal), E1 ! {self(), still_here}, "
                   "receive {echo, still_here} -> ok after 20000 -> none end."),
            "ok")
      << "normal is ignored: the same echo answers after it";
  EXPECT_EQ(x.eval("exit(E1, kill), receive {'DOWN', M1, process, E1, R1} -> R1 after 20000 -> "
                   "none end."),
            "killed");
  EXPECT_EQ(x.eval("E2 = WhoAmI(echo, [E1], Now() + 20000), M2 = monitor(process, E2), "
                   "exit(E2, {shutdown, why}), receive {'DOWN', M2, process, E2, R2} -> R2 after "
                   "20000 -> none end."),
            "{shutdown,why}");
  EXPECT_EQ(x.eval("process_flag(trap_exit, true), E3 = WhoAmI(echo, [E1, E2], Now() + 20000), "
                   "link(E3), exit(E3, other), receive {'EXIT', E3, R3} -> R3 after 20000 -> none "
                   "end."),
            "other");
}

TEST_F(InteropNodeTest, monitors_and_links_of_what_does_not_exist_are_noproc_at_once) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_EQ(x.eval(whoami_fun), "ok");
  // A by-name monitor of a name nobody holds: DOWN names the target as it was given.
  EXPECT_EQ(x.eval("M1 = monitor(process, {nobody, " + cpp +
                   "}), receive {'DOWN', M1, process, Who, R} -> {Who, R} after 20000 -> none "
                   "end."),
            "{{nobody," + cpp + "},noproc}");
  // A dead pid: the crasher before its restart.
  EXPECT_EQ(x.eval("C1 = WhoAmI(crasher, [], Now() + 20000), M2 = monitor(process, C1), "
                   "{crasher, " +
                   cpp +
                   "} ! crash, receive {'DOWN', M2, process, C1, R2} -> R2 after 20000 -> none "
                   "end."),
            "boom");
  EXPECT_EQ(x.eval("M3 = monitor(process, C1), receive {'DOWN', M3, process, C1, R3} -> R3 after "
                   "20000 -> none end."),
            "noproc");
  EXPECT_EQ(x.eval("process_flag(trap_exit, true), link(C1), receive {'EXIT', C1, R4} -> R4 after "
                   "20000 -> none end."),
            "noproc");
}

TEST_F(InteropNodeTest, unlink_is_acknowledged_and_a_message_to_an_unregistered_name_is_dropped) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_EQ(x.eval(whoami_fun), "ok");
  // Link and unlink again and again (each unlink is an UNLINK_ID that cpp acknowledges), then
  // crash the crasher while unlinked: no exit signal comes. The round trip to echo after the
  // DOWN proves that nothing the crasher sent when it died is still on its way (one connection
  // carries all of cpp's signals to x, in order).
  EXPECT_EQ(x.eval("process_flag(trap_exit, true), C1 = WhoAmI(crasher, [], Now() + 20000), "
                   "[begin link(C1), unlink(C1) end || _ <- lists:seq(1, 50)], "
                   "M1 = monitor(process, C1), {crasher, " +
                   cpp +
                   "} ! crash, receive {'DOWN', M1, process, C1, boom} -> ok after 20000 -> none "
                   "end, {echo, " +
                   cpp +
                   "} ! {self(), flush}, receive {echo, flush} -> ok end, "
                   "receive {'EXIT', C1, _} -> linked after 0 -> unlinked end."),
            "unlinked");
  // Linked once more, after as many unlinks, the crash is seen.
  EXPECT_EQ(x.eval("C2 = WhoAmI(crasher, [C1], Now() + 20000), "
                   "[begin link(C2), unlink(C2) end || _ <- lists:seq(1, 50)], link(C2), "
                   "{crasher, " +
                   cpp + "} ! crash, receive {'EXIT', C2, R} -> R after 20000 -> none end."),
            "boom");
  EXPECT_EQ(x.eval("{nobody, " + cpp + "} ! hello, {echo, " + cpp +
                   "} ! {self(), after_the_drop}, receive {echo, A} -> {A, nodes(hidden)} "
                   "after 20000 -> none end."),
            "{after_the_drop,[" + cpp + "]}");
}

TEST_F(InteropNodeTest, a_wrong_cookie_is_refused_both_ways) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1"), z = erl("z@127.0.0.1", "not_the_cookie");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_TRUE(z.ready()) << z.log();
  EXPECT_EQ(z.eval("net_adm:ping(" + cpp + ")."), "pang");
  // The other way: echo calls a gen_server on z, which it cannot reach.
  EXPECT_EQ(x.eval("{echo, " + cpp +
                   "} ! {call_erlang, net_kernel, 'z@127.0.0.1', {is_auth, x}, self()}, "
                   "receive M -> M after 20000 -> none end."),
            "{call_failed,{nodedown,'z@127.0.0.1'}}");
  EXPECT_EQ(z.eval("nodes(hidden) ++ nodes()."), "[]");
}

TEST_F(InteropNodeTest, sigterm_stops_it_in_order_and_its_name_leaves_epmd) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("monitor_node(" + cpp + ", true)."), "true");
  node->process().signal(SIGTERM);
  EXPECT_EQ(node->process().wait(patience), 0) << node->log();
  EXPECT_EQ(x.eval("receive {nodedown, N} -> N after 20000 -> none end."), cpp);
  auto gone = epmd::port_please(at(), "cpp", patience);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, epmd::ClientErrc::not_registered);
}

TEST_F(InteropNodeTest, kill_9_is_nodedown_and_noconnection_on_the_erlang_side) {
  auto node = start_from_env();
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_EQ(x.eval(whoami_fun), "ok");
  EXPECT_EQ(x.eval("process_flag(trap_exit, true), monitor_node(" + cpp +
                   ", true), E = WhoAmI(echo, [], Now() + 20000), link(E), "
                   "M = monitor(process, E), ok."),
            "ok");
  node->process().signal(SIGKILL);
  EXPECT_EQ(x.eval("[receive {nodedown, " + cpp +
                   "} -> nodedown after 20000 -> none end, receive {'DOWN', M, process, E, R1} "
                   "-> R1 after 20000 -> none end, receive {'EXIT', E, R2} -> R2 after 20000 -> "
                   "none end]."),
            "[nodedown,noconnection,noconnection]");
}

TEST_F(InteropNodeTest, started_with_flags_it_serves_and_ticks_keep_a_quiet_connection_up) {
  InteropNode node({"--name", cpp_name, "--cookie", cookie, "--ticktime", "4"},
                   {{"ERL_EPMD_PORT", std::to_string(epmd)}});
  ASSERT_TRUE(node.ready()) << node.log();
  ErlNode x = erl("x@127.0.0.1", cookie, 4);
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("gen_server:call({counter, " + cpp + "}, {add, 3})."), "3") << node.log();
  // Three ticktimes with no traffic but ticks: erl reports no nodedown.
  EXPECT_EQ(x.eval("net_kernel:monitor_nodes(true, [{node_type, all}]), "
                   "receive {nodedown, N, _} -> {down, N} after 12000 -> still_up end.",
                   30s),
            "still_up");
  EXPECT_EQ(x.eval("gen_server:call({counter, " + cpp + "}, get)."), "3");
  node.process().signal(SIGINT);
  EXPECT_EQ(node.process().wait(patience), 0) << node.log();
}

TEST_F(InteropNodeTest, bad_flags_are_a_usage_error) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--bogus", "x"},
                                        {"--name"},
                                        {"--cookie", cookie},
                                        {"--name", cpp_name, "--ticktime", "soon"},
                                        {"--name", "no_host", "--cookie", cookie}}) {
    args.insert(args.begin(), INTEROP_NODE_BINARY);
    ChildProcess bad(args, {{"ERL_EPMD_PORT", std::to_string(epmd)}});
    auto status = bad.wait(patience);
    ASSERT_TRUE(status) << args[1];
    EXPECT_NE(*status, 0) << args[1];
    EXPECT_NE(bad.log().find("interop_node: "), std::string::npos) << bad.log();
  }
}

namespace {

// A raw TCP client of the node's distribution port.
struct Client {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ~Client() { ::close(fd); }
  bool connect(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  bool send(const std::vector<std::uint8_t>& bytes) {
    return ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  }
  // Reads exactly `n` bytes, or fewer when the peer closes first (or nothing comes in time).
  std::vector<std::uint8_t> read(std::size_t n) {
    std::vector<std::uint8_t> got;
    while (got.size() < n) {
      if (!readable()) break;
      std::uint8_t chunk[512];
      ssize_t r = ::read(fd, chunk, std::min(sizeof chunk, n - got.size()));
      if (r <= 0) break;
      got.insert(got.end(), chunk, chunk + r);
    }
    return got;
  }
  // The body of the next handshake frame (its 2-byte length first), or nothing.
  std::optional<std::vector<std::uint8_t>> frame() {
    auto len = read(2);
    if (len.size() != 2) return std::nullopt;
    return read(static_cast<std::size_t>(len[0] << 8 | len[1]));
  }
  // True when the peer closes the connection without sending anything more.
  bool closed_silently() {
    std::uint8_t byte;
    return readable() && ::read(fd, &byte, 1) == 0;
  }
  bool readable() {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(patience).count())) > 0;
  }
};

}  // namespace

TEST_F(InteropNodeTest, a_hand_made_initiator_with_a_wrong_digest_is_closed_without_the_ack) {
  auto node = start_from_env();
  ASSERT_TRUE(node->ready());
  Client evil;
  ASSERT_TRUE(evil.connect(node->port()));
  ASSERT_TRUE(evil.send(hs::encode(hs::SendName{default_flags, 7, "evil@127.0.0.1"})));
  auto status = evil.frame();
  ASSERT_TRUE(status);
  auto st = hs::decode_status(*status);
  ASSERT_TRUE(st) << "a status first";
  EXPECT_EQ(st->code, hs::StatusCode::ok);
  auto body = evil.frame();
  ASSERT_TRUE(body);
  auto challenge = hs::decode_challenge(*body);
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->name, cpp_name);
  // The digest of a guessed cookie.
  ASSERT_TRUE(
      evil.send(hs::encode(hs::ChallengeReply{1, Cookie("guess").digest(challenge->challenge)})));
  EXPECT_TRUE(evil.closed_silently()) << "closed, and no challenge_ack came";
  // The node serves on.
  ErlNode x = erl("x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("gen_server:call({counter, " + cpp + "}, get)."), "0") << node->log();
}
