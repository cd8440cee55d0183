#include "ambitious/naming/detail/small_vector.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

using ambitious::detail::SmallVector;

namespace {

std::vector<std::string> contents(const SmallVector<std::string>& v) {
  return std::vector<std::string>(v.begin(), v.end());
}

}  // namespace

TEST(SmallVector, one_element_in_place_then_many_on_the_heap_keep_their_order) {
  SmallVector<std::string> v;
  EXPECT_TRUE(v.empty());
  std::vector<std::string> model;
  for (int i = 0; i < 100; ++i) {
    v.push_back("element number " + std::to_string(i));  // long enough not to fit in SSO
    model.push_back("element number " + std::to_string(i));
    ASSERT_EQ(contents(v), model);
  }
  EXPECT_EQ(v.front(), model.front());
  EXPECT_EQ(v.back(), model.back());
  while (!model.empty()) {
    v.pop_back();
    model.pop_back();
    ASSERT_EQ(contents(v), model);
  }
}

TEST(SmallVector, erase_of_a_range_moves_the_rest_down) {
  SmallVector<std::string> v;
  for (const char* s : {"a", "b", "c", "d", "e"}) v.push_back(s);
  v.erase(v.begin() + 1, v.begin() + 3);
  EXPECT_EQ(contents(v), (std::vector<std::string>{"a", "d", "e"}));
  v.erase(v.begin(), v.end());
  EXPECT_TRUE(v.empty());
}

TEST(SmallVector, moves_take_the_element_in_place_or_the_heap_block) {
  SmallVector<std::unique_ptr<int>> one;
  one.push_back(std::make_unique<int>(1));
  SmallVector<std::unique_ptr<int>> moved(std::move(one));
  EXPECT_TRUE(one.empty());
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(*moved[0], 1);

  SmallVector<std::unique_ptr<int>> many;
  for (int i = 0; i < 5; ++i) many.push_back(std::make_unique<int>(i));
  const int* third = many[2].get();
  moved = std::move(many);
  EXPECT_TRUE(many.empty());
  ASSERT_EQ(moved.size(), 5u);
  EXPECT_EQ(moved[2].get(), third);
  many = std::move(moved);
  EXPECT_EQ(*many[4], 4);
}
