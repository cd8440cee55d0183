#include "ambitious/runtime/blocking_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace ambitious::detail;
using ambitious::test::Counter;

namespace {

struct CallJob final : BlockingJob {
  std::function<void()> body;
  void run() noexcept override { body(); }
};

}  // namespace

TEST(BlockingPool, every_job_runs_once) {
  constexpr int n = 1'000;
  std::vector<CallJob> jobs(n);
  std::vector<std::atomic<int>> runs(n);
  Counter done;
  {
    BlockingPool pool(4);
    for (int i = 0; i < n; ++i) {
      jobs[i].body = [&, i] {
        runs[i].fetch_add(1);
        done.add();
      };
      pool.submit(&jobs[i]);
    }
    EXPECT_TRUE(done.wait_for(n));
  }
  for (auto& r : runs) EXPECT_EQ(r.load(), 1);
}

TEST(BlockingPool, with_one_thread_jobs_run_in_the_order_submitted) {
  std::vector<CallJob> jobs(50);
  std::vector<int> order;
  {
    BlockingPool pool(1);
    for (int i = 0; i < 50; ++i) {
      jobs[i].body = [&order, i] { order.push_back(i); };  // one thread: no race on `order`
      pool.submit(&jobs[i]);
    }
  }  // the destructor waits for every job submitted
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
}

TEST(BlockingPool, grows_a_thread_per_busy_job_up_to_its_limit) {
  // Five jobs that block until released: three threads take three of them at once, and no more
  // than three ever run together.
  constexpr int limit = 3;
  std::vector<CallJob> jobs(5);
  std::mutex mutex;
  std::condition_variable released_cv;
  bool released = false;
  std::atomic<int> active{0}, most{0};
  Counter started, finished;
  {
    BlockingPool pool(limit);
    for (auto& job : jobs) {
      job.body = [&] {
        int now = active.fetch_add(1) + 1;
        for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
        }
        started.add();
        {
          std::unique_lock lock(mutex);
          released_cv.wait(lock, [&] { return released; });
        }
        active.fetch_sub(1);
        finished.add();
      };
      pool.submit(&job);
    }
    EXPECT_TRUE(started.wait_for(limit));
    {
      std::lock_guard lock(mutex);
      released = true;
    }
    released_cv.notify_all();
    EXPECT_TRUE(finished.wait_for(5));
  }
  EXPECT_EQ(most.load(), limit);
}

TEST(BlockingPool, the_destructor_waits_for_the_jobs_already_submitted) {
  std::vector<CallJob> jobs(20);
  std::atomic<int> ran{0};
  {
    BlockingPool pool(2);
    for (auto& job : jobs) {
      job.body = [&] {
        std::this_thread::yield();
        ran.fetch_add(1);
      };
      pool.submit(&job);
    }
  }
  EXPECT_EQ(ran.load(), 20);
}

TEST(BlockingPool, jobs_may_be_submitted_from_many_threads) {
  constexpr int threads = 4, per_thread = 250;
  std::vector<CallJob> jobs(threads * per_thread);
  Counter done;
  BlockingPool pool(3);
  std::vector<std::thread> submitters;
  for (int t = 0; t < threads; ++t)
    submitters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        CallJob& job = jobs[t * per_thread + i];
        job.body = [&] { done.add(); };
        pool.submit(&job);
      }
    });
  for (auto& s : submitters) s.join();
  EXPECT_TRUE(done.wait_for(threads * per_thread));
}
