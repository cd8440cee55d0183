#include "ambitious/process/timer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

struct Tick {
  int n;
};
struct Marker {};

// Yields until *stop: keeps its worker running (and advancing its timer wheel).
Task<> keep_busy(std::atomic<bool>* stop) {
  while (!stop->load()) co_await yield();
}

}  // namespace

TEST(Timer, send_after_delivers_the_message_to_its_destination) {
  std::optional<std::string> got;
  run_test([&]() -> Task<> {
    Pid root = self();
    Pid p = spawn([root]() -> Task<> {
      auto s = co_await receive<std::string>();
      send(root, s + "!");
    });
    send_after(2ms, p, std::string("ring"));
    got = co_await receive<std::string>(patience);
  });
  EXPECT_EQ(got, "ring!");
}

TEST(Timer, send_after_with_no_delay_delivers_at_once) {
  std::optional<Tick> got;
  run_test([&]() -> Task<> {
    send_after(0ms, self(), Tick{1});
    got = co_await receive<Tick>(patience);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->n, 1);
}

TEST(Timer, timers_deliver_in_the_order_of_their_deadlines) {
  std::vector<int> order;
  run_test([&]() -> Task<> {
    for (int ms : {30, 10, 20, 1}) send_after(std::chrono::milliseconds(ms), self(), Tick{ms});
    for (int i = 0; i < 4; ++i)
      if (auto t = co_await receive<Tick>(patience)) order.push_back(t->n);
  });
  EXPECT_EQ(order, (std::vector<int>{1, 10, 20, 30}));
}

// OTP delivers timers due at the same time in the order they were armed (checked with erl:
// 1,000 pairs of send_after(50, self(), {I, a}) then {I, b} arrive in order).
// Due at once (0 ms) or in a slot of the wheel (20 ms): either way in the order armed. One delay
// per round, so that the order does not depend on how long arming takes (a timer armed later
// is never due earlier).
TEST(Timer, timers_armed_for_the_same_time_deliver_in_the_order_they_were_armed) {
  for (auto delay : {0ms, 20ms}) {
    std::vector<int> order, expected;
    run_test([&]() -> Task<> {
      for (int i = 0; i < 300; ++i) send_after(delay, self(), Tick{i});
      for (int i = 0; i < 300; ++i)
        if (auto t = co_await receive<Tick>(patience)) order.push_back(t->n);
    });
    for (int i = 0; i < 300; ++i) expected.push_back(i);
    EXPECT_EQ(order, expected) << delay.count() << " ms";
  }
}

// OTP: a timer never fires before its time. The clock ticks in milliseconds, so the deadline
// must be the first tick at or after now + delay (rounding now down made it fire up to 1 ms
// early). A lower bound is deterministic: each wait is measured, none may be shorter. A process
// yielding beside the waiter keeps the worker looking at its wheel, so that a timer fires as
// soon as the wheel says it is due, not when a sleeping worker happens to wake.
TEST(Timer, send_after_never_delivers_before_its_delay_has_passed) {
  using Clock = std::chrono::steady_clock;
  int early = 0;
  run_test([&]() -> Task<> {
    std::atomic<bool> stop{false};
    auto busy = spawn_monitor(keep_busy, &stop);
    for (int i = 0; i < 60; ++i) {
      auto delay = std::chrono::milliseconds(1 + i % 3);
      auto t0 = Clock::now();
      send_after(delay, self(), Tick{i});
      co_await receive<Tick>(patience);
      early += Clock::now() - t0 < delay;
    }
    stop = true;
    co_await receive_if<Down>(down_for(busy.ref), patience);  // done with `stop`
  });
  EXPECT_EQ(early, 0);
}

TEST(Timer, a_receive_timeout_never_ends_the_wait_before_its_time) {
  using Clock = std::chrono::steady_clock;
  int early = 0;
  run_test([&]() -> Task<> {
    std::atomic<bool> stop{false};
    auto busy = spawn_monitor(keep_busy, &stop);
    for (int i = 0; i < 60; ++i) {
      auto delay = std::chrono::milliseconds(1 + i % 3);
      auto t0 = Clock::now();
      co_await receive<Marker>(delay);  // nothing comes: it times out
      early += Clock::now() - t0 < delay;
    }
    stop = true;
    co_await receive_if<Down>(down_for(busy.ref), patience);  // done with `stop`
  });
  EXPECT_EQ(early, 0);
}

TEST(Timer, cancel_timer_returns_the_time_left_and_the_message_never_arrives) {
  std::optional<std::chrono::milliseconds> left;
  bool arrived = true;
  run_test([&]() -> Task<> {
    TimerRef t = send_after(20ms, self(), Tick{1});
    left = cancel_timer(t);
    // A later timer on the same wheel: had the first fired, it would come before.
    send_after(40ms, self(), Marker{});
    co_await receive<Marker>(patience);
    arrived = (co_await receive<Tick>(0ms)).has_value();
  });
  ASSERT_TRUE(left);
  EXPECT_GE(left->count(), 0);
  EXPECT_LE(left->count(), 20);
  EXPECT_FALSE(arrived);
}

TEST(Timer, cancelling_a_timer_that_fired_returns_nothing) {
  std::optional<std::chrono::milliseconds> cancelled = 1ms, read = 1ms;
  run_test([&]() -> Task<> {
    TimerRef t = send_after(1ms, self(), Tick{1});
    co_await receive<Tick>(patience);
    cancelled = cancel_timer(t);
    read = read_timer(t);
  });
  EXPECT_FALSE(cancelled);
  EXPECT_FALSE(read);
}

TEST(Timer, cancelling_twice_returns_nothing_the_second_time) {
  std::optional<std::chrono::milliseconds> first, second = 1ms, read = 1ms;
  run_test([&]() -> Task<> {
    TimerRef t = send_after(std::chrono::hours(1), self(), Tick{1});
    first = cancel_timer(t);
    second = cancel_timer(t);
    read = read_timer(t);
    co_return;
  });
  ASSERT_TRUE(first);
  EXPECT_GT(first->count(), 3'500'000);
  EXPECT_LE(first->count(), 3'600'000);
  EXPECT_FALSE(second);
  EXPECT_FALSE(read);
}

TEST(Timer, read_timer_gives_the_time_left_and_leaves_the_timer_armed) {
  std::optional<std::chrono::milliseconds> read;
  bool arrived = false;
  run_test([&]() -> Task<> {
    TimerRef t = send_after(10ms, self(), Tick{1});
    read = read_timer(t);
    arrived = (co_await receive<Tick>(patience)).has_value();
  });
  ASSERT_TRUE(read);
  EXPECT_LE(read->count(), 10);
  EXPECT_TRUE(arrived);
}

TEST(Timer, a_timer_longer_than_one_turn_of_the_wheel_does_not_fire_a_turn_early) {
  // 4,100 ms lands in the slot of tick 4 of the next 4,096 ms turn.
  bool early = true;
  std::optional<std::chrono::milliseconds> left;
  run_test([&]() -> Task<> {
    TimerRef t = send_after(4100ms, self(), Tick{1});
    send_after(50ms, self(), Marker{});
    co_await receive<Marker>(patience);
    early = (co_await receive<Tick>(0ms)).has_value();
    left = cancel_timer(t);
  });
  EXPECT_FALSE(early);
  EXPECT_TRUE(left);
}

TEST(Timer, a_timer_outlives_the_process_that_armed_it) {
  std::optional<Tick> got;
  run_test([&]() -> Task<> {
    Pid root = self();
    spawn([root]() -> Task<> {
      send_after(2ms, root, Tick{7});
      co_return;
    });
    got = co_await receive<Tick>(patience);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->n, 7);
}

TEST(Timer, a_timer_to_a_dead_process_is_dropped) {
  std::optional<std::chrono::milliseconds> after_fire = 1ms;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive<Down>();
    TimerRef t = send_after(1ms, p, Tick{1});
    send_after(20ms, self(), Marker{});
    co_await receive<Marker>(patience);  // the first fired before this one
    after_fire = cancel_timer(t);
  });
  EXPECT_FALSE(after_fire);
}

