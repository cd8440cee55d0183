#include "ambitious/naming/global.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../common.hpp"
#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/dist/node.hpp"
#include "ambitious/dist/nodes.hpp"
#include "ambitious/naming/via.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/spawn.hpp"
#include "carrier_under_test.hpp"
#include "child_process.hpp"
#include "erl_node.hpp"
#include "global_node.hpp"

// Global names across ambitious nodes: this test's node (a@127.0.0.1) and child nodes
// (global_node.cpp) driven by lines on their stdin, so that the test reaches them while a
// connection is cut. As OTP's global_SUITE: names seen everywhere, one winner among concurrent
// registrations, names released when their process ends or their node goes down, and a
// partition that heals with a name on each side. One suite, run per carrier (TCP, TLS, QUIC:
// carrier_under_test.hpp).

using namespace ambitious;
using namespace ambitious::test;
using namespace std::chrono_literals;

namespace {

const char* const cookie = "global_cookie";
// The nodes of the tests (this one, and children), for their certificates over TLS and QUIC.
const std::vector<std::string> cluster = {"a@127.0.0.1", "b@127.0.0.1", "c@127.0.0.1"};

std::vector<std::string> child_argv(const std::string& name, std::uint16_t epmd) {
  std::vector<std::string> argv{GLOBAL_NODE_BINARY, name, std::to_string(epmd), cookie};
  for (auto& a : carrier_arguments(name, cluster)) argv.push_back(a);
  return argv;
}

// A child node and its lines: answers to commands, and the holders' `got` and `down` events.
class Child {
 public:
  Child(std::string name, std::uint16_t epmd) : name_(name), proc_(child_argv(name, epmd)) {
    auto line = next("global_node ready");
    ready_ = line.has_value();
  }
  bool ready() const { return ready_; }
  Atom node() const { return Atom(name_); }
  ChildProcess& process() { return proc_; }

  // Sends `command` and returns the first line starting with `answer` (other lines are kept
  // as events); empty when none comes within patience.
  std::optional<std::string> ask(const std::string& command, const std::string& answer) {
    proc_.write(command + "\n");
    return next(answer);
  }
  // The first line (kept or new) starting with `prefix`.
  std::optional<std::string> next(const std::string& prefix) {
    for (auto it = kept_.begin(); it != kept_.end(); ++it)
      if (it->starts_with(prefix)) {
        std::string l = *it;
        kept_.erase(it);
        return l;
      }
    for (;;) {
      auto line = proc_.read_line(patience);
      if (!line) return std::nullopt;
      if (line->starts_with(prefix)) return line;
      kept_.push_back(*line);
    }
  }

