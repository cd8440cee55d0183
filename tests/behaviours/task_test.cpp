#include "ambitious/behaviours/task.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "ambitious/process/process_info.hpp"
#include "support.hpp"

// Conformance with Elixir's Task (elixir/lib/elixir/test/elixir/task_test.exs): async and await,
// yield, yield_many, shutdown, and async_nolink under a task supervisor.

using namespace ambitious;
using namespace ambitious::test;

namespace {

const Atom foo("foo");

/// Tells the test a task is waiting, then waits for Go and gives `n`.
struct Go {};
struct Waiting {
  Pid task;
};
Task<int> wait_for_go(Pid test, int n) {
  send(test, Waiting{self()});
  co_await receive<Go>();
  co_return n;
}

/// A process that traps exits, awaits a task that ends with `foo`, and so exits itself.
Task<> awaits_a_crash() {
  trap_exit(true);
  auto t = task::async([]() -> int { exit(foo); });
  (void)co_await task::await(t);
}

}  // namespace

TEST(Task, await_gives_the_value_of_the_function) {
  int plain = 0, awaited = 0;
  std::optional<std::monostate> nothing;
  run_test([&]() -> Task<> {
    auto a = task::async([] { return 6 * 7; });
    auto b = task::async([]() -> Task<int> {
      co_await yield();
      co_return 2;
    });
    auto c = task::async([] {});
    plain = co_await task::await(a);
    awaited = co_await task::await(b);
    nothing = co_await task::await(c);
  });
  EXPECT_EQ(plain, 42);
  EXPECT_EQ(awaited, 2);
  EXPECT_TRUE(nothing.has_value());
}

TEST(Task, await_of_a_task_that_crashes_exits_a_trapping_caller_with_reason_and_task_await) {
  run_test([]() -> Task<> {
    auto [pid, mref] = spawn_monitor(awaits_a_crash);
    (void)pid;
    co_await expect_down(mref,
                         ExitReason(Term::tuple(foo, Term::tuple(atoms::task, atoms::await))));
  });
}

TEST(Task, a_task_that_crashes_takes_its_caller_with_it_through_the_link) {
  run_test([]() -> Task<> {
    auto [pid, mref] = spawn_monitor([]() -> Task<> {
      auto t = task::async([]() -> int { exit(foo); });
      (void)co_await task::await(t);
    });
    (void)pid;
    co_await expect_down(mref, foo);
  });
}

TEST(Task, await_timeout_exits_the_caller_with_timeout_and_the_linked_task_ends_too) {
  run_test([]() -> Task<> {
    Pid test = self();
    auto [caller, mref] = spawn_monitor([test]() -> Task<> {
      auto t = task::async([test] { return wait_for_go(test, 1); });
      (void)co_await task::await(t, 10ms);
    });
    (void)caller;
    Waiting w = co_await expect<Waiting>();
    Ref task_ref = monitor(w.task);
    co_await expect_down(
        mref, ExitReason(Term::tuple(atoms::timeout, Term::tuple(atoms::task, atoms::await))));
    co_await expect_down(
        task_ref, ExitReason(Term::tuple(atoms::timeout, Term::tuple(atoms::task, atoms::await))));
  });
}

TEST(Task, yield_gives_nothing_while_the_task_runs_and_its_result_once_it_is_done) {
  std::optional<TaskOutcome<int>> early, late;
  run_test([&]() -> Task<> {
    auto t = task::async([test = self()] { return wait_for_go(test, 7); });
    Waiting w = co_await expect<Waiting>();
    early = co_await task::yield(t, 0ms);
    send(w.task, Go{});
    late = co_await task::yield(t, patience);
  });
  EXPECT_FALSE(early.has_value());
  ASSERT_TRUE(late.has_value());
  ASSERT_TRUE(late->has_value());
  EXPECT_EQ(**late, 7);
}

TEST(Task, yield_gives_the_crash_reason_when_the_caller_traps_exits) {
  std::optional<TaskOutcome<int>> r;
  run_test([&]() -> Task<> {
    trap_exit(true);
    auto t = task::async([]() -> int { throw std::runtime_error("boom"); });
    r = co_await task::yield(t, patience);
    Exit e = co_await expect<Exit>();  // the link's signal, as a message
    EXPECT_EQ(e.reason, ExitReason::exception("boom"));
  });
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->has_value());
  EXPECT_EQ(r->error(), ExitReason::exception("boom"));
}

