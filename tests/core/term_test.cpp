#include "ambitious/core/term.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unordered_set>

#include "small_stack.hpp"

using namespace ambitious;

namespace {

// Terms a million levels deep around `leaf`, and the length of their printed text.
constexpr std::size_t deep = 1'000'000;
struct DeepShape {
  const char* name;
  std::function<Term(Term)> build;
  std::size_t text_size;  // with a leaf of one character
};
std::vector<DeepShape> deep_shapes() {
  return {
      {"nested one-element tuples {{...}}",
       [](Term t) {
         for (std::size_t i = 0; i < deep; ++i) t = Term::tuple(std::move(t));
         return t;
       },
       2 * deep + 1},
      {"nested lists as heads [[...]]",
       [](Term t) {
         for (std::size_t i = 0; i < deep; ++i) t = Term::list(std::move(t));
         return t;
       },
       2 * deep + 1},
      {"maps nested in values #{ok => #{ok => ...}}",
       [](Term t) {
         for (std::size_t i = 0; i < deep; ++i) t = Term::map({{atoms::ok, std::move(t)}});
         return t;
       },
       9 * deep + 1},
      {"maps nested in keys #{#{... => ok} => ok}",
       [](Term t) {
         for (std::size_t i = 0; i < deep; ++i) t = Term::map({{std::move(t), atoms::ok}});
         return t;
       },
       9 * deep + 1},
      {"tuples, lists and maps in turn",
       [](Term t) {
         for (std::size_t i = 0; i < deep; ++i) {
           if (i % 3 == 0) t = Term::tuple(atoms::ok, std::move(t));
           if (i % 3 == 1) t = Term::list(std::move(t), atoms::error);
           if (i % 3 == 2) t = Term::map({{std::move(t), atoms::undefined}});
         }
         return t;
       },
       0},
  };
}

}  // namespace

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

TEST(Term, kinds_sort_in_erlang_term_order) {
  std::vector<Term> ascending = {Term(1),
                                 Term(atoms::ok),
                                 Term(Ref::make()),
                                 Term::export_fun(atoms::ok, atoms::ok, 0),
                                 Term(Port(0, 1)),
                                 Term(Pid(0, 1, 0)),
                                 Term::tuple(1),
                                 Term::map({{1, 2}}),
                                 Term(),
                                 Term::list(1),
                                 Term::binary("a")};
  for (std::size_t i = 0; i + 1 < ascending.size(); ++i)
    EXPECT_LT(ascending[i], ascending[i + 1]) << i;
}

TEST(Term, integers_and_floats_compare_by_value_but_are_not_exactly_equal) {
  EXPECT_TRUE(Term(1) <=> Term(1.0) == 0);
  EXPECT_NE(Term(1), Term(1.0));
  EXPECT_LT(Term(1), Term(1.5));
  EXPECT_LT(Term(INT64_MAX), Term(std::uint64_t{1} << 63));
  EXPECT_TRUE(Term(std::uint64_t{1} << 63) <=> Term(9223372036854775808.0) == 0);
  EXPECT_TRUE(Term::compare_exact(Term(2), Term(1.0)) < 0);  // map keys: integers first
  EXPECT_EQ(Term(0.0), Term(-0.0));                          // OTP 25: 0.0 =:= -0.0
  EXPECT_EQ(Term(0.0).hash(), Term(-0.0).hash());
}

TEST(Term, lists_compare_and_hash_the_same_however_they_were_built) {
  Term flat = Term::list(1, 2, 3);
  Term consed = Term::cons(1, Term::cons(2, Term::cons(3, Term())));
  EXPECT_EQ(flat, consed);
  EXPECT_EQ(flat.hash(), consed.hash());
  EXPECT_EQ(consed.size(), 3u);
  EXPECT_EQ(flat.tail(), Term::list(2, 3));
  EXPECT_LT(Term::list(1, 2), flat);  // a prefix sorts first
  EXPECT_LT(Term::list_from(std::vector<Term>{1}, atoms::ok), Term::list(1, 2));
}

TEST(Term, a_long_consed_list_frees_without_recursion) {
  Term list;
  for (int i = 0; i < 1'000'000; ++i) list = Term::cons(i, std::move(list));
  EXPECT_EQ(list.size(), 1'000'000u);
  list = Term();  // would overflow the stack if freeing recursed on tails
  EXPECT_TRUE(list.is_nil());
}

