#include "ambitious/core/functional.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace detail = ambitious::detail;  // detail::invoke, qualified: no ADL finds std::invoke

namespace {

struct Counter {
  int n = 0;
  int add(int k) { return n += k; }
  int get() const { return n; }
  int& ref() { return n; }
};

int twice(int x) { return 2 * x; }

}  // namespace

TEST(Invoke, calls_functions_lambdas_and_function_objects) {
  EXPECT_EQ(detail::invoke(twice, 4), 8);
  EXPECT_EQ(detail::invoke(&twice, 5), 10);
  EXPECT_EQ(
      detail::invoke([](const std::string& a, const std::string& b) { return a + b; }, "x", "y"),
      "xy");
  std::function<int(int)> f = [](int x) { return x + 1; };
  EXPECT_EQ(detail::invoke(f, 1), 2);
}

TEST(Invoke, applies_a_pointer_to_member_to_an_object_a_pointer_or_a_reference_wrapper) {
  Counter c;
  EXPECT_EQ(detail::invoke(&Counter::add, c, 2), 2);
  EXPECT_EQ(detail::invoke(&Counter::add, &c, 3), 5);
  EXPECT_EQ(detail::invoke(&Counter::add, std::ref(c), 4), 9);
  auto owner = std::make_unique<Counter>();
  EXPECT_EQ(detail::invoke(&Counter::add, *owner, 1), 1);
  EXPECT_EQ(detail::invoke(&Counter::get, std::as_const(c)), 9);
  EXPECT_EQ(detail::invoke(&Counter::n, c), 9);
}

TEST(Invoke, returns_what_the_callee_returns_references_included) {
  Counter c;
  detail::invoke(&Counter::ref, c) = 7;
  EXPECT_EQ(c.n, 7);
  detail::invoke(&Counter::n, c) = 8;
  EXPECT_EQ(c.n, 8);
  int x = 1;
  detail::invoke([](int& r) -> int& { return r; }, x) = 3;
  EXPECT_EQ(x, 3);
  static_assert(std::is_same_v<decltype(detail::invoke(&Counter::n, c)), int&>);
  static_assert(std::is_same_v<decltype(detail::invoke(&Counter::n, std::move(c))), int&&>);
}
