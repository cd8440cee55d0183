#include "ambitious/runtime/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

using namespace ambitious::detail;
using namespace std::chrono_literals;

namespace {

// Each timer counts what became of it in its own cell (its `arg`), so that exactly-once is
// checked per timer; the cells are declared before the wheel, which discards into them. The test
// thread is the wheel's owner; it is no worker, so cancel() always hands the entry back, as it does
// for a cancel from another worker.
struct Fate {
  std::atomic<int> fired{0};
  std::atomic<int> discarded{0};
};

void note_fire(TimerEntry& e) noexcept { static_cast<Fate*>(e.payload)[e.arg].fired++; }
void note_discard(TimerEntry& e) noexcept { static_cast<Fate*>(e.payload)[e.arg].discarded++; }
constexpr TimerAction noting{&note_fire, &note_discard};

TimerHandle arm(TimerWheel& wheel, std::uint64_t deadline, Fate* fates, std::uint64_t i) {
  return wheel.arm(deadline, noting, [&](TimerEntry& e) {
    e.payload = fates;
    e.arg = i;
  });
}

}  // namespace

TEST(TimerWheel, a_timer_fires_at_its_deadline_tick_and_not_before) {
  Fate fate;
  TimerWheel wheel;
  std::uint64_t now = now_ms();
  TimerHandle h = arm(wheel, now + 5, &fate, 0);
  wheel.advance(now + 4);
  EXPECT_EQ(fate.fired, 0);
  EXPECT_TRUE(TimerWheel::remaining(h));
  wheel.advance(now + 5);
  EXPECT_EQ(fate.fired, 1);
  EXPECT_EQ(wheel.armed(), 0u);
  EXPECT_FALSE(TimerWheel::remaining(h));
  EXPECT_FALSE(TimerWheel::cancel(h));
}

TEST(TimerWheel, a_deadline_is_never_before_now_plus_the_delay) {
  // The tick a timer is due at is the first at or after now + delay: rounding now down made a
  // timer fire up to a millisecond early.
  using Clock = std::chrono::steady_clock;
  int early = 0;
  for (int i = 0; i < 10'000; ++i) {
    auto before = Clock::now().time_since_epoch();
    auto due = std::chrono::milliseconds(deadline_after(3));
    early += due < before + 3ms;
  }
  EXPECT_EQ(early, 0);
}

TEST(TimerWheel, a_deadline_too_far_to_count_is_the_last_tick_not_a_wrapped_one) {
  EXPECT_EQ(deadline_after(std::numeric_limits<std::uint64_t>::max() - 1),
            std::numeric_limits<std::uint64_t>::max() - 1);
  EXPECT_GE(deadline_after(std::numeric_limits<std::uint64_t>::max() / 2), now_ms());
}

