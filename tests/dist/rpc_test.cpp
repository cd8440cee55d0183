#include "ambitious/dist/rpc.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "../common.hpp"
#include "ambitious/core/integer.hpp"
#include "ambitious/dist/node.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "erl_node.hpp"

// Erlang calls C++ functions the node registers by {Module, Function, Arity}: erpc:call,
// rpc:call, rpc:block_call (rex), spawn/4, spawn_monitor/4 and spawn_link/4 from a real erl
// node. Where Erlang defines the answer (undef, a raised exception), the same call to an Erlang
// node that has the same module gives the shape we must match.

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::test;
using namespace std::chrono_literals;

namespace {

const char* const cookie = "ambitious_cookie";
const Atom interop("interop");

// interop:add(A, B) for integers of any size.
Term add(const Term& x, const Term& y) {
  auto sum = integer_add(x, y);
  if (!sum) throw ErlangException::error(Term(atoms::badarg));
  return *sum;
}

// The same functions in Erlang, for the shapes Erlang gives.
const char* const erl_interop =
    "-module(interop).\n"
    "-export([add/2, echo/1, fail/1]).\n"
    "add(A, B) -> A + B.\n"
    "echo(T) -> T.\n"
    "fail(error) -> erlang:error(boom);\n"
    "fail(exit) -> exit(boom);\n"
    "fail(throw) -> throw(boom).\n";

// Registers interop:add/2, echo/1, fail/1 (raises boom of the class its argument names),
// notify/1 (sends {notified, self()} to its argument), wait/0 (sends `test` its pid, then
// returns `done` once it gets an atom), and the typed scale/2 (an integer times a list of
// integers) and ignore/1 (an integer, returns nothing).
void register_interop(Pid test) {
  register_function(interop, Atom("add"), 2,
                    [](std::span<const Term> a) { return add(a[0], a[1]); });
  register_function(interop, Atom("echo"), 1, [](std::span<const Term> a) { return a[0]; });
  register_function(interop, Atom("fail"), 1, [](std::span<const Term> a) -> Term {
    if (a[0] == Term(Atom("error"))) throw ErlangException::error(Term(Atom("boom")));
    if (a[0] == Term(Atom("exit"))) throw ErlangException::exit(Term(Atom("boom")));
    if (a[0] == Term(Atom("process_exit"))) exit(ExitReason(Atom("boom")));
    if (a[0] == Term(Atom("cpp"))) throw std::runtime_error("cpp boom");
    throw ErlangException::thrown(Term(Atom("boom")));
  });
  register_function(interop, Atom("notify"), 1, [](std::span<const Term> a) {
    send(a[0].as_pid(), Term::tuple(Atom("notified"), self()));
    return Term(atoms::ok);
  });
  register_function(interop, Atom("wait"), 0, [test](std::vector<Term>) -> Task<Term> {
    send(test, self());
    co_await receive<Atom>();
    send(test, Atom("finished"));
    co_return Term(Atom("done"));
  });
  register_typed_function(interop, Atom("scale"), [](std::int64_t k, std::vector<std::int64_t> v) {
    for (auto& x : v) x *= k;
    return v;
  });
  register_typed_function(interop, Atom("ignore"), [](std::int64_t) {});
}

struct RpcTest : ::testing::Test {
  void SetUp() override {
    if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
  }
  void TearDown() override {
    const std::pair<const char*, unsigned> registered[] = {{"add", 2},    {"echo", 1}, {"fail", 1},
                                                           {"notify", 1}, {"wait", 0}, {"scale", 2},
                                                           {"ignore", 1}};
    for (auto [f, arity] : registered) unregister_function(interop, Atom(f), arity);
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
  ErlNode erl(const std::string& name) {
    return ErlNode({.name = name + "@127.0.0.1", .cookie = cookie, .epmd_port = epmd});
  }
  // Compiles and loads the Erlang interop module on `y`.
  void load_erl_interop(ErlNode& y) {
    auto dir = std::filesystem::temp_directory_path() / ("ambitious_rpc_" + std::to_string(epmd));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "interop.erl") << erl_interop;
    std::string d = dir.string();
    EXPECT_EQ(y.eval("{ok, interop} = compile:file(\"" + d + "/interop\", [{outdir, \"" + d +
                     "\"}]), {module, interop} = code:load_abs(\"" + d + "/interop\"), ok."),
              "ok")
        << y.log();
    std::filesystem::remove_all(dir);
  }
};

const std::string a = "'a@127.0.0.1'";

// The registry alone (no node): what is registered is found by its MFA, until it is removed.
TEST(RpcRegistry, a_function_is_found_by_module_function_and_arity_until_unregistered) {
  const Atom m("rpc_registry_test");
  register_function(m, Atom("f"), 1, [](std::span<const Term> a) { return a[0]; });
  register_typed_function(m, Atom("g"), [](std::int64_t, std::int64_t) {});
  EXPECT_TRUE(find_function(m, Atom("f"), 1));
  EXPECT_FALSE(find_function(m, Atom("f"), 2));
  EXPECT_TRUE(find_function(m, Atom("g"), 2));
  EXPECT_TRUE(unregister_function(m, Atom("f"), 1));
  EXPECT_FALSE(unregister_function(m, Atom("f"), 1));
  EXPECT_FALSE(find_function(m, Atom("f"), 1));
  EXPECT_TRUE(unregister_function(m, Atom("g"), 2));
  EXPECT_THROW(register_function(m, Atom("h"), 0, RemoteFunction()), BadArg);
  EXPECT_STREQ(ErlangException::error(Term::tuple(Atom("badmatch"), 1)).what(),
               "error:{badmatch,1}");
  EXPECT_STREQ(ErlangException::thrown(Term(Atom("x"))).what(), "throw:x");
}
const std::string y = "'y@127.0.0.1'";

}  // namespace