// OTP's erlang:send_after/3 and start_timer/3 to a pid: "the timer is automatically cancelled
// if the process referred to by the pid is not alive, or if the process exits".
TEST(Timer, a_timer_to_a_process_is_cancelled_when_the_process_exits) {
  std::optional<std::chrono::milliseconds> before, read = 1ms, cancelled = 1ms, exit_read = 1ms;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor(exit_on_go, ExitReason(foo));
    TimerRef t = send_after(std::chrono::hours(1), p, Tick{1});
    TimerRef e = exit_after(std::chrono::hours(1), p, foo);
    before = read_timer(t);
    send(p, Go{});
    co_await receive<Down>(patience);
    read = read_timer(t);
    cancelled = cancel_timer(t);
    exit_read = read_timer(e);
  });
  EXPECT_TRUE(before);
  EXPECT_FALSE(read);
  EXPECT_FALSE(cancelled);
  EXPECT_FALSE(exit_read);
}

TEST(Timer, a_timer_to_a_pid_that_is_not_alive_is_cancelled_at_once) {
  std::optional<std::chrono::milliseconds> read = 1ms, cancelled = 1ms;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive<Down>(patience);
    TimerRef t = send_after(std::chrono::hours(1), p, Tick{1});
    read = read_timer(t);
    cancelled = cancel_timer(t);
  });
  EXPECT_FALSE(read);
  EXPECT_FALSE(cancelled);
}

