#include "ambitious/core/integer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

// integer_add and integer_subtract: Erlang's + and - on integers of any size, checked where
// the representation changes (the 64-bit edges, carries and borrows across bytes, results that
// shrink back to small integers) and against values computed by Erlang (in the comments).

using namespace ambitious;

namespace {

// 2^bits, as Erlang's `1 bsl Bits`.
Term power_of_two(unsigned bits, bool negative = false) {
  std::vector<std::uint8_t> m(bits / 8 + 1, 0);
  m.back() = static_cast<std::uint8_t>(1u << (bits % 8));
  return Term::integer(negative, m);
}

}  // namespace

TEST(IntegerArithmetic, small_integers_add_and_subtract_as_int64) {
  EXPECT_EQ(integer_add(Term(40), Term(2)), Term(42));
  EXPECT_EQ(integer_add(Term(-5), Term(2)), Term(-3));
  EXPECT_EQ(integer_subtract(Term(2), Term(5)), Term(-3));
  EXPECT_EQ(integer_subtract(Term(0), Term(0)), Term(0));
}

TEST(IntegerArithmetic, overflowing_64_bits_gives_a_big_integer) {
  // (1 bsl 63) - 1 + 1 =:= 1 bsl 63
  auto r = integer_add(Term(INT64_MAX), Term(1));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_big());
  EXPECT_EQ(*r, power_of_two(63));
  // -(1 bsl 63) - 1 =:= -((1 bsl 63) + 1)
  auto s = integer_subtract(Term(INT64_MIN), Term(1));
  ASSERT_TRUE(s);
  std::vector<std::uint8_t> m{1, 0, 0, 0, 0, 0, 0, 0x80};
  EXPECT_EQ(*s, Term::integer(true, m));
  // INT64_MIN's magnitude does not fit in int64: 0 - INT64_MIN =:= 1 bsl 63
  EXPECT_EQ(integer_subtract(Term(0), Term(INT64_MIN)), power_of_two(63));
}

TEST(IntegerArithmetic, big_integers_carry_and_borrow_across_bytes) {
  // (1 bsl 64) + (1 bsl 64) =:= 1 bsl 65
  EXPECT_EQ(integer_add(power_of_two(64), power_of_two(64)), power_of_two(65));
  // (1 bsl 200) - 1 + 1 =:= 1 bsl 200
  auto below = integer_subtract(power_of_two(200), Term(1));
  ASSERT_TRUE(below);
  EXPECT_EQ(below->big_magnitude().size(), 25u);  // 200 one bits: 25 bytes of 0xff
  for (auto byte : below->big_magnitude()) EXPECT_EQ(byte, 0xff);
  EXPECT_EQ(integer_add(*below, Term(1)), power_of_two(200));
}

TEST(IntegerArithmetic, a_result_that_fits_in_64_bits_is_small_again) {
  // (1 bsl 200) + (-(1 bsl 200) - 7) =:= -7
  auto minus = integer_subtract(power_of_two(200, true), Term(7));
  ASSERT_TRUE(minus);
  auto r = integer_add(power_of_two(200), *minus);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->is_big());
  EXPECT_EQ(*r, Term(-7));
  EXPECT_EQ(integer_subtract(power_of_two(100), power_of_two(100)), Term(0));
  EXPECT_EQ(integer_add(power_of_two(63), Term(-1)), Term(INT64_MAX));
}

TEST(IntegerArithmetic, opposite_signs_take_the_sign_of_the_larger_magnitude) {
  // 5 + -(1 bsl 70) =:= -((1 bsl 70) - 5)
  auto r = integer_add(Term(5), power_of_two(70, true));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->big_negative());
  EXPECT_EQ(integer_add(*r, Term(-5)), power_of_two(70, true));
  // 15 - (5 - (1 bsl 70)) =:= (1 bsl 70) + 10
  EXPECT_EQ(integer_subtract(Term(15), *r), integer_add(power_of_two(70), Term(10)));
}

TEST(IntegerArithmetic, anything_but_integers_gives_nothing) {
  EXPECT_FALSE(integer_add(Term(1), Term(1.0)));
  EXPECT_FALSE(integer_add(Term(Atom("a")), Term(1)));
  EXPECT_FALSE(integer_subtract(Term(1), Term()));
}
