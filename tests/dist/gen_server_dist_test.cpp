#include "ambitious/behaviours/gen_server.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../common.hpp"
#include "ambitious/dist/node.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "erl_node.hpp"

// GenServer across nodes, both ways, against real Erlang nodes (erlang-base): C++ calls and
// casts an Erlang gen_server, and Erlang calls and casts a C++ GenServer, with the requests and
// replies as the terms their Codecs make (OTP 25's gen:call on the wire).

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::test;
using namespace std::chrono_literals;

namespace {

// The counter protocol (erlang-dist-contract.md): call get, call {add, N}, cast reset; and a
// call `never` that the server does not answer.
struct Get {};
struct Add {
  std::int64_t n;
};
struct Never {};
struct Reset {};

}  // namespace

template <>
struct ambitious::Codec<Get> {
  static Term to_term(Get) { return Term(Atom("get")); }
  static std::expected<Get, CodecError> from_term(const Term& t) {
    if (t != Term(Atom("get"))) return std::unexpected(CodecError{"", "not get"});
    return Get{};
  }
};
template <>
struct ambitious::Codec<Add> {
  static Term to_term(Add a) { return Term::tuple(Atom("add"), a.n); }
  static std::expected<Add, CodecError> from_term(const Term& t) {
    if (!t.is_tuple() || t.size() != 2 || t[0] != Term(Atom("add")) || !t[1].to_int64())
      return std::unexpected(CodecError{"", "not {add, N}"});
    return Add{*t[1].to_int64()};
  }
};
template <>
struct ambitious::Codec<Never> {
  static Term to_term(Never) { return Term(Atom("never")); }
  static std::expected<Never, CodecError> from_term(const Term& t) {
    if (t != Term(Atom("never"))) return std::unexpected(CodecError{"", "not never"});
    return Never{};
  }
};
template <>
struct ambitious::Codec<Reset> {
  static Term to_term(Reset) { return Term(Atom("reset")); }
  static std::expected<Reset, CodecError> from_term(const Term& t) {
    if (t != Term(Atom("reset"))) return std::unexpected(CodecError{"", "not reset"});
    return Reset{};
  }
};

namespace {

const char* const cookie = "ambitious_cookie";
const Atom x_node("x@127.0.0.1");
const Atom counter("counter");

// The counter as a C++ GenServer; also the type a C++ client names Erlang's counter by.
struct Counter : GenServer<Counter> {
  using calls = Types<Get, Add, Never>;
  using casts = Types<Reset>;
  std::int64_t count = 0;
  CallResult<std::int64_t> handle_call(Get, const From&) { return reply(count); }
  CallResult<std::int64_t> handle_call(Add a, const From&) {
    count += a.n;
    return reply(count);
  }
  CallResult<std::int64_t> handle_call(Never, const From&) { return noreply(); }
  Action handle_cast(Reset) {
    count = 0;
    return noreply();
  }
};

// A request with no Codec: it cannot leave the node.
struct Local {};
struct LocalOnly : GenServer<LocalOnly> {
  using calls = Types<Local>;
  CallResult<int> handle_call(Local, const From&) { return reply(1); }
};

// The same counter in Erlang.
const char* const erl_counter =
    "-module(counter).\n"
    "-behaviour(gen_server).\n"
    "-export([init/1, handle_call/3, handle_cast/2]).\n"
    "init(N) -> {ok, N}.\n"
    "handle_call(get, _From, N) -> {reply, N, N};\n"
    "handle_call({add, K}, _From, N) -> {reply, N + K, N + K};\n"
    "handle_call(never, _From, N) -> {noreply, N}.\n"
    "handle_cast(reset, _N) -> {noreply, 0}.\n";

struct GenServerDistTest : ::testing::Test {
  void SetUp() override {
    if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
  }
  std::uint16_t epmd = free_port();

  std::unique_ptr<Node> start() {
    NodeOptions o;
    o.name = "a@127.0.0.1";
    o.cookie = cookie;
    o.epmd_port = epmd;
    auto n = Node::start(o);
    if (!n) ADD_FAILURE() << "the node did not start: " << n.error().detail;
    return n ? std::move(*n) : nullptr;
  }
  ErlNode erl() { return ErlNode({.name = "x@127.0.0.1", .cookie = cookie, .epmd_port = epmd}); }

  // Compiles and starts Erlang's counter on `x`, registered as `counter`.
  void start_erl_counter(ErlNode& x) {
    auto dir = std::filesystem::temp_directory_path() / ("ambitious_gs_" + std::to_string(epmd));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "counter.erl") << erl_counter;
    std::string d = dir.string();
    EXPECT_EQ(x.eval("{ok, counter} = compile:file(\"" + d + "/counter\", [{outdir, \"" + d +
                     "\"}]), {module, counter} = code:load_abs(\"" + d +
                     "/counter\"), {ok, _} = gen_server:start({local, counter}, counter, 0, "
                     "[]), ok."),
              "ok")
        << x.log();
    std::filesystem::remove_all(dir);
  }
};

}  // namespace

TEST_F(GenServerDistTest, cpp_calls_and_casts_an_erlang_gen_server_by_name_and_by_pid) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  start_erl_counter(x);
  run_test([&]() -> Task<> {
    ServerRef<Counter> server(RegisteredName{counter, x_node});
    EXPECT_TRUE(server.remote());
    EXPECT_EQ(co_await gen_server::call(server, Get{}), 0);
    EXPECT_EQ(co_await gen_server::call(server, Add{5}), 5);
    EXPECT_EQ(co_await gen_server::call(server, Add{-7}), -2);
    gen_server::cast(server, Reset{});
    EXPECT_EQ(co_await gen_server::call(server, Get{}), 0);
    // By pid: the pid erl gives.
    register_name(Atom("cpp"), self());
    EXPECT_EQ(x.eval("{cpp, 'a@127.0.0.1'} ! whereis(counter), ok."), "ok");
    Term pid = co_await expect<Term>([](const Term& t) { return t.is_pid(); });
    ServerRef<Counter> by_pid(pid.as_pid());
    EXPECT_TRUE(by_pid.remote());
    EXPECT_EQ(co_await gen_server::call(by_pid, Add{3}), 3);
    gen_server::cast(by_pid, Reset{});
    auto got = co_await gen_server::try_call(by_pid, Get{});
    EXPECT_EQ(got, 0);
  });
}

