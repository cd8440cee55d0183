#include "ambitious/process/monitor.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

TEST(Monitor, a_monitor_gets_down_with_ref_pid_and_reason_when_the_process_ends) {
  std::optional<Down> down;
  Pid p;
  Ref ref;
  run_test([&]() -> Task<> {
    p = spawn(exit_on_go, ExitReason(foo));
    ref = monitor(p);
    send(p, Go{});
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->pid, p);
  EXPECT_EQ(down->reason, foo);
}

TEST(Monitor, monitoring_a_dead_pid_gives_down_noproc_at_once) {
  std::optional<Down> down;
  Pid dead;
  Ref ref;
  run_test([&]() -> Task<> {
    auto sm = spawn_monitor([]() -> Task<> { co_return; });
    dead = sm.pid;
    co_await receive<Down>();
    ref = monitor(dead);
    down = co_await receive<Down>(0ms);  // a poll: it is already there
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->pid, dead);
  EXPECT_EQ(down->reason, atoms::noproc);
}

TEST(Monitor, monitoring_a_pid_that_never_existed_gives_down_noproc) {
  std::optional<Down> down;
  Pid never(nodes::local, 123'456'789, 7);
  run_test([&]() -> Task<> {
    monitor(never);
    down = co_await receive<Down>(0ms);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->pid, never);
  EXPECT_EQ(down->reason, atoms::noproc);
}

TEST(Monitor, down_arrives_exactly_once_per_monitor) {
  std::vector<Ref> refs, downs;
  bool extra = true;
  run_test([&]() -> Task<> {
    Pid p = spawn(exit_on_go, ExitReason(foo));
    for (int i = 0; i < 3; ++i) refs.push_back(monitor(p));
    send(p, Go{});
    for (int i = 0; i < 3; ++i)
      if (auto d = co_await receive<Down>(patience)) downs.push_back(d->ref);
    // One worker: p's end, which sent every Down, is over; none can follow.
    extra = (co_await receive<Down>(0ms)).has_value();
  });
  EXPECT_EQ(std::set<Ref>(refs.begin(), refs.end()).size(), 3u);
  EXPECT_EQ(std::set<Ref>(downs.begin(), downs.end()), std::set<Ref>(refs.begin(), refs.end()));
  EXPECT_FALSE(extra);
}

TEST(Monitor, a_killed_process_is_down_with_killed) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor(wait_forever);
    exit(p, atoms::kill);
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, atoms::killed);
}

TEST(Monitor, an_exception_escaping_a_body_reaches_monitors_as_an_exception_reason) {
  std::optional<Down> standard, other;
  run_test([&]() -> Task<> {
    auto a = spawn_monitor([]() -> Task<> {
      throw std::logic_error("broken invariant");
      co_return;
    });
    auto b = spawn_monitor([]() -> Task<> {
      throw 42;  // not a std::exception: no what() to report
      co_return;
    });
    standard = co_await receive_if<Down>([&](const Down& d) { return d.ref == a.ref; }, patience);
    other = co_await receive_if<Down>([&](const Down& d) { return d.ref == b.ref; }, patience);
  });
  ASSERT_TRUE(standard);
  EXPECT_EQ(standard->reason, ExitReason::exception("broken invariant"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->reason, ExitReason::exception("unknown exception"));
}

TEST(Monitor, a_thrown_non_standard_exception_still_gives_an_exception_reason) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    spawn_monitor([]() -> Task<> {
      throw 42;
      co_return;
    });
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_FALSE(down->reason.exception_what().empty()) << down->reason;
}

TEST(Monitor, demonitor_with_info_returns_true_for_an_active_monitor_and_false_after) {
  bool first = false, second = true;
  run_test([&]() -> Task<> {
    Pid p = spawn(wait_forever);
    Ref ref = monitor(p);
    first = demonitor(ref, {.info = true});
    second = demonitor(ref, {.info = true});
    send(p, Done{});
    co_return;
  });
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
}

TEST(Monitor, no_down_arrives_after_demonitor_returns) {
  // p ends on its own, on another worker, while we demonitor: its Down may already be here
  // (demonitor then says the monitor was no longer active) or still on its way (it must then
  // never be queued). Repeated to meet both orders.
  constexpr int rounds = 500;
  int stale = 0, downs = 0;
  run_test(four_workers, [&]() -> Task<> {
    for (int i = 0; i < rounds; ++i) {
      Pid p = spawn([]() -> Task<> {
        co_await yield();
        exit(foo);
      });
      Ref dropped = monitor(p);
      Ref kept = monitor(p);
      bool active = demonitor(dropped, {.info = true});
      auto d = co_await receive_if<Down>(down_for(kept), patience);
      // noproc when p was gone before the monitor reached it
      downs += d && (d->reason == foo || d->reason == atoms::noproc);
      auto late = co_await receive_if<Down>(down_for(dropped), 0ms);
      if (active && late) ++stale;
      demonitor(dropped, Flush::yes);  // an inactive one's Down may be queued
    }
  });
  EXPECT_EQ(downs, rounds);
  EXPECT_EQ(stale, 0);
}

TEST(Monitor, demonitor_with_flush_removes_a_down_already_queued) {
  bool active = true, left = true;
  std::size_t queued_before = 0;
  run_test([&]() -> Task<> {
    Pid p = spawn(exit_on_go, ExitReason(foo));
    Ref flushed = monitor(p);
    Ref witness = monitor(p);
    send(p, Go{});
    co_await receive_if<Down>(down_for(witness), patience);
    // One worker: p's end ran to completion, so the other Down is queued too.
    auto info = co_await process_info(self());
    queued_before = info ? info->message_queue_len : 0;
    active = demonitor(flushed, {.flush = true, .info = true});
    left = (co_await receive<Down>(0ms)).has_value();
  });
  EXPECT_EQ(queued_before, 1u);
  EXPECT_FALSE(active);  // its Down had arrived: the monitor was no longer active
  EXPECT_FALSE(left);
}

// erlang:demonitor/1 and demonitor(Ref, [flush]) return true whatever became of the monitor;
// only [info] tells (verified with erl: demonitor(M, [flush]) of a triggered monitor is true).
TEST(Monitor, demonitor_without_info_returns_true_even_for_a_monitor_already_down) {
  bool flushed = false, plain = false;
  run_test([&]() -> Task<> {
    auto a = spawn_monitor([]() -> Task<> { co_return; });
    auto b = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive_if<Down>(down_for(a.ref), patience);
    co_await receive_if<Down>(down_for(b.ref), patience);
    flushed = demonitor(a.ref, {.flush = true});
    plain = demonitor(b.ref, DemonitorOptions{});
    demonitor(a.ref);  // erlang:demonitor/1: nothing to say
  });
  EXPECT_TRUE(flushed);
  EXPECT_TRUE(plain);
}

TEST(Monitor, no_down_arrives_after_plain_demonitor) {
  bool got = true;
  run_test([&]() -> Task<> {
    Pid p = spawn(exit_on_go, ExitReason(foo));
    Ref ref = monitor(p);
    demonitor(ref);
    Ref witness = monitor(p);
    send(p, Go{});
    co_await receive_if<Down>(down_for(witness), patience);
    got = (co_await receive_if<Down>(down_for(ref), 0ms)).has_value();
  });
  EXPECT_FALSE(got);
}

TEST(Monitor, demonitor_without_flush_leaves_a_queued_down_in_place) {
  std::optional<Down> left;
  Ref flushed;
  run_test([&]() -> Task<> {
    Pid p = spawn(exit_on_go, ExitReason(foo));
    flushed = monitor(p);
    Ref witness = monitor(p);
    send(p, Go{});
    co_await receive_if<Down>(down_for(witness), patience);
    demonitor(flushed);
    left = co_await receive<Down>(0ms);
  });
  ASSERT_TRUE(left);
  EXPECT_EQ(left->ref, flushed);
}

TEST(Monitor, demonitor_with_flush_leaves_other_messages_in_order) {
  std::vector<int> ints;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    send(self(), 1);
    co_await receive_if<int>([](int) { return false; }, 0ms);
    send(self(), 2);
    Ref other = monitor(spawn(wait_forever));
    auto sm = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive_if<Down>(down_for(sm.ref), patience);
    send(self(), 3);
    demonitor(ref, Flush::yes);
    demonitor(other, Flush::yes);
    while (auto x = co_await receive<int>(0ms)) ints.push_back(*x);
    EXPECT_FALSE(co_await receive<Down>(0ms));
    for (Pid q : processes())
      if (q != self()) send(q, Done{});
  });
  EXPECT_EQ(ints, (std::vector<int>{1, 2, 3}));
}