TEST(Term, maps_keep_one_value_per_exact_key_in_key_order) {
  Term m = Term::map({{atom("b"), 1}, {1.0, 2}, {1, 3}, {atom("b"), 4}});
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(*m.find(atom("b")), 4);
  EXPECT_EQ(*m.find(1), 3);
  EXPECT_EQ(*m.find(1.0), 2);
  EXPECT_EQ(m.find(2), nullptr);
  EXPECT_EQ(m.to_string(), "#{1 => 3,1.0 => 2,b => 4}");
}

TEST(Term, printing_quotes_atoms_and_lays_out_floats_as_erlang_does) {
  EXPECT_EQ(Term(atoms::EXIT).to_string(), "'EXIT'");
  EXPECT_EQ(atom("hello world").to_string(), "'hello world'");
  EXPECT_EQ(atom("and").to_string(), "'and'");
  EXPECT_EQ(atom("ok@host").to_string(), "ok@host");
  EXPECT_EQ(Term(0.1).to_string(), "0.1");
  EXPECT_EQ(Term(100.0).to_string(), "100.0");
  EXPECT_EQ(Term(1000.0).to_string(), "1.0e3");
  EXPECT_EQ(Term(1.0e-5).to_string(), "1.0e-5");
  EXPECT_EQ(Term(-0.0).to_string(), "-0.0");
  EXPECT_EQ(Term::string("hi").to_string(), "\"hi\"");
  EXPECT_EQ(Term::string("hi").to_string(TermFormat::w), "[104,105]");
  EXPECT_EQ(Term::string("hi").as_charlist(), "hi");
  EXPECT_EQ(Term::list_from(std::vector<Term>{1}, atoms::ok).to_string(), "[1|ok]");
  EXPECT_EQ(Term(std::uint64_t{18446744073709551615u}).to_string(), "18446744073709551615");
  std::ostringstream s;
  s << Term::tuple(atoms::ok, Term::binary("x"));
  EXPECT_EQ(s.str(), "{ok,<<\"x\">>}");
}

TEST(Term, accessors_of_the_wrong_kind_throw) {
  EXPECT_THROW((void)Term(1).as_atom(), BadTerm);
  EXPECT_THROW((void)Term::tuple(1)[1], BadTerm);
  EXPECT_THROW((void)Term().head(), BadTerm);
  std::unordered_set<Term> set{Term(1), Term(1.0), Term::list(1)};
  EXPECT_EQ(set.size(), 3u);
}

