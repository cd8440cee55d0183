#include "mailbox.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ambitious/process/monitor.hpp"

using namespace ambitious;
using namespace ambitious::detail;

namespace {

struct Numbered {
  int producer;
  int seq;
};

// A receive for the tests: takes the first int equal to `wanted` (any int when it is -1), and
// counts the messages it examines.
struct IntScan {
  int wanted = -1;
  mutable int examined = 0;

  static int match(const void* self, Message& m) {
    const auto& s = *static_cast<const IntScan*>(self);
    ++s.examined;
    if (m.type != message_type<int>) return -1;
    return s.wanted < 0 || value_of<int>(m) == s.wanted ? 0 : -1;
  }
  ReceiveRequest request(const Ref* since = nullptr) const {
    return ReceiveRequest{&IntScan::match, this, 0, since};
  }
};

// Takes the first int equal to `wanted` (or any), or -1 when none matches.
int take(Mailbox& box, int wanted = -1, const Ref* since = nullptr) {
  IntScan scan{wanted};
  ReceiveRequest r = scan.request(since);
  box.start_scan(since);
  MessagePtr m(box.scan(r));
  box.end_scan();
  return m.get() ? value_of<int>(*m.get()) : -1;
}

// The queued messages, as ints (-1 for any other type).
std::vector<int> queued(const Mailbox& box) {
  std::vector<int> out;
  box.for_each([&](const Message& m) {
    out.push_back(m.type == message_type<int> ? value_of<int>(m) : -1);
  });
  return out;
}

void push_ints(Mailbox& box, std::initializer_list<int> values) {
  for (int v : values) ASSERT_EQ(box.push(make_message<int>(v)), Mailbox::Push::queued);
}

void fetch_messages(Mailbox& box) {
  box.fetch([](Signal&) noexcept { FAIL() << "no signal was pushed"; });
}

Pid pid_of(std::uint32_t id) { return Pid(nodes::local, id, 0); }

}  // namespace

TEST(Mailbox, messages_pushed_from_many_threads_arrive_complete_and_in_order_per_producer) {
  constexpr int producers = 4;
  constexpr int per_producer = 50'000;
  constexpr int signal_every = 1'000;
  Mailbox box;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      ready.fetch_add(1);
      while (ready.load() < producers) std::this_thread::yield();
      for (int i = 0; i < per_producer; ++i) {
        ASSERT_EQ(box.push(make_message<Numbered>(Numbered{p, i})), Mailbox::Push::queued);
        if (i % signal_every == 0) {
          Signal* s = make_signal(SignalKind::link, pid_of(static_cast<std::uint32_t>(p + 1)));
          s->seq = static_cast<std::uint64_t>(i);  // the message it follows
          ASSERT_EQ(box.push(s), Mailbox::Push::queued);
        }
      }
    });

  // The owner fetches while they push, and takes each message as a receive of anything would.
  // Each signal leaves a marker where it was handled: it must follow the message pushed before
  // it, and precede the next one.
  std::vector<int> next(producers, 0);
  int received = 0, signals = 0;
  auto any = [](const void*, Message&) { return 0; };
  while (received < producers * per_producer) {
    box.fetch([&](Signal& s) noexcept {
      box.enqueue(make_message<Numbered>(
          Numbered{static_cast<int>(s.from.id) - 1, -1 - static_cast<int>(s.seq)}));
    });
    ReceiveRequest r{any, nullptr, 0, nullptr};
    box.start_scan(nullptr);
    while (Message* m = box.scan(r)) {
      MessagePtr owned(m);
      const auto& n = value_of<Numbered>(*m);
      if (n.seq < 0) {
        ASSERT_EQ(next[n.producer], -n.seq) << "a signal of producer " << n.producer;
        ++signals;
        continue;
      }
      ASSERT_EQ(n.seq, next[n.producer]) << "producer " << n.producer;
      ++next[n.producer];
      ++received;
    }
    box.end_scan();
    std::this_thread::yield();
  }
  for (auto& t : threads) t.join();
  box.fetch([&](Signal&) noexcept { ++signals; });  // the signals pushed after the last message
  EXPECT_EQ(signals, producers * per_producer / signal_every);
  EXPECT_TRUE(box.empty());
}

