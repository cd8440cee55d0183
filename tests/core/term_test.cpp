#include "ambitious/core/term.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <unordered_set>

using namespace ambitious;

TEST(Term, a_default_term_is_the_empty_list) {
  Term t;
  EXPECT_TRUE(t.is_nil());
  EXPECT_TRUE(t.is_list());
  EXPECT_EQ(t.to_string(), "[]");
}

TEST(Term, atoms_and_small_integers_are_inline_and_compare_by_value) {
  Term a = atoms::ok, i = 42, j = std::int64_t{42};
  EXPECT_TRUE(a.is_atom());
  EXPECT_EQ(a.as_atom(), atoms::ok);
  EXPECT_EQ(i, j);
  EXPECT_EQ(i.as_int64(), 42);
  EXPECT_EQ(a, atoms::ok);
  EXPECT_NE(a, Term(atoms::error));
}

TEST(Term, a_tuple_converts_its_arguments) {
  Pid p(0, 7, 0);
  Term t = Term::tuple(atoms::ok, 42, "bin", p, Term::list(1, 2, 3));
  ASSERT_TRUE(t.is_tuple());
  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0], atoms::ok);
  EXPECT_EQ(t.element(2), 42);
  EXPECT_EQ(t[2].as_string_view(), "bin");
  EXPECT_EQ(t[3].as_pid(), p);
  EXPECT_EQ(t.to_string(), "{ok,42,<<\"bin\">>,<0.7.0>,[1,2,3]}");
  EXPECT_EQ(t.to_string(TermFormat::w), "{ok,42,<<98,105,110>>,<0.7.0>,[1,2,3]}");
}

TEST(Term, copying_a_large_binary_shares_its_bytes) {
  std::string big(1 << 20, 'x');
  Term a = Term::binary(big);
  Term b = a;
  EXPECT_EQ(a.bytes().data(), b.bytes().data());
  EXPECT_EQ(b.size(), big.size());
}

TEST(Term, match_binds_only_when_the_whole_pattern_matches) {
  Term msg = Term::tuple(atoms::EXIT, Pid(0, 3, 0), atoms::normal);
  Pid from;
  Term reason;
  EXPECT_TRUE(msg.match(atoms::EXIT, &from, &reason));
  EXPECT_EQ(from, Pid(0, 3, 0));
  EXPECT_EQ(reason, atoms::normal);
  Atom tag = atoms::undefined;
  EXPECT_FALSE(msg.match(&tag, _, atoms::kill));
  EXPECT_EQ(tag, atoms::undefined);
  EXPECT_TRUE(msg.match(_, _, _));
  EXPECT_FALSE(msg.match(_, _));
  if (auto m = msg.as_tuple<3>()) {
    auto& [t, f, r] = *m;
    EXPECT_EQ(t, atoms::EXIT);
    EXPECT_EQ(r, atoms::normal);
  } else {
    ADD_FAILURE();
  }
}