namespace {
// A message that counts its destructions: a cancelled timer's message must be freed.
struct Payload {
  explicit Payload(std::atomic<int>& destroyed) : destroyed_(&destroyed) {}
  Payload(Payload&& o) noexcept : destroyed_(std::exchange(o.destroyed_, nullptr)) {}
  Payload& operator=(Payload&&) = delete;
  ~Payload() {
    if (destroyed_) destroyed_->fetch_add(1);
  }
  std::atomic<int>* destroyed_;
};
}  // namespace

TEST(Timer, the_messages_of_timers_to_a_process_that_exits_are_freed_without_waiting_for_them) {
  constexpr int n = 1'000;
  std::atomic<int> destroyed{0};
  bool freed = false;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor(exit_on_go, ExitReason(foo));
    for (int i = 0; i < n; ++i) send_after(std::chrono::hours(1), p, Payload(destroyed));
    send(p, Go{});
    co_await receive<Down>(patience);
    // The wheel frees cancelled entries the next time its worker looks at it.
    auto give_up = std::chrono::steady_clock::now() + patience;
    while (destroyed.load() < n && std::chrono::steady_clock::now() < give_up) co_await sleep(1ms);
    freed = destroyed.load() == n;
  });
  EXPECT_TRUE(freed);
}

TEST(Timer, timers_to_processes_exiting_on_other_workers_are_delivered_or_cancelled_never_left) {
  // Each target ends on whichever worker runs it, while a short timer to it fires (or not) and
  // a long one waits: once its Down is here, neither may still be armed.
  constexpr int rounds = 2'000;
  int armed_after = 0;
  run_test(four_workers, [&]() -> Task<> {
    for (int i = 0; i < rounds; ++i) {
      auto [p, ref] = spawn_monitor([]() -> Task<> {
        co_await receive<Tick>(1ms);
        exit(foo);
      });
      TimerRef now = send_after(std::chrono::milliseconds(i % 2), p, Tick{i});
      TimerRef later = send_after(std::chrono::hours(1), p, Tick{i});
      co_await receive_if<Down>(down_for(ref), patience);
      armed_after += read_timer(now).has_value() + cancel_timer(later).has_value();
    }
  });
  EXPECT_EQ(armed_after, 0);
}

TEST(Timer, exit_after_ends_the_target_with_the_reason) {
  std::vector<ExitReason> reasons;
  run_test([&]() -> Task<> {
    auto a = spawn_monitor(wait_forever);
    exit_after(1ms, a.pid, foo);
    if (auto d = co_await receive<Down>(patience)) reasons.push_back(d->reason);
    auto b = spawn_monitor([]() -> Task<> {
      trap_exit(true);
      co_await receive<Done>();
    });
    exit_after(1ms, b.pid, atoms::kill);
    if (auto d = co_await receive<Down>(patience)) reasons.push_back(d->reason);
  });
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons[0], foo);
  EXPECT_EQ(reasons[1], atoms::killed);
}