TEST(Mailbox, a_signal_is_handled_in_its_place_between_the_messages_around_it) {
  Mailbox box;
  push_ints(box, {1, 2});
  box.push(make_signal(SignalKind::down, pid_of(7)));
  push_ints(box, {4});
  std::vector<int> seen_by_handler;
  box.fetch([&](Signal& s) noexcept {
    EXPECT_EQ(s.kind, SignalKind::down);
    seen_by_handler = queued(box);      // the messages before it are queued already
    box.enqueue(make_message<int>(3));  // what the signal becomes takes its place
  });
  EXPECT_EQ(seen_by_handler, (std::vector<int>{1, 2}));
  EXPECT_EQ(queued(box), (std::vector<int>{1, 2, 3, 4}));
}

// A handler that could throw half-way through a batch would lose the signals after it: fetch
// takes only a noexcept one.
TEST(Mailbox, fetch_takes_only_a_noexcept_signal_handler) {
  auto may_throw = [](Signal&) {};
  auto nothrow = [](Signal&) noexcept {};
  static_assert(!std::is_nothrow_invocable_v<decltype(may_throw)&, Signal&>);
  static_assert(std::is_nothrow_invocable_v<decltype(nothrow)&, Signal&>);
  Mailbox box;
  push_ints(box, {1});
  box.push(make_signal(SignalKind::link, pid_of(7)));
  push_ints(box, {2});
  int signals = 0;
  box.fetch([&](Signal&) noexcept { ++signals; });
  EXPECT_EQ(signals, 1);
  EXPECT_EQ(queued(box), (std::vector<int>{1, 2}));
}

TEST(Mailbox, a_closed_inbox_stays_closed_when_the_owner_fetches_again) {
  Mailbox box;
  push_ints(box, {1});
  Message* late = box.close();
  ASSERT_NE(late, nullptr);
  destroy(late);
  box.fetch([](Signal&) noexcept {});
  Message* m = make_message<int>(2);
  EXPECT_EQ(box.push(m), Mailbox::Push::closed);
  destroy(m);
}

TEST(Mailbox, a_selective_scan_takes_the_first_match_and_leaves_the_rest_in_order) {
  Mailbox box;
  push_ints(box, {1, 2, 3, 2, 4});
  box.push(make_message<Numbered>(Numbered{0, 0}));
  fetch_messages(box);
  EXPECT_EQ(take(box, 2), 2);
  EXPECT_EQ(queued(box), (std::vector<int>{1, 3, 2, 4, -1}));
  EXPECT_EQ(take(box, 9), -1);
  EXPECT_EQ(queued(box), (std::vector<int>{1, 3, 2, 4, -1}));
  EXPECT_EQ(take(box, 4), 4);
  EXPECT_EQ(take(box), 1);
  EXPECT_EQ(queued(box), (std::vector<int>{3, 2, -1}));
  EXPECT_EQ(box.size(), 3u);
}

TEST(Mailbox, a_scan_that_waits_examines_each_message_once) {
  Mailbox box;
  push_ints(box, {1, 2, 3});
  fetch_messages(box);
  IntScan scan{5};
  ReceiveRequest r = scan.request();
  box.start_scan(nullptr);
  EXPECT_EQ(box.scan(r), nullptr);
  EXPECT_EQ(scan.examined, 3);
  push_ints(box, {4, 5});  // arrives while the receive waits
  fetch_messages(box);
  MessagePtr m(box.scan(r));
  ASSERT_NE(m.get(), nullptr);
  EXPECT_EQ(value_of<int>(*m.get()), 5);
  EXPECT_EQ(scan.examined, 5);  // 4 and 5 only, not 1, 2, 3 again
  box.end_scan();
  EXPECT_EQ(queued(box), (std::vector<int>{1, 2, 3, 4}));
}

TEST(Mailbox, a_scan_since_the_mark_skips_what_was_queued_before_it) {
  Mailbox box;
  push_ints(box, {1, 2});
  fetch_messages(box);
  Ref ref = Ref::make();
  box.mark(ref);
  push_ints(box, {1, 3});
  fetch_messages(box);
  IntScan scan{1};
  ReceiveRequest r = scan.request(&ref);
  box.start_scan(&ref);
  MessagePtr m(box.scan(r));
  box.end_scan();
  ASSERT_NE(m.get(), nullptr);
  EXPECT_EQ(scan.examined, 1);  // the 1 after the mark, straight away
  EXPECT_EQ(queued(box), (std::vector<int>{1, 2, 3}));
  // Another ref is not the mark: the scan starts at the front.
  Ref other = Ref::make();
  EXPECT_EQ(take(box, 1, &other), 1);
  EXPECT_EQ(queued(box), (std::vector<int>{2, 3}));
}

