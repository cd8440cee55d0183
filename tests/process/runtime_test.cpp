#include "ambitious/process/runtime.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ambitious/runtime/time_slice.hpp"
#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

struct Token {
  int hops_left;
};

// One member of a ring: passes the token on until its hops run out, then tells `root`.
Task<> ring_member(Pid root) {
  Pid next = co_await receive<Pid>();
  for (;;) {
    bool stop = false;
    co_await receive(
        [&](Token t) {
          if (t.hops_left == 0)
            send(root, Done{});
          else
            send(next, Token{t.hops_left - 1});
        },
        [&](Go) { stop = true; });
    if (stop) co_return;
  }
}

int ring(RuntimeOptions options, int members, int hops) {
  bool done = false;
  int rc = run(options, [&]() -> Task<> {
    std::vector<Pid> ps;
    for (int i = 0; i < members; ++i) ps.push_back(spawn(ring_member, self()));
    for (int i = 0; i < members; ++i) send(ps[i], ps[(i + 1) % members]);
    send(ps[0], Token{hops});
    done = (co_await receive<Done>(patience)).has_value();
    for (Pid p : ps) send(p, Go{});
  });
  return done ? rc : -1;
}

// Records the pid it sees as self() when destroyed.
struct SeesSelf {
  std::vector<std::pair<Pid, Pid>>* log;
  std::mutex* mutex;
  Pid expected;
  ~SeesSelf() {
    std::lock_guard lock(*mutex);
    log->emplace_back(expected, self());
  }
};

}  // namespace

TEST(Runtime, run_returns_zero_when_the_root_ends_normally) {
  run_test([]() -> Task<> { co_return; });
}

TEST(Runtime, run_returns_one_when_the_root_ends_abnormally) {
  EXPECT_EQ(run(one_worker,
                []() -> Task<> {
                  exit(foo);
                  co_return;
                }),
            1);
  EXPECT_EQ(run(one_worker,
                []() -> Task<> {
                  throw std::runtime_error("root failed");
                  co_return;
                }),
            1);
  EXPECT_EQ(run(one_worker,
                []() -> Task<> {
                  exit(self(), atoms::kill);
                  co_await receive<Done>();
                }),
            1);
}

TEST(Runtime, run_passes_its_arguments_to_the_root) {
  std::string got;
  auto root = [&](std::string a, int b) -> Task<> {
    got = a + std::to_string(b);
    co_return;
  };
  EXPECT_EQ(run(one_worker, root, std::string("x"), 7), 0);
  EXPECT_EQ(got, "x7");
}