TEST(TimerWheel, a_timer_cancelled_elsewhere_is_discarded_at_once_and_freed_by_the_owner) {
  Fate fate;
  TimerWheel wheel;
  std::uint64_t now = now_ms();
  TimerHandle h = arm(wheel, now + 1'000, &fate, 0);
  std::optional<std::uint64_t> left;
  std::thread([&] { left = TimerWheel::cancel(h); }).join();
  ASSERT_TRUE(left);
  EXPECT_LE(*left, 1'000u);
  EXPECT_FALSE(TimerWheel::remaining(h));
  EXPECT_EQ(fate.discarded, 1);
  EXPECT_EQ(wheel.armed(), 1u);  // the owner alone touches its lists: it frees the entry
  wheel.advance(now);
  EXPECT_EQ(wheel.armed(), 0u);
  EXPECT_EQ(fate.discarded, 1);
  EXPECT_EQ(fate.fired, 0);
}

TEST(TimerWheel, a_handle_to_a_reused_entry_names_no_timer) {
  Fate fates[2];
  TimerWheel wheel;
  std::uint64_t now = now_ms();
  TimerHandle first = arm(wheel, now, fates, 0);
  wheel.advance(now);
  TimerHandle second = arm(wheel, now + 100, fates, 1);
  ASSERT_EQ(first.entry, second.entry);  // the free list gave the same entry back
  EXPECT_FALSE(TimerWheel::remaining(first));
  EXPECT_FALSE(TimerWheel::cancel(first));
  EXPECT_TRUE(TimerWheel::remaining(second));
  EXPECT_TRUE(TimerWheel::cancel(second));
}

TEST(TimerWheel, a_cancel_in_two_steps_discards_when_it_is_finished) {
  Fate fates[2];
  TimerWheel wheel;
  std::uint64_t now = now_ms();
  TimerHandle h = arm(wheel, now + 100, fates, 0);
  TimerHandle fired = arm(wheel, now, fates, 1);
  wheel.advance(now);
  EXPECT_TRUE(TimerWheel::begin_cancel(*h.entry));
  EXPECT_FALSE(TimerWheel::begin_cancel(*fired.entry));  // no longer armed: not ours
  EXPECT_FALSE(TimerWheel::begin_cancel(*h.entry));      // cancelled once only
  EXPECT_FALSE(TimerWheel::remaining(h));
  EXPECT_EQ(fates[0].discarded, 0);
  TimerWheel::finish_cancel(*h.entry);
  EXPECT_EQ(fates[0].discarded, 1);
  wheel.advance(now);
  EXPECT_EQ(fates[0].discarded, 1);
  EXPECT_EQ(fates[1].fired, 1);
  EXPECT_EQ(fates[1].discarded, 0);
  EXPECT_EQ(wheel.armed(), 0u);
}

TEST(TimerWheel, a_rescue_fires_the_due_timers_from_another_thread_and_the_owner_frees_them) {
  constexpr int due = 1'000, later = 10;
  auto fates = std::make_unique<Fate[]>(due + later);
  TimerWheel wheel;
  std::uint64_t now = now_ms();
  for (int i = 0; i < due; ++i) arm(wheel, now + i % 10, fates.get(), i);
  for (int i = due; i < due + later; ++i) arm(wheel, now + 1'000, fates.get(), i);
  std::size_t rescued = 0;
  std::thread([&] { rescued = wheel.rescue(now + 9, due); }).join();
  EXPECT_EQ(rescued, std::size_t{due});
  wheel.advance(now + 9);  // frees what the rescue handed back, fires nothing twice
  int fired = 0, twice = 0;
  for (int i = 0; i < due + later; ++i) {
    fired += fates[i].fired;
    twice += fates[i].fired > 1;
  }
  EXPECT_EQ(fired, due);
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(wheel.armed(), std::size_t{later});
}

TEST(TimerWheel, a_rescue_fires_no_more_than_its_limit_and_the_next_goes_on) {
  constexpr int due = 100;
  auto fates = std::make_unique<Fate[]>(due);
  TimerWheel wheel;
  std::uint64_t now = now_ms();
  for (int i = 0; i < due; ++i) arm(wheel, now + i % 4, fates.get(), i);
  std::vector<std::size_t> rescues;
  std::thread([&] {
    for (int r = 0; r < 4; ++r) rescues.push_back(wheel.rescue(now + 3, 30));
  }).join();
  EXPECT_EQ(rescues, (std::vector<std::size_t>{30, 30, 30, 10}));
  int fired = 0;
  for (int i = 0; i < due; ++i) fired += fates[i].fired;
  EXPECT_EQ(fired, due);
}

TEST(TimerWheel, a_rescue_never_fires_a_timer_before_its_deadline) {
  Fate fate;
  TimerWheel wheel;
  std::uint64_t now = now_ms();
  TimerHandle h = arm(wheel, now + 50, &fate, 0);
  std::size_t rescued = 1;
  std::thread([&] { rescued = wheel.rescue(now + 49, 10); }).join();
  EXPECT_EQ(rescued, 0u);
  EXPECT_TRUE(TimerWheel::remaining(h));
  std::thread([&] { rescued = wheel.rescue(now + 50, 10); }).join();
  EXPECT_EQ(rescued, 1u);
  EXPECT_EQ(fate.fired, 1);
}

TEST(TimerWheel, a_rescue_after_a_long_stall_looks_at_every_slot) {
  // The owner has not advanced for longer than a lap of the wheel: every slot may hold a due
  // timer, and the rescue covers each once.
  Fate fates[3];
  TimerWheel wheel;
  std::uint64_t now = now_ms();
  arm(wheel, now + 10, fates, 0);
  arm(wheel, now + 3'000, fates, 1);
  arm(wheel, now + 20'000, fates, 2);  // not due
  std::size_t rescued = 0;
  std::thread([&] { rescued = wheel.rescue(now + 10'000, 10); }).join();
  EXPECT_EQ(rescued, 2u);
  EXPECT_EQ(fates[0].fired + fates[1].fired, 2);
  EXPECT_EQ(fates[2].fired, 0);
}

TEST(TimerWheel, a_rescue_racing_the_owner_and_cancels_settles_each_timer_exactly_once) {
  // The owner keeps arming, cancelling and advancing while a rescuer fires what is due: every
  // timer is fired or discarded once, never both, and a successful cancel means discarded.
  constexpr int n = 20'000;
  auto fates = std::make_unique<Fate[]>(n);
  TimerWheel wheel;
  std::vector<bool> cancelled(n, false);
  std::uint64_t base = now_ms();
  std::atomic<bool> stop{false};
  std::thread rescuer([&] {
    while (!stop.load()) wheel.rescue(base + 64, 256);
  });
  for (int i = 0; i < n; ++i) {
    TimerHandle h = arm(wheel, base + i % 64, fates.get(), i);
    if (i % 3 == 0) cancelled[i] = TimerWheel::cancel(h).has_value();
    if (i % 100 == 0) wheel.advance(base + (i / 100) % 64);
  }
  stop = true;
  rescuer.join();
  wheel.advance(base + 64);
  int settled_once = 0, cancel_mismatch = 0;
  for (int i = 0; i < n; ++i) {
    settled_once += fates[i].fired + fates[i].discarded == 1;
    cancel_mismatch += cancelled[i] != (fates[i].discarded == 1);
  }
  EXPECT_EQ(settled_once, n);
  EXPECT_EQ(cancel_mismatch, 0);
  EXPECT_EQ(wheel.armed(), 0u);
}

TEST(TimerWheel, next_due_in_counts_to_the_first_occupied_slot) {
  Fate fate;
  TimerWheel wheel;
  std::uint64_t now = now_ms();
  wheel.advance(now);
  EXPECT_FALSE(wheel.next_due_in(now));
  arm(wheel, now + 30, &fate, 0);
  EXPECT_EQ(wheel.next_due_in(now), 30u);
}

TEST(TimerWheel, a_wheel_destroyed_with_armed_timers_discards_them) {
  Fate fates[2];
  {
    TimerWheel wheel;
    std::uint64_t now = now_ms();
    arm(wheel, now + 1'000, fates, 0);
    TimerHandle h = arm(wheel, now + 1'000, fates, 1);
    TimerWheel::cancel(h);
  }
  EXPECT_EQ(fates[0].discarded, 1);
  EXPECT_EQ(fates[1].discarded, 1);
  EXPECT_EQ(fates[0].fired + fates[1].fired, 0);
}
