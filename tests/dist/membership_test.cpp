// Cluster membership (cluster.hpp) with three nodes, each an OS process of its own (the
// examples/cluster program as `cluster member NAME EPMD_PORT`, which prints its members after
// each change), on an epmd of this test's own on a free port; the members talk over the carrier
// under test (carrier_under_test.hpp).

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <ambitious/ambitious.hpp>
#include <ambitious/dist/cluster.hpp>
#include <ambitious/dist/epmd_server.hpp>
#include <ambitious/dist/node.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../patience.hpp"
#include "carrier_under_test.hpp"
#include "child_process.hpp"
#include "erl_node.hpp"

namespace ambitious::dist {
namespace {

using test::ChildProcess;
using test::patience;

const std::string a = "a@127.0.0.1", b = "b@127.0.0.1", c = "c@127.0.0.1";
// Every node of this suite, for the certificates of TLS and QUIC.
const std::vector<std::string> cluster{a, b, c, "self@127.0.0.1"};

// One member node, and the lines it printed.
class Member {
 public:
  // `options`: the program's own (--partial, --forget-after MS).
  Member(std::string name, std::uint16_t epmd_port, std::string seeds,
         std::vector<std::string> options = {})
      : name_(std::move(name)),
        port_(epmd_port),
        seeds_(std::move(seeds)),
        options_(std::move(options)) {
    start();
  }

  void start() {
    std::vector<std::string> argv{CLUSTER_BINARY, "member", name_, std::to_string(port_)};
    argv.insert(argv.end(), options_.begin(), options_.end());
    for (auto& flag : test::carrier_flags(name_, cluster)) argv.push_back(flag);
    process_ = std::make_unique<ChildProcess>(
        argv, std::vector<std::pair<std::string, std::string>>{{"AMBITIOUS_SEEDS", seeds_}});
  }

  // kill -9, and reaped.
  void kill() {
    process_->signal(SIGKILL);
    ASSERT_TRUE(process_->wait(patience));
  }

  // Waits for the line that says the members up are `up` (and, when given, known `known`).
  ::testing::AssertionResult wait_for(const std::string& up, const std::string& known = "") {
    const std::string want = "members up=" + up + " known=" + known;
    return read_until(want, known.empty());
  }

  // Waits for the line `line` exactly.
  ::testing::AssertionResult wait_for_line(const std::string& line) {
    return read_until(line, false);
  }

  // Every line printed so far.
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  // Reads lines until one is `want` (or, with `prefix`, starts with it).
  ::testing::AssertionResult read_until(const std::string& want, bool prefix) {
    for (;;) {
      auto line = process_->read_line(patience);
      if (!line)
        return ::testing::AssertionFailure()
               << name_ << " never printed \"" << want << "\"; it printed:\n"
               << process_->log();
      lines_.push_back(*line);
      if (prefix ? line->starts_with(want) : *line == want) return ::testing::AssertionSuccess();
    }
  }

  std::string name_;
  std::uint16_t port_;
  std::string seeds_;
  std::vector<std::string> options_;
  std::unique_ptr<ChildProcess> process_;
  std::vector<std::string> lines_;
};

class MembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::secure_carrier()) {
      ASSERT_FALSE(test::cluster_certificates(cluster).empty())
          << "no certificates for " << test::carrier_under_test() << " (is gnutls-bin installed?)";
    }
    auto server = epmd::Server::start({.address = "127.0.0.1", .port = 0});
    ASSERT_TRUE(server) << server.error().detail;
    epmd_ = std::move(*server);
  }
  std::uint16_t port() const { return epmd_->port(); }

  // Each of a, b and c, in this order, lists the two others as members, up.
  static void expect_full_mesh(Member& ma, Member& mb, Member& mc) {
    EXPECT_TRUE(ma.wait_for(b + "," + c, b + "," + c));
    EXPECT_TRUE(mb.wait_for(a + "," + c, a + "," + c));
    EXPECT_TRUE(mc.wait_for(a + "," + b, a + "," + b));
  }

  std::unique_ptr<epmd::Server> epmd_;
};

