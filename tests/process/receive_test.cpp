#include "ambitious/process/receive.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

struct Request {
  Pid from;
  Ref ref;
  int n;
};
struct Reply {
  Ref ref;
  int n;
};
struct Numbered {
  int sender;
  int seq;
};
struct Noise {
  int n;
};

Task<> echo_server() {
  for (;;) {
    auto r = co_await receive<Request>();
    send(r.from, Reply{r.ref, r.n * 2});
  }
}

}  // namespace

TEST(Receive, a_typed_receive_takes_the_first_message_of_its_type) {
  std::vector<std::string> got;
  run_test([&]() -> Task<> {
    send(self(), 1);
    send(self(), std::string("a"));
    send(self(), std::string("b"));
    got.push_back(co_await receive<std::string>());
    got.push_back(co_await receive<std::string>());
  });
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
}

TEST(Receive, messages_that_do_not_match_stay_queued_in_order) {
  std::vector<std::string> strings;
  std::vector<int> ints;
  run_test([&]() -> Task<> {
    for (int i = 0; i < 5; ++i) {
      send(self(), i);
      send(self(), std::to_string(i));
    }
    for (int i = 0; i < 5; ++i) strings.push_back(co_await receive<std::string>());
    for (int i = 0; i < 5; ++i) ints.push_back(co_await receive<int>());
    EXPECT_FALSE(co_await receive<int>(0ms));
  });
  EXPECT_EQ(strings, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_EQ(ints, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Receive, a_selective_receive_in_the_middle_of_the_mailbox_loses_and_reorders_nothing) {
  std::vector<int> order;
  run_test([&]() -> Task<> {
    for (int i = 0; i < 10; ++i) send(self(), i);
    for (int want : {7, 3, 9, 0}) {
      int got = co_await receive_if<int>([want](int x) { return x == want; });
      EXPECT_EQ(got, want);
    }
    while (auto x = co_await receive<int>(0ms)) order.push_back(*x);
  });
  EXPECT_EQ(order, (std::vector<int>{1, 2, 4, 5, 6, 8}));
}

TEST(Receive, a_waiting_selective_receive_skips_later_non_matching_messages) {
  std::vector<int> rest;
  int matched = -1;
  run_test([&]() -> Task<> {
    Pid me = self();
    spawn([me]() -> Task<> {
      for (int i = 0; i < 100; ++i) {
        send(me, i);
        if (i % 10 == 0) co_await yield();  // arrive while the receiver waits
      }
    });
    matched = co_await receive_if<int>([](int x) { return x == 99; });
    while (auto x = co_await receive<int>(0ms)) rest.push_back(*x);
  });
  EXPECT_EQ(matched, 99);
  ASSERT_EQ(rest.size(), 99u);
  for (int i = 0; i < 99; ++i) EXPECT_EQ(rest[i], i);
}

TEST(Receive, a_multi_clause_receive_takes_the_oldest_message_any_clause_accepts) {
  std::vector<std::string> seen;
  run_test([&]() -> Task<> {
    send(self(), Noise{0});
    send(self(), std::string("first"));
    send(self(), 2);
    for (int i = 0; i < 2; ++i)
      co_await receive([&](int x) { seen.push_back("int " + std::to_string(x)); },
                       [&](std::string s) { seen.push_back("string " + s); });
    EXPECT_TRUE(co_await receive<Noise>(0ms));
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"string first", "int 2"}));
}

TEST(Receive, when_two_clauses_accept_a_message_the_first_clause_takes_it) {
  std::vector<std::string> seen;
  run_test([&]() -> Task<> {
    for (int i : {1, 2, 3, 4}) send(self(), i);
    for (int i = 0; i < 4; ++i)
      co_await receive(match<int>([](int x) { return x % 2 == 0; },
                                  [&](int x) { seen.push_back("even " + std::to_string(x)); }),
                       [&](int x) { seen.push_back("any " + std::to_string(x)); });
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"any 1", "even 2", "any 3", "even 4"}));
}

TEST(Receive, a_multi_clause_receive_returns_what_its_clause_returns) {
  std::vector<int> results;
  run_test([&]() -> Task<> {
    send(self(), std::string("abc"));
    send(self(), 10);
    for (int i = 0; i < 2; ++i)
      results.push_back(co_await receive([](int x) { return x + 1; },
                                         [](std::string s) { return int(s.size()); }));
    results.push_back(co_await receive([](int x) { return x; }, after(0ms, [] { return -1; })));
  });
  EXPECT_EQ(results, (std::vector<int>{3, 11, -1}));
}

