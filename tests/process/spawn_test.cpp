#include "ambitious/process/spawn.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

struct Hello {
  Pid from;
  std::string text;
};

Task<> greet(Pid to, std::string text) {
  send(to, Hello{self(), std::move(text)});
  co_return;
}

struct Leaf {};

// Spawns two children until `d` is 0; each leaf reports to `root`.
Task<> branch(Pid root, int d) {
  if (d == 0) {
    send(root, Leaf{});
    co_return;
  }
  spawn(branch, root, d - 1);
  spawn(branch, root, d - 1);
}

Task<int> depth(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await depth(n - 1);
}

Task<> nested_wait(std::atomic<int>& destroyed, int levels) {
  Counted guard(destroyed);
  if (levels == 0)
    co_await receive<Done>();
  else
    co_await nested_wait(destroyed, levels - 1);
}

}  // namespace

TEST(Spawn, a_spawned_function_runs_with_its_arguments) {
  std::string got;
  Pid child, sender;
  run_test([&]() -> Task<> {
    child = spawn(greet, self(), std::string("hello"));
    auto m = co_await receive<Hello>(patience);
    EXPECT_TRUE(m);
    if (m) got = m->text, sender = m->from;
  });
  EXPECT_EQ(got, "hello");
  EXPECT_EQ(sender, child);
}

TEST(Spawn, a_lambdas_captures_and_arguments_live_as_long_as_the_process) {
  std::vector<int> got;
  run_test([&]() -> Task<> {
    auto owned = std::make_unique<int>(7);
    Pid parent = self();
    spawn(
        [parent, p = std::move(owned)](int extra) -> Task<> {
          co_await receive<Go>();  // the spawning call has long returned
          send(parent, *p + extra);
        },
        35);
    for (Pid pid : processes())
      if (pid != self()) send(pid, Go{});
    auto r = co_await receive<int>(patience);
    if (r) got.push_back(*r);
  });
  EXPECT_EQ(got, std::vector<int>{42});
}

TEST(Spawn, every_process_gets_its_own_pid_and_self_names_it) {
  std::vector<Pid> returned, reported;
  run_test([&]() -> Task<> {
    Pid parent = self();
    for (int i = 0; i < 10; ++i)
      returned.push_back(spawn([parent]() -> Task<> {
        send(parent, self());
        co_return;
      }));
    for (int i = 0; i < 10; ++i)
      if (auto p = co_await receive<Pid>(patience)) reported.push_back(*p);
  });
  ASSERT_EQ(reported.size(), 10u);
  std::sort(returned.begin(), returned.end());
  std::sort(reported.begin(), reported.end());
  EXPECT_EQ(returned, reported);
  EXPECT_EQ(std::adjacent_find(returned.begin(), returned.end()), returned.end());
}

TEST(Spawn, a_pid_prints_as_erlang_prints_a_local_pid) {
  std::string printed;
  run(one_worker, [&]() -> Task<> {
    printed = to_string(self());
    co_return;
  });
  EXPECT_TRUE(printed.starts_with("<0.")) << printed;
  EXPECT_TRUE(printed.ends_with(">")) << printed;
}

TEST(Spawn, spawn_link_links_both_ends_before_the_child_runs) {
  bool child_linked_to_parent = false, parent_linked_to_child = false;
  run_test([&]() -> Task<> {
    Pid parent = self();
    Pid child = spawn_link([parent]() -> Task<> {
      auto info = co_await process_info(self());
      bool linked = info && std::ranges::find(info->links, parent) != info->links.end();
      send(parent, linked);
      co_await receive<Done>();
    });
    auto mine = co_await process_info(self());
    parent_linked_to_child = mine && std::ranges::find(mine->links, child) != mine->links.end();
    child_linked_to_parent = (co_await receive<bool>(patience)).value_or(false);
    trap_exit(true);
    send(child, Done{});
    auto e = co_await receive<Exit>(patience);
    EXPECT_TRUE(e && e->from == child && e->reason.is_normal());
  });
  EXPECT_TRUE(child_linked_to_parent);
  EXPECT_TRUE(parent_linked_to_child);
}

