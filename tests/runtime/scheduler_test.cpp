#include "ambitious/runtime/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace ambitious::detail;
using ambitious::test::Counter;
using ambitious::test::eventually;
using ambitious::test::Job;

namespace {

// The order in which jobs ran, by name, on one worker (the vector is not shared across threads).
struct Log {
  std::mutex mutex;
  std::vector<char> order;
  void add(char c) {
    std::lock_guard lock(mutex);
    order.push_back(c);
  }
};

unsigned this_worker() { return Worker::current()->index(); }

// For tests of the exact run order: a worker the OS leaves off its core for a watchdog period
// would otherwise see its LIFO slot moved to the global queue.
constexpr bool no_watchdog = false;

// Starts `s`, runs `first` on it from this (foreign) thread, and waits until `done` is reached.
bool run_until(Scheduler& s, Job& first, Counter& counter, int done) {
  s.start();
  s.schedule(&first);
  return counter.wait_for(done);
}

}  // namespace

TEST(Scheduler, runnables_scheduled_from_a_foreign_thread_all_run_once) {
  constexpr int n = 10'000;
  std::vector<Job> jobs(n);
  std::vector<std::atomic<int>> runs(n);
  Counter done;
  Scheduler s(4);
  s.start();
  for (int i = 0; i < n; ++i) {
    jobs[i].body = [&, i] {
      runs[i].fetch_add(1);
      done.add();
    };
    s.schedule(&jobs[i]);
  }
  EXPECT_TRUE(done.wait_for(n));
  s.stop();
  s.join();
  int wrong = 0;
  for (auto& r : runs) wrong += r.load() != 1;
  EXPECT_EQ(wrong, 0);
}

TEST(Scheduler, work_queued_on_a_busy_worker_is_stolen_by_another) {
  // The first job queues ten on its own worker and keeps that worker until they have run: only
  // another worker, stealing from its ring, can run them.
  constexpr int n = 10;
  std::vector<Job> children(n);
  std::vector<unsigned> ran_on(n);
  std::atomic<unsigned> busy{~0u};
  Counter done;
  std::atomic<bool> all_ran{false};
  Job first([&] {
    busy = this_worker();
    for (int i = 0; i < n; ++i) {
      children[i].body = [&, i] {
        ran_on[i] = this_worker();
        done.add();
      };
      Worker::current()->push(&children[i]);
    }
    all_ran = done.wait_for(n);
  });
  Scheduler s(2);
  ASSERT_TRUE(run_until(s, first, done, n));
  s.stop();
  s.join();
  EXPECT_TRUE(all_ran.load());
  for (unsigned w : ran_on) EXPECT_NE(w, busy.load());
}

TEST(Scheduler, idle_workers_park_and_a_schedule_from_a_foreign_thread_wakes_one) {
  Scheduler s(2);
  s.start();
  Counter done;
  Job job([&] { done.add(); });
  for (int round = 1; round <= 3; ++round) {
    ASSERT_TRUE(eventually([&] { return s.idle_workers() == 2; })) << "round " << round;
    s.schedule(&job);
    ASSERT_TRUE(done.wait_for(round)) << "round " << round;
  }
  s.stop();
  s.join();
}

TEST(Scheduler, a_stopped_scheduler_runs_nothing_more) {
  std::atomic<bool> ran{false};
  Job job([&] { ran = true; });
  Scheduler s(2);
  s.start();
  s.stop();
  s.join();
  EXPECT_TRUE(s.stopping());
  s.schedule(&job);  // from another thread once stopping: dropped
  EXPECT_FALSE(ran.load());
}

TEST(Scheduler, push_next_runs_before_the_ring_and_sends_the_previous_occupant_behind_it) {
  Log log;
  Counter done;
  Job b([&] { log.add('b'), done.add(); });
  Job c([&] { log.add('c'), done.add(); });
  Job d([&] { log.add('d'), done.add(); });
  Job first([&] {
    Worker& w = *Worker::current();
    w.push(&c);
    w.push_next(&b);
    w.push_next(&d);  // b goes to the ring, behind c
  });
  Scheduler s(1, no_watchdog);
  ASSERT_TRUE(run_until(s, first, done, 3));
  s.stop();
  s.join();
  EXPECT_EQ(log.order, (std::vector<char>{'d', 'c', 'b'}));
}