TEST(Monitor, a_monitor_is_one_way_and_the_monitored_process_lives_on) {
  bool survived = false;
  run_test([&]() -> Task<> {
    Pid root = self();
    Pid p = spawn([root]() -> Task<> {
      co_await receive<Go>();
      send(root, Done{});
    });
    spawn_monitor([p]() -> Task<> {
      monitor(p);
      exit(foo);
      co_return;
    });
    co_await receive<Down>(patience);
    send(p, Go{});
    survived = (co_await receive<Done>(patience)).has_value();
  });
  EXPECT_TRUE(survived);
}

TEST(Monitor, a_dead_watchers_monitors_are_removed_from_the_process_it_watched) {
  std::size_t watchers_before = 0, watchers_after = 9;
  run_test([&]() -> Task<> {
    Pid p = spawn(wait_forever);
    Pid root = self();
    auto [w, wref] = spawn_monitor([p, root]() -> Task<> {
      monitor(p);
      send(root, Go{});
      co_await receive<Done>();
    });
    co_await receive<Go>(patience);
    auto before = co_await process_info(p);
    watchers_before = before ? before->monitored_by.size() : 0;
    send(w, Done{});
    co_await receive<Down>(patience);
    // One worker: w's end (and its demonitor to p) is complete.
    auto after = co_await process_info(p);
    watchers_after = after ? after->monitored_by.size() : 9;
    send(p, Done{});
  });
  EXPECT_EQ(watchers_before, 1u);
  EXPECT_EQ(watchers_after, 0u);
}