TEST(Task, yield_many_gives_each_outcome_in_task_order_and_nothing_for_one_still_running) {
  std::vector<std::optional<TaskOutcome<int>>> outcomes;
  run_test([&]() -> Task<> {
    trap_exit(true);
    Pid test = self();
    std::vector<AsyncTask<int>> tasks;
    tasks.push_back(task::async([] { return 1; }));
    tasks.push_back(task::async([test] { return wait_for_go(test, 2); }));  // never told to go
    tasks.push_back(task::async([]() -> int { exit(foo); }));
    tasks.push_back(task::async([]() -> Task<int> {
      co_await yield();
      co_return 4;
    }));
    (void)co_await expect<Waiting>();
    outcomes = co_await task::yield_many(tasks, 100ms);
    (void)co_await task::shutdown(tasks[1], Shutdown::brutal_kill());
  });
  ASSERT_EQ(outcomes.size(), 4u);
  ASSERT_TRUE(outcomes[0] && outcomes[0]->has_value());
  EXPECT_EQ(**outcomes[0], 1);
  EXPECT_FALSE(outcomes[1].has_value());
  ASSERT_TRUE(outcomes[2] && !outcomes[2]->has_value());
  EXPECT_EQ(outcomes[2]->error(), foo);
  ASSERT_TRUE(outcomes[3] && outcomes[3]->has_value());
  EXPECT_EQ(**outcomes[3], 4);
}

TEST(Task, shutdown_stops_a_running_task_and_gives_nothing) {
  std::optional<TaskOutcome<int>> r;
  run_test([&]() -> Task<> {
    auto t = task::async([test = self()] { return wait_for_go(test, 1); });
    Waiting w = co_await expect<Waiting>();
    Ref mref = monitor(w.task);
    r = co_await task::shutdown(t);
    co_await expect_down(mref, atoms::shutdown);
  });
  EXPECT_FALSE(r.has_value());
}

TEST(Task, shutdown_gives_the_result_that_came_before_it) {
  std::optional<TaskOutcome<int>> r;
  run_test([&]() -> Task<> {
    auto t = task::async([] { return 5; });
    // Its result is queued once a process that waits on the task has seen it end.
    Ref mref = monitor(t.pid);
    co_await expect_down(mref, atoms::normal);
    r = co_await task::shutdown(t);
  });
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ(**r, 5);
}

TEST(Task, shutdown_with_a_timeout_kills_a_task_that_ignores_shutdown) {
  std::optional<TaskOutcome<int>> r;
  run_test([&]() -> Task<> {
    Pid test = self();
    auto t = task::async([test]() -> Task<int> {
      trap_exit(true);  // the shutdown signal becomes a message it never takes
      co_return co_await wait_for_go(test, 1);
    });
    Waiting w = co_await expect<Waiting>();
    Ref mref = monitor(w.task);
    r = co_await task::shutdown(t, Shutdown::timeout(10ms));
    co_await expect_down(mref, atoms::killed);
  });
  EXPECT_FALSE(r.has_value());
}

TEST(Task, only_the_process_that_started_a_task_may_wait_for_it) {
  bool refused = false;
  run_test([&]() -> Task<> {
    auto t = task::async([] { return 1; });
    Pid test = self();
    auto [other, mref] = spawn_monitor([&refused, t, test]() mutable -> Task<> {
      try {
        (void)co_await task::yield(t, 0ms);
      } catch (const BadArg&) {
        refused = true;
      }
      send(test, Go{});
    });
    (void)other;
    (void)co_await expect<Go>();
    co_await expect_down(mref, atoms::normal);
    EXPECT_EQ(co_await task::await(t), 1);
  });
  EXPECT_TRUE(refused);
}

TEST(Task, async_nolink_a_crash_does_not_take_the_caller_and_yield_gives_the_reason) {
  std::optional<TaskOutcome<int>> r;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    auto sup = co_await dynamic_supervisor::start_link();
    if (!sup) give_up("the task supervisor");
    auto t = co_await task::async_nolink(*sup, []() -> int { exit(foo); });
    if (!t) give_up("the task");
    r = co_await task::yield(*t, patience);
    auto info = co_await process_info(self());
    EXPECT_TRUE(info && info->links.size() == 1);  // the supervisor only
  });
  ASSERT_TRUE(r && !r->has_value());
  EXPECT_EQ(r->error(), foo);
}

TEST(Task, async_nolink_gives_the_value_of_the_function) {
  int v = 0;
  run_test([&]() -> Task<> {
    auto sup = co_await dynamic_supervisor::start_link();
    if (!sup) give_up("the task supervisor");
    auto t = co_await task::async_nolink(*sup, [] { return 9; });
    if (!t) give_up("the task");
    v = co_await task::await(*t);
  });
  EXPECT_EQ(v, 9);
}