TEST(Scheduler, spawned_runnables_start_in_the_order_spawned) {
  Log log;
  Counter done;
  Job x([&] { log.add('x'), done.add(); });
  Job y([&] { log.add('y'), done.add(); });
  Job z([&] { log.add('z'), done.add(); });
  Job first([&] {
    Worker& w = *Worker::current();
    w.push_spawned(&x);  // the free slot
    w.push_spawned(&y);  // the slot is taken: the ring
    w.push_spawned(&z);
  });
  Scheduler s(1, no_watchdog);
  ASSERT_TRUE(run_until(s, first, done, 3));
  s.stop();
  s.join();
  EXPECT_EQ(log.order, (std::vector<char>{'x', 'y', 'z'}));
}

TEST(Scheduler, a_long_lifo_streak_gives_the_ring_a_turn) {
  // A conversation that keeps waking its partner through the LIFO slot would starve the ring;
  // after next_streak_limit runs in a row, what waits there runs.
  constexpr int steps = 1'000;
  int step = 0, step_when_ring_ran = -1;
  Counter done;
  Job ring([&] { step_when_ring_ran = step; });
  Job chain;
  chain.body = [&] {
    if (++step < steps)
      Worker::current()->push_next(&chain);
    else
      done.add();
  };
  Job first([&] {
    Worker::current()->push(&ring);
    Worker::current()->push_next(&chain);
  });
  Scheduler s(1, no_watchdog);
  ASSERT_TRUE(run_until(s, first, done, 1));
  s.stop();
  s.join();
  EXPECT_EQ(step_when_ring_ran, static_cast<int>(Worker::next_streak_limit));
  EXPECT_EQ(step, steps);
}

TEST(Scheduler, a_long_lifo_streak_goes_on_when_nothing_else_waits) {
  constexpr int steps = 1'000;
  int step = 0;
  std::atomic<bool> left_worker{false};
  unsigned home = ~0u;
  Counter done;
  Job chain;
  chain.body = [&] {
    if (home == ~0u) home = this_worker();
    if (this_worker() != home) left_worker = true;
    if (++step < steps)
      Worker::current()->push_next(&chain);
    else
      done.add();
  };
  Scheduler s(2, no_watchdog);
  ASSERT_TRUE(run_until(s, chain, done, 1));
  s.stop();
  s.join();
  EXPECT_EQ(step, steps);
  EXPECT_FALSE(left_worker.load());  // never queued, so never stolen
}

TEST(Scheduler, the_watchdog_moves_a_busy_workers_lifo_slot_to_another_worker) {
  // The first job wakes `woken` through its LIFO slot and then keeps its worker: other workers
  // never take a slot, so only the watchdog can hand `woken` to the idle worker.
  std::atomic<unsigned> busy{~0u}, ran_on{~0u};
  Counter done;
  std::atomic<bool> freed{false};
  Job woken([&] {
    ran_on = this_worker();
    done.add();
  });
  Job first([&] {
    busy = this_worker();
    Worker::current()->push_next(&woken);
    freed = done.wait_for(1);
  });
  Scheduler s(2);
  ASSERT_TRUE(run_until(s, first, done, 1));
  s.stop();
  s.join();
  EXPECT_TRUE(freed.load());
  EXPECT_NE(ran_on.load(), busy.load());
}

// What a run defers runs once, on its worker, after the run and before the next one.
struct Deferred {
  std::atomic<int> runs{0};
  std::atomic<bool> on_worker{false};
  std::atomic<bool> after_the_run{false};
  std::atomic<bool> run_over{false};
  Counter* done = nullptr;
  static void run(void* self) noexcept {
    auto* d = static_cast<Deferred*>(self);
    d->on_worker = Worker::current() != nullptr;
    d->after_the_run = d->run_over.load();
    d->runs.fetch_add(1);
    d->done->add();
  }
};

