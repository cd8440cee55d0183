// The node table is bounded: bytes from a peer cannot grow it for ever. Its own executable,
// since filling the process-wide table would change what the other core tests can decode.
#include "ambitious/core/node.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "ambitious/core/etf.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"

using namespace ambitious;
using namespace ambitious::etf;

namespace {

// The external format of <N.1.0> on node `name` with `creation` (NEW_PID_EXT).
std::vector<std::uint8_t> pid_bytes(std::string_view name, std::uint32_t creation) {
  std::vector<std::uint8_t> b{131, 88, 119, static_cast<std::uint8_t>(name.size())};
  b.insert(b.end(), name.begin(), name.end());
  for (std::uint32_t v : {1u, 0u, creation})
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
  return b;
}

TEST(NodeTable, interning_is_idempotent_and_this_node_is_index_zero) {
  EXPECT_EQ(nodes::intern(nodes::get(nodes::local)), nodes::local);
  auto a = nodes::intern(NodeId{Atom("a@host"), 1});
  ASSERT_TRUE(a);
  EXPECT_NE(*a, nodes::local);
  EXPECT_EQ(nodes::intern(NodeId{Atom("a@host"), 1}), a);
  EXPECT_EQ(nodes::get(*a), (NodeId{Atom("a@host"), 1}));
}

TEST(NodeTable, lookups_run_without_a_lock_while_other_threads_intern) {
  // Writers intern nodes while readers scan the indices: an index reads back as a whole entry
  // once the table holds it and as NodeId{} before, never as a torn or stale one.
  constexpr int writers = 3, each = 300;
  std::uint32_t first = *nodes::intern(NodeId{Atom("first@host"), 1});
  std::atomic<bool> done{false};
  std::vector<std::vector<std::uint32_t>> got(writers);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([w, &got] {
      Atom name("concurrent_" + std::to_string(w) + "@host");
      for (int c = 1; c <= each; ++c) {
        auto i = nodes::intern(NodeId{name, static_cast<std::uint32_t>(c)});
        ASSERT_TRUE(i);
        got[w].push_back(*i);
        EXPECT_EQ(nodes::get(*i), (NodeId{name, static_cast<std::uint32_t>(c)}));
      }
    });
  std::size_t seen = 0;
  std::thread reader([&] {
    while (!done.load(std::memory_order_relaxed)) {
      for (std::uint32_t i = first + 1; i <= first + writers * each; ++i) {
        NodeId n = nodes::get(i);
        if (n == NodeId{}) continue;
        ++seen;
        EXPECT_EQ(n.name.name().substr(0, 11), "concurrent_");
        EXPECT_TRUE(n.creation >= 1 && n.creation <= each);
      }
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  std::vector<std::uint32_t> all;
  for (int w = 0; w < writers; ++w) {
    Atom name("concurrent_" + std::to_string(w) + "@host");
    for (int c = 1; c <= each; ++c)
      EXPECT_EQ(nodes::get(got[w][c - 1]), (NodeId{name, static_cast<std::uint32_t>(c)}));
    all.insert(all.end(), got[w].begin(), got[w].end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  EXPECT_EQ(all.front(), first + 1);
  EXPECT_EQ(all.back(), first + writers * each);
}

TEST(NodeTable, a_peer_sending_ever_new_creations_fills_the_table_and_then_gets_an_error) {
  auto known = decode(pid_bytes("known@host", 1));
  ASSERT_TRUE(known);
  std::optional<DecodeError> refused;
  std::uint32_t creation = 2;
  for (; creation < 2 * nodes::max_nodes && !refused; ++creation) {
    auto t = decode(pid_bytes("flood@host", creation));
    if (!t) refused = t.error();
  }
  ASSERT_TRUE(refused) << "the table never filled";
  EXPECT_EQ(refused->code, DecodeErrc::node_table_full);
  EXPECT_EQ(refused->offset, 1u);  // the pid's tag
  // Decodes stop short of the table's reserve, which stays for the program's own nodes.
  EXPECT_LE(creation, nodes::max_nodes - DecodeOptions{}.node_reserve + 2);
  // What is known still decodes, to the same pid.
  auto again = decode(pid_bytes("known@host", 1));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *known);
  EXPECT_TRUE(nodes::intern(NodeId{Atom("another@host"), 1}));
}

TEST(NodeTable, one_term_makes_at_most_its_budget_of_new_nodes) {
  // A list of 1,100 pids, each of another creation of one node name.
  std::vector<std::uint8_t> list{131, 108, 0, 0, 0x04, 0x4C};
  for (std::uint32_t c = 1; c <= 1100; ++c) {
    auto pid = pid_bytes("many@host", c);
    list.insert(list.end(), pid.begin() + 1, pid.end());
  }
  list.push_back(106);
  std::uint32_t before = nodes::count();
  auto refused = decode(list);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, DecodeErrc::node_budget);
  EXPECT_EQ(nodes::count(), before + DecodeOptions{}.max_new_nodes);
  DecodeOptions more;
  more.max_new_nodes = 2000;
  auto taken = decode(list, more);
  ASSERT_TRUE(taken) << to_string(taken.error());
  EXPECT_EQ(taken->size(), 1100u);
}

}  // namespace