TEST(Runtime, a_ring_passes_a_token_on_one_worker) { EXPECT_EQ(ring(one_worker, 100, 10'000), 0); }

TEST(Runtime, a_ring_passes_a_token_on_four_workers) {
  EXPECT_EQ(ring(four_workers, 100, 10'000), 0);
}

TEST(Runtime, zero_workers_means_one) { EXPECT_EQ(ring(RuntimeOptions{.workers = 0}, 10, 100), 0); }

TEST(Runtime, processes_run_on_workers_with_the_slice_the_options_ask_for) {
  // Where the kernel takes no slice request (before Linux 6.6), there is nothing to see.
  bool takes = false;
  std::thread([&] { takes = detail::request_time_slice(std::chrono::microseconds(300)); }).join();
  if (!takes) GTEST_SKIP() << "this kernel takes no time-slice requests";
  std::chrono::microseconds seen{};
  RuntimeOptions options{.workers = 2};
  options.worker_slice = std::chrono::microseconds(700);
  EXPECT_EQ(run(options,
                [&]() -> Task<> {
                  seen = detail::time_slice();
                  co_return;
                }),
            0);
  EXPECT_EQ(seen, std::chrono::microseconds(700));
}

TEST(Runtime, shutdown_ends_run_with_its_code_while_processes_still_run) {
  std::atomic<int> destroyed{0};
  int rc = run(four_workers, [&]() -> Task<> {
    for (int i = 0; i < 10; ++i)
      spawn([&destroyed]() -> Task<> {
        Counted c(destroyed);
        co_await receive<Done>();
      });
    co_await yield();
    shutdown(3);
    co_await receive<Done>();  // never comes: run() is over
  });
  EXPECT_EQ(rc, 3);
  EXPECT_EQ(destroyed.load(), 10);
}

TEST(Runtime, shutdown_from_a_thread_that_is_not_a_worker_ends_run) {
  int rc = run(one_worker, []() -> Task<> {
    co_await blocking([] { shutdown(5); });
    co_await receive<Done>();
  });
  EXPECT_EQ(rc, 5);
}

struct Alive {};

TEST(Runtime, processes_still_alive_when_run_returns_are_destroyed_as_themselves) {
  std::vector<std::pair<Pid, Pid>> log;
  std::mutex mutex;
  std::atomic<int> destroyed{0};
  run_test(four_workers, [&]() -> Task<> {
    Pid root = self();
    for (int i = 0; i < 20; ++i)
      spawn([&, root]() -> Task<> {
        Counted c(destroyed);
        SeesSelf s{&log, &mutex, self()};
        send(root, Alive{});
        if (self().id % 2)
          co_await receive<Done>();
        else
          for (;;) co_await yield();  // runnable, not waiting
      });
    // Every one of them has started (a process that never ran has nothing to destroy yet).
    for (int i = 0; i < 20; ++i) co_await expect<Alive>();
  });
  EXPECT_EQ(destroyed.load(), 20);
  ASSERT_EQ(log.size(), 20u);
  for (auto& [expected, seen] : log) EXPECT_EQ(expected, seen);
}

TEST(Runtime, every_message_is_destroyed_once_wherever_it_ends_up) {
  // Each message holds a token; once run() returns, no token may be left alive (a leak), and
  // the sanitizer builds catch a message destroyed twice.
  struct Tracked {
    std::shared_ptr<int> token;
  };
  std::vector<std::weak_ptr<int>> tokens;
  auto make = [&tokens] {
    auto t = std::make_shared<int>(0);
    tokens.push_back(t);
    return Tracked{t};
  };
  run_test([&]() -> Task<> {
    auto dead = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive<Down>();
    send(dead.pid, make());  // to a dead process

    auto dying = spawn_monitor(wait_forever);
    send(dying.pid, make());  // queued when it is killed
    exit(dying.pid, Atom("bye"));
    co_await receive<Down>(patience);

    Pid lingering = spawn(wait_forever);
    send(lingering, make());  // queued in a process alive at the end

    cancel_timer(send_after(std::chrono::hours(1), self(), make()));  // cancelled
    send_after(std::chrono::hours(1), self(), make());                // armed at the end

    send(self(), make());
    co_await receive<Tracked>();  // received and dropped
    send(self(), make());         // queued in the root when it ends
  });
  EXPECT_EQ(tokens.size(), 7u);
  for (auto& t : tokens) EXPECT_TRUE(t.expired());
}

TEST(Runtime, a_destructor_run_at_the_end_of_run_may_still_use_the_process_api) {
  // Frames of processes still alive when run() returns are destroyed as those processes: what
  // their destructors do (send, spawn, arm a timer, monitor, link) must not crash.
  std::atomic<int> finished{0};
  struct Farewell {
    std::atomic<int>* finished;
    Pid friend_pid;
    ~Farewell() {
      send(friend_pid, Done{});
      spawn(wait_forever);
      send_after(1ms, self(), Done{});
      monitor(friend_pid);
      trap_exit(true);
      link(friend_pid);
      finished->fetch_add(1);
    }
  };
  run_test([&]() -> Task<> {
    // Each waits in receive, and its farewell wakes the next one, also waiting.
    std::vector<Pid> ps;
    for (int i = 0; i < 4; ++i)
      ps.push_back(spawn([&finished]() -> Task<> {
        Farewell f{&finished, co_await receive<Pid>()};
        co_await receive<Done>();
      }));
    for (int i = 0; i < 4; ++i) send(ps[i], ps[(i + 1) % 4]);
    co_await yield();
  });
  EXPECT_EQ(finished.load(), 4);
}

TEST(Runtime, a_blocking_call_that_returns_while_run_ends_is_dropped_with_its_process) {
  // b's blocking call returns while run() is ending; then a's destructor wakes c. Neither may
  // queue a process that run() is about to free (the sanitizer builds see such a queue entry
  // written through after the free). The pause only widens that window: it is not needed for
  // the test to pass.
  std::atomic<bool> release{false};
  std::atomic<int> finished{0};
  struct Farewell {
    std::atomic<int>* finished;
    Pid friend_pid;
    ~Farewell() {
      send(friend_pid, Done{});
      finished->fetch_add(1);
    }
  };
  int rc = run(one_worker, [&]() -> Task<> {
    spawn([&release]() -> Task<> {
      co_await blocking([&release] {
        while (!release) std::this_thread::yield();
        std::this_thread::sleep_for(20ms);
      });
    });
    Pid a = spawn([&finished]() -> Task<> {
      Farewell f{&finished, co_await receive<Pid>()};
      co_await receive<Done>();
    });
    Pid c = spawn(wait_forever);
    send(a, c);
    co_await yield();  // a and c wait in receive
    shutdown(7);
    release = true;
    co_await receive<Done>();
  });
  EXPECT_EQ(rc, 7);
  EXPECT_EQ(finished.load(), 1);
}

TEST(Runtime, blocking_returns_the_result_of_its_function) {
  int got = 0;
  std::thread::id worker, pool;
  run_test([&]() -> Task<> {
    worker = std::this_thread::get_id();
    got = co_await blocking([&] {
      pool = std::this_thread::get_id();
      return 6 * 7;
    });
    co_await blocking([] {});  // void works too
  });
  EXPECT_EQ(got, 42);
  EXPECT_NE(worker, pool);
}

TEST(Runtime, blocking_rethrows_the_exception_of_its_function) {
  std::string what;
  run_test([&]() -> Task<> {
    try {
      co_await blocking([]() -> int { throw std::runtime_error("disk on fire"); });
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
  });
  EXPECT_EQ(what, "disk on fire");
}

TEST(Runtime, other_processes_run_while_one_waits_in_a_blocking_call) {
  // One worker: if the blocking call held it, the process that releases the call never runs.
  std::atomic<bool> released{false};
  bool returned = false;
  run_test([&]() -> Task<> {
    spawn([&released]() -> Task<> {
      co_await receive<Go>();
      released = true;
    });
    for (Pid p : processes())
      if (p != self()) send(p, Go{});
    co_await blocking([&] {
      while (!released) std::this_thread::yield();
    });
    returned = true;
  });
  EXPECT_TRUE(returned);
}

TEST(Runtime, many_blocking_calls_at_once_all_complete) {
  constexpr int n = 100;
  int sum = 0;
  run_test(four_workers, [&]() -> Task<> {
    Pid root = self();
    for (int i = 0; i < n; ++i)
      spawn(
          [root](int i) -> Task<> {
            int r = co_await blocking([i] { return i; });
            send(root, r);
          },
          i);
    for (int i = 0; i < n; ++i) sum += (co_await receive<int>(patience)).value_or(0);
  });
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

TEST(Runtime, yield_lets_the_other_runnable_processes_run_first) {
  std::vector<std::string> order;
  run_test([&]() -> Task<> {
    spawn([&order]() -> Task<> {
      order.push_back("child");
      co_return;
    });
    order.push_back("root before");
    co_await yield();
    order.push_back("root after");
  });
  EXPECT_EQ(order, (std::vector<std::string>{"root before", "child", "root after"}));
}

TEST(Runtime, a_process_that_only_yields_does_not_starve_the_others) {
  std::atomic<bool> stop{false};
  bool others_ran = false;
  run_test([&]() -> Task<> {
    spawn([&stop]() -> Task<> {
      while (!stop) co_await yield();
    });
    Pid root = self();
    spawn([root]() -> Task<> {
      send(root, Go{});
      co_return;
    });
    others_ran = (co_await receive<Go>(patience)).has_value();
    stop = true;
  });
  EXPECT_TRUE(others_ran);
}

TEST(Runtime, sleep_waits_and_leaves_messages_queued) {
  std::optional<int> kept;
  run_test([&]() -> Task<> {
    send(self(), 1);
    co_await sleep(2ms);
    co_await sleep(0ms);
    kept = co_await receive<int>(0ms);
  });
  EXPECT_EQ(kept, 1);
}

TEST(Runtime, process_functions_outside_a_process_throw_a_clear_not_in_process) {
  EXPECT_FALSE(in_process());
  try {
    self();
    FAIL() << "self() did not throw";
  } catch (const NotInProcess& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("ambitious::self"), std::string::npos) << what;
    EXPECT_NE(what.find("outside a process"), std::string::npos) << what;
  }
  EXPECT_THROW(send(Pid(), 1), NotInProcess);
  EXPECT_THROW(alive(Pid()), NotInProcess);
  EXPECT_THROW(spawn(wait_forever), NotInProcess);
  auto r = receive<int>(0ms);
  EXPECT_THROW((void)r.await_ready(), NotInProcess);
  EXPECT_FALSE(make_ref().is_null());  // any thread
}

TEST(Runtime, in_process_is_true_inside_a_process) {
  bool inside = false;
  run_test([&]() -> Task<> {
    inside = in_process();
    co_return;
  });
  EXPECT_TRUE(inside);
}

TEST(Runtime, a_second_runtime_cannot_start_while_one_runs) {
  std::string what;
  run_test([&]() -> Task<> {
    try {
      run(one_worker, []() -> Task<> { co_return; });
    } catch (const std::logic_error& e) {
      what = e.what();
    }
    co_return;
  });
  EXPECT_NE(what.find("already"), std::string::npos) << what;
}

// A process that never suspends keeps its worker (there is no preemption), but what it woke or
// spawned must not wait for it: the watchdog hands that to an idle worker. Without the watchdog
// these tests would end only at the spinner's safety bound, with `ran` still false.
bool spin_until(const std::atomic<bool>& flag) {
  auto give_up = std::chrono::steady_clock::now() + patience;
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
  }
  return true;
}

TEST(Runtime, a_process_woken_by_one_that_never_suspends_runs_on_another_worker) {
  std::atomic<bool> ran{false};
  bool seen = false;
  run_test(RuntimeOptions{.workers = 2}, [&]() -> Task<> {
    Pid waiter = spawn([&]() -> Task<> {
      co_await receive<Go>();
      ran = true;
    });
    // Wait until the waiter is parked in its receive, so that our send wakes it
    // into this worker's LIFO slot.
    while (true) {
      auto info = co_await process_info(waiter);
      if (info && info->status == ProcessInfo::Status::waiting) break;
      co_await yield();
    }
    send(waiter, Go{});
    seen = spin_until(ran);
  });
  EXPECT_TRUE(seen);
}

TEST(Runtime, a_process_spawned_by_one_that_never_suspends_runs_on_another_worker) {
  std::atomic<bool> ran{false};
  bool seen = false;
  run_test(RuntimeOptions{.workers = 2}, [&]() -> Task<> {
    spawn([&]() -> Task<> {
      ran = true;
      co_return;
    });
    seen = spin_until(ran);
    co_return;
  });
  EXPECT_TRUE(seen);
}

struct Tick {};
struct Started {};

TEST(Runtime, a_process_whose_mailbox_is_never_empty_still_lets_the_others_run) {
  // The flooder always finds a message, so its receives never suspend; on one worker, the root
  // runs again only because a receive yields after a run of immediate matches.
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    Pid root = self();
    auto flooder = spawn_monitor([root]() -> Task<> {
      send(self(), Tick{});
      send(root, Started{});
      for (bool stop = false; !stop;)
        co_await receive([&](Tick) { send(self(), Tick{}); }, [&](Done) { stop = true; });
    });
    co_await receive<Started>();
    send(flooder.pid, Done{});
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, atoms::normal);
}

TEST(Runtime, a_poll_that_yields_for_fairness_still_returns_at_once_when_nothing_matches) {
  int polls = 0, timeouts = 0;
  run_test([&]() -> Task<> {
    // Far more immediate matches than one run allows, each followed by a poll for a
    // type that never comes. A message no receive takes keeps the mailbox non-empty,
    // so polls yield too: every one must still time out.
    send(self(), Started{});
    for (int i = 0; i < 2000; ++i) {
      send(self(), Tick{});
      co_await receive<Tick>();
      ++polls;
      if (!co_await receive<Go>(0ms)) ++timeouts;
    }
  });
  EXPECT_EQ(polls, 2000);
  EXPECT_EQ(timeouts, 2000);
}

struct Ball {
  Pid from;
};

// Two processes that wake each other for ever run from the worker's LIFO slot, one after the
// other. A process queued behind them must still get its turn.
Task<> rally() {
  for (;;) {
    Ball b = co_await receive<Ball>();
    send(b.from, Ball{self()});
  }
}

TEST(Runtime, an_endless_conversation_does_not_starve_a_process_queued_on_its_worker) {
  bool ran = false;
  run_test([&]() -> Task<> {
    Pid a = spawn(rally);
    Pid b = spawn(rally);
    send(a, Ball{b});
    Pid root = self();
    spawn([root]() -> Task<> {
      send(root, Done{});
      co_return;
    });
    ran = (co_await receive<Done>(patience)).has_value();
    exit(a, atoms::kill);
    exit(b, atoms::kill);
  });
  EXPECT_TRUE(ran);
}