TEST(Scheduler, what_a_run_defers_runs_once_on_its_worker_when_the_run_ends) {
  Counter done;
  Deferred d;
  d.done = &done;
  Job first([&] {
    Worker::current()->defer(&Deferred::run, &d);
    d.run_over = true;  // the last thing the run does
  });
  Scheduler s(2);
  ASSERT_TRUE(run_until(s, first, done, 1));
  s.stop();
  s.join();
  EXPECT_EQ(d.runs.load(), 1);
  EXPECT_TRUE(d.on_worker.load());
  EXPECT_TRUE(d.after_the_run.load());
}

TEST(Scheduler, the_watchdog_runs_what_a_blocked_run_deferred) {
  // The run defers, then waits for the deferred function itself: only the watchdog's thread
  // can run it.
  Counter done;
  Deferred d;
  d.done = &done;
  std::atomic<bool> ran_while_blocked{false};
  Job first([&] {
    Worker::current()->defer(&Deferred::run, &d);
    ran_while_blocked = done.wait_for(1);
    d.run_over = true;
  });
  Scheduler s(2);
  ASSERT_TRUE(run_until(s, first, done, 1));
  ASSERT_TRUE(eventually([&] { return d.run_over.load(); }));
  s.stop();
  s.join();
  EXPECT_TRUE(ran_while_blocked.load());
  EXPECT_EQ(d.runs.load(), 1);
  EXPECT_FALSE(d.on_worker.load());
}

TEST(Scheduler, a_full_ring_overflows_to_the_global_queue_and_nothing_is_lost) {
  constexpr int n = 3 * LocalQueue::capacity;
  std::vector<Job> jobs(n);
  std::vector<std::atomic<int>> runs(n);
  Counter done;
  Job first([&] {
    for (int i = 0; i < n; ++i) {
      jobs[i].body = [&, i] {
        runs[i].fetch_add(1);
        done.add();
      };
      Worker::current()->push(&jobs[i]);
    }
  });
  Scheduler s(2);
  ASSERT_TRUE(run_until(s, first, done, n));
  s.stop();
  s.join();
  int wrong = 0;
  for (auto& r : runs) wrong += r.load() != 1;
  EXPECT_EQ(wrong, 0);
}

TEST(Scheduler, retired_memory_is_freed_once_and_at_the_latest_with_the_scheduler) {
  static std::atomic<int> freed{0};
  freed = 0;
  Counter done;
  Job first([&] {
    Worker::current()->retire(
        &freed, [](void* p) noexcept { static_cast<std::atomic<int>*>(p)->fetch_add(1); });
    done.add();
  });
  {
    Scheduler s(2);
    ASSERT_TRUE(run_until(s, first, done, 1));
  }
  EXPECT_EQ(freed.load(), 1);
}

TEST(Scheduler, stepping_makes_the_calling_thread_worker_0_and_collects_in_run_order) {
  Scheduler s(1);
  s.begin_stepping();
  ASSERT_NE(Worker::current(), nullptr);
  EXPECT_EQ(Worker::current()->index(), 0u);
  Log log;
  Job b([&] { log.add('b'); });
  Job c([&] { log.add('c'); });
  Job d([&] { log.add('d'); });
  Job a([&] {
    log.add('a');
    Worker::current()->push(&c);
    Worker::current()->push_next(&b);
  });
  s.schedule(&a);                               // by worker 0 itself: its ring
  std::thread([&] { s.schedule(&d); }).join();  // by another thread: the global queue
  std::deque<Runnable*> ready;
  s.collect(ready);
  EXPECT_EQ(ready, (std::deque<Runnable*>{&d, &a}));
  for (Runnable* r : {&a, &d}) {
    std::erase(ready, r);
    r->run();
    s.after_step();
    s.collect(ready);
  }
  EXPECT_EQ(ready, (std::deque<Runnable*>{&b, &c}));  // b from the slot, in front
  s.end_stepping();
  EXPECT_EQ(Worker::current(), nullptr);
  EXPECT_EQ(log.order, (std::vector<char>{'a', 'd'}));
}

TEST(Scheduler, stepping_needs_exactly_one_worker) {
  Scheduler s(2);
  EXPECT_THROW(s.begin_stepping(), std::logic_error);
}