TEST_F(RpcTest, erpc_and_rpc_call_a_registered_function_with_small_and_huge_integers) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test(two_workers, [&]() -> Task<> {
    register_interop(self());
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, add, [1, 2])."), "3") << x.log();
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, add, [-5, 2])."), "-3");
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, add, [1 bsl 64, 1 bsl 64]) =:= 1 bsl 65."),
              "true");
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, add, [1 bsl 200, -(1 bsl 200) - 7])."), "-7");
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, add, [(1 bsl 63) - 1, 1]) =:= 1 bsl 63."),
              "true");
    EXPECT_EQ(x.eval("rpc:call(" + a + ", interop, add, [40, 2])."), "42");
    EXPECT_EQ(x.eval("rpc:call(" + a + ", interop, add, [1 bsl 100, 1]) =:= (1 bsl 100) + 1."),
              "true");
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, add, [1, 2], 5000)."), "3");
    // The typed convenience: each argument through its Codec, the result through its own.
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, scale, [3, [1, 2, -3]])."), "[3,6,-9]");
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, ignore, [1])."), "ok");
    co_return;
  });
}

TEST_F(RpcTest, a_nested_term_comes_back_identical_through_erpc_and_rpc) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test(two_workers, [&]() -> Task<> {
    register_interop(self());
    EXPECT_EQ(x.eval("T = {a, [1, 2.5, <<\"bin\">>, #{k => {self(), make_ref()}}], "
                     "[x | y], 'ü', <<1:3>>, 1 bsl 90}, ok."),
              "ok");
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, echo, [T]) =:= T."), "true") << x.log();
    EXPECT_EQ(x.eval("rpc:call(" + a + ", interop, echo, [T]) =:= T."), "true");
    co_return;
  });
}

TEST_F(RpcTest, an_unregistered_function_is_undef_in_the_shapes_an_erlang_node_gives) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x");
  ErlNode yn = erl("y");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_TRUE(yn.ready()) << yn.log();
  run_test(two_workers, [&]() -> Task<> {
    register_interop(self());
    for (std::string call :
         {"erpc:call(N, interop, nope, [1, {2}]).", "rpc:call(N, interop, nope, [1, {2}]).",
          "rpc:block_call(N, interop, nope, [1, {2}]).", "erpc:call(N, interop, add, [1]).",
          "rpc:call(N, nomod, f, [])."}) {
      auto on = [&](const std::string& node) {
        std::string e = call;
        e.replace(e.find("N,"), 1, node);
        return x.eval(e);
      };
      std::string erlang = on(y);
      EXPECT_TRUE(erlang.find("undef") != std::string::npos) << erlang;
      EXPECT_EQ(on(a), erlang) << call << "\n" << x.log();
    }
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, nope, [1])."),
              "!error:{exception,undef,[{interop,nope,[1],[]}]}");
    EXPECT_EQ(x.eval("rpc:call(" + a + ", interop, nope, [1])."),
              "{badrpc,{'EXIT',{undef,[{interop,nope,[1],[]}]}}}");
    co_return;
  });
}