TEST(Monitor, monitoring_self_never_gives_a_down) {
  bool got = true;
  run_test([&]() -> Task<> {
    Ref ref = monitor(self());
    got = (co_await receive<Down>(1ms)).has_value();
    EXPECT_TRUE(demonitor(ref, {.info = true}));
  });
  EXPECT_FALSE(got);
}

// erlang:monitor(process, Name): {'DOWN', Ref, process, {Name, Node}, Reason} (verified with erl).
TEST(Monitor, a_monitor_by_name_gets_down_naming_the_name_and_node) {
  std::optional<Down> down;
  Pid p;
  Ref ref;
  const Atom name("monitored_by_name");
  run_test([&]() -> Task<> {
    p = spawn(exit_on_go, ExitReason(foo));
    register_name(name, p);
    ref = monitor(name);
    send(p, Go{});
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->reason, foo);
  EXPECT_EQ(down->pid, p);
  ASSERT_TRUE(down->name);
  EXPECT_EQ(down->name->name, name);
  EXPECT_EQ(down->name->node, atoms::nonode_nohost);
}

TEST(Monitor, monitoring_a_name_nobody_holds_gives_down_noproc_at_once) {
  std::optional<Down> down;
  Ref ref;
  const Atom name("held_by_nobody");
  run_test([&]() -> Task<> {
    ref = monitor(name);
    down = co_await receive<Down>(0ms);  // a poll: it is already there
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->reason, atoms::noproc);
  EXPECT_TRUE(down->pid.is_null());
  ASSERT_TRUE(down->name);
  EXPECT_EQ(down->name->name, name);
  EXPECT_EQ(down->name->node, atoms::nonode_nohost);
}

TEST(Monitor, a_monitor_by_name_stays_on_the_process_that_held_the_name) {
  // As OTP: the name is resolved once; the process may give it up, and another take it.
  std::optional<Down> down;
  Pid first;
  const Atom name("passed_on");
  run_test([&]() -> Task<> {
    first = spawn(exit_on_go, ExitReason(foo));
    Pid second = spawn(wait_forever);
    register_name(name, first);
    Ref ref = monitor(name);
    unregister(name);
    register_name(name, second);
    send(first, Go{});
    down = co_await receive_if<Down>(down_for(ref), patience);
    send(second, Done{});
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->pid, first);
  EXPECT_EQ(down->reason, foo);
  ASSERT_TRUE(down->name);
  EXPECT_EQ(down->name->name, name);
}

TEST(Monitor, a_monitor_by_name_is_removed_by_demonitor) {
  bool active = false, got = true;
  const Atom name("demonitored_by_name");
  run_test([&]() -> Task<> {
    Pid p = spawn(exit_on_go, ExitReason(foo));
    register_name(name, p);
    Ref ref = monitor(name);
    active = demonitor(ref, {.info = true});
    Ref witness = monitor(p);
    send(p, Go{});
    co_await receive_if<Down>(down_for(witness), patience);
    got = (co_await receive_if<Down>(down_for(ref), 0ms)).has_value();
  });
  EXPECT_TRUE(active);
  EXPECT_FALSE(got);
}

TEST(Monitor, a_monitor_by_pid_has_no_name_in_its_down) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    spawn_monitor([]() -> Task<> { co_return; });
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_FALSE(down->name);
}

TEST(Monitor, monitor_and_demonitor_outside_a_process_throw_not_in_process) {
  EXPECT_THROW(monitor(Pid()), NotInProcess);
  EXPECT_THROW(monitor(Atom("anyone")), NotInProcess);
  EXPECT_THROW(demonitor(Ref()), NotInProcess);
  EXPECT_THROW(demonitor(Ref(), {.info = true}), NotInProcess);
}
