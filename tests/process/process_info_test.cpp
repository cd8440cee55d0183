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
  run_test([&]() -> Task<> {
    Pid p = spawn(wait_forever);
    co_await yield();
    info = co_await process_info(p);
    send(p, Done{});
  });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, ProcessInfo::Status::waiting);
}

TEST(ProcessInfo, a_process_asking_about_itself_is_running) {
  std::optional<ProcessInfo> info;
  run_test([&]() -> Task<> { info = co_await process_info(self()); });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, ProcessInfo::Status::running);
}

TEST(ProcessInfo, a_message_type_nobody_receives_waits_in_the_mailbox_and_shows) {
  std::optional<ProcessInfo> info;
  run_test([&]() -> Task<> {
    Pid p = spawn(wait_forever);
    send(p, NobodyReceivesThis{1});
    send(p, 5);
    send(p, NobodyReceivesThis{2});
    info = co_await process_info(p);
    send(p, Done{});
  });
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
  run_test([&]() -> Task<> {
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
  });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->links, std::vector<Pid>{linked});
  EXPECT_EQ(info->monitors, std::vector<Pid>{watched});
  EXPECT_EQ(info->monitored_by, std::vector<Pid>{watcher});
}

TEST(ProcessInfo, registered_name_and_trap_exit_are_reported) {
  std::optional<ProcessInfo> plain, named;
  run_test([&]() -> Task<> {
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
  });
  ASSERT_TRUE(plain && named);
  EXPECT_FALSE(plain->registered_name);
  EXPECT_FALSE(plain->trap_exit);
  EXPECT_EQ(named->registered_name, Atom("named_one"));
  EXPECT_TRUE(named->trap_exit);
}

TEST(ProcessInfo, a_dead_pid_gives_nothing) {
  std::optional<ProcessInfo> info = ProcessInfo{};
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive<Down>();
    info = co_await process_info(p);
  });
  EXPECT_FALSE(info);
}

TEST(ProcessInfo, a_request_racing_the_end_of_its_process_is_answered) {
  // Each target ends while (or before) the request reaches it: the answer is an info or nothing,
  // but always an answer.
  int answered = 0;
  run_test(four_workers, [&]() -> Task<> {
    for (int i = 0; i < 2'000; ++i) {
      Pid p = spawn([]() -> Task<> { co_return; });
      co_await process_info(p);
      ++answered;
    }
  });
  EXPECT_EQ(answered, 2'000);
}

TEST(ProcessInfo, processes_lists_every_live_process_and_process_count_counts_them) {
  std::vector<Pid> all, spawned;
  std::size_t count = 0, count_after = 0;
  run_test([&]() -> Task<> {
    for (int i = 0; i < 10; ++i) spawned.push_back(spawn(wait_forever));
    all = processes();
    count = process_count();
    for (Pid p : spawned) monitor(p), send(p, Done{});
    for (int i = 0; i < 10; ++i) co_await receive<Down>(patience);
    count_after = process_count();
    EXPECT_EQ(processes(), std::vector<Pid>{self()});
  });
  EXPECT_EQ(all.size(), 11u);
  for (Pid p : spawned) EXPECT_TRUE(contains(all, p));
  EXPECT_EQ(count, 11u);
  EXPECT_EQ(count_after, 1u);
}

// --- process_info(pid, items): only what is asked ----------------------------------------------

namespace {

// A process with something to show for every item: a link, a monitor each way, a name, trap_exit
// and queued messages. Tells `root` it is ready, then waits for Done.
Task<> busy_process(Pid root, Pid partner) {
  trap_exit(true);
  link(partner);
  monitor(partner);
  register_name(Atom("process_info_busy"), self());
  send(self(), NobodyReceivesThis{1});
  send(self(), 2);
  send(root, Go{});
  co_await receive<Done>();
  unlink(partner);
}

constexpr InfoItem every_item[] = {
    InfoItem::status,   InfoItem::message_queue_len, InfoItem::message_types,   InfoItem::links,
    InfoItem::monitors, InfoItem::monitored_by,      InfoItem::registered_name, InfoItem::trap_exit,
};

}  // namespace

TEST(ProcessInfo, each_item_asked_alone_answers_as_the_full_form_and_leaves_the_rest_empty) {
  std::optional<ProcessInfo> full;
  std::vector<std::optional<ProcessInfo>> alone;
  run_test([&]() -> Task<> {
    Pid root = self();
    Pid partner = spawn(wait_forever);
    Pid p = spawn(busy_process, root, partner);
    monitor(p);
    co_await receive<Go>(patience);
    full = co_await process_info(p);
    for (InfoItem item : every_item) alone.push_back(co_await process_info(p, item));
    send(p, Done{});
    send(partner, Done{});
  });
  ASSERT_TRUE(full);
  EXPECT_EQ(full->items, InfoItems::all());
  ASSERT_EQ(alone.size(), std::size(every_item));
  const ProcessInfo empty;
  for (std::size_t i = 0; i < alone.size(); ++i) {
    ASSERT_TRUE(alone[i]) << i;
    const ProcessInfo& a = *alone[i];
    InfoItem item = every_item[i];
    EXPECT_EQ(a.items, InfoItems(item));
    auto check = [&](InfoItem which, const auto& got, const auto& in_full, const auto& blank) {
      if (item == which)
        EXPECT_EQ(got, in_full) << "item " << i;
      else
        EXPECT_EQ(got, blank) << "item " << i << " answered item " << static_cast<int>(which);
    };
    check(InfoItem::message_queue_len, a.message_queue_len, full->message_queue_len,
          empty.message_queue_len);
    check(InfoItem::message_types, a.message_types, full->message_types, empty.message_types);
    check(InfoItem::links, a.links, full->links, empty.links);
    check(InfoItem::monitors, a.monitors, full->monitors, empty.monitors);
    check(InfoItem::monitored_by, a.monitored_by, full->monitored_by, empty.monitored_by);
    check(InfoItem::registered_name, a.registered_name, full->registered_name,
          empty.registered_name);
    check(InfoItem::trap_exit, a.trap_exit, full->trap_exit, empty.trap_exit);
    if (item == InfoItem::status) {
      EXPECT_EQ(a.status, ProcessInfo::Status::waiting);
    }
  }
  // The full answer had something in each item, so the comparisons above meant something.
  EXPECT_EQ(full->message_queue_len, 2u);
  EXPECT_EQ(full->message_types.size(), 2u);
  EXPECT_EQ(full->links.size(), 1u);
  EXPECT_EQ(full->monitors.size(), 1u);
  EXPECT_EQ(full->monitored_by.size(), 1u);
  EXPECT_EQ(full->registered_name, Atom("process_info_busy"));
  EXPECT_TRUE(full->trap_exit);
}

TEST(ProcessInfo, several_items_are_answered_together) {
  std::optional<ProcessInfo> info;
  run_test([&]() -> Task<> {
    Pid root = self();
    Pid partner = spawn(wait_forever);
    Pid p = spawn(busy_process, root, partner);
    co_await receive<Go>(patience);
    info = co_await process_info(
        p, InfoItem::links | InfoItem::trap_exit | InfoItem::message_queue_len);
    send(p, Done{});
    send(partner, Done{});
  });
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->items.contains(InfoItem::links));
  EXPECT_FALSE(info->items.contains(InfoItem::monitors));
  EXPECT_EQ(info->links.size(), 1u);
  EXPECT_TRUE(info->trap_exit);
  EXPECT_EQ(info->message_queue_len, 2u);
  EXPECT_TRUE(info->monitors.empty());
  EXPECT_FALSE(info->registered_name);
}

