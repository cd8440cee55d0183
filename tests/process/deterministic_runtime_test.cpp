#include "ambitious/process/deterministic_runtime.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

struct Ping {
  Pid from;
  int n;
};
struct Pong {
  int n;
};
struct Note {
  std::string text;
};

// Records what a process did, in order, across the processes of one test (one thread runs
// them all: no lock needed).
using Log = std::vector<std::string>;

Task<> ponger(Log* log) {
  for (;;) {
    Ping p = co_await receive<Ping>();
    log->push_back("pong " + std::to_string(p.n));
    send(p.from, Pong{p.n});
  }
}

Task<> pinger(Log* log, Pid to, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    log->push_back("ping " + std::to_string(i));
    send(to, Ping{self(), i});
    co_await receive<Pong>();
  }
  log->push_back("done");
}

// Waits for Go, then ends with `reason`, after sending `note` to `to`.
Task<> note_then_exit(Pid to, ExitReason reason) {
  co_await receive<Go>();
  send(to, Note{"before the exit"});
  exit(std::move(reason));
}

// Links to `partner`, then logs every Note and Exit it receives.
Task<> linked_logger(Log* log, bool trap) {
  trap_exit(trap);
  for (;;)
    co_await receive([&](Note n) { log->push_back(n.text); },
                     [&](Exit e) { log->push_back("exit " + e.reason.to_string()); });
}

// Monitors `watched` and logs how it ended.
Task<> watcher(Log* log, Pid watched) {
  monitor(watched);
  Down d = co_await receive<Down>();
  log->push_back("down " + d.reason.to_string());
}

}  // namespace

TEST(DeterministicRuntime, a_process_runs_only_when_stepped) {
  DeterministicRuntime rt;
  Log log;
  Pid p = rt.spawn([&log]() -> Task<> {
    log.push_back("started");
    int n = co_await receive<int>();
    log.push_back("got " + std::to_string(n));
  });
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(rt.runnable(), std::vector<Pid>{p});
  EXPECT_TRUE(rt.step());
  EXPECT_EQ(log, Log{"started"});
  EXPECT_TRUE(rt.runnable().empty());  // waiting in receive
  EXPECT_FALSE(rt.step());
  rt.send(p, 7);
  EXPECT_EQ(rt.queued(p), 1u);
  ASSERT_NE(rt.peek<int>(p), nullptr);
  EXPECT_EQ(*rt.peek<int>(p), 7);
  EXPECT_EQ(rt.peek<std::string>(p), nullptr);  // not that type
  EXPECT_EQ(rt.runnable(), std::vector<Pid>{p});
  EXPECT_TRUE(rt.step());
  EXPECT_EQ(log, (Log{"started", "got 7"}));
  EXPECT_FALSE(rt.alive(p));
}

TEST(DeterministicRuntime, a_ping_pong_interleaves_exactly_and_each_step_shows_the_mail) {
  DeterministicRuntime rt;
  Log log;
  Pid server = rt.spawn(ponger, &log);
  Pid client = rt.spawn(pinger, &log, server, 2);
  EXPECT_TRUE(rt.step(server));  // waits for a Ping
  EXPECT_TRUE(rt.step(client));  // sends Ping 0, waits for the Pong
  EXPECT_EQ(rt.queued(server), 1u);
  ASSERT_NE(rt.peek<Ping>(server), nullptr);
  EXPECT_EQ(rt.peek<Ping>(server)->n, 0);
  EXPECT_EQ(rt.runnable(), std::vector<Pid>{server});
  EXPECT_TRUE(rt.step());  // server: pong 0
  EXPECT_EQ(rt.queued(server), 0u);
  ASSERT_NE(rt.peek<Pong>(client), nullptr);
  EXPECT_EQ(rt.run_until_idle(), 3u);  // client: ping 1; server: pong 1; client: done
  EXPECT_EQ(log, (Log{"ping 0", "pong 0", "ping 1", "pong 1", "done"}));
  EXPECT_FALSE(rt.alive(client));
  EXPECT_TRUE(rt.alive(server));  // waiting: destroyed with the runtime
}