TEST(Timer, exit_after_reaches_a_trapping_process_as_an_exit_from_the_caller) {
  std::optional<Exit> got;
  Pid caller;
  run_test([&]() -> Task<> {
    caller = self();
    trap_exit(true);
    exit_after(1ms, self(), foo);
    got = co_await receive<Exit>(patience);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, caller);
  EXPECT_EQ(got->reason, foo);
}

TEST(Timer, a_cancelled_exit_after_never_ends_the_target) {
  bool alive_after = false;
  std::optional<std::chrono::milliseconds> left;
  run_test([&]() -> Task<> {
    Pid p = spawn(wait_forever);
    TimerRef t = exit_after(5ms, p, foo);
    left = cancel_timer(t);
    send_after(30ms, self(), Marker{});
    co_await receive<Marker>(patience);
    alive_after = alive(p);
    send(p, Done{});
  });
  EXPECT_TRUE(left);
  EXPECT_TRUE(alive_after);
}

TEST(Timer, a_hundred_thousand_armed_timers_can_all_be_cancelled) {
  constexpr int n = 100'000;
  int cancelled = 0, still_readable = 0;
  run_test([&]() -> Task<> {
    std::vector<TimerRef> timers;
    timers.reserve(n);
    for (int i = 0; i < n; ++i)
      timers.push_back(send_after(std::chrono::hours(1), self(), Tick{i}));
    for (auto& t : timers) cancelled += cancel_timer(t).has_value();
    for (auto& t : timers) still_readable += read_timer(t).has_value();
    auto info = co_await process_info(self());
    EXPECT_TRUE(info && info->message_queue_len == 0);
  });
  EXPECT_EQ(cancelled, n);
  EXPECT_EQ(still_readable, 0);
}

TEST(Timer, a_hundred_thousand_timers_each_deliver_exactly_once) {
  constexpr int n = 100'000;
  std::vector<int> seen(n, 0);
  run_test([&]() -> Task<> {
    for (int i = 0; i < n; ++i) send_after(std::chrono::milliseconds(i % 50), self(), Tick{i});
    for (int i = 0; i < n; ++i) {
      auto t = co_await receive<Tick>(patience);
      if (!t) break;
      ++seen[t->n];
    }
    EXPECT_FALSE(co_await receive<Tick>(0ms));
  });
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), n);
}

TEST(Timer, a_timer_armed_on_one_worker_is_cancelled_from_another) {
  constexpr int n = 2'000;
  int cancelled = 0;
  bool arrived = true;
  run_test(four_workers, [&]() -> Task<> {
    Pid root = self();
    // Helpers on other workers cancel what the root armed, while it keeps arming.
    std::vector<Pid> helpers;
    for (int h = 0; h < 3; ++h)
      helpers.push_back(spawn([root]() -> Task<> {
        int mine = 0;
        for (;;) {
          bool stop = false;
          co_await receive([&](TimerRef t) { mine += cancel_timer(t).has_value(); },
                           [&](Done) { stop = true; });
          if (stop) break;
        }
        send(root, mine);
      }));
    for (int i = 0; i < n; ++i) {
      send(helpers[i % 3], send_after(std::chrono::minutes(10), root, Tick{i}));
      if (i % 100 == 0) co_await yield();
    }
    for (Pid h : helpers) send(h, Done{});
    for (int h = 0; h < 3; ++h) cancelled += (co_await receive<int>(patience)).value_or(0);
    arrived = (co_await receive<Tick>(0ms)).has_value();
  });
  EXPECT_EQ(cancelled, n);
  EXPECT_FALSE(arrived);
}

TEST(Timer, two_processes_racing_to_cancel_a_timer_cancel_it_exactly_once) {
  // The root arms a timer, hands its ref to a reader on another worker and cancels it too;
  // the entries are reused at once. Exactly one cancel wins each time, read_timer of a ref
  // whose timer is gone says nothing, and no message is ever delivered.
  constexpr int rounds = 20'000;
  int cancelled = 0;
  run_test(four_workers, [&]() -> Task<> {
    Pid root = self();
    std::vector<Pid> readers;
    for (int r = 0; r < 2; ++r)
      readers.push_back(spawn([root]() -> Task<> {
        int won = 0;
        for (;;) {
          auto t = co_await receive<std::optional<TimerRef>>();
          if (!t) break;
          (void)read_timer(*t);
          won += cancel_timer(*t).has_value();
          if (read_timer(*t)) won += 1'000'000;  // cancelled: must read nothing
        }
        send(root, won);
      }));
    for (int i = 0; i < rounds; ++i) {
      TimerRef t = send_after(std::chrono::minutes(1), root, Tick{i});
      send(readers[i % 2], std::optional<TimerRef>(t));
      if (i % 2) cancelled += cancel_timer(t).has_value();
      if (i % 64 == 0) co_await yield();
    }
    for (Pid r : readers) send(r, std::optional<TimerRef>());
    for (int r = 0; r < 2; ++r) cancelled += (co_await receive<int>(patience)).value_or(0);
    EXPECT_FALSE(co_await receive<Tick>(0ms));
  });
  EXPECT_EQ(cancelled, rounds);
}

