#include "ambitious/core/codec.hpp"

#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <deque>
#include <list>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "small_stack.hpp"

using namespace ambitious;

namespace shop {
enum class Color { red, green, blue };
BOOST_DESCRIBE_ENUM(Color, red, green, blue)

struct Item {
  std::string name;
  std::int32_t price = 0;
  std::optional<Color> color;
};
BOOST_DESCRIBE_STRUCT(Item, (), (name, price, color))

struct Order {
  std::int64_t id = 0;
  std::vector<Item> items;
  std::map<std::string, double> totals;
  bool paid = false;
};
BOOST_DESCRIBE_STRUCT(Order, (), (id, items, totals, paid))

struct Point {
  double x = 0, y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};
BOOST_DESCRIBE_STRUCT(Point, (), (x, y))
}  // namespace shop

template <>
struct ambitious::CodecRecord<shop::Point> {
  static constexpr const char* tag = "point";
};

TEST(Codec, scalars_convert_both_ways) {
  EXPECT_EQ(to_term(42), Term(42));
  EXPECT_EQ(*from_term<int>(Term(42)), 42);
  EXPECT_EQ(*from_term<double>(Term(2)), 2.0);
  EXPECT_EQ(to_term(true), Term(atoms::true_));
  EXPECT_EQ(*from_term<bool>(Term(atoms::false_)), false);
  EXPECT_EQ(to_term(std::string("hi")), Term::binary("hi"));
  EXPECT_EQ(*from_term<std::string>(Term::string("hé")), "hé");
  EXPECT_EQ(*from_term<std::uint64_t>(Term(UINT64_MAX)), UINT64_MAX);
  EXPECT_EQ(from_term<std::uint8_t>(Term(256)).error().to_string(),
            "expected non-negative integer of 8 bits, got integer 256");
}

TEST(Codec, containers_optionals_tuples_and_variants_convert_both_ways) {
  std::vector<int> v{1, 2, 3};
  EXPECT_EQ(to_term(v), Term::list(1, 2, 3));
  EXPECT_EQ(*from_term<std::vector<int>>(Term::list(1, 2, 3)), v);
  std::map<std::string, int> m{{"a", 1}};
  EXPECT_EQ(to_term(m), Term::map({{Term::binary("a"), 1}}));
  EXPECT_EQ((*from_term<std::map<std::string, int>>(to_term(m))), m);
  EXPECT_EQ(to_term(std::optional<int>()), Term(atoms::undefined));
  EXPECT_EQ(*from_term<std::optional<int>>(Term(5)), 5);
  auto pair = std::pair<Atom, int>(atoms::ok, 1);
  EXPECT_EQ(to_term(pair), Term::tuple(atoms::ok, 1));
  EXPECT_EQ((*from_term<std::pair<Atom, int>>(Term::tuple(atoms::ok, 1))), pair);
  using V = std::variant<int, std::string>;
  EXPECT_EQ(std::get<std::string>(*from_term<V>(Term::binary("x"))), "x");
  EXPECT_EQ(std::get<int>(*from_term<V>(Term(3))), 3);
  EXPECT_FALSE(from_term<V>(Term(atoms::ok)).has_value());
}

TEST(Codec, any_sequence_or_map_container_converts_not_only_the_standard_ones_named) {
  std::list<int> l{1, 2};
  EXPECT_EQ(to_term(l), Term::list(1, 2));
  EXPECT_EQ(*from_term<std::list<int>>(Term::list(1, 2)), l);
  std::deque<std::string> d{"x", "y"};
  EXPECT_EQ(to_term(d), Term::list(Term::binary("x"), Term::binary("y")));
  EXPECT_EQ(*from_term<std::deque<std::string>>(to_term(d)), d);
  EXPECT_EQ(from_term<std::deque<int>>(Term::list(1, atoms::ok)).error().to_string(),
            "[1]: expected integer, got atom ok");
  std::unordered_map<Atom, std::vector<int>> u{{atoms::ok, {1}}, {atoms::error, {}}};
  EXPECT_EQ(to_term(u),
            Term::map({{Term(atoms::ok), Term::list(1)}, {Term(atoms::error), Term::list()}}));
  EXPECT_EQ((*from_term<std::unordered_map<Atom, std::vector<int>>>(to_term(u))), u);
  // A string is a binary, not a list of characters; a multimap's keys repeat, which a map term
  // cannot hold; a set is neither.
  EXPECT_EQ(to_term(std::string("ab")), Term::binary("ab"));
  static_assert(!Encodable<std::multimap<int, int>>);
  static_assert(!Encodable<std::set<int>>);
  static_assert(!Encodable<std::list<int*>>);
  static_assert(!Encodable<std::unordered_map<int, int*>>);
}