TEST(Spawn, spawn_monitor_monitors_the_child_from_the_start) {
  std::optional<Down> down;
  Pid child;
  Ref ref;
  run_test([&]() -> Task<> {
    auto sm = spawn_monitor([]() -> Task<> {
      exit(ExitReason(Atom("bye")));
      co_return;
    });
    child = sm.pid, ref = sm.ref;
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->pid, child);
  EXPECT_EQ(down->reason, Atom("bye"));
}

TEST(Spawn, a_process_ending_normally_is_no_longer_alive) {
  bool alive_before = false, alive_after = true;
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    auto [pid, ref] = spawn_monitor(wait_forever);
    alive_before = alive(pid);
    send(pid, Done{});
    down = co_await receive<Down>(patience);
    alive_after = alive(pid);
  });
  EXPECT_TRUE(alive_before);
  EXPECT_FALSE(alive_after);
  ASSERT_TRUE(down);
  EXPECT_TRUE(down->reason.is_normal());
}

static void hundred_thousand_processes(RuntimeOptions options) {
  constexpr int n = 100'000;
  int downs = 0, normal = 0;
  std::size_t left = 0;
  run_test(options, [&]() -> Task<> {
    for (int i = 0; i < n; ++i) spawn_monitor([]() -> Task<> { co_return; });
    for (int i = 0; i < n; ++i) {
      auto d = co_await receive<Down>(patience);
      if (!d) break;
      ++downs;
      normal += d->reason.is_normal();
    }
    left = process_count();
  });
  EXPECT_EQ(downs, n);
  EXPECT_EQ(normal, n);
  EXPECT_EQ(left, 1u);  // the root alone
}

TEST(Spawn, a_hundred_thousand_processes_all_run_and_end_on_one_worker) {
  hundred_thousand_processes(one_worker);
}

TEST(Spawn, a_hundred_thousand_processes_all_run_and_end_on_four_workers) {
  hundred_thousand_processes(four_workers);
}

TEST(Spawn, processes_spawning_processes_form_a_tree_that_all_reports_back) {
  constexpr int depth_limit = 12;
  int leaves = 0;
  run_test(four_workers, [&]() -> Task<> {
    spawn(branch, self(), depth_limit);
    for (int i = 0; i < (1 << depth_limit); ++i) {
      if (!co_await receive<Leaf>(patience)) break;
      ++leaves;
    }
  });
  EXPECT_EQ(leaves, 1 << depth_limit);
}

TEST(Spawn, awaiting_sub_coroutines_ten_thousand_deep_does_not_overflow_the_stack) {
  int result = -1;
  run_test([&]() -> Task<> { result = co_await depth(10'000); });
  EXPECT_EQ(result, 10'000);
}

TEST(Spawn, a_process_killed_in_a_nested_sub_coroutine_destroys_its_locals_exactly_once) {
  std::atomic<int> destroyed{0};
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    auto [pid, ref] =
        spawn_monitor([&destroyed]() -> Task<> { co_await nested_wait(destroyed, 50); });
    co_await yield();  // let it reach the innermost receive
    exit(pid, atoms::kill);
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, atoms::killed);
  EXPECT_EQ(destroyed.load(), 51);
}

TEST(Spawn, a_process_killed_ten_thousand_sub_coroutines_deep_destroys_every_level) {
  std::atomic<int> destroyed{0};
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    auto [pid, ref] =
        spawn_monitor([&destroyed]() -> Task<> { co_await nested_wait(destroyed, 10'000); });
    co_await yield();
    exit(pid, atoms::kill);
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(destroyed.load(), 10'001);
}

TEST(Spawn, an_exception_in_a_nested_sub_coroutine_unwinds_every_level_once) {
  std::atomic<int> destroyed{0};
  std::optional<Down> down;
  struct Thrower {
    static Task<> go(std::atomic<int>& d, int n) {
      Counted guard(d);
      if (n == 0) throw std::runtime_error("deep");
      co_await go(d, n - 1);
    }
  };
  run_test([&]() -> Task<> {
    spawn_monitor([&destroyed]() -> Task<> { co_await Thrower::go(destroyed, 20); });
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason.exception_what(), "deep");
  EXPECT_EQ(destroyed.load(), 21);
}

TEST(Spawn, spawn_outside_a_process_throws_not_in_process) {
  EXPECT_THROW(spawn(wait_forever), NotInProcess);
  EXPECT_THROW(spawn_link(wait_forever), NotInProcess);
  EXPECT_THROW(spawn_monitor(wait_forever), NotInProcess);
}
