#include "ambitious/naming/pubsub.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ambitious/behaviours/supervisor.hpp"
#include "naming_support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

// Subscribes to `topic`, says Ready, then counts the broadcasts (strings) that arrive before
// Done and reports the count to `parent`.
struct Count {
  Pid pid;
  int received;
  std::string last;
};

Task<> subscriber(PubSub ps, std::string topic, Pid parent) {
  ps.subscribe(topic);
  send(parent, Ready{self()});
  int received = 0;
  std::string last;
  for (bool done = false; !done;)
    co_await receive([&](std::string m) { ++received, last = std::move(m); },
                     [&](Done) { done = true; });
  send(parent, Count{self(), received, last});
}

template <class F>
int with_pubsub(F body, RuntimeOptions options = one_worker) {
  return run(options, [&]() -> Task<> {
    auto ps = co_await PubSub::start_link(Atom("chat"), 2);
    EXPECT_TRUE(ps.has_value());
    if (ps) co_await body(*ps);
  });
}

Task<std::vector<Pid>> spawn_subscribers(const PubSub& ps, const std::string& topic, int n) {
  std::vector<Pid> pids;
  for (int i = 0; i < n; ++i) pids.push_back(spawn(subscriber, ps, topic, self()));
  for (int i = 0; i < n; ++i) co_await receive<Ready>(patience);
  co_return pids;
}

// Ends the subscribers and collects their counts (Done follows every earlier broadcast from
// this process, as messages keep their order per sender).
Task<std::vector<Count>> collect(const std::vector<Pid>& pids) {
  for (Pid p : pids) send(p, Done{});
  std::vector<Count> out;
  for (std::size_t i = 0; i < pids.size(); ++i)
    if (auto c = co_await receive<Count>(patience)) out.push_back(*c);
  co_return out;
}

}  // namespace

TEST(PubSub, ten_thousand_subscribers_each_receive_a_broadcast_exactly_once) {
  EXPECT_EQ(with_pubsub(
                [](PubSub ps) -> Task<> {
                  constexpr int n = 10'000;
                  auto pids = co_await spawn_subscribers(ps, "room:1", n);
                  EXPECT_EQ(ps.subscriptions().count(), static_cast<std::size_t>(n));
                  ps.broadcast("room:1", std::string("hello"));
                  auto counts = co_await collect(pids);
                  EXPECT_EQ(counts.size(), static_cast<std::size_t>(n));
                  int wrong = 0;
                  for (const auto& c : counts) wrong += c.received != 1 || c.last != "hello";
                  EXPECT_EQ(wrong, 0);
                },
                four_workers),
            0);
}

TEST(PubSub, broadcast_from_skips_the_sender_and_other_topics_get_nothing) {
  EXPECT_EQ(with_pubsub([](PubSub ps) -> Task<> {
              auto room = co_await spawn_subscribers(ps, "room", 3);
              auto other = co_await spawn_subscribers(ps, "other", 2);
              ps.broadcast_from(room[0], "room", std::string("from zero"));
              auto counts = co_await collect(room);
              for (const auto& c : counts) EXPECT_EQ(c.received, c.pid == room[0] ? 0 : 1);
              auto others = co_await collect(other);
              for (const auto& c : others) EXPECT_EQ(c.received, 0);
            }),
            0);
}

TEST(PubSub, an_unsubscribed_process_gets_nothing_and_a_double_subscription_gets_two_copies) {
  EXPECT_EQ(with_pubsub([](PubSub ps) -> Task<> {
              ps.subscribe("t");
              ps.subscribe("t");
              ps.local_broadcast("t", std::string("twice"));
              EXPECT_EQ(co_await receive<std::string>(patience), "twice");
              EXPECT_EQ(co_await receive<std::string>(patience), "twice");
              ps.unsubscribe("t");
              ps.local_broadcast("t", std::string("never"));
              ps.local_broadcast_from(self(), "t", std::string("never"));
              EXPECT_FALSE(co_await receive<std::string>(0ms));
              EXPECT_EQ(ps.subscriptions().count(), 0u);
            }),
            0);
}

TEST(PubSub, subscriptions_end_with_their_subscriber) {
  EXPECT_EQ(with_pubsub([](PubSub ps) -> Task<> {
              auto pids = co_await spawn_subscribers(ps, "t", 10);
              for (int i = 0; i < 5; ++i) co_await kill_and_wait(pids[static_cast<size_t>(i)]);
              co_await ps.subscriptions().sync();
              EXPECT_EQ(ps.subscriptions().count(), 5u);
              ps.broadcast("t", std::string("left"));
              std::vector<Pid> alive(pids.begin() + 5, pids.end());
              auto counts = co_await collect(alive);
              EXPECT_EQ(counts.size(), 5u);
              for (const auto& c : counts) EXPECT_EQ(c.received, 1);
            }),
            0);
}

TEST(PubSub, a_pubsub_is_found_by_name) {
  EXPECT_EQ(with_pubsub([](PubSub ps) -> Task<> {
              auto found = PubSub::whereis(Atom("chat"));
              EXPECT_TRUE(found);
              if (found) {
                EXPECT_EQ(found->name(), ps.name());
              }
              EXPECT_FALSE(PubSub::whereis(Atom("nothing")));
              co_return;
            }),
            0);
}

TEST(PubSub, child_spec_starts_the_pubsub_under_a_supervisor_where_subscribers_find_it_by_name) {
  std::vector<ChildInfo> children;
  std::optional<std::string> got;
  Pid own;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{}, {PubSub::child_spec(Atom("news"), 2)}};
    auto sup = co_await supervisor::start_link(std::move(spec));
    if (!sup) give_up("the supervisor did not start");
    children = co_await supervisor::which_children(*sup);
    auto ps = PubSub::whereis(Atom("news"));
    if (!ps) give_up("no pubsub under its name");
    own = ps->subscriptions().pid();
    ps->subscribe("topic");
    ps->broadcast("topic", std::string("hello"));
    got = co_await receive<std::string>(patience);
    co_await gen_server::stop(*sup);
  });
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].id, Term(Atom("news")));
  EXPECT_EQ(children[0].type, ChildType::supervisor);
  EXPECT_EQ(children[0].pid, own);
  EXPECT_EQ(got, "hello");
}
