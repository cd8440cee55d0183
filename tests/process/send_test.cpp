#include "ambitious/process/send.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

// Counts the live copies of itself, to see a message destroyed exactly once.
struct Tracked {
  explicit Tracked(std::atomic<int>& live) noexcept : live_(&live) { ++*live_; }
  Tracked(const Tracked& o) noexcept : live_(o.live_) { ++*live_; }
  Tracked(Tracked&& o) noexcept : live_(o.live_) { ++*live_; }
  Tracked& operator=(const Tracked&) = delete;
  ~Tracked() { --*live_; }

 private:
  std::atomic<int>* live_;
};

// An aggregate with members that have destructors: the kind of message the g++ 12 trap is about.
struct SetName {
  std::string name;
  std::vector<int> path;
  Tracked tracked;
};

struct Point {
  int x = 1;
  int y = 2;
};

}  // namespace

TEST(Send, an_emplacing_send_builds_the_message_from_its_arguments) {
  std::atomic<int> live{0};
  std::string name;
  std::vector<int> path;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  // The full-expression awaits, as in the README's trap: no SetName temporary.
                  auto got = (send<SetName>(self(), std::string("x"), std::vector<int>(2, 7),
                                            Tracked(live)),
                              co_await receive<SetName>());
                  name = got.name;
                  path = got.path;
                  EXPECT_EQ(live.load(), 1);  // only `got` is left
                }),
            0);
  EXPECT_EQ(name, "x");
  EXPECT_EQ(path, (std::vector<int>{7, 7}));
  EXPECT_EQ(live.load(), 0);
}

TEST(Send, an_emplacing_send_with_no_arguments_value_initialises_the_message) {
  Point got{0, 0};
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  send<Point>(self());
                  got = co_await receive<Point>();
                }),
            0);
  EXPECT_EQ(got.x, 1);
  EXPECT_EQ(got.y, 2);
}

TEST(Send, an_emplacing_send_of_an_lvalue_copies_it) {
  std::string kept = "kept", got;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  send<std::string>(self(), kept);
                  got = co_await receive<std::string>();
                }),
            0);
  EXPECT_EQ(kept, "kept");
  EXPECT_EQ(got, "kept");
}

TEST(Send, an_emplacing_send_to_a_registered_name_reaches_its_process) {
  std::atomic<int> live{0};
  std::string name;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  register_name(Atom("send_test_target"), self());
                  send<SetName>(Atom("send_test_target"), "by name", std::vector<int>{},
                                Tracked(live));
                  name = (co_await receive<SetName>()).name;
                }),
            0);
  EXPECT_EQ(name, "by name");
  EXPECT_EQ(live.load(), 0);
}

TEST(Send, an_emplacing_send_to_an_unregistered_name_throws_badarg_and_leaks_nothing) {
  std::atomic<int> live{0};
  bool threw = false;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  try {
                    send<SetName>(Atom("send_test_nobody"), "x", std::vector<int>{}, Tracked(live));
                  } catch (const BadArg&) {
                    threw = true;
                  }
                  co_return;
                }),
            0);
  EXPECT_TRUE(threw);
  EXPECT_EQ(live.load(), 0);
}

TEST(Send, send_outside_a_process_throws_not_in_process) {
  EXPECT_THROW(send<int>(Pid(), 1), NotInProcess);
  EXPECT_THROW(send(Pid(), 1), NotInProcess);
}