TEST(Receive, after_zero_runs_the_timeout_clause_only_when_nothing_matches_now) {
  std::vector<std::string> seen;
  run_test([&]() -> Task<> {
    auto once = [&]() {
      return receive([&](int x) { seen.push_back("int " + std::to_string(x)); },
                     after(0ms, [&] { seen.push_back("timeout"); }));
    };
    co_await once();
    send(self(), std::string("not an int"));
    co_await once();
    send(self(), 5);
    co_await once();
    EXPECT_TRUE(co_await receive<std::string>(0ms));
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"timeout", "timeout", "int 5"}));
}

TEST(Receive, after_n_runs_the_timeout_clause_when_no_message_comes) {
  bool timed_out = false;
  run_test([&]() -> Task<> {
    send(self(), Noise{1});
    co_await receive([](int) {}, after(5ms, [&] { timed_out = true; }));
    EXPECT_TRUE(co_await receive<Noise>(0ms));  // still queued
  });
  EXPECT_TRUE(timed_out);
}

TEST(Receive, after_n_takes_a_message_that_arrives_before_the_timeout) {
  std::optional<int> got;
  run_test([&]() -> Task<> {
    Pid me = self();
    spawn([me]() -> Task<> {
      co_await yield();
      send(me, 42);
    });
    got = co_await receive<int>(patience);
  });
  EXPECT_EQ(got, 42);
}

TEST(Receive, after_infinity_waits_for_the_message) {
  int got = 0;
  run_test([&]() -> Task<> {
    send_after(5ms, self(), 9);
    got = co_await receive([](int x) { return x; }, after(infinity, [] { return -1; }));
  });
  EXPECT_EQ(got, 9);
}

TEST(Receive, a_zero_timeout_receive_polls) {
  std::optional<int> empty, full;
  run_test([&]() -> Task<> {
    empty = co_await receive<int>(0ms);
    send(self(), 3);
    full = co_await receive<int>(0ms);
  });
  EXPECT_FALSE(empty);
  EXPECT_EQ(full, 3);
}

TEST(Receive, a_timed_out_receive_leaves_later_messages_for_the_next_receive) {
  std::optional<int> first, second;
  run_test([&]() -> Task<> {
    first = co_await receive<int>(1ms);
    send_after(1ms, self(), 8);
    second = co_await receive<int>(patience);
  });
  EXPECT_FALSE(first);
  EXPECT_EQ(second, 8);
}

TEST(Receive, the_timeout_of_a_receive_that_matched_does_not_end_a_later_receive) {
  // The first receive arms a timer and ends by a message; its timer must not end the second.
  std::optional<int> first;
  std::optional<std::string> second;
  run_test([&]() -> Task<> {
    Pid me = self();
    spawn([me]() -> Task<> {
      co_await yield();
      send(me, 1);
    });
    first = co_await receive<int>(20ms);
    send_after(100ms, self(), std::string("late"));
    second = co_await receive<std::string>(patience);
  });
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, "late");
}

TEST(Receive, a_predicate_sees_each_message_and_takes_only_what_it_accepts) {
  std::vector<int> seen_by_pred;
  int got = 0;
  run_test([&]() -> Task<> {
    for (int i = 1; i <= 5; ++i) send(self(), i);
    got = co_await receive_if<int>([&](int x) {
      seen_by_pred.push_back(x);
      return x > 3;
    });
    EXPECT_EQ(co_await receive_if<int>([](int x) { return x > 3; }, 0ms), 5);
    EXPECT_FALSE(co_await receive_if<int>([](int x) { return x > 3; }, 0ms));
    EXPECT_EQ(co_await receive<int>(0ms), 1);
  });
  EXPECT_EQ(got, 4);
  EXPECT_EQ(seen_by_pred, (std::vector<int>{1, 2, 3, 4}));
}

TEST(Receive, move_only_messages_are_moved_into_the_mailbox_and_out) {
  int got = 0;
  run_test([&]() -> Task<> {
    send(self(), std::make_unique<int>(11));
    auto p = co_await receive<std::unique_ptr<int>>();
    got = p ? *p : -1;
  });
  EXPECT_EQ(got, 11);
}

TEST(Receive, since_a_ref_still_finds_a_reply_that_already_arrived) {
  int got = 0;
  run_test([&]() -> Task<> {
    Pid server = spawn(echo_server);
    Ref ref = make_ref();
    send(server, Request{self(), ref, 21});
    co_await yield();  // one worker: the server runs and replies meanwhile
    // A poll: it finds the reply only if it is already queued.
    auto r =
        co_await receive_if<Reply>([&](const Reply& x) { return x.ref == ref; }, 0ms).since(ref);
    got = r ? r->n : -1;
  });
  EXPECT_EQ(got, 42);
}

