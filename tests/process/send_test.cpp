#include "ambitious/process/send.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
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
  run_test([&]() -> Task<> {
    // The full-expression awaits, as in the README's trap: no SetName temporary.
    auto got = (send<SetName>(self(), std::string("x"), std::vector<int>(2, 7), Tracked(live)),
                co_await receive<SetName>());
    name = got.name;
    path = got.path;
    EXPECT_EQ(live.load(), 1);  // only `got` is left
  });
  EXPECT_EQ(name, "x");
  EXPECT_EQ(path, (std::vector<int>{7, 7}));
  EXPECT_EQ(live.load(), 0);
}

TEST(Send, an_emplacing_send_with_no_arguments_value_initialises_the_message) {
  Point got{0, 0};
  run_test([&]() -> Task<> {
    send<Point>(self());
    got = co_await receive<Point>();
  });
  EXPECT_EQ(got.x, 1);
  EXPECT_EQ(got.y, 2);
}

TEST(Send, an_emplacing_send_of_an_lvalue_copies_it) {
  std::string kept = "kept", got;
  run_test([&]() -> Task<> {
    send<std::string>(self(), kept);
    got = co_await receive<std::string>();
  });
  EXPECT_EQ(kept, "kept");
  EXPECT_EQ(got, "kept");
}

TEST(Send, an_emplacing_send_to_a_registered_name_reaches_its_process) {
  std::atomic<int> live{0};
  std::string name;
  run_test([&]() -> Task<> {
    register_name(Atom("send_test_target"), self());
    send<SetName>(Atom("send_test_target"), "by name", std::vector<int>{}, Tracked(live));
    name = (co_await receive<SetName>()).name;
  });
  EXPECT_EQ(name, "by name");
  EXPECT_EQ(live.load(), 0);
}

TEST(Send, an_emplacing_send_to_an_unregistered_name_throws_badarg_and_leaks_nothing) {
  std::atomic<int> live{0};
  bool threw = false;
  run_test([&]() -> Task<> {
    try {
      send<SetName>(Atom("send_test_nobody"), "x", std::vector<int>{}, Tracked(live));
    } catch (const BadArg&) {
      threw = true;
    }
    co_return;
  });
  EXPECT_TRUE(threw);
  EXPECT_EQ(live.load(), 0);
}

TEST(Send, send_outside_a_process_throws_not_in_process) {
  EXPECT_THROW(send<int>(Pid(), 1), NotInProcess);
  EXPECT_THROW(send(Pid(), 1), NotInProcess);
}

// --- deliver_term: a term from another node, delivered from any thread --------------------------

TEST(Send, a_term_delivered_from_a_foreign_thread_is_taken_by_receive_term_in_order) {
  constexpr int n = 1'000;
  std::vector<std::int64_t> got;
  std::vector<Delivery> results;
  run_test(two_workers, [&]() -> Task<> {
    Pid me = self();
    std::thread reader([&results, me] {
      for (int i = 0; i < n; ++i) results.push_back(deliver_term(me, Term(i)));
    });
    for (int i = 0; i < n; ++i) {
      auto t = co_await receive<Term>(patience);
      if (!t) break;
      got.push_back(t->as_int64());
    }
    co_await blocking([&] { reader.join(); });
  });
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(got[i], i);
  EXPECT_EQ(std::count(results.begin(), results.end(), Delivery::queued), n);
}

TEST(Send, terms_delivered_by_several_threads_keep_each_threads_order) {
  constexpr int threads = 3;
  constexpr int per_thread = 5'000;
  std::vector<int> next(threads, 0);
  int out_of_order = 0;
  run_test(four_workers, [&]() -> Task<> {
    Pid me = self();
    std::vector<std::thread> readers;
    for (int k = 0; k < threads; ++k)
      readers.emplace_back([me, k] {
        for (int i = 0; i < per_thread; ++i) deliver_term(me, Term::tuple(k, i));
      });
    for (int i = 0; i < threads * per_thread; ++i) {
      auto t = co_await receive<Term>(patience);
      if (!t) break;
      auto k = static_cast<std::size_t>((*t)[0].as_int64());
      if ((*t)[1].as_int64() != next[k]) ++out_of_order;
      ++next[k];
    }
    co_await blocking([&] {
      for (auto& r : readers) r.join();
    });
  });
  EXPECT_EQ(out_of_order, 0);
  EXPECT_EQ(next, std::vector<int>(threads, per_thread));
}

