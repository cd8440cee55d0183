// The hash table behind links and monitors, checked against std::unordered_map on random
// operations (the process tests exercise it through links and monitors as users see them).
#include "flat_table.hpp"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>
#include <unordered_set>

#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"

using namespace ambitious;
using ambitious::detail::FlatMap;
using ambitious::detail::FlatSet;

namespace {

Pid pid(std::uint32_t id) { return Pid{nodes::local, id, 0}; }

TEST(FlatTable, an_empty_table_finds_nothing_and_erases_nothing) {
  FlatSet<Pid> set;
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.contains(pid(1)));
  EXPECT_FALSE(set.erase(pid(1)));
  EXPECT_EQ(set.begin(), set.end());
}

TEST(FlatTable, insert_refuses_a_key_already_present) {
  FlatMap<Pid, int> map;
  EXPECT_TRUE(map.insert({pid(7), 1}));
  EXPECT_FALSE(map.insert({pid(7), 2}));
  ASSERT_NE(map.find(pid(7)), nullptr);
  EXPECT_EQ(map.find(pid(7))->second, 1);
  EXPECT_EQ(map.size(), 1u);
}

TEST(FlatTable, random_inserts_and_erases_agree_with_unordered_map) {
  // Small key ranges make long probe runs and many erasures inside them, which is where
  // backward-shift deletion can go wrong.
  std::mt19937 rng(12345);
  for (std::uint32_t range : {8u, 64u, 5000u}) {
    FlatMap<Pid, std::uint32_t> table;
    std::unordered_map<std::uint32_t, std::uint32_t> model;
    std::uniform_int_distribution<std::uint32_t> key(1, range);
    for (int step = 0; step < 200000; ++step) {
      std::uint32_t k = key(rng);
      switch (rng() % 3) {
        case 0:
        case 1:
          EXPECT_EQ(table.insert({pid(k), k * 3}), model.emplace(k, k * 3).second);
          break;
        case 2:
          EXPECT_EQ(table.erase(pid(k)), model.erase(k) == 1);
          break;
      }
      ASSERT_EQ(table.size(), model.size());
    }
    for (std::uint32_t k = 1; k <= range; ++k) {
      auto* e = table.find(pid(k));
      ASSERT_EQ(e != nullptr, model.contains(k)) << k;
      if (e) {
        EXPECT_EQ(e->second, k * 3);
      }
    }
    std::size_t seen = 0;
    for (auto& [p, v] : table) {
      EXPECT_EQ(model.at(p.id), v);
      ++seen;
    }
    EXPECT_EQ(seen, model.size());
  }
}

TEST(FlatTable, a_set_of_refs_grows_to_thousands_and_empties_again) {
  FlatSet<Ref> set;
  std::vector<Ref> refs;
  for (int i = 0; i < 10000; ++i) refs.push_back(Ref::make());
  for (auto& r : refs) EXPECT_TRUE(set.insert(r));
  EXPECT_EQ(set.size(), refs.size());
  for (auto& r : refs) EXPECT_TRUE(set.contains(r));
  for (auto& r : refs) EXPECT_TRUE(set.erase(r));
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.begin(), set.end());
}

}  // namespace

TEST(FlatTable, a_moved_from_table_is_empty_and_usable) {
  FlatSet<Pid> a;
  for (std::uint32_t k = 1; k <= 100; ++k) a.insert(pid(k));
  FlatSet<Pid> b(std::move(a));
  EXPECT_EQ(b.size(), 100u);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the state after a move is specified
  EXPECT_FALSE(a.contains(pid(1)));
  EXPECT_TRUE(a.insert(pid(1)));
  a = std::move(b);
  EXPECT_EQ(a.size(), 100u);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}