TEST(Receive, since_a_ref_that_is_not_the_latest_still_finds_the_reply) {
  int got = 0;
  run_test([&]() -> Task<> {
    Pid server = spawn(echo_server);
    Ref ref = make_ref();
    send(server, Request{self(), ref, 5});
    send(self(), Noise{0});
    Ref later = make_ref();  // moves the mark past the reply's position
    (void)later;
    auto r = co_await receive_if<Reply>([&](const Reply& x) { return x.ref == ref; }, patience)
                 .since(ref);
    got = r ? r->n : -1;
    EXPECT_TRUE(co_await receive<Noise>(0ms));
  });
  EXPECT_EQ(got, 10);
}

TEST(Receive, request_replies_since_a_ref_behind_a_long_mailbox_all_complete_in_order) {
  constexpr int queued = 100'000, calls = 1'000;
  int replies = 0;
  std::size_t left = 0;
  bool noise_in_order = true;
  run_test([&]() -> Task<> {
    for (int i = 0; i < queued; ++i) send(self(), Noise{i});
    Pid server = spawn(echo_server);
    for (int i = 0; i < calls; ++i) {
      Ref ref = make_ref();
      send(server, Request{self(), ref, i});
      auto r = co_await receive_if<Reply>([&](const Reply& x) { return x.ref == ref; }, patience)
                   .since(ref);
      if (!r || r->n != 2 * i) break;
      ++replies;
    }
    auto info = co_await process_info(self());
    left = info ? info->message_queue_len : 0;
    for (int i = 0; i < queued; ++i) {
      auto n = co_await receive<Noise>(0ms);
      if (!n || n->n != i) {
        noise_in_order = false;
        break;
      }
    }
  });
  EXPECT_EQ(replies, calls);
  EXPECT_EQ(left, std::size_t(queued));
  EXPECT_TRUE(noise_in_order);
}

TEST(Receive, since_a_monitor_ref_finds_its_down) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    for (int i = 0; i < 100; ++i) send(self(), Noise{i});
    Pid p = spawn(wait_forever);
    Ref ref = monitor(p);
    send(p, Done{});
    down =
        co_await receive_if<Down>([&](const Down& d) { return d.ref == ref; }, patience).since(ref);
  });
  ASSERT_TRUE(down);
  EXPECT_TRUE(down->reason.is_normal());
}

static void per_pair_order(RuntimeOptions options) {
  constexpr int senders = 4, each = 100'000;
  std::vector<int> next(senders, 0);
  bool in_order = true;
  run_test(options, [&]() -> Task<> {
    Pid me = self();
    for (int s = 0; s < senders; ++s)
      spawn(
          [me](int s) -> Task<> {
            for (int i = 0; i < each; ++i) {
              send(me, Numbered{s, i});
              if (i % 1000 == 0) co_await yield();
            }
          },
          s);
    for (int i = 0; i < senders * each; ++i) {
      auto m = co_await receive<Numbered>(patience);
      if (!m) break;
      if (m->seq != next[m->sender]) in_order = false;
      next[m->sender] = m->seq + 1;
    }
  });
  EXPECT_TRUE(in_order);
  for (int s = 0; s < senders; ++s) EXPECT_EQ(next[s], each);
}

TEST(Receive, each_senders_messages_arrive_in_the_order_sent_on_one_worker) {
  per_pair_order(one_worker);
}

TEST(Receive, each_senders_messages_arrive_in_the_order_sent_on_four_workers) {
  per_pair_order(four_workers);
}

TEST(Receive, a_receive_in_a_sub_coroutine_shares_the_process_mailbox) {
  std::vector<int> got;
  auto take_two = []() -> Task<int> {
    int a = co_await receive<int>();
    int b = co_await receive<int>();
    co_return a * 10 + b;
  };
  run_test([&]() -> Task<> {
    for (int i : {1, 2, 3}) send(self(), i);
    got.push_back(co_await take_two());
    got.push_back(co_await receive<int>());
  });
  EXPECT_EQ(got, (std::vector<int>{12, 3}));
}

TEST(Receive, a_predicate_that_throws_ends_the_process_with_its_exception) {
  std::vector<std::string> whats;
  run_test([&]() -> Task<> {
    auto throwing = []() -> Task<> {
      co_await receive_if<int>([](int) -> bool { throw std::runtime_error("bad predicate"); });
    };
    // The message is there when the receive starts, then arrives while it waits.
    auto [a, ra] = spawn_monitor(throwing);
    send(a, 1);
    auto [b, rb] = spawn_monitor(throwing);
    co_await yield();
    send(b, 1);
    for (int i = 0; i < 2; ++i)
      if (auto d = co_await receive<Down>(patience)) whats.emplace_back(d->reason.exception_what());
  });
  EXPECT_EQ(whats, (std::vector<std::string>{"bad predicate", "bad predicate"}));
}

TEST(Receive, receive_outside_a_process_throws_not_in_process) {
  auto r = receive<int>();
  EXPECT_THROW((void)r.await_ready(), NotInProcess);
}