TEST(ProcessInfo, no_item_at_all_still_says_whether_the_process_is_alive) {
  std::optional<ProcessInfo> alive, dead = ProcessInfo{};
  run_test([&]() -> Task<> {
    Pid p = spawn(wait_forever);
    alive = co_await process_info(p, InfoItems{});
    auto [q, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive<Down>();
    dead = co_await process_info(q, InfoItem::message_queue_len);
    send(p, Done{});
  });
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->items, InfoItems{});
  EXPECT_FALSE(dead);
}

TEST(ProcessInfo, message_queue_len_of_a_million_queued_messages_copies_no_type_name) {
  constexpr std::size_t n = 1'000'000;
  std::optional<ProcessInfo> info;
  run_test([&]() -> Task<> {
    Pid p = spawn(wait_forever);
    for (std::size_t i = 0; i < n; ++i) send(p, NobodyReceivesThis{1});
    info = co_await process_info(p, InfoItem::message_queue_len);
    send(p, Done{});
  });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->message_queue_len, n);
  EXPECT_TRUE(info->message_types.empty());
}

TEST(ProcessInfo, info_items_combine_as_a_set) {
  static_assert(InfoItems().bits() == 0);
  static_assert((InfoItem::links | InfoItem::links) == InfoItems(InfoItem::links));
  constexpr InfoItems two = InfoItem::links | InfoItem::status;
  static_assert(two.contains(InfoItem::status) && !two.contains(InfoItem::monitors));
  InfoItems all = InfoItems();
  for (InfoItem item : every_item) all = all | item;
  EXPECT_EQ(all, InfoItems::all());
  EXPECT_EQ(InfoItems::from_bits(~0u), InfoItems::all());  // unknown bits are dropped
}

TEST(ProcessInfo, process_count_outside_a_runtime_is_zero) { EXPECT_EQ(process_count(), 0u); }

TEST(ProcessInfo, introspection_outside_a_process_throws_not_in_process) {
  EXPECT_THROW(processes(), NotInProcess);
  EXPECT_THROW((void)process_info(Pid()), NotInProcess);
  EXPECT_THROW((void)process_info(Pid(), InfoItem::status), NotInProcess);
}
