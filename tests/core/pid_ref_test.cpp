#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <unordered_set>
#include <vector>

using namespace ambitious;

TEST(Pid, a_local_pid_prints_as_erlang_does) {
  EXPECT_EQ(to_string(Pid(nodes::local, 42, 0)), "<0.42.0>");
  EXPECT_TRUE(Pid(nodes::local, 42, 0).is_local());
  EXPECT_TRUE(Pid().is_null());
}

TEST(Pid, a_remote_pid_names_its_node_and_creation) {
  auto idx = nodes::intern(NodeId{Atom("b@host"), 7});
  ASSERT_TRUE(idx);
  Pid p(*idx, 10, 2);
  EXPECT_FALSE(p.is_local());
  EXPECT_EQ(p.node(), Atom("b@host"));
  EXPECT_EQ(p.creation(), 7u);
  EXPECT_EQ(nodes::intern(NodeId{Atom("b@host"), 7}), idx);
  EXPECT_NE(nodes::intern(NodeId{Atom("b@host"), 8}), idx);  // restarted node: another entry
}

TEST(Pid, pids_compare_by_node_then_id_then_serial) {
  EXPECT_LT(Pid(0, 1, 5), Pid(0, 2, 0));
  EXPECT_LT(Pid(0, 2, 0), Pid(0, 2, 1));
  EXPECT_EQ(Pid(0, 2, 1), Pid(0, 2, 1));
}

TEST(Ref, refs_are_unique_across_threads) {
  std::vector<std::vector<Ref>> made(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) made[t].push_back(Ref::make());
    });
  for (auto& th : threads) th.join();
  std::unordered_set<Ref> all;
  for (auto& v : made) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 40000u);
}

TEST(Ref, a_ref_prints_as_erlang_does) {
  Ref r;
  r.length = 3;
  r.words = {1, 2, 3, 0, 0};
  EXPECT_EQ(to_string(r), "#Ref<0.3.2.1>");
  EXPECT_TRUE(Ref().is_null());
  EXPECT_FALSE(Ref::make().is_null());
}