 private:
  std::string name_;
  ChildProcess proc_;
  std::vector<std::string> kept_;
  bool ready_ = false;
};

// The same off the worker, from a test process.
Task<std::string> ask(Child& c, std::string command, std::string answer) {
  auto line = co_await blocking([&] { return c.ask(command, answer); });
  if (!line) ADD_FAILURE() << "no answer to: " << command << "\n" << c.process().log();
  co_return line.value_or("");
}
Task<std::string> next(Child& c, std::string prefix) {
  auto line = co_await blocking([&] { return c.next(prefix); });
  if (!line) ADD_FAILURE() << "no line: " << prefix << "\n" << c.process().log();
  co_return line.value_or("");
}

// The last word of a line.
std::string last(const std::string& line) { return line.substr(line.rfind(' ') + 1); }

// Waits (bounded) until this node's table shows `name` held by `pid` (text), or by nobody.
Task<bool> await_here(const Term& name, const std::string& pid) {
  for (int i = 0; i < 2000; ++i) {
    auto p = global::whereis_name(name);
    if ((p ? pid_text(*p) : std::string("undefined")) == pid) co_return true;
    co_await sleep(10ms);
  }
  co_return false;
}

// Waits (bounded) until `c`'s table shows `name` held by `pid` (text), or by nobody.
Task<bool> await_there(Child& c, std::string name, std::string pid) {
  co_return co_await ask(c, "await " + name + " " + pid, "awaited") == "awaited " + name + " ok";
}

// A holder on this node: tells `owner` what it gets.
Pid local_holder(Pid owner) {
  return spawn([owner]() -> Task<> {
    for (;;) send(owner, co_await receive<Term>());
  });
}

struct GlobalTest : ::testing::Test {
  void SetUp() override {
    dist::NodeOptions o;
    o.name = "a@127.0.0.1";
    o.cookie = cookie;
    o.epmd_port = epmd;
    ASSERT_TRUE(use_carrier_under_test(o, cluster))
        << "scripts/cluster-certs.sh failed (is gnutls-bin installed?)";
    auto n = dist::Node::start(o);
    ASSERT_TRUE(n) << "the node did not start: " << n.error().detail;
    node = std::move(*n);
    global::register_resolver(Atom("keep_larger"), keep_larger);
  }
  std::unique_ptr<Child> child(const std::string& name) {
    auto c = std::make_unique<Child>(name, epmd);
    EXPECT_TRUE(c->ready()) << c->process().log();
    return c;
  }
  std::uint16_t epmd = free_port();
  std::unique_ptr<dist::Node> node;
};

// Connects this node to `c` and waits until the name servers have met.
Task<> join(Child& c) {
  bool up = co_await dist::connect(c.node());
  EXPECT_TRUE(up) << "could not connect to " << c.node().name() << ": " << c.process().log();
  co_await global::sync();
}

// This node, b and c, each connected to the others, their name servers met.
Task<> mesh(Child& b, Child& c) {
  co_await join(b);
  co_await join(c);
  EXPECT_EQ(co_await ask(b, "connect c@127.0.0.1", "connected"), "connected c@127.0.0.1 true");
}

TEST_F(GlobalTest, a_name_registered_on_one_node_is_seen_on_every_node_and_is_unique) {
  auto b = child("b@127.0.0.1");
  auto c = child("c@127.0.0.1");
  dist::Node* n = node.get();
  run_test(two_workers, [&]() -> Task<> {
    co_await mesh(*b, *c);
    // On the carrier of this run.
    EXPECT_EQ(n->carrier("b@127.0.0.1"), std::optional<std::string>(carrier_under_test()));
    std::string yes = co_await ask(*b, "register n1", "registered n1");
    EXPECT_TRUE(yes.starts_with("registered n1 yes ")) << yes;
    std::string hb = last(yes);
    EXPECT_TRUE(co_await await_here(Atom("n1"), hb));
    EXPECT_TRUE(co_await await_there(*c, "n1", hb));
    // A second registration, from anywhere, gets no.
    EXPECT_TRUE((co_await ask(*c, "register n1", "registered n1")).starts_with("registered n1 no"));
    Pid mine = local_holder(self());
    EXPECT_FALSE(co_await global::register_name(Atom("n1"), mine));
    EXPECT_EQ(pid_text(*global::whereis_name(Atom("n1"))), hb);
    // Unregistered from here, gone everywhere.
    co_await global::unregister_name(Atom("n1"));
    EXPECT_FALSE(global::whereis_name(Atom("n1")));
    EXPECT_TRUE(co_await await_there(*b, "n1", "undefined"));
    EXPECT_TRUE(co_await global::register_name(Atom("n1"), mine));
    EXPECT_TRUE(co_await await_there(*c, "n1", pid_text(mine)));
    exit(mine, atoms::kill);
  });
}

TEST_F(GlobalTest, concurrent_registrations_of_one_name_from_two_nodes_have_one_winner) {
  auto b = child("b@127.0.0.1");
  auto c = child("c@127.0.0.1");
  run_test(two_workers, [&]() -> Task<> {
    co_await mesh(*b, *c);
    for (int round = 0; round < 5; ++round) {
      std::string name = "race" + std::to_string(round);
      b->process().write("register " + name + "\n");
      c->process().write("register " + name + "\n");
      std::string rb = co_await next(*b, "registered " + name);
      std::string rc = co_await next(*c, "registered " + name);
      bool b_won = rb.find(" yes ") != std::string::npos;
      bool c_won = rc.find(" yes ") != std::string::npos;
      EXPECT_NE(b_won, c_won) << rb << " / " << rc;
      std::string winner = last(b_won ? rb : rc);
      EXPECT_TRUE(co_await await_here(Atom(name), winner));
      EXPECT_TRUE(co_await await_there(*b, name, winner));
      EXPECT_TRUE(co_await await_there(*c, name, winner));
    }
  });
}

TEST_F(GlobalTest, a_name_is_released_everywhere_when_its_process_ends) {
  auto b = child("b@127.0.0.1");
  auto c = child("c@127.0.0.1");
  run_test(two_workers, [&]() -> Task<> {
    co_await mesh(*b, *c);
    std::string hb = last(co_await ask(*b, "register n2", "registered n2"));
    EXPECT_TRUE(co_await await_here(Atom("n2"), hb));
    EXPECT_TRUE(co_await await_there(*c, "n2", hb));
    exit(*global::whereis_name(Atom("n2")), atoms::kill);
    EXPECT_TRUE(co_await await_here(Atom("n2"), "undefined"));
    EXPECT_TRUE(co_await await_there(*c, "n2", "undefined"));
    // And a holder of this node; a second name for it is refused, as OTP's default.
    Pid mine = local_holder(self());
    EXPECT_TRUE(co_await global::register_name(Atom("n3"), mine));
    EXPECT_FALSE(co_await global::register_name(Atom("n4"), mine));
    EXPECT_TRUE(co_await await_there(*b, "n3", pid_text(mine)));
    exit(mine, atoms::kill);
    EXPECT_TRUE(co_await await_there(*b, "n3", "undefined"));
    EXPECT_TRUE(co_await await_there(*c, "n3", "undefined"));
    EXPECT_TRUE(co_await global::register_name(Atom("n4"), local_holder(self())));
  });
}

TEST_F(GlobalTest, a_name_is_released_when_its_node_goes_down) {
  auto b = child("b@127.0.0.1");
  auto c = child("c@127.0.0.1");
  run_test(two_workers, [&]() -> Task<> {
    co_await mesh(*b, *c);
    std::string hc = last(co_await ask(*c, "register n5", "registered n5"));
    EXPECT_TRUE(co_await await_here(Atom("n5"), hc));
    EXPECT_TRUE(co_await await_there(*b, "n5", hc));
    c->process().signal(SIGKILL);
    EXPECT_TRUE(co_await await_here(Atom("n5"), "undefined"));
    EXPECT_TRUE(co_await await_there(*b, "n5", "undefined"));
  });
}

TEST_F(GlobalTest, send_to_a_global_name_reaches_its_holder_and_exits_badarg_without_one) {
  auto b = child("b@127.0.0.1");
  run_test(two_workers, [&]() -> Task<> {
    co_await join(*b);
    std::string hb = last(co_await ask(*b, "register n6", "registered n6"));
    EXPECT_TRUE(co_await await_here(Atom("n6"), hb));
    // [snippet send]
    Pid to = global::send(Atom("n6"), Term::tuple(Atom("hello"), 1));  // the holder, on b
    // [snippet send]
    EXPECT_EQ(pid_text(to), hb);
    EXPECT_EQ(co_await next(*b, "got " + hb), "got " + hb + " {hello,1}");
    // Through the via name too.
    send(global::via(Atom("n6")), Term(Atom("again")));
    EXPECT_EQ(co_await next(*b, "got " + hb), "got " + hb + " again");
    auto [pid, mref] = spawn_monitor([]() -> Task<> {
      global::send(Atom("nobody"), Term(Atom("msg")));
      co_return;
    });
    Down d = co_await expect_down(mref);
    EXPECT_EQ(d.reason.term(),
              Term::tuple(atoms::badarg, Term::tuple(Atom("nobody"), Atom("msg"))));
  });
}

TEST_F(GlobalTest, a_server_started_under_a_global_via_name_is_called_through_it_from_anywhere) {
  auto b = child("b@127.0.0.1");
  run_test(two_workers, [&]() -> Task<> {
    co_await join(*b);
    // [snippet via_server]
    // A server under a global name, as gen_server:start({via, global, tally}, ...)...
    StartOptions options{.name = global::via(Atom("tally"))};
    auto started = co_await Tally::start(options);
    // ...called on any node of the cluster: each call finds the holder, wherever it runs.
    ServerRef<Tally> tally(global::via(Atom("tally")));
    Tally::Add two{2};
    std::int64_t total = co_await gen_server::call(tally, two);
    // [snippet via_server]
    EXPECT_TRUE(started) << started.error().term().to_string();
    if (!started) co_return;
    EXPECT_EQ(total, 2);
    EXPECT_TRUE(co_await await_there(*b, "tally", pid_text(*started->pid())));
    EXPECT_EQ(co_await ask(*b, "call tally 3", "called tally"), "called tally 5");
    // A server on b under another name, called from here; a second one here under its name
    // is refused with {already_started, Pid}, as OTP's.
    std::string on_b = last(co_await ask(*b, "serve tally_b", "serving tally_b"));
    EXPECT_TRUE(co_await await_here(Atom("tally_b"), on_b));
    ServerRef<Tally> tally_b(global::via(Atom("tally_b")));
    Tally::Add seven{7};
    EXPECT_EQ(co_await gen_server::call(tally_b, seven), 7);
    gen_server::cast(tally_b, Tally::Bump{10});
    Tally::Add none{0};
    EXPECT_EQ(co_await gen_server::call(tally_b, none), 17);
    StartOptions taken{.name = global::via(Atom("tally_b"))};
    auto again = co_await Tally::start(taken);
    EXPECT_FALSE(again);
    if (again) co_return;
    Pid holder;
    EXPECT_TRUE(again.error().term().match(atoms::already_started, &holder))
        << again.error().term().to_string();
    EXPECT_EQ(pid_text(holder), on_b);
    // The name goes with its server, everywhere.
    EXPECT_TRUE(co_await gen_server::stop(*started));
    EXPECT_TRUE(co_await await_there(*b, "tally", "undefined"));
    EXPECT_FALSE(global::whereis_name(Atom("tally")));
  });
}

// The partition: cut from this side, a name registered on each side, then healed. Each side
// holds a probe name first: its loss on the other side proves that side's name server saw the
// cut (so that nothing it sends dials the other again before the heal).
Task<std::pair<Pid, std::string>> partition_and_register(dist::Node& node, Child& b,
                                                         const std::string& name,
                                                         const std::string& method) {
  co_await join(b);
  Pid probe = local_holder(self());
  EXPECT_TRUE(co_await global::register_name(Atom("probe_a"), probe));
  std::string probe_b = last(co_await ask(b, "register probe_b", "registered probe_b"));
  EXPECT_TRUE(co_await await_here(Atom("probe_b"), probe_b));
  EXPECT_TRUE(co_await await_there(b, "probe_a", pid_text(probe)));
  EXPECT_FALSE(node.disconnect("nobody@127.0.0.1"));  // not connected
  EXPECT_TRUE(node.disconnect("b@127.0.0.1"));
  EXPECT_TRUE(co_await await_here(Atom("probe_b"), "undefined"));
  EXPECT_TRUE(co_await await_there(b, "probe_a", "undefined"));
  Pid mine = local_holder(self());
  EXPECT_TRUE(co_await global::register_name(Atom(name), mine, Atom(method)));
  std::string theirs = co_await ask(b, "register " + name + " " + method, "registered " + name);
  EXPECT_TRUE(theirs.starts_with("registered " + name + " yes ")) << theirs;
  EXPECT_TRUE(co_await dist::connect(b.node())) << "could not connect again";
  co_await global::sync();
  exit(probe, atoms::kill);
  co_return std::pair{mine, last(theirs)};
}

TEST_F(GlobalTest, a_name_conflict_after_a_partition_heals_keeps_one_and_kills_the_other) {
  auto b = child("b@127.0.0.1");
  run_test(two_workers, [&]() -> Task<> {
    auto [mine, theirs] = co_await partition_and_register(*node, *b, "n7", "random_exit_name");
    // The smaller pid (node a's) stays; the other is killed, as random_exit_name does.
    EXPECT_EQ(co_await next(*b, "down " + theirs), "down " + theirs + " killed");
    EXPECT_TRUE(co_await await_here(Atom("n7"), pid_text(mine)));
    EXPECT_TRUE(co_await await_there(*b, "n7", pid_text(mine)));
    exit(mine, atoms::kill);
  });
}

// Three nodes cut into {a} and {b, c}: each side registers the name, and after the heal one
// holder is left on all three (a's, the smaller pid; b's is killed, as random_exit_name does).
TEST_F(GlobalTest, a_conflict_between_partitions_of_three_nodes_heals_to_one_holder_everywhere) {
  auto b = child("b@127.0.0.1");
  auto c = child("c@127.0.0.1");
  run_test(two_workers, [&]() -> Task<> {
    co_await mesh(*b, *c);
    // Probes, whose loss on the other side proves that side saw the cut.
    Pid probe = local_holder(self());
    bool yes = co_await global::register_name(Atom("probe_a"), probe);
    EXPECT_TRUE(yes);
    std::string probe_b = last(co_await ask(*b, "register probe_b", "registered probe_b"));
    EXPECT_TRUE(co_await await_here(Atom("probe_b"), probe_b));
    EXPECT_TRUE(co_await await_there(*b, "probe_a", pid_text(probe)));
    EXPECT_TRUE(co_await await_there(*c, "probe_a", pid_text(probe)));
    EXPECT_TRUE(node->disconnect("b@127.0.0.1"));
    EXPECT_TRUE(node->disconnect("c@127.0.0.1"));
    EXPECT_TRUE(co_await await_here(Atom("probe_b"), "undefined"));
    EXPECT_TRUE(co_await await_there(*b, "probe_a", "undefined"));
    EXPECT_TRUE(co_await await_there(*c, "probe_a", "undefined"));
    // The name on each side.
    Pid mine = local_holder(self());
    yes = co_await global::register_name(Atom("n9"), mine);
    EXPECT_TRUE(yes);
    std::string theirs = co_await ask(*b, "register n9", "registered n9");
    EXPECT_TRUE(theirs.starts_with("registered n9 yes ")) << theirs;
    const std::string on_b = last(theirs);
    EXPECT_TRUE(co_await await_there(*c, "n9", on_b));
    // The heal.
    EXPECT_TRUE(co_await dist::connect(b->node()));
    EXPECT_TRUE(co_await dist::connect(c->node()));
    co_await global::sync();
    EXPECT_EQ(co_await next(*b, "down " + on_b), "down " + on_b + " killed");
    EXPECT_TRUE(co_await await_here(Atom("n9"), pid_text(mine)));
    EXPECT_TRUE(co_await await_there(*b, "n9", pid_text(mine)));
    EXPECT_TRUE(co_await await_there(*c, "n9", pid_text(mine)));
    exit(probe, atoms::kill);
    exit(mine, atoms::kill);
  });
}

TEST_F(GlobalTest, random_notify_name_keeps_one_and_tells_the_other_of_the_conflict) {
  auto b = child("b@127.0.0.1");
  run_test(two_workers, [&]() -> Task<> {
    auto [mine, theirs] = co_await partition_and_register(*node, *b, "n9", "random_notify_name");
    EXPECT_EQ(co_await next(*b, "got " + theirs), "got " + theirs + " {global_name_conflict,n9}");
    EXPECT_TRUE(co_await await_here(Atom("n9"), pid_text(mine)));
    EXPECT_TRUE(co_await await_there(*b, "n9", pid_text(mine)));
    exit(mine, atoms::kill);
  });
}

TEST_F(GlobalTest, a_custom_resolver_settles_a_name_conflict_after_a_partition_heals) {
  auto b = child("b@127.0.0.1");
  run_test(two_workers, [&]() -> Task<> {
    auto [mine, theirs] = co_await partition_and_register(*node, *b, "n8", "keep_larger");
    // keep_larger keeps b's holder and tells ours.
    Term lost = co_await expect<Term>(
        [](const Term& m) { return m.is_tuple() && m[0] == Term(Atom("lost")); });
    EXPECT_EQ(lost, Term::tuple(Atom("lost"), Atom("n8")));
    EXPECT_TRUE(co_await await_here(Atom("n8"), theirs));
    EXPECT_TRUE(co_await await_there(*b, "n8", theirs));
    EXPECT_TRUE(alive(mine));
    exit(mine, atoms::kill);
  });
}

TEST(GlobalLocalTest, names_work_on_a_node_without_distribution) {
  run_test([]() -> Task<> {
    Pid p = local_holder(self());
    // [snippet register]
    bool yes = co_await global::register_name(Atom("solo"), p);      // OTP's yes: true
    std::optional<Pid> holder = global::whereis_name(Atom("solo"));  // a read of this node's table
    // [snippet register]
    EXPECT_TRUE(yes);
    EXPECT_EQ(holder, p);
    EXPECT_FALSE(co_await global::register_name(Atom("solo"), self()));
    EXPECT_FALSE(co_await global::register_name(Atom("solo2"), p));  // one name per process
    EXPECT_EQ(global::whereis_name(Atom("solo")), p);
    EXPECT_EQ(global::registered_names(), std::vector<Term>{Term(Atom("solo"))});
    co_await global::sync();
    Ref r = monitor(p);
    exit(p, atoms::kill);
    co_await expect_down(r);
    EXPECT_TRUE(co_await await_here(Atom("solo"), "undefined"));
  });
}

}  // namespace