TEST_F(RpcTest, a_function_that_raises_gives_the_erlang_caller_the_same_exception) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x");
  ErlNode yn = erl("y");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_TRUE(yn.ready()) << yn.log();
  load_erl_interop(yn);
  run_test(two_workers, [&]() -> Task<> {
    register_interop(self());
    // exit and throw carry no stack: exactly Erlang's.
    for (std::string call :
         {"erpc:call(N, interop, fail, [exit]).", "erpc:call(N, interop, fail, [throw]).",
          "rpc:call(N, interop, fail, [exit]).", "rpc:call(N, interop, fail, [throw]).",
          "rpc:block_call(N, interop, fail, [exit])."}) {
      auto on = [&](const std::string& node) {
        std::string e = call;
        e.replace(e.find("N,"), 1, node);
        return x.eval(e);
      };
      std::string erlang = on(y);
      EXPECT_EQ(on(a), erlang) << call << "\n" << x.log();
    }
    // An error's stack names the function (Erlang's has its file and line besides).
    EXPECT_TRUE(x.eval("erpc:call(" + y + ", interop, fail, [error]).")
                    .starts_with("!error:{exception,boom,[{interop,fail,1,[{file,"));
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, fail, [error])."),
              "!error:{exception,boom,[{interop,fail,[error],[]}]}");
    EXPECT_EQ(x.eval("rpc:call(" + a + ", interop, fail, [error])."),
              "{badrpc,{'EXIT',{boom,[{interop,fail,[error],[]}]}}}");
    // The process's exit/1 is Erlang's exit/1; a C++ exception is an error naming it.
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, fail, [process_exit])."),
              "!exit:{exception,boom}");
    EXPECT_EQ(x.eval("rpc:block_call(" + a + ", interop, fail, [process_exit])."),
              "{badrpc,{'EXIT',boom}}");
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, fail, [cpp])."),
              "!error:{exception,{exception,<<99,112,112,32,98,111,111,109>>},"
              "[{interop,fail,[cpp],[]}]}");
    // rex is still there after the exit inside block_call.
    EXPECT_EQ(x.eval("rpc:block_call(" + a + ", interop, add, [1, 2])."), "3");
    // A typed function's arguments its Codecs refuse: no clause matches.
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, scale, [x, [1]])."),
              "!error:{exception,function_clause,[{interop,scale,[x,[1]],[]}]}");
    co_return;
  });
}

TEST_F(RpcTest, an_erpc_call_that_times_out_leaves_the_node_serving_and_no_late_reply) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test(two_workers, [&]() -> Task<> {
    register_interop(self());
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, wait, [], 200)."), "!error:{erpc,timeout}");
    Pid waiter = co_await expect<Pid>();
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, add, [1, 2])."), "3");
    send(waiter, Atom("go"));
    co_await expect<Atom>([](Atom m) { return m == Atom("finished"); });
    // What the waiter's end sends follows the add's answer on the same connection: none of it
    // reached the caller (its monitor was gone).
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, add, [2, 2])."), "4");
    EXPECT_EQ(x.eval("receive M -> M after 0 -> none end."), "none");
    co_return;
  });
}

