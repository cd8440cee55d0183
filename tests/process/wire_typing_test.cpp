// Wire typing: a message from another node is a Term in the mailbox, and a receive for a type
// with a Codec takes it when the Codec decodes it (DESIGN.md, "Stages 3 and 4").
#include "ambitious/process/receive.hpp"

#include <gtest/gtest.h>

#include <boost/describe/class.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ambitious/core/codec.hpp"
#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;
using namespace std::chrono_literals;

namespace {

struct Point {
  std::int64_t x;
  std::int64_t y;
};
BOOST_DESCRIBE_STRUCT(Point, (), (x, y))

/// A message type with no Codec: it never takes a Term.
struct Local {
  int n;
};

Term point_term(std::int64_t x, std::int64_t y) { return to_term(Point{x, y}); }

}  // namespace

static_assert(detail::decodes_from_term<Point>);
static_assert(detail::decodes_from_term<std::int64_t>);
static_assert(!detail::decodes_from_term<Term>);
static_assert(!detail::decodes_from_term<Local>);

TEST(WireTyping, a_term_from_another_node_is_received_as_the_type_its_codec_decodes) {
  run_test([]() -> Task<> {
    EXPECT_EQ(deliver_term(self(), point_term(1, 2)), Delivery::queued);
    Point p = co_await receive<Point>();
    EXPECT_EQ(p.x, 1);
    EXPECT_EQ(p.y, 2);
  });
}

TEST(WireTyping, receive_of_term_still_takes_every_term_message) {
  run_test([]() -> Task<> {
    deliver_term(self(), point_term(1, 2));
    deliver_term(self(), Term(foo));
    EXPECT_EQ(co_await receive<Term>(), point_term(1, 2));
    EXPECT_EQ(co_await receive<Term>(), Term(foo));
  });
}

TEST(WireTyping, a_term_that_does_not_decode_stays_in_the_mailbox_for_a_later_receive) {
  run_test([]() -> Task<> {
    deliver_term(self(), Term(foo));
    deliver_term(self(), Term::tuple(foo, Term(1)));
    deliver_term(self(), point_term(3, 4));
    Point p = co_await receive<Point>();
    EXPECT_EQ(p.x, 3);
    // The two terms that are no Point are still there, in order.
    EXPECT_EQ(co_await receive<Term>(), Term(foo));
    EXPECT_EQ(co_await receive<Term>(), Term::tuple(foo, Term(1)));
    EXPECT_FALSE(co_await receive<Term>(0ms));
  });
}

TEST(WireTyping, order_is_kept_across_local_and_term_messages_of_one_sender) {
  std::vector<std::int64_t> got;
  run_test([&]() -> Task<> {
    send(self(), Point{1, 0});
    deliver_term(self(), point_term(2, 0));
    send(self(), Point{3, 0});
    deliver_term(self(), point_term(4, 0));
    for (int i = 0; i < 4; ++i) got.push_back((co_await receive<Point>()).x);
  });
  EXPECT_EQ(got, (std::vector<std::int64_t>{1, 2, 3, 4}));
}

TEST(WireTyping, a_predicate_sees_the_decoded_value_and_a_term_it_refuses_stays_queued) {
  run_test([]() -> Task<> {
    deliver_term(self(), point_term(1, 0));
    deliver_term(self(), point_term(2, 0));
    Point p = co_await receive_if<Point>([](const Point& q) { return q.x == 2; });
    EXPECT_EQ(p.x, 2);
    EXPECT_EQ(co_await receive<Term>(), point_term(1, 0));
  });
}

TEST(WireTyping, a_multi_clause_receive_hands_the_term_to_the_first_clause_that_decodes_it) {
  run_test([]() -> Task<> {
    deliver_term(self(), point_term(5, 6));
    deliver_term(self(), Term(std::int64_t{7}));
    deliver_term(self(), Term::binary("text"));
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i)
      got.push_back(co_await receive([](Local) { return std::string("local"); },
                                     [](std::int64_t n) { return "int " + std::to_string(n); },
                                     [](Point q) { return "point " + std::to_string(q.y); },
                                     [](std::string s) { return "string " + s; }));
    EXPECT_EQ(got, (std::vector<std::string>{"point 6", "int 7", "string text"}));
  });
}

TEST(WireTyping, a_match_clause_tests_and_takes_the_decoded_value) {
  run_test([]() -> Task<> {
    deliver_term(self(), point_term(1, 1));
    deliver_term(self(), point_term(2, 2));
    std::int64_t y = co_await receive(
        match<Point>([](const Point& q) { return q.x > 1; }, [](Point q) { return q.y; }));
    EXPECT_EQ(y, 2);
    EXPECT_EQ(co_await receive<Term>(), point_term(1, 1));
  });
}

TEST(WireTyping, a_type_without_a_codec_never_takes_a_term) {
  run_test([]() -> Task<> {
    deliver_term(self(), Term::map({{Term(Atom("n")), Term(1)}}));
    std::optional<Local> none = co_await receive<Local>(0ms);
    EXPECT_FALSE(none);
    EXPECT_TRUE(co_await receive<Term>(0ms));
  });
}

TEST(WireTyping, a_term_sent_by_a_local_process_is_decoded_too) {
  run_test([]() -> Task<> {
    Pid me = self();
    spawn([me]() -> Task<> {
      send(me, point_term(8, 9));
      co_return;
    });
    Point p = co_await receive<Point>();
    EXPECT_EQ(p.y, 9);
  });
}