TEST(Send, a_term_and_an_exit_signal_from_one_sender_arrive_in_the_order_sent) {
  std::vector<std::string> got;
  run_test([&]() -> Task<> {
    Pid root = self();
    Pid q = spawn([root, &got]() -> Task<> {
      trap_exit(true);
      send(root, Go{});
      for (int i = 0; i < 3; ++i)
        co_await receive([&](Term t) { got.push_back(t.to_string()); },
                         [&](Exit e) { got.push_back(e.reason.to_string()); });
      send(root, Done{});
    });
    co_await receive<Go>();
    EXPECT_EQ(deliver_term(q, Term(1)), Delivery::queued);
    exit(q, foo);
    EXPECT_EQ(deliver_term(q, Term(2)), Delivery::queued);
    co_await receive<Done>(patience);
  });
  EXPECT_EQ(got, (std::vector<std::string>{"1", "foo", "2"}));
}

TEST(Send, a_term_to_a_registered_name_reaches_it_and_to_an_unknown_name_is_dropped) {
  Delivery named = Delivery::no_runtime, unknown = Delivery::no_runtime;
  std::int64_t got = 0;
  run_test(two_workers, [&]() -> Task<> {
    register_name(Atom("send_test_node_target"), self());
    std::thread reader([&] {
      unknown = deliver_term(Atom("send_test_node_nobody"), Term(1));
      named = deliver_term(Atom("send_test_node_target"), Term(2));
    });
    got = (co_await receive<Term>(patience)).value_or(Term(0)).as_int64();
    co_await blocking([&] { reader.join(); });
  });
  EXPECT_EQ(named, Delivery::queued);
  EXPECT_EQ(unknown, Delivery::no_process);
  EXPECT_EQ(got, 2);
}

TEST(Send, a_term_to_a_dead_process_is_dropped_with_no_process) {
  Delivery result = Delivery::queued;
  run_test(two_workers, [&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive<Down>();
    std::thread reader([&, p] { result = deliver_term(p, Term(1)); });
    co_await blocking([&] { reader.join(); });
  });
  EXPECT_EQ(result, Delivery::no_process);
}

TEST(Send, a_term_delivered_with_no_runtime_running_is_dropped_with_no_runtime) {
  EXPECT_EQ(deliver_term(Pid(nodes::local, 1, 0), Term::binary("x")), Delivery::no_runtime);
  EXPECT_EQ(deliver_term(Atom("send_test_nobody"), Term(1)), Delivery::no_runtime);
}

TEST(Send, delivering_from_a_foreign_thread_while_runtimes_start_and_stop_is_safe) {
  // The thread may read the runtime's pointer just before run() frees it: the foreign gate
  // keeps it alive until the delivery is over (the sanitizer builds check it).
  std::atomic<bool> stop{false};
  std::atomic<int> queued{0}, refused{0};
  std::thread reader([&] {
    while (!stop.load()) {
      // Pid 1 is the first process of a fresh runtime: its root.
      Delivery d = deliver_term(Pid(nodes::local, 1, 0), Term::binary("payload"));
      (d == Delivery::queued ? queued : refused).fetch_add(1);
    }
  });
  int failed = 0;
  for (int i = 0; i < 50; ++i)
    failed += run(one_worker, []() -> Task<> {
      for (int k = 0; k < 100; ++k) co_await yield();
    });
  stop.store(true);
  reader.join();
  EXPECT_EQ(failed, 0);
  EXPECT_GT(refused.load(), 0);  // some deliveries found no runtime, or a stopping one
}

namespace {
struct Note {};
// A message that says, from its destructor, that it was dropped (a reply guard): it posts to
// `notify`, then raises `noted`.
struct Guarded {
  Pid notify;
  std::atomic<bool>* noted;
  bool armed = true;
  Guarded(Pid p, std::atomic<bool>* n) noexcept : notify(p), noted(n) {}
  Guarded(Guarded&& o) noexcept
      : notify(o.notify), noted(o.noted), armed(std::exchange(o.armed, false)) {}
  ~Guarded() {
    if (!armed) return;
    post(notify, Note{});
    *noted = true;
  }
};
}  // namespace

TEST(Send, a_message_a_foreign_post_drops_may_post_from_its_destructor) {
  std::atomic<bool> noted{false};
  run_test(two_workers, [&]() -> Task<> {
    auto [dead, mref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await expect_down(mref);
    Pid me = self();
    std::thread foreign([&, dead = dead, me] { post(dead, Guarded(me, &noted)); });
    co_await expect<Note>();
    foreign.join();
  });
  EXPECT_TRUE(noted);
}

// On one worker, a process that never suspends: only the watchdog can fire the timer, and it
// drops the message (nobody holds the name), whose destructor posts.
TEST(Send, a_timer_message_the_watchdog_drops_may_post_from_its_destructor) {
  std::atomic<bool> noted{false};
  run_test(one_worker, [&]() -> Task<> {
    send_after(5ms, Atom("nobody_holds_this_name"), Guarded(self(), &noted));
    auto give_up_at = std::chrono::steady_clock::now() + patience;
    while (!noted && std::chrono::steady_clock::now() < give_up_at) {
    }
    if (!noted) give_up("the watchdog never fired the timer");
    co_await expect<Note>();
  });
}