TEST_F(RpcTest, spawn_runs_a_registered_function_and_an_unknown_one_exits_undef) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x");
  ErlNode yn = erl("y");
  ASSERT_TRUE(x.ready()) << x.log();
  ASSERT_TRUE(yn.ready()) << yn.log();
  run_test(two_workers, [&]() -> Task<> {
    register_interop(self());
    EXPECT_EQ(x.eval("P = spawn(" + a + ", interop, notify, [self()]), node(P) =:= " + a +
                     " andalso receive {notified, P} -> true after 5000 -> timeout end."),
              "true")
        << x.log();
    for (std::string call :
         {"(fun() -> {P1, R1} = spawn_monitor(N, interop, nope, [1]), "
          "receive {'DOWN', R1, process, P1, W1} -> W1 after 5000 -> timeout end end)().",
          "(fun() -> process_flag(trap_exit, true), P2 = spawn_link(N, interop, nope, []), "
          "receive {'EXIT', P2, W2} -> W2 after 5000 -> timeout end end)()."}) {
      auto on = [&](const std::string& node) {
        std::string e = call;
        e.replace(e.find("N,"), 1, node);
        return x.eval(e);
      };
      std::string erlang = on(y);
      EXPECT_TRUE(erlang.find("undef") != std::string::npos) << erlang;
      EXPECT_EQ(on(a), erlang) << call << "\n" << x.log();
    }
    // erpc:cast and rpc:cast spawn erpc:execute_cast(M, F, Args), and nobody waits.
    EXPECT_EQ(x.eval("erpc:cast(" + a +
                     ", interop, notify, [self()]), "
                     "receive {notified, _} -> ok after 5000 -> timeout end."),
              "ok");
    EXPECT_EQ(x.eval("rpc:cast(" + a +
                     ", interop, notify, [self()]), "
                     "receive {notified, _} -> ok after 5000 -> timeout end."),
              "ok");
    // A linked function that raises exit(boom) takes its link with it.
    EXPECT_EQ(x.eval("P3 = spawn_link(" + a +
                     ", interop, fail, [exit]), receive {'EXIT', P3, W3} -> W3 after 5000 -> "
                     "timeout end."),
              "boom");
    co_return;
  });
}

TEST_F(RpcTest, rex_answers_the_old_call_and_cast_protocol_and_rpc_timeouts_are_erlangs) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x");
  ASSERT_TRUE(x.ready()) << x.log();
  run_test(two_workers, [&]() -> Task<> {
    register_interop(self());
    const std::string rex = "{rex, " + a + "}";
    EXPECT_EQ(x.eval("gen_server:call(" + rex + ", {call, interop, add, [1, 2], group_leader()})."),
              "3")
        << x.log();
    EXPECT_EQ(
        x.eval("gen_server:call(" + rex + ", {block_call, interop, nope, [], group_leader()})."),
        "{badrpc,{'EXIT',{undef,[{interop,nope,[],[]}]}}}");
    EXPECT_EQ(x.eval(rex + " ! {self(), {call, interop, add, [2, 3], group_leader()}}, "
                           "receive {rex, R} -> R after 5000 -> timeout end."),
              "5");
    EXPECT_EQ(x.eval("gen_server:cast(" + rex +
                     ", {cast, interop, notify, [self()], group_leader()}), "
                     "receive {notified, _} -> ok after 5000 -> timeout end."),
              "ok");
    // rpc:call's timeout is erpc's, rpc:block_call's a proxy's: {badrpc, timeout} either way.
    EXPECT_EQ(x.eval("rpc:call(" + a + ", interop, wait, [], 100)."), "{badrpc,timeout}");
    send(co_await expect<Pid>(), Atom("go"));
    co_await expect<Atom>([](Atom m) { return m == Atom("finished"); });
    EXPECT_EQ(x.eval("rpc:block_call(" + a + ", interop, wait, [], 100)."), "{badrpc,timeout}");
    send(co_await expect<Pid>(), Atom("go"));
    co_await expect<Atom>([](Atom m) { return m == Atom("finished"); });
    EXPECT_EQ(x.eval("rpc:block_call(" + a + ", interop, add, [1, 1])."), "2");
    EXPECT_EQ(x.eval("receive M -> M after 0 -> none end."), "none");
  });
}

// The rpc server starts with net_kernel in a runtime: a node with no runtime running serves no
// rpc, and says so as Erlang's notsup; the first runtime brings rex.
TEST_F(RpcTest, a_node_without_a_runtime_answers_notsup_and_a_runtime_brings_the_rpc_server) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, add, [1, 2])."), "!error:{erpc,notsup}")
      << x.log();
  EXPECT_EQ(x.eval("rpc:call(" + a + ", interop, add, [1, 2])."), "{badrpc,notsup}");
  run_test(two_workers, [&]() -> Task<> {
    register_interop(self());
    EXPECT_FALSE(rpc_server_pid().is_null());
    EXPECT_EQ(whereis(Atom("rex")), std::optional<Pid>(rpc_server_pid()));
    EXPECT_EQ(x.eval("erpc:call(" + a + ", interop, add, [1, 2])."), "3");
    co_return;
  });
}
