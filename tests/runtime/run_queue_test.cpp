#include "ambitious/runtime/run_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace ambitious::detail;
using ambitious::test::Job;

namespace {

std::vector<Job> jobs(std::size_t n) { return std::vector<Job>(n); }

}  // namespace

TEST(RunnableList, pops_in_the_order_pushed_and_appends_a_whole_list) {
  auto j = jobs(5);
  RunnableList a, b;
  a.push(&j[0]);
  a.push(&j[1]);
  b.push(&j[2]);
  b.push(&j[3]);
  a.append(b);
  EXPECT_EQ(b.size, 0u);
  EXPECT_EQ(b.head, nullptr);
  a.push(&j[4]);
  EXPECT_EQ(a.size, 5u);
  for (auto& job : j) EXPECT_EQ(a.pop(), &job);
  EXPECT_EQ(a.pop(), nullptr);
  EXPECT_EQ(a.tail, nullptr);
}

TEST(GlobalQueue, pop_batch_takes_at_most_max_oldest_first) {
  auto j = jobs(5);
  GlobalQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.pop_batch(3).size, 0u);
  for (auto& job : j) q.push(&job);
  EXPECT_FALSE(q.empty());
  RunnableList first = q.pop_batch(3);
  ASSERT_EQ(first.size, 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(first.pop(), &j[i]);
  RunnableList rest = q.pop_batch(10);
  ASSERT_EQ(rest.size, 2u);
  EXPECT_EQ(rest.pop(), &j[3]);
  EXPECT_EQ(rest.pop(), &j[4]);
  EXPECT_TRUE(q.empty());
}

TEST(GlobalQueue, push_all_keeps_the_batch_order_behind_what_waits) {
  auto j = jobs(3);
  GlobalQueue q;
  q.push(&j[0]);
  RunnableList batch;
  batch.push(&j[1]);
  batch.push(&j[2]);
  q.push_all(batch);
  EXPECT_EQ(batch.size, 0u);
  RunnableList all = q.pop_batch(3);
  for (auto& job : j) EXPECT_EQ(all.pop(), &job);
}

TEST(LocalQueue, is_a_bounded_fifo) {
  auto j = jobs(LocalQueue::capacity + 1);
  LocalQueue q;
  EXPECT_TRUE(q.empty());
  for (std::uint32_t i = 0; i < LocalQueue::capacity; ++i) ASSERT_TRUE(q.push(&j[i]));
  EXPECT_FALSE(q.push(&j[LocalQueue::capacity]));  // full: the caller moves work elsewhere
  for (std::uint32_t i = 0; i < LocalQueue::capacity; ++i) ASSERT_EQ(q.pop(), &j[i]);
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_TRUE(q.empty());
}

TEST(LocalQueue, wraps_around_its_ring) {
  auto j = jobs(3);
  LocalQueue q;
  for (std::uint32_t round = 0; round < 3 * LocalQueue::capacity; ++round) {
    ASSERT_TRUE(q.push(&j[round % 3]));
    ASSERT_EQ(q.pop(), &j[round % 3]);
  }
  EXPECT_TRUE(q.empty());
}

TEST(LocalQueue, pop_half_takes_the_older_half) {
  auto j = jobs(7);
  LocalQueue q;
  for (auto& job : j) q.push(&job);
  RunnableList half = q.pop_half();
  ASSERT_EQ(half.size, 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(half.pop(), &j[i]);
  for (int i = 3; i < 7; ++i) EXPECT_EQ(q.pop(), &j[i]);
  EXPECT_EQ(q.pop_half().size, 0u);
}

TEST(LocalQueue, steal_into_moves_the_older_half_and_returns_the_oldest) {
  auto j = jobs(5);
  LocalQueue victim, thief;
  for (auto& job : j) victim.push(&job);
  EXPECT_EQ(victim.steal_into(thief), &j[0]);  // takes 3 of 5: runs one, queues two
  EXPECT_EQ(thief.pop(), &j[1]);
  EXPECT_EQ(thief.pop(), &j[2]);
  EXPECT_EQ(thief.pop(), nullptr);
  EXPECT_EQ(victim.pop(), &j[3]);
  EXPECT_EQ(victim.pop(), &j[4]);
  EXPECT_EQ(victim.steal_into(thief), nullptr);  // nothing to steal
}

TEST(LocalQueue, the_last_runnable_can_be_stolen) {
  Job one;
  LocalQueue victim, thief;
  victim.push(&one);
  EXPECT_EQ(victim.steal_into(thief), &one);
  EXPECT_TRUE(victim.empty());
  EXPECT_TRUE(thief.empty());
}

TEST(LocalQueue, every_runnable_is_taken_once_while_thieves_steal_from_a_busy_owner) {
  // The owner pushes and pops while two thieves steal: each runnable must come out exactly once.
  constexpr int total = 200'000;
  std::vector<Job> j(total);
  std::vector<std::atomic<int>> taken(total);
  auto index = [&](Runnable* r) { return static_cast<Job*>(r) - j.data(); };
  LocalQueue owner;
  std::atomic<bool> done{false};
  std::atomic<int> count{0};
  auto thief = [&] {
    LocalQueue mine;
    while (!done.load()) {
      if (Runnable* r = owner.steal_into(mine)) {
        taken[index(r)].fetch_add(1);
        count.fetch_add(1);
        while (Runnable* q = mine.pop()) {
          taken[index(q)].fetch_add(1);
          count.fetch_add(1);
        }
      }
    }
  };
  std::thread t1(thief), t2(thief);
  for (int i = 0; i < total;) {
    if (owner.push(&j[i])) {
      ++i;
    } else if (Runnable* r = owner.pop()) {
      taken[index(r)].fetch_add(1);
      count.fetch_add(1);
    }
    if (i % 3 == 0)
      if (Runnable* r = owner.pop()) {
        taken[index(r)].fetch_add(1);
        count.fetch_add(1);
      }
  }
  while (Runnable* r = owner.pop()) {
    taken[index(r)].fetch_add(1);
    count.fetch_add(1);
  }
  ASSERT_TRUE(ambitious::test::eventually([&] { return count.load() == total; }));
  done.store(true);
  t1.join();
  t2.join();
  int wrong = 0;
  for (auto& t : taken) wrong += t.load() != 1;
  EXPECT_EQ(wrong, 0);
}
