#include "ambitious/core/atom.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

using namespace ambitious;

TEST(Atom, the_same_name_gives_the_same_atom) {
  Atom a("hello"), b(std::string("hel") + "lo");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.name(), "hello");
  EXPECT_NE(a, Atom("world"));
}

TEST(Atom, predefined_atoms_have_their_names) {
  EXPECT_EQ(atoms::normal.name(), "normal");
  EXPECT_EQ(atoms::killed.name(), "killed");
  EXPECT_EQ(atoms::already_registered.name(), "already_registered");
  EXPECT_EQ(Atom("shutdown"), atoms::shutdown);
  EXPECT_EQ(Atom(), atoms::empty);
  EXPECT_EQ(atoms::not_found.name(), "not_found");
  EXPECT_EQ(atoms::pg.name(), "pg");
}

TEST(Atom, every_predefined_atom_is_the_table_entry_of_its_name) {
  for (std::string_view name : atoms::predefined) EXPECT_EQ(Atom(name).name(), name);
  for (std::uint32_t i = 0; i < std::size(atoms::predefined); ++i)
    EXPECT_EQ(Atom::from_index(i), Atom(atoms::predefined[i])) << atoms::predefined[i];
}

TEST(Atom, existing_never_creates_an_atom) {
  auto before = Atom::count();
  EXPECT_FALSE(Atom::existing("surely_no_such_atom_here_42").has_value());
  EXPECT_EQ(Atom::count(), before);
  EXPECT_EQ(Atom::existing("normal"), atoms::normal);
}

TEST(Atom, atoms_order_by_their_text_as_in_erlang) {
  EXPECT_LT(Atom("zebra_first_made"), Atom("zz"));
  EXPECT_LT(Atom("abc"), Atom("abd"));
  EXPECT_LT(Atom("ab"), Atom("abc"));
  EXPECT_GT(Atom("b"), Atom("aaaa"));
}

TEST(Atom, utf8_names_count_characters_not_bytes) {
  std::string s;
  for (int i = 0; i < 255; ++i) s += "\xc3\xa9";  // é: 2 bytes, 1 character
  EXPECT_TRUE(Atom::make(s).has_value());
  EXPECT_EQ(Atom::make(s + "x").error(), AtomError::too_long);
}

TEST(Atom, invalid_utf8_is_refused_with_a_clear_error) {
  EXPECT_EQ(Atom::make("\xff").error(), AtomError::invalid_utf8);
  EXPECT_EQ(Atom::make("\xc3").error(), AtomError::invalid_utf8);          // truncated
  EXPECT_EQ(Atom::make("\xc0\x80").error(), AtomError::invalid_utf8);      // overlong NUL
  EXPECT_EQ(Atom::make("\xed\xa0\x80").error(), AtomError::invalid_utf8);  // surrogate
  EXPECT_THROW(Atom("\xff"), std::invalid_argument);
}

TEST(Atom, concurrent_interning_agrees_on_one_atom_per_name) {
  std::vector<std::vector<Atom>> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) seen[t].push_back(Atom("concurrent_" + std::to_string(i)));
    });
  for (auto& th : threads) th.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(seen[t], seen[0]);
  EXPECT_EQ(seen[0][1999].name(), "concurrent_1999");
}