TEST(Timer, a_timer_ref_kept_past_its_run_names_no_timer_in_a_later_run) {
  // The wheel the ref pointed into is gone with its run: the ref must answer "no such timer"
  // without reading it (ASan reports any read), and must never reach a timer of the later run,
  // which may well sit at the same address.
  TimerRef kept;
  run_test([&]() -> Task<> {
    kept = send_after(std::chrono::hours(1), self(), Tick{1});
    co_return;
  });
  std::optional<std::chrono::milliseconds> read = 1ms, cancelled = 1ms, own;
  run_test([&]() -> Task<> {
    TimerRef mine = send_after(std::chrono::hours(1), self(), Tick{2});
    read = read_timer(kept);
    cancelled = cancel_timer(kept);
    own = cancel_timer(mine);
    co_return;
  });
  EXPECT_FALSE(read);
  EXPECT_FALSE(cancelled);
  EXPECT_TRUE(own);  // the later run's timer was left alone
}

TEST(Timer, a_process_that_never_suspends_does_not_hold_back_the_timers_of_its_worker) {
  // The sleeper arms its timer on its worker, then the spinner takes that worker (spawned by
  // the sleeper, it runs next there) and never suspends until the sleeper, woken by its timer,
  // sets the flag. Only the other worker is free: the timer must fire all the same.
  using Clock = std::chrono::steady_clock;
  std::optional<bool> saw_flag;
  run_test(two_workers, [&]() -> Task<> {
    Pid root = self();
    std::atomic<bool> flag{false};
    spawn([root, &flag]() -> Task<> {
      spawn([root, &flag]() -> Task<> {
        auto give_up = Clock::now() + patience;
        while (!flag.load() && Clock::now() < give_up) {
        }
        send(root, flag.load());
        co_return;
      });
      co_await sleep(50ms);
      flag = true;
    });
    saw_flag = co_await receive<bool>(patience);
  });
  EXPECT_EQ(saw_flag, true);
}

// erlang:start_timer/3: {timeout, TimerRef, Msg}.
TEST(Timer, start_timer_delivers_timeout_with_the_timer_and_the_message) {
  std::optional<TimerTimeout<std::string>> got;
  TimerRef t;
  run_test([&]() -> Task<> {
    t = start_timer(2ms, self(), std::string("hello"));
    got = co_await receive<TimerTimeout<std::string>>(patience);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->timer, t);
  EXPECT_EQ(got->msg, "hello");
}

TEST(Timer, start_timer_to_a_process_that_exits_is_cancelled) {
  std::optional<std::chrono::milliseconds> before, after = 1ms;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor(exit_on_go, ExitReason(foo));
    TimerRef t = start_timer(std::chrono::hours(1), p, Tick{1});
    before = read_timer(t);
    send(p, Go{});
    co_await receive<Down>(patience);
    after = read_timer(t);
  });
  EXPECT_TRUE(before);
  EXPECT_FALSE(after);
}

// OTP: a timer to a registered name resolves it when it fires; "timers are not automatically
// cancelled when Dest is an atom".
TEST(Timer, send_after_to_a_name_resolves_the_name_when_it_fires) {
  std::optional<Tick> got;
  std::optional<TimerTimeout<int>> timeout;
  const Atom name("registered_later");
  run_test([&]() -> Task<> {
    send_after(20ms, name, Tick{5});
    start_timer(20ms, name, 6);
    register_name(name, self());
    got = co_await receive<Tick>(patience);
    timeout = co_await receive<TimerTimeout<int>>(patience);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->n, 5);
  ASSERT_TRUE(timeout);
  EXPECT_EQ(timeout->msg, 6);
}

TEST(Timer, send_after_to_a_name_nobody_holds_when_it_fires_is_dropped) {
  std::optional<std::chrono::milliseconds> read;
  bool arrived = true;
  const Atom name("held_by_nobody_at_all");
  run_test([&]() -> Task<> {
    TimerRef t = send_after(1ms, name, Tick{1});
    read = read_timer(t);  // armed, though nobody holds the name now
    send_after(20ms, self(), Marker{});
    co_await receive<Marker>(patience);  // the first fired before this one
    register_name(name, self());
    arrived = (co_await receive<Tick>(0ms)).has_value();
  });
  EXPECT_TRUE(read);
  EXPECT_FALSE(arrived);
}

TEST(Timer, a_timer_to_a_name_outlives_the_process_that_held_the_name) {
  std::optional<std::chrono::milliseconds> after;
  const Atom name("held_then_left");
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor(exit_on_go, ExitReason(foo));
    register_name(name, p);
    TimerRef t = send_after(std::chrono::hours(1), name, Tick{1});
    send(p, Go{});
    co_await receive<Down>(patience);
    after = cancel_timer(t);
  });
  EXPECT_TRUE(after);
}