TEST(Codec, a_described_struct_becomes_a_map_with_atom_keys) {
  shop::Order order{
      7, {{"pen", 150, shop::Color::blue}, {"ink", 90, std::nullopt}}, {{"eur", 2.4}}, true};
  Term t = to_term(order);
  EXPECT_EQ(t.to_string(),
            "#{id => 7,items => [#{color => blue,name => <<\"pen\">>,price => 150},"
            "#{color => undefined,name => <<\"ink\">>,price => 90}],paid => true,"
            "totals => #{<<\"eur\">> => 2.4}}");
  auto back = from_term<shop::Order>(t);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->items[0].color, shop::Color::blue);
  EXPECT_EQ(back->items[1].price, 90);
  EXPECT_EQ(back->totals.at("eur"), 2.4);
}

TEST(Codec, a_term_of_the_wrong_shape_names_the_path_to_the_bad_element) {
  Term items = Term::list(Term::map({{atom("name"), "a"}, {atom("price"), 1}}),
                          Term::map({{atom("name"), "b"}, {atom("price"), atom("foo")}}));
  Term order = Term::map({{atom("id"), 1},
                          {atom("items"), items},
                          {atom("totals"), Term::map({})},
                          {atom("paid"), atoms::false_}});
  auto r = from_term<shop::Order>(order);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().to_string(), ".items[1].price: expected integer, got atom foo");
  Term no_id = Term::map({{atom("items"), Term()}});
  EXPECT_EQ(from_term<shop::Order>(no_id).error().to_string(), ".id: missing");
  EXPECT_EQ(from_term<shop::Item>(Term(1)).error().to_string(), "expected map, got integer 1");
}

TEST(Codec, a_struct_with_a_record_tag_becomes_a_tagged_tuple) {
  shop::Point p{1.5, -2};
  EXPECT_EQ(to_term(p), Term::tuple(atom("point"), 1.5, -2.0));
  EXPECT_EQ(*from_term<shop::Point>(Term::tuple(atom("point"), 1.5, -2.0)), p);
  EXPECT_EQ(from_term<shop::Point>(Term::tuple(atom("point"), 1.5, atoms::ok)).error().to_string(),
            ".y: expected float, got atom ok");
}

TEST(Codec, enums_are_atoms_of_their_names) {
  EXPECT_EQ(to_term(shop::Color::green), atom("green"));
  EXPECT_EQ(*from_term<shop::Color>(atom("red")), shop::Color::red);
  EXPECT_EQ(from_term<shop::Color>(atom("mauve")).error().to_string(),
            "expected an enumerator name, got atom mauve");
}

TEST(Codec, only_types_with_a_codec_are_encodable) {
  struct Opaque {};
  static_assert(Encodable<std::vector<std::map<std::string, std::optional<Pid>>>>);
  static_assert(Encodable<shop::Order>);
  static_assert(!Encodable<Opaque>);
  static_assert(!Encodable<std::vector<Opaque>>);
  static_assert(!Encodable<int*>);
  SUCCEED();
}

TEST(Codec, a_term_a_million_levels_deep_converts_and_an_error_shows_only_its_start) {
  test::on_small_stack([] {
    Term deep = atoms::ok;
    for (int i = 0; i < 1'000'000; ++i) deep = Term::tuple(std::move(deep));
    auto bad = from_term<int>(deep);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().to_string(),
              "expected integer, got tuple " + std::string(77, '{') + "...");
    auto elems = from_term<std::vector<Term>>(Term::list(deep, deep));
    ASSERT_TRUE(elems);
    EXPECT_EQ(elems->size(), 2u);
    EXPECT_EQ(to_term(*elems), Term::list(deep, deep));
    auto pair = from_term<std::pair<Term, std::string>>(Term::tuple(deep, deep));
    ASSERT_FALSE(pair);
    EXPECT_EQ(pair.error().path, "{2}");
  });
}