TEST(DeterministicRuntime, a_process_woken_by_the_running_one_runs_next) {
  DeterministicRuntime rt;
  Log log;
  Pid a = rt.spawn([&log]() -> Task<> {
    co_await receive<Go>();
    log.push_back("a");
  });
  rt.step(a);  // a waits
  Pid b = rt.spawn([&log, a]() -> Task<> {
    send(a, Go{});
    log.push_back("b");
    co_return;
  });
  Pid c = rt.spawn([&log]() -> Task<> {
    log.push_back("c");
    co_return;
  });
  EXPECT_EQ(rt.runnable(), (std::vector<Pid>{b, c}));
  rt.step();  // b wakes a: a goes before c
  EXPECT_EQ(rt.runnable(), (std::vector<Pid>{a, c}));
  rt.run_until_idle();
  EXPECT_EQ(log, (Log{"b", "a", "c"}));
}

TEST(DeterministicRuntime, step_pid_runs_one_process_out_of_turn_and_refuses_one_not_runnable) {
  DeterministicRuntime rt;
  Log log;
  auto named = [&log](std::string name) -> Task<> {
    log.push_back(name);
    co_await receive<Done>();
  };
  Pid a = rt.spawn(named, std::string("a"));
  Pid b = rt.spawn(named, std::string("b"));
  Pid c = rt.spawn(named, std::string("c"));
  EXPECT_TRUE(rt.step(c));
  EXPECT_EQ(rt.runnable(), (std::vector<Pid>{a, b}));
  EXPECT_FALSE(rt.step(c));  // waiting
  rt.send(c, Done{});
  EXPECT_TRUE(rt.step(c));
  EXPECT_FALSE(rt.step(c));  // dead
  rt.run_until_idle();
  EXPECT_EQ(log, (Log{"c", "a", "b"}));
}

TEST(DeterministicRuntime, a_trapping_process_gets_a_linked_senders_message_before_its_exit) {
  // Per-sender order: the Note was sent before the exit signal, so it is received first.
  DeterministicRuntime rt;
  Log log;
  Pid logger = rt.spawn(linked_logger, &log, true);
  rt.step(logger);
  Pid sender = rt.spawn([logger]() -> Task<> {
    link(logger);
    co_await note_then_exit(logger, foo);
  });
  rt.step(sender);  // links, waits for Go
  rt.send(sender, Go{});
  rt.step(sender);  // sends the Note, exits: the exit signal follows the Note
  EXPECT_FALSE(rt.alive(sender));
  EXPECT_EQ(rt.queued(logger), 1u);  // the Note; the exit is still a signal
  ASSERT_NE(rt.peek<Note>(logger), nullptr);
  rt.step(logger);
  EXPECT_EQ(log, (Log{"before the exit", "exit foo"}));
}

TEST(DeterministicRuntime, a_link_exit_that_arrives_before_the_process_runs_ends_it_unread) {
  // The Note from one sender and the exit signal from a linked one are both in the mailbox
  // when the process runs: signals are handled before any receive, so it ends with the exit's
  // reason and never reads the Note.
  DeterministicRuntime rt;
  Log log;
  Pid logger = rt.spawn(linked_logger, &log, false);
  Pid observer = rt.spawn(watcher, &log, logger);
  Pid linked = rt.spawn([logger]() -> Task<> {
    link(logger);
    co_await receive<Go>();
    exit(foo);
  });
  rt.run_until_idle();  // everyone waits
  rt.send(logger, Note{"from the test"});
  rt.send(linked, Go{});
  rt.step(linked);  // exits: an exit signal to the logger, behind the Note
  EXPECT_EQ(rt.queued(logger), 1u);
  EXPECT_EQ(rt.runnable(), std::vector<Pid>{logger});
  rt.step(logger);  // ends at once with foo
  EXPECT_FALSE(rt.alive(logger));
  rt.step(observer);
  EXPECT_EQ(log, Log{"down foo"});
}