// erlang:cancel_timer/2 with [{async, true}, {info, true}]: returns ok, and the result arrives
// as {cancel_timer, TimerRef, Result}; false when there was no timer (verified with erl).
TEST(Timer, an_async_cancel_with_info_sends_the_result_as_a_message) {
  std::optional<std::chrono::milliseconds> returned = 1ms, again_returned = 1ms;
  std::optional<CancelTimerResult> result, again;
  TimerRef t;
  bool delivered = true;
  run_test([&]() -> Task<> {
    t = send_after(100s, self(), Tick{1});
    returned = cancel_timer(t, {.async = true, .info = true});
    result = co_await receive<CancelTimerResult>(patience);
    again_returned = cancel_timer(t, {.async = true});
    again = co_await receive<CancelTimerResult>(patience);
    delivered = (co_await receive<Tick>(0ms)).has_value();
  });
  EXPECT_FALSE(returned);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->timer, t);
  ASSERT_TRUE(result->left);
  EXPECT_GT(result->left->count(), 99'000);
  EXPECT_LE(result->left->count(), 100'000);
  EXPECT_FALSE(again_returned);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->timer, t);
  EXPECT_FALSE(again->left);
  EXPECT_FALSE(delivered);
}

TEST(Timer, a_cancel_without_info_cancels_and_tells_nothing) {
  std::optional<std::chrono::milliseconds> sync = 1ms, async = 1ms, sync_read = 1ms,
                                           async_read = 1ms;
  bool told = true;
  run_test([&]() -> Task<> {
    TimerRef a = send_after(100s, self(), Tick{1});
    TimerRef b = send_after(100s, self(), Tick{2});
    sync = cancel_timer(a, {.info = false});
    async = cancel_timer(b, {.async = true, .info = false});
    sync_read = read_timer(a);
    async_read = read_timer(b);
    send(self(), Marker{});
    co_await receive<Marker>(patience);  // anything sent before is queued
    told = (co_await receive<CancelTimerResult>(0ms)).has_value();
  });
  EXPECT_FALSE(sync);
  EXPECT_FALSE(async);
  EXPECT_FALSE(sync_read);
  EXPECT_FALSE(async_read);
  EXPECT_FALSE(told);
}

TEST(Timer, a_sync_cancel_with_info_is_cancel_timer) {
  std::optional<std::chrono::milliseconds> left, again = 1ms;
  run_test([&]() -> Task<> {
    TimerRef t = send_after(100s, self(), Tick{1});
    left = cancel_timer(t, {});
    again = cancel_timer(t, {});
    co_return;
  });
  ASSERT_TRUE(left);
  EXPECT_LE(left->count(), 100'000);
  EXPECT_FALSE(again);
}

TEST(Timer, an_infinite_delay_is_refused_with_bad_arg) {
  run_test([&]() -> Task<> {
    EXPECT_THROW(send_after(infinity, self(), 1), BadArg);
    EXPECT_THROW(send_after(infinity, Atom("someone"), 1), BadArg);
    EXPECT_THROW(start_timer(infinity, self(), 1), BadArg);
    EXPECT_THROW(exit_after(infinity, self(), foo), BadArg);
    co_return;
  });
}

TEST(Timer, timer_functions_outside_a_process_throw_not_in_process) {
  EXPECT_THROW(send_after(1ms, Pid(), 1), NotInProcess);
  EXPECT_THROW(send_after(1ms, Atom("someone"), 1), NotInProcess);
  EXPECT_THROW(start_timer(1ms, Pid(), 1), NotInProcess);
  EXPECT_THROW(start_timer(1ms, Atom("someone"), 1), NotInProcess);
  EXPECT_THROW(exit_after(1ms, Pid(), foo), NotInProcess);
  EXPECT_THROW(cancel_timer(TimerRef{}), NotInProcess);
  EXPECT_THROW(cancel_timer(TimerRef{}, {.async = true}), NotInProcess);
  EXPECT_THROW(read_timer(TimerRef{}), NotInProcess);
}
