// Terms and Codec: an Erlang term built, printed, compared and taken apart; a described struct
// converted to a term, to the External Term Format's bytes (what term_to_binary writes) and
// back; the error that says where a term does not fit; and a struct as an Erlang record.
// No runtime is needed: terms are plain values.

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <ambitious/core/codec.hpp>
#include <ambitious/core/etf.hpp>
#include <ambitious/core/term.hpp>

using namespace ambitious;

// [snippet described]
enum class Role { admin, member };
BOOST_DESCRIBE_ENUM(Role, admin, member)

struct User {
  std::string name;
  int age = 0;
  Role role = Role::member;
  std::vector<std::string> tags;
  std::optional<std::string> email;  // `undefined` when empty; may be missing from the map
};
BOOST_DESCRIBE_STRUCT(User, (), (name, age, role, tags, email))
// [snippet described]

// [snippet record]
struct Point {
  int x = 0;
  int y = 0;
};
BOOST_DESCRIBE_STRUCT(Point, (), (x, y))
template <>
struct ambitious::CodecRecord<Point> {
  static constexpr auto tag = "point";  // {point, X, Y} instead of #{x => X, y => Y}
};
// [snippet record]

int main() {
  // [snippet term]
  Term t = Term::tuple(atom("ok"), 42, Term::list(1, 2.5, "bin"), Term::string("hi"));
  std::printf("%s\n", t.to_string().c_str());  // {ok,42,[1,2.5,<<"bin">>],"hi"}
  Atom tag;
  std::int64_t n = 0;
  if (t.match(&tag, &n, _, _))  // {Tag, N, _, _} with Tag an atom and N an integer
    std::printf("matched %s and %lld; 1 < ok in term order: %s\n", std::string(tag.name()).c_str(),
                static_cast<long long>(n), Term(1) < Term(atom("ok")) ? "true" : "false");
  // [snippet term]

  // [snippet round_trip]
  User ann{"ann", 37, Role::admin, {"ops"}, std::nullopt};
  Term term = to_term(ann);
  std::vector<std::uint8_t> bytes = etf::encode(term);  // term_to_binary(Term)
  auto decoded = etf::decode(bytes);                    // binary_to_term(Bytes)
  if (!decoded) return 1;
  auto back = from_term<User>(*decoded);
  if (!back) return 1;
  std::printf("%s\n%zu bytes; back: %s, %d, %s\n", term.to_string().c_str(), bytes.size(),
              back->name.c_str(), back->age, back->role == Role::admin ? "admin" : "member");
  // [snippet round_trip]

  // [snippet error]
  Term bad = Term::map({{atom("name"), "bob"},
                        {atom("age"), 40},
                        {atom("role"), atom("member")},
                        {atom("tags"), Term::list("a", 7)}});
  auto refused = from_term<User>(bad);
  if (!refused) std::printf("refused: %s\n", refused.error().to_string().c_str());
  // [snippet error]

  // [snippet record_use]
  std::printf("%s\n", to_term(Point{1, 2}).to_string().c_str());  // {point,1,2}
  // [snippet record_use]
}
