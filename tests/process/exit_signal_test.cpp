#include "ambitious/process/process.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

/// Traps exits and forwards every Exit it gets to `to`, until told Done.
Task<> trap_and_forward(Pid to) {
  trap_exit(true);
  send(to, Go{});
  for (;;) {
    bool done = false;
    co_await receive([&](Exit e) { send(to, std::move(e)); }, [&](Done) { done = true; });
    if (done) co_return;
  }
}

}  // namespace

TEST(ExitSignal, exit_ends_the_caller_with_its_reason_and_nothing_after_it_runs) {
  std::optional<Down> down;
  std::atomic<bool> ran_after{false};
  run_test([&]() -> Task<> {
    spawn_monitor([&ran_after]() -> Task<> {
      exit(foo);
      ran_after = true;
      co_return;
    });
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, foo);
  EXPECT_FALSE(ran_after);
}

TEST(ExitSignal, exit_is_not_swallowed_by_a_catch_of_std_exception) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    spawn_monitor([]() -> Task<> {
      try {
        exit(foo);
      } catch (const std::exception&) {
      }
      co_return;
    });
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, foo);
}

TEST(ExitSignal, exit_in_a_nested_sub_coroutine_ends_the_whole_process) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    spawn_monitor([]() -> Task<> {
      auto inner = []() -> Task<int> {
        exit(foo);
        co_return 1;
      };
      co_await inner();
      exit(Atom("not_this"));
    });
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, foo);
}

TEST(ExitSignal, a_normal_exit_signal_is_ignored_by_a_process_that_does_not_trap) {
  bool answered = false;
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> {
      auto from = co_await receive<Pid>();
      send(from, Go{});
      co_await receive<Done>();
    });
    exit(p, atoms::normal);
    send(p, self());  // after the exit signal, from the same sender
    answered = (co_await receive<Go>(patience)).has_value();
    send(p, Done{});
    down = co_await receive<Down>(patience);
  });
  EXPECT_TRUE(answered);
  ASSERT_TRUE(down);
  EXPECT_TRUE(down->reason.is_normal());
}