// b and c know only a: the mesh between them comes from a's list of members.
TEST_F(MembershipTest, ThreeNodesFromOneSeedFormAFullMesh) {
  Member ma(a, port(), "");
  Member mb(b, port(), a);
  Member mc(c, port(), a);
  expect_full_mesh(ma, mb, mc);
  // Each connection is on the carrier under test (the members print it after their members).
  EXPECT_TRUE(mc.wait_for_line("  " + a + ": " + test::carrier_under_test()));
  EXPECT_TRUE(mc.wait_for_line("  " + b + ": " + test::carrier_under_test()));
}

TEST_F(MembershipTest, AKilledNodeIsSeenDownByBothOthersAndRejoinsWhenRestarted) {
  const std::string seeds = a + "," + b + "," + c;  // the same list everywhere, itself included
  Member ma(a, port(), seeds);
  Member mb(b, port(), seeds);
  Member mc(c, port(), seeds);
  expect_full_mesh(ma, mb, mc);
  if (HasFailure()) return;

  mc.kill();
  EXPECT_TRUE(ma.wait_for(b, b + "," + c));  // down, still known (a seed)
  EXPECT_TRUE(mb.wait_for(a, a + "," + c));

  mc.start();
  expect_full_mesh(ma, mb, mc);
}

// a has no seeds: only b's and c's redialing (with backoff) brings it back into the cluster.
TEST_F(MembershipTest, ASeedThatDiesIsRedialedWhenItReturns) {
  Member ma(a, port(), "");
  Member mb(b, port(), a);
  Member mc(c, port(), a);
  expect_full_mesh(ma, mb, mc);
  if (HasFailure()) return;

  ma.kill();
  EXPECT_TRUE(mb.wait_for(c, a + "," + c));  // b and c keep each other
  EXPECT_TRUE(mc.wait_for(b, a + "," + b));

  ma.start();
  expect_full_mesh(ma, mb, mc);
}

// A learned member (not a seed) down longer than forget_after is dialed no more; back, it joins
// again through its seed.
TEST_F(MembershipTest, ALearnedMemberDownLongerThanForgetAfterIsForgotten) {
  Member ma(a, port(), "");
  Member mb(b, port(), a, {"--forget-after", "300"});
  Member mc(c, port(), a);
  expect_full_mesh(ma, mb, mc);
  if (HasFailure()) return;

  mc.kill();
  EXPECT_TRUE(mb.wait_for(a, a + "," + c));  // down, known: redialed for a while
  EXPECT_TRUE(mb.wait_for(a, a));            // then forgotten
  EXPECT_TRUE(ma.wait_for(b, b + "," + c));  // a's forget_after is the default: still known

  mc.start();
  expect_full_mesh(ma, mb, mc);
}

// connect_all false (erl -connect_all false): b and c connect to their seed a only; they learn
// of each other from a and do not dial each other.
TEST_F(MembershipTest, PartialModeKeepsTheMeshPartial) {
  Member ma(a, port(), "", {"--partial"});
  Member mb(b, port(), a, {"--partial"});
  ASSERT_TRUE(ma.wait_for(b, b));
  ASSERT_TRUE(mb.wait_for(a, a));
  Member mc(c, port(), a, {"--partial"});
  EXPECT_TRUE(ma.wait_for(b + "," + c, b + "," + c));
  EXPECT_TRUE(mc.wait_for(a, a + "," + b));  // b known (from a's hello), not connected
  EXPECT_TRUE(mb.wait_for(a, a + "," + c));
  // Without a, b and c have nothing between them (a full mesh would keep them connected).
  ma.kill();
  EXPECT_TRUE(mb.wait_for("", a + "," + c));
  EXPECT_TRUE(mc.wait_for("", a + "," + b));
  for (const auto& line : mb.lines()) EXPECT_FALSE(line.starts_with("members up=" + a + "," + c));
  for (const auto& line : mc.lines()) EXPECT_FALSE(line.starts_with("members up=" + a + "," + b));
}

// An Erlang node as a seed: connected to (hidden, as every ambitious connection), and a member,
// though it says no hello (it runs no ambitious_members).
TEST_F(MembershipTest, AnErlangSeedIsConnectedToAndCountsAsAMember) {
  if (!test::have_erl()) GTEST_SKIP() << "erl is not installed";
  if (test::secure_carrier()) GTEST_SKIP() << "the Erlang seed speaks plain TCP only";
  const std::string e = "e@127.0.0.1";
  test::ErlNode erl({.name = e, .cookie = "cluster-example", .epmd_port = port()});
  ASSERT_TRUE(erl.ready()) << erl.log();
  Member ma(a, port(), e);
  EXPECT_TRUE(ma.wait_for(e, e));
  EXPECT_EQ(erl.eval("nodes(hidden)."), "['" + a + "']");
}