TEST(Mailbox, the_mark_stays_valid_when_its_message_is_received) {
  Mailbox box;
  push_ints(box, {1, 2});
  fetch_messages(box);
  Ref ref = Ref::make();
  box.mark(ref);  // after the 2
  EXPECT_EQ(take(box, 2), 2);
  push_ints(box, {3});
  fetch_messages(box);
  EXPECT_EQ(take(box, -1, &ref), 3);  // from the mark, which moved back to the 1
  EXPECT_EQ(queued(box), (std::vector<int>{1}));
}

TEST(Mailbox, flush_down_removes_the_downs_of_one_monitor_only) {
  Mailbox box;
  Ref mine = Ref::make(), theirs = Ref::make();
  push_ints(box, {1});
  box.mark(mine);  // as monitor() marks the mailbox with its ref
  fetch_messages(box);
  box.enqueue(make_message<Down>(Down{mine, pid_of(5), atoms::normal}));
  push_ints(box, {2});
  fetch_messages(box);
  box.enqueue(make_message<Down>(Down{theirs, pid_of(6), atoms::normal}));
  box.enqueue(make_message<Down>(Down{mine, pid_of(5), atoms::normal}));
  box.flush_down(mine);
  EXPECT_EQ(queued(box), (std::vector<int>{1, 2, -1}));
  std::vector<Ref> downs;
  box.for_each([&](const Message& m) {
    if (m.type == message_type<Down>) downs.push_back(value_of<Down>(m).ref);
  });
  EXPECT_EQ(downs, std::vector<Ref>{theirs});
}

TEST(Mailbox, close_returns_what_was_pushed_and_refuses_later_pushes) {
  Mailbox box;
  push_ints(box, {1});
  fetch_messages(box);
  push_ints(box, {2, 3});
  box.push(make_signal(SignalKind::monitor, pid_of(4)));
  std::vector<int> late;
  for (Message* m = box.close(); m;) {
    Message* next = m->next;
    late.push_back(is_signal(*m) ? -1 : value_of<int>(*m));
    destroy(m);
    m = next;
  }
  EXPECT_EQ(late, (std::vector<int>{2, 3, -1}));
  MessagePtr refused(make_message<int>(5));
  EXPECT_EQ(box.push(refused.get()), Mailbox::Push::closed);  // still ours to free
  EXPECT_EQ(queued(box), (std::vector<int>{1}));              // the queue is left as it was
}

TEST(Mailbox, the_first_push_to_a_parked_owner_says_to_wake_it) {
  Mailbox box;
  EXPECT_TRUE(box.try_park());
  EXPECT_EQ(box.push(make_message<int>(1)), Mailbox::Push::woke_owner);
  EXPECT_EQ(box.push(make_message<int>(2)), Mailbox::Push::queued);
  EXPECT_FALSE(box.try_park());  // something waits: the owner must fetch it
  fetch_messages(box);
  EXPECT_EQ(queued(box), (std::vector<int>{1, 2}));
  EXPECT_TRUE(box.try_park());
}

TEST(Mailbox, the_budget_is_spent_only_while_messages_wait) {
  Mailbox box;
  box.refill_budget(2);
  EXPECT_FALSE(box.budget_spent());
  push_ints(box, {1, 2, 3});
  fetch_messages(box);
  box.spend_budget();
  EXPECT_FALSE(box.budget_spent());
  box.spend_budget();
  EXPECT_TRUE(box.budget_spent());
  box.spend_budget();  // never below zero
  box.clear();
  EXPECT_FALSE(box.budget_spent());  // nothing waits: nothing to yield for
  box.refill_budget(1);
  push_ints(box, {4});
  fetch_messages(box);
  EXPECT_FALSE(box.budget_spent());
}

TEST(Mailbox, size_counts_queued_messages_not_those_still_in_the_inbox) {
  Mailbox box;
  push_ints(box, {1, 2});
  EXPECT_EQ(box.size(), 0u);
  fetch_messages(box);
  EXPECT_EQ(box.size(), 2u);
  take(box);
  EXPECT_EQ(box.size(), 1u);
}