TEST(ExitSignal, a_normal_exit_signal_reaches_a_trapping_process_as_a_message) {
  std::optional<Exit> got;
  Pid root;
  run_test([&]() -> Task<> {
    root = self();
    Pid t = spawn(trap_and_forward, self());
    co_await receive<Go>(patience);
    exit(t, atoms::normal);
    got = co_await receive<Exit>(patience);
    send(t, Done{});
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, root);
  EXPECT_TRUE(got->reason.is_normal());
}

TEST(ExitSignal, exit_self_normal_ends_a_caller_that_does_not_trap) {
  std::optional<Down> down;
  std::atomic<bool> ran_after{false};
  run_test([&]() -> Task<> {
    spawn_monitor([&ran_after]() -> Task<> {
      exit(self(), atoms::normal);
      co_await yield();  // the signal takes effect here at the latest
      ran_after = true;
    });
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_TRUE(down->reason.is_normal());
  EXPECT_FALSE(ran_after);
}

TEST(ExitSignal, exit_self_normal_reaches_a_trapping_caller_as_a_message_from_itself) {
  std::optional<Exit> got;
  Pid me;
  run_test([&]() -> Task<> {
    me = self();
    trap_exit(true);
    exit(self(), atoms::normal);
    got = co_await receive<Exit>(patience);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, me);
  EXPECT_TRUE(got->reason.is_normal());
}

TEST(ExitSignal, an_exit_signal_to_self_takes_effect_even_if_the_body_ends_before_suspending) {
  // OTP: exit(self(), Reason) ends a process that does not trap before exit/2 returns.
  std::vector<ExitReason> reasons;
  run_test([&]() -> Task<> {
    spawn_monitor([]() -> Task<> {
      exit(self(), foo);
      co_return;
    });
    spawn_monitor([]() -> Task<> {
      trap_exit(true);
      exit(self(), atoms::kill);
      co_return;
    });
    spawn_monitor([]() -> Task<> {
      exit(self(), atoms::normal);
      throw std::runtime_error("never reached in OTP");
      co_return;
    });
    for (int i = 0; i < 3; ++i)
      if (auto d = co_await receive<Down>(patience)) reasons.push_back(d->reason);
  });
  ASSERT_EQ(reasons.size(), 3u);
  EXPECT_EQ(reasons[0], foo);
  EXPECT_EQ(reasons[1], atoms::killed);
  EXPECT_TRUE(reasons[2].is_normal()) << reasons[2];
}

TEST(ExitSignal, an_abnormal_exit_signal_ends_a_process_that_does_not_trap) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor(wait_forever);
    exit(p, foo);
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, foo);
}

TEST(ExitSignal, an_abnormal_exit_signal_reaches_a_trapping_process_as_a_message) {
  std::optional<Exit> got;
  Pid root;
  run_test([&]() -> Task<> {
    root = self();
    Pid t = spawn(trap_and_forward, self());
    co_await receive<Go>(patience);
    exit(t, ExitReason::shutdown(Term(42)));
    got = co_await receive<Exit>(patience);
    send(t, Done{});
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, root);
  EXPECT_EQ(got->reason, ExitReason::shutdown(Term(42)));
}

TEST(ExitSignal, kill_ends_even_a_trapping_process_with_killed) {
  std::optional<Down> down;
  bool forwarded = true;
  run_test([&]() -> Task<> {
    auto [t, ref] = spawn_monitor(trap_and_forward, self());
    co_await receive<Go>(patience);
    exit(t, atoms::kill);
    down = co_await receive<Down>(patience);
    forwarded = (co_await receive<Exit>(0ms)).has_value();
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, atoms::killed);
  EXPECT_FALSE(forwarded);
}

TEST(ExitSignal, exit_self_kill_ends_the_caller_with_killed) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    spawn_monitor([]() -> Task<> {
      trap_exit(true);
      exit(self(), atoms::kill);
      co_await receive<Done>();
    });
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, atoms::killed);
}

TEST(ExitSignal, an_exit_signal_from_a_linked_process_by_exit_2_leaves_the_link_in_place) {
  std::optional<Exit> got;
  bool still_linked = false;
  Pid root;
  run_test([&]() -> Task<> {
    root = self();
    Pid t = spawn(trap_and_forward, self());
    co_await receive<Go>(patience);
    link(t);
    exit(t, foo);  // an exit signal, not the end of a link partner
    got = co_await receive<Exit>(patience);
    auto info = co_await process_info(t);
    still_linked = info && info->links.size() == 1 && info->links[0] == root;
    unlink(t);
    send(t, Done{});
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->reason, foo);
  EXPECT_TRUE(still_linked);
}

TEST(ExitSignal, an_exit_signal_to_a_dead_pid_is_ignored) {
  bool ok = false;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive<Down>();
    exit(p, foo);
    exit(p, atoms::kill);
    ok = true;
  });
  EXPECT_TRUE(ok);
}

TEST(ExitSignal, a_process_waiting_with_a_timeout_is_ended_by_an_exit_signal) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    auto [p, ref] =
        spawn_monitor([]() -> Task<> { co_await receive<Done>(std::chrono::hours(1)); });
    co_await yield();
    exit(p, foo);
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, foo);
}

TEST(ExitSignal, a_sleeping_process_is_ended_by_an_exit_signal) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_await sleep(std::chrono::hours(1)); });
    co_await yield();
    exit(p, foo);
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, foo);
}

TEST(ExitSignal, an_exit_signal_to_a_process_in_a_blocking_call_takes_effect_when_it_returns) {
  std::optional<Down> down;
  std::atomic<bool> release{false}, returned{false}, continued{false};
  run_test(RuntimeOptions{.workers = 1}, [&]() -> Task<> {
    Pid root = self();
    auto [p, ref] = spawn_monitor([&, root]() -> Task<> {
      send(root, Go{});
      co_await blocking([&] {
        while (!release) std::this_thread::yield();
        returned = true;
      });
      continued = true;
    });
    co_await receive<Go>(patience);
    exit(p, foo);
    release = true;
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, foo);
  EXPECT_TRUE(returned);
  EXPECT_FALSE(continued);
}

TEST(ExitSignal, exit_outside_a_process_throws_not_in_process) {
  EXPECT_THROW(exit(foo), NotInProcess);
  EXPECT_THROW(exit(Pid(), foo), NotInProcess);
  EXPECT_THROW(trap_exit(true), NotInProcess);
}