TEST(Term, strings_decode_utf8_and_keep_each_invalid_byte_as_itself) {
  EXPECT_EQ(Term::string("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80").to_string(TermFormat::w),
            "[233,8364,128512]");
  // An overlong form, a lone continuation byte and a byte that never starts a sequence.
  EXPECT_EQ(Term::string("\xC0\xAF").to_string(TermFormat::w), "[192,175]");
  EXPECT_EQ(Term::string("a\x80z").to_string(TermFormat::w), "[97,128,122]");
  EXPECT_EQ(Term::string("\xFF").to_string(TermFormat::w), "[255]");
  // A surrogate encoded in UTF-8 (CESU) is not a character either.
  EXPECT_EQ(Term::string("\xED\xA0\x80").to_string(TermFormat::w), "[237,160,128]");

  EXPECT_EQ(Term::list(233, 8364, 128512).as_charlist(), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_EQ(Term::list(0xD800).as_charlist(), std::nullopt);
  EXPECT_EQ(Term::list(0x110000).as_charlist(), std::nullopt);
  EXPECT_EQ(Term::list(-1).as_charlist(), std::nullopt);
}

TEST(Term, every_operation_on_a_term_a_million_levels_deep_takes_constant_stack) {
  // 256 KiB of stack: recursion would need hundreds of MB at this depth.
  test::on_small_stack([] {
    for (const DeepShape& shape : deep_shapes()) {
      SCOPED_TRACE(shape.name);
      Term a = shape.build(Term(1)), b = shape.build(Term(1)), c = shape.build(Term(2));
      EXPECT_TRUE(a == b);  // built apart: equality walks all the way down
      EXPECT_FALSE(a == c);
      EXPECT_EQ(Term::compare(a, b), std::weak_ordering::equivalent);
      EXPECT_EQ(a <=> c, std::weak_ordering::less);
      EXPECT_EQ(c <=> a, std::weak_ordering::greater);
      EXPECT_EQ(Term::compare_exact(a, b), std::strong_ordering::equal);
      EXPECT_EQ(Term::compare_exact(a, c), std::strong_ordering::less);
      EXPECT_EQ(a.hash(), b.hash());
      EXPECT_EQ(std::hash<Term>{}(a), std::hash<Term>{}(b));
      EXPECT_NE(a.hash(), c.hash());
      std::string text = a.to_string();
      if (shape.text_size) {
        EXPECT_EQ(text.size(), shape.text_size);
      }
      EXPECT_EQ(text.find('1'), text.rfind('1')) << "the leaf, once";
      EXPECT_EQ(c.to_string(TermFormat::w).size(), text.size());
      std::ostringstream out;
      out << a;
      EXPECT_EQ(out.str(), text);
      EXPECT_THROW(a.as_atom(), BadTerm);  // its message prints the start only
      // A copy shares the nodes and outlives the original; then both are freed.
      Term copy = a;
      a = Term();
      EXPECT_TRUE(copy == b);
    }
  });
}

TEST(Term, a_long_list_of_deep_terms_frees_in_constant_stack) {
  test::on_small_stack([] {
    std::vector<Term> cells;
    for (int i = 0; i < 1000; ++i) {
      Term t = atoms::ok;
      for (int j = 0; j < 1000; ++j) t = Term::tuple(std::move(t));
      cells.push_back(std::move(t));
    }
    Term list = Term::list_from(std::span<Term>(cells), Term::tuple(atoms::ok));
    EXPECT_EQ(list.size(), 1000u);
    EXPECT_EQ(list.list_tail(), Term::tuple(atoms::ok));
    Term other = Term::list_from(list.list_elements(), Term::tuple(atoms::ok));
    EXPECT_EQ(list, other);
    EXPECT_EQ(list.hash(), other.hash());
  });
}

TEST(Term, binary_filled_makes_a_binary_of_what_it_was_given_to_write) {
  Term b = Term::binary_filled(5, [](std::span<std::uint8_t> bytes) {
    ASSERT_EQ(bytes.size(), 5u);
    std::memcpy(bytes.data(), "hello", 5);
  });
  EXPECT_EQ(b, Term::binary("hello"));
  Term empty =
      Term::binary_filled(0, [](std::span<std::uint8_t> bytes) { EXPECT_TRUE(bytes.empty()); });
  EXPECT_EQ(empty, Term::binary(""));
  EXPECT_THROW(Term::binary_filled(
                   3, [](std::span<std::uint8_t>) { throw std::runtime_error("read failed"); }),
               std::runtime_error);
}

TEST(Term, map_from_puts_keys_in_compare_exact_order_whatever_the_order_given) {
  // Kinds mixed; binaries and atoms that share long prefixes (they tie on the first 8 bytes);
  // negative and large integers; floats equal to integers; keys given twice (the last wins).
  std::vector<Term> keys;
  for (int i = 0; i < 40; ++i) {
    keys.push_back(Term::binary("common_prefix_" + std::to_string(i)));
    keys.push_back(Term::binary(std::string(i % 9, 'a')));
    keys.push_back(Term::atom("shared_atom_prefix_" + std::to_string(i)));
    keys.push_back(Term(i * 1'000'003 - 20'000'000));
    keys.push_back(Term(static_cast<double>(i)));
    keys.push_back(Term::tuple(i % 7, atoms::ok));
  }
  keys.push_back(Term(INT64_MIN));
  keys.push_back(Term(INT64_MAX));
  keys.push_back(Term::integer(false, std::vector<std::uint8_t>(12, 0xFF)));
  keys.push_back(Term::binary(std::string("\0\0", 2)));
  keys.push_back(Term::binary(""));
  std::mt19937 random(7);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(keys.begin(), keys.end(), random);
    std::vector<std::pair<Term, Term>> entries;
    for (std::size_t i = 0; i < keys.size(); ++i) entries.emplace_back(keys[i], Term(i));
    Term m = Term::map_from(entries);
    auto got = m.entries();
    for (std::size_t i = 1; i < got.size(); ++i)
      ASSERT_EQ(Term::compare_exact(got[i - 1].key, got[i].key), std::strong_ordering::less) << i;
    // Each key's value is the position it was last given at.
    for (const MapEntry& e : got) {
      std::size_t last = 0;
      for (std::size_t i = 0; i < keys.size(); ++i)
        if (Term::compare_exact(keys[i], e.key) == 0) last = i;
      EXPECT_EQ(e.value, Term(last)) << e.key;
    }
  }
}
