#include "ambitious/process/process_info.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

struct NobodyReceivesThis {
  int n;
};

template <class R, class T>
bool contains(const R& range, const T& value) {
  return std::ranges::find(range, value) != range.end();
}

}  // namespace

TEST(ProcessInfo, a_process_waiting_in_receive_is_waiting) {
  std::optional<ProcessInfo> info;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  Pid p = spawn(wait_forever);
                  co_await yield();
                  info = co_await process_info(p);
                  send(p, Done{});
                }),
            0);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, ProcessInfo::Status::waiting);
}

TEST(ProcessInfo, a_process_asking_about_itself_is_running) {
  std::optional<ProcessInfo> info;
  EXPECT_EQ(run(one_worker, [&]() -> Task<> { info = co_await process_info(self()); }), 0);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, ProcessInfo::Status::running);
}

TEST(ProcessInfo, a_message_type_nobody_receives_waits_in_the_mailbox_and_shows) {
  std::optional<ProcessInfo> info;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  Pid p = spawn(wait_forever);
                  send(p, NobodyReceivesThis{1});
                  send(p, 5);
                  send(p, NobodyReceivesThis{2});
                  info = co_await process_info(p);
                  send(p, Done{});
                }),
            0);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->message_queue_len, 3u);
  ASSERT_EQ(info->message_types.size(), 3u);
  EXPECT_NE(info->message_types[0].find("NobodyReceivesThis"), std::string::npos)
      << info->message_types[0];
  EXPECT_EQ(info->message_types[1], "int");
  EXPECT_NE(info->message_types[2].find("NobodyReceivesThis"), std::string::npos);
}

TEST(ProcessInfo, links_monitors_and_monitored_by_are_listed) {
  std::optional<ProcessInfo> info;
  Pid linked, watched, watcher;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  Pid root = self();
                  linked = spawn(wait_forever);
                  watched = spawn(wait_forever);
                  Pid p = spawn(
                      [root](Pid linked, Pid watched) -> Task<> {
                        link(linked);
                        monitor(watched);
                        send(root, Go{});
                        co_await receive<Done>();
                        unlink(linked);
                      },
                      linked, watched);
                  co_await receive<Go>(patience);
                  watcher = spawn(
                      [root](Pid p) -> Task<> {
                        monitor(p);
                        send(root, Go{});
                        co_await receive<Done>();
                      },
                      p);
                  co_await receive<Go>(patience);
                  info = co_await process_info(p);
                  for (Pid q : {p, linked, watched, watcher}) send(q, Done{});
                }),
            0);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->links, std::vector<Pid>{linked});
  EXPECT_EQ(info->monitors, std::vector<Pid>{watched});
  EXPECT_EQ(info->monitored_by, std::vector<Pid>{watcher});
}

TEST(ProcessInfo, registered_name_and_trap_exit_are_reported) {
  std::optional<ProcessInfo> plain, named;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  Pid root = self();
                  Pid p = spawn(wait_forever);
                  Pid q = spawn([root]() -> Task<> {
                    trap_exit(true);
                    register_name(Atom("named_one"), self());
                    send(root, Go{});
                    co_await receive<Done>();
                  });
                  co_await receive<Go>(patience);
                  plain = co_await process_info(p);
                  named = co_await process_info(q);
                  send(p, Done{});
                  send(q, Done{});
                }),
            0);
  ASSERT_TRUE(plain && named);
  EXPECT_FALSE(plain->registered_name);
  EXPECT_FALSE(plain->trap_exit);
  EXPECT_EQ(named->registered_name, Atom("named_one"));
  EXPECT_TRUE(named->trap_exit);
}

TEST(ProcessInfo, a_dead_pid_gives_nothing) {
  std::optional<ProcessInfo> info = ProcessInfo{};
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
                  co_await receive<Down>();
                  info = co_await process_info(p);
                }),
            0);
  EXPECT_FALSE(info);
}

TEST(ProcessInfo, a_request_racing_the_end_of_its_process_is_answered) {
  // Each target ends while (or before) the request reaches it: the answer is an info or nothing,
  // but always an answer.
  int answered = 0;
  EXPECT_EQ(run(four_workers,
                [&]() -> Task<> {
                  for (int i = 0; i < 2'000; ++i) {
                    Pid p = spawn([]() -> Task<> { co_return; });
                    co_await process_info(p);
                    ++answered;
                  }
                }),
            0);
  EXPECT_EQ(answered, 2'000);
}

TEST(ProcessInfo, processes_lists_every_live_process_and_process_count_counts_them) {
  std::vector<Pid> all, spawned;
  std::size_t count = 0, count_after = 0;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  for (int i = 0; i < 10; ++i) spawned.push_back(spawn(wait_forever));
                  all = processes();
                  count = process_count();
                  for (Pid p : spawned) monitor(p), send(p, Done{});
                  for (int i = 0; i < 10; ++i) co_await receive<Down>(patience);
                  count_after = process_count();
                  EXPECT_EQ(processes(), std::vector<Pid>{self()});
                }),
            0);
  EXPECT_EQ(all.size(), 11u);
  for (Pid p : spawned) EXPECT_TRUE(contains(all, p));
  EXPECT_EQ(count, 11u);
  EXPECT_EQ(count_after, 1u);
}

TEST(ProcessInfo, process_count_outside_a_runtime_is_zero) { EXPECT_EQ(process_count(), 0u); }

TEST(ProcessInfo, introspection_outside_a_process_throws_not_in_process) {
  EXPECT_THROW(processes(), NotInProcess);
  EXPECT_THROW((void)process_info(Pid()), NotInProcess);
}