TEST(DeterministicRuntime, the_same_processes_stepped_the_other_way_read_the_note_first) {
  DeterministicRuntime rt;
  Log log;
  Pid logger = rt.spawn(linked_logger, &log, false);
  Pid observer = rt.spawn(watcher, &log, logger);
  Pid linked = rt.spawn([logger]() -> Task<> {
    link(logger);
    co_await receive<Go>();
    exit(foo);
  });
  rt.run_until_idle();
  rt.send(logger, Note{"from the test"});
  rt.step(logger);  // reads the Note before the exit signal exists
  rt.send(linked, Go{});
  rt.run_until_idle();
  EXPECT_FALSE(rt.alive(logger));
  EXPECT_FALSE(rt.alive(observer));
  EXPECT_EQ(log, (Log{"from the test", "down foo"}));
}

TEST(DeterministicRuntime, run_until_idle_stops_after_max_steps_when_work_never_ends) {
  DeterministicRuntime rt;
  int turns = 0;
  Pid spinner = rt.spawn([&turns]() -> Task<> {
    for (;;) {
      ++turns;
      co_await yield();
    }
  });
  EXPECT_EQ(rt.run_until_idle(100), 100u);
  EXPECT_EQ(turns, 100);
  EXPECT_EQ(rt.runnable(), std::vector<Pid>{spinner});
}

TEST(DeterministicRuntime, processes_spawned_by_a_process_start_in_the_order_spawned) {
  DeterministicRuntime rt;
  Log log;
  rt.spawn([&log]() -> Task<> {
    for (const char* name : {"x", "y", "z"})
      spawn(
          [&log](std::string n) -> Task<> {
            log.push_back(n);
            co_return;
          },
          std::string(name));
    log.push_back("parent");
    co_return;
  });
  rt.run_until_idle();
  EXPECT_EQ(log, (Log{"parent", "x", "y", "z"}));
}

TEST(DeterministicRuntime, a_receive_timeout_of_zero_polls) {
  DeterministicRuntime rt;
  std::optional<int> got = 1;
  rt.spawn([&got]() -> Task<> { got = co_await receive<int>(std::chrono::milliseconds(0)); });
  rt.run_until_idle();
  EXPECT_FALSE(got);
}

TEST(DeterministicRuntime, processes_left_waiting_are_destroyed_with_the_runtime) {
  std::atomic<int> destroyed{0};
  {
    DeterministicRuntime rt;
    for (int i = 0; i < 3; ++i)
      rt.spawn([&destroyed]() -> Task<> {
        Counted c(destroyed);
        co_await receive<Done>();
      });
    Pid never_ran = rt.spawn([&destroyed]() -> Task<> {
      Counted c(destroyed);
      co_return;
    });
    rt.step();
    rt.step();
    rt.step();
    EXPECT_EQ(rt.runnable(), std::vector<Pid>{never_ran});
  }
  EXPECT_EQ(destroyed.load(), 3);  // the one that never ran had not built its Counted
}

TEST(DeterministicRuntime, only_one_runtime_runs_at_a_time) {
  DeterministicRuntime rt;
  EXPECT_THROW(DeterministicRuntime other, std::logic_error);
  EXPECT_THROW(run(one_worker, []() -> Task<> { co_return; }), std::logic_error);
}

TEST(DeterministicRuntime, a_runtime_can_follow_another) {
  for (int i = 0; i < 3; ++i) {
    DeterministicRuntime rt;
    Pid p = rt.spawn([]() -> Task<> { co_return; });
    EXPECT_TRUE(rt.step());
    EXPECT_FALSE(rt.alive(p));
  }
  run_test([]() -> Task<> { co_return; });
}