TEST_F(GenServerDistTest, a_call_to_an_unknown_erlang_name_is_noproc_and_a_silent_one_times_out) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  start_erl_counter(x);
  run_test([&]() -> Task<> {
    ServerRef<Counter> nobody(RegisteredName{Atom("nobody"), x_node});
    auto none = co_await gen_server::try_call(nobody, Get{});
    EXPECT_EQ(none.error(), ExitReason(atoms::noproc));
    ServerRef<Counter> server(RegisteredName{counter, x_node});
    auto silent = co_await gen_server::try_call(server, Never{}, 100ms);
    EXPECT_EQ(silent.error(), ExitReason(atoms::timeout));
    // The server is still there, and the monitor of the timed-out call is gone from it.
    EXPECT_EQ(co_await gen_server::call(server, Add{2}), 2);
    // The DEMONITOR_Ps went out before this message on the same connection, so erl has them
    // once the message is there.
    EXPECT_EQ(x.eval("register(shell, self()), ok."), "ok");
    send(RegisteredName{Atom("shell"), x_node}, Atom("done"));
    EXPECT_EQ(x.eval("receive done -> ok end, {monitored_by, []} = "
                     "process_info(whereis(counter), monitored_by), ok."),
              "ok");
  });
}

TEST_F(GenServerDistTest, a_call_whose_erlang_node_goes_down_is_nodedown) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  start_erl_counter(x);
  run_test(two_workers, [&]() -> Task<> {
    ServerRef<Counter> server(RegisteredName{counter, x_node});
    EXPECT_EQ(co_await gen_server::call(server, Get{}), 0);
    // Another process halts erl while this one waits for a reply that never comes.
    Pid halter = spawn([&]() -> Task<> {
      co_await receive<Atom>();
      x.process().close_stdin();
    });
    send(halter, Atom("go"));
    auto down = co_await gen_server::try_call(server, Never{}, infinity);
    EXPECT_EQ(down.error(), ExitReason(Term::tuple(atoms::nodedown, x_node)));
  });
}

TEST_F(GenServerDistTest, a_request_without_a_codec_sent_to_another_node_is_badarg) {
  auto node = start();
  ASSERT_TRUE(node);
  run_test([&]() -> Task<> {
    ServerRef<LocalOnly> server(RegisteredName{counter, x_node});
    bool threw = false;
    try {
      (void)co_await gen_server::try_call(server, Local{});
    } catch (const BadArg&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
  });
}

TEST_F(GenServerDistTest, erlang_calls_and_casts_a_cpp_gen_server_through_its_codecs) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  run_test(two_workers, [&]() -> Task<> {
    auto started = co_await Counter::start(StartOptions{.name = counter});
    if (!started) give_up("the counter did not start");
    const std::string c = "{counter, 'a@127.0.0.1'}";
    EXPECT_EQ(x.eval("gen_server:call(" + c + ", get)."), "0") << x.log();
    EXPECT_EQ(x.eval("gen_server:call(" + c + ", {add, 5})."), "5");
    EXPECT_EQ(x.eval("gen_server:call(" + c + ", {add, 10})."), "15");
    EXPECT_EQ(x.eval("gen_server:cast(" + c + ", reset)."), "ok");
    EXPECT_EQ(x.eval("gen_server:call(" + c + ", get)."), "0");
    // By pid; and a call tagged with a plain ref (no alias) is answered to the caller's pid.
    EXPECT_EQ(x.eval("register(shell, self()), ok."), "ok");
    send(RegisteredName{Atom("shell"), x_node}, *started->pid());
    EXPECT_EQ(x.eval("P = receive Pid when is_pid(Pid) -> Pid end, gen_server:call(P, {add, 2})."),
              "2");
    EXPECT_EQ(x.eval("R = make_ref(), P ! {'$gen_call', {self(), R}, get}, "
                     "receive {R, V} -> V after 10000 -> timeout end."),
              "2");
  });
}

TEST_F(GenServerDistTest,
       an_unknown_request_from_erlang_is_dropped_and_a_caller_that_timed_out_gets_no_late_reply) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl();
  ASSERT_TRUE(x.ready()) << x.log();
  run_test(two_workers, [&]() -> Task<> {
    auto started = co_await Counter::start(StartOptions{.name = counter});
    if (!started) give_up("the counter did not start");
    const std::string c = "{counter, 'a@127.0.0.1'}";
    // As a call no clause of handle_call matches, but logged rather than a crash: the caller
    // times out, the server goes on.
    EXPECT_EQ(x.eval("case catch gen_server:call(" + c +
                     ", bogus, 200) of {'EXIT', {timeout, _}} -> timeout end."),
              "timeout");
    EXPECT_EQ(x.eval("gen_server:call(" + c + ", {add, 1})."), "1");
    EXPECT_EQ(x.eval("case catch gen_server:call(" + c +
                     ", never, 100) of {'EXIT', {timeout, _}} -> timeout end."),
              "timeout");
    EXPECT_EQ(x.eval("gen_server:call(" + c + ", get)."), "1");
    EXPECT_EQ(x.eval("receive M -> M after 0 -> none end."), "none");
  });
}
