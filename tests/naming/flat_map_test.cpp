#include "ambitious/naming/detail/flat_map.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>

using ambitious::detail::FlatMap;

namespace {

// A hash with few distinct values, so that clusters wrap around the array's end and erasing
// has to shift elements whose home slot lies before the hole.
struct FewHashes {
  std::size_t operator()(int k) const noexcept { return static_cast<std::size_t>(k % 5); }
};

// A probe that is not the key type: looked up without making a key.
struct Name {
  std::string text;
};
struct NameProbe {
  const char* text;
};
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(const Name& n) const noexcept { return std::hash<std::string>{}(n.text); }
  std::size_t operator()(const NameProbe& p) const noexcept {
    return std::hash<std::string>{}(std::string(p.text));
  }
};
struct NameEq {
  using is_transparent = void;
  bool operator()(const Name& a, const Name& b) const { return a.text == b.text; }
  bool operator()(const Name& a, const NameProbe& b) const { return a.text == b.text; }
};

template <class Map>
void expect_same(const Map& map, const std::unordered_map<int, int>& model) {
  ASSERT_EQ(map.size(), model.size());
  std::size_t seen = 0;
  for (const auto& [k, v] : map) {
    auto it = model.find(k);
    ASSERT_NE(it, model.end()) << "key " << k;
    EXPECT_EQ(v, it->second);
    ++seen;
  }
  EXPECT_EQ(seen, model.size());
  for (const auto& [k, v] : model) {
    auto it = map.find(k);
    ASSERT_NE(it, map.end()) << "key " << k;
    EXPECT_EQ(it->second, v);
  }
}

template <class Hash>
void random_operations_agree_with_std_unordered_map(int key_range) {
  FlatMap<int, int, Hash> map;
  std::unordered_map<int, int> model;
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> key(0, key_range - 1), op(0, 9);
  for (int step = 0; step < 20000; ++step) {
    int k = key(rng);
    switch (op(rng)) {
      case 0:
      case 1:
      case 2: {
        auto [it, fresh] = map.try_emplace(k, step);
        auto [mit, mfresh] = model.try_emplace(k, step);
        ASSERT_EQ(fresh, mfresh);
        ASSERT_EQ(it->second, mit->second);
        break;
      }
      case 3:
        map[k] += 1;
        model[k] += 1;
        break;
      case 4:
      case 5:
      case 6:
        ASSERT_EQ(map.erase(k), model.erase(k) == 1);
        break;
      case 7: {
        auto it = map.find(k);
        if (it != map.end()) map.erase(it);
        model.erase(k);
        break;
      }
      default:
        ASSERT_EQ(map.find(k) != map.end(), model.contains(k));
    }
    if (step % 1000 == 0) expect_same(map, model);
  }
  expect_same(map, model);
  while (!model.empty()) {
    int k = model.begin()->first;
    ASSERT_TRUE(map.erase(k));
    model.erase(k);
  }
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.begin(), map.end());
}

}  // namespace

TEST(FlatMap, random_inserts_and_erases_agree_with_std_unordered_map) {
  random_operations_agree_with_std_unordered_map<std::hash<int>>(3000);
}

TEST(FlatMap, colliding_hashes_survive_erases_that_shift_wrapped_clusters) {
  random_operations_agree_with_std_unordered_map<FewHashes>(64);
}

TEST(FlatMap, transparent_lookup_finds_a_key_by_its_probe) {
  FlatMap<Name, int, NameHash, NameEq> map;
  map.emplace(Name{"alpha"}, 1);
  map.emplace(Name{"beta"}, 2);
  EXPECT_EQ(map.find(NameProbe{"beta"})->second, 2);
  EXPECT_EQ(map.find(NameProbe{"gamma"}), map.end());
  EXPECT_TRUE(map.erase(NameProbe{"alpha"}));
  EXPECT_FALSE(map.erase(NameProbe{"alpha"}));
  EXPECT_EQ(map.size(), 1u);
}

TEST(FlatMap, move_only_values_move_with_the_map_and_its_rehashes) {
  FlatMap<int, std::unique_ptr<int>> map;
  map.reserve(3);
  for (int i = 0; i < 1000; ++i) map.try_emplace(i, std::make_unique<int>(i));
  FlatMap<int, std::unique_ptr<int>> moved(std::move(map));
  EXPECT_TRUE(map.empty());
  ASSERT_EQ(moved.size(), 1000u);
  for (int i = 0; i < 1000; i += 7) EXPECT_EQ(*moved.find(i)->second, i);
  map = std::move(moved);
  EXPECT_EQ(map.size(), 1000u);
  EXPECT_EQ(*map.find(999)->second, 999);
}

TEST(FlatMap, an_empty_map_finds_nothing_and_iterates_over_nothing) {
  const FlatMap<std::uint64_t, int> map;
  EXPECT_EQ(map.find(std::uint64_t{7}), map.end());
  EXPECT_EQ(map.begin(), map.end());
  EXPECT_EQ(map.size(), 0u);
}