// In this test's own process: one membership process per node, and leave_cluster ends it.
TEST_F(MembershipTest, JoiningTwiceIsRefusedAndLeavingEndsMembership) {
  NodeOptions options{.name = "self@127.0.0.1", .cookie = "cluster-example", .epmd_port = port()};
  ASSERT_TRUE(test::use_carrier_under_test(options, cluster));
  auto node = Node::start(options);
  ASSERT_TRUE(node) << node.error().detail;
  std::optional<ClusterErrc> second;
  std::optional<Members> first_view;
  bool ended = false, joined_again = false;
  run([&]() -> Task<> {
    auto joined = join_cluster({.seeds = {"self@127.0.0.1"}});  // itself only: no one to dial
    if (!joined) co_return;
    auto again = join_cluster();
    if (!again) second = again.error().code;
    monitor_members(true);
    auto view = co_await receive<MembersChanged>(patience);
    if (view) first_view = view->members;
    Ref ref = monitor(*joined);
    leave_cluster();
    auto down = co_await receive_if<Down>([&](const Down& d) { return d.ref == ref; }, patience);
    ended = down.has_value();
    auto third = join_cluster();
    joined_again = third.has_value();
    leave_cluster();
  });
  EXPECT_EQ(second, ClusterErrc::already_joined);
  EXPECT_EQ(first_view, Members{});
  EXPECT_TRUE(ended);
  EXPECT_TRUE(joined_again);
  (*node)->stop();
}

TEST(MembershipSeeds, BadSeedEntriesGiveAClearError) {
  auto bad = parse_seeds("a@127.0.0.1, @nohost");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ClusterErrc::bad_seed);
  EXPECT_NE(bad.error().detail.find("\"@nohost\""), std::string::npos) << bad.error().detail;

  auto missing = seeds_from_file("/nonexistent/seeds");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ClusterErrc::no_seed_file);
  EXPECT_NE(missing.error().detail.find("/nonexistent/seeds"), std::string::npos);

  // A node given a bad AMBITIOUS_SEEDS says which entry, and does not join.
  auto server = epmd::Server::start({.address = "127.0.0.1", .port = 0});
  ASSERT_TRUE(server);
  ChildProcess child({CLUSTER_BINARY, "member", a, std::to_string((*server)->port())},
                     {{"AMBITIOUS_SEEDS", "b@127.0.0.1,c@"}});
  auto status = child.wait(patience);
  ASSERT_TRUE(status) << child.log();
  EXPECT_EQ(*status, 2) << child.log();
  EXPECT_NE(child.log().find("AMBITIOUS_SEEDS: seed \"c@\""), std::string::npos) << child.log();
}

TEST(MembershipSeeds, SeedListsTakeCommasSpacesNewlinesAndComments) {
  auto seeds =
      parse_seeds("a@127.0.0.1,b@127.0.0.1 \n# the third\nc@127.0.0.1 # last\na@127.0.0.1");
  ASSERT_TRUE(seeds) << seeds.error().detail;
  EXPECT_EQ(*seeds, (std::vector<std::string>{a, b, c}));  // duplicates once

  const std::string path = ::testing::TempDir() + "membership_seeds_" + std::to_string(getpid());
  std::ofstream(path) << "# seeds\n" << a << "\n" << b << "\n";
  auto from_file = seeds_from_file(path);
  std::remove(path.c_str());
  ASSERT_TRUE(from_file) << from_file.error().detail;
  EXPECT_EQ(*from_file, (std::vector<std::string>{a, b}));
}

TEST(MembershipSeeds, JoiningWithoutDistributionIsRefused) {
  std::optional<ClusterErrc> code;
  run([&]() -> Task<> {
    auto joined = join_cluster({.seeds = {a}});
    if (!joined) code = joined.error().code;
    co_return;
  });
  EXPECT_EQ(code, ClusterErrc::not_alive);
  EXPECT_EQ(cluster_members(), Members{});
}

}  // namespace
}  // namespace ambitious::dist
