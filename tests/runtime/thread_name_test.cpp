#include "ambitious/runtime/thread_name.hpp"

#include <gtest/gtest.h>

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "ambitious/runtime/blocking_pool.hpp"
#include "ambitious/runtime/scheduler.hpp"
#include "support.hpp"

using namespace ambitious::detail;
using ambitious::test::eventually;

namespace {

std::string name_of(pthread_t thread) {
  std::array<char, 16> name{};
  EXPECT_EQ(pthread_getname_np(thread, name.data(), name.size()), 0);
  return name.data();
}

std::string this_thread_name() { return name_of(pthread_self()); }

// The names of this process's threads, as ps -L and top -H show them.
std::vector<std::string> thread_names() {
  std::vector<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.push_back(name);
  }
  return names;
}

// The name the thread running `f` has, asked from a thread of its own.
template <class F>
std::string name_given_by(F f) {
  std::string seen;
  std::thread t([&] {
    f();
    seen = this_thread_name();
  });
  t.join();
  return seen;
}

}  // namespace

TEST(ThreadName, NamesTheCallingThread) {
  EXPECT_EQ(name_given_by([] { name_this_thread("ambitious-test"); }), "ambitious-test");
}

TEST(ThreadName, CutsALongNameToWhatLinuxKeeps) {
  // 15 bytes and the terminating zero; setting the whole name would fail and leave the old one.
  EXPECT_EQ(name_given_by([] { name_this_thread("ambitious-a-very-long-name"); }),
            "ambitious-a-ver");
}

TEST(ThreadName, AnEmptyNameIsAllowed) {
  EXPECT_EQ(name_given_by([] { name_this_thread(""); }), "");
}

TEST(ThreadName, WorkersAndTheWatchdogAreNamed) {
  auto count = [](const std::string& name) {
    const auto names = thread_names();
    return std::count(names.begin(), names.end(), name);
  };
  Scheduler s(2);
  s.start();
  // Each thread names itself as it starts: wait for all three (the watchdog sleeps at once).
  EXPECT_TRUE(eventually([&] {
    return count("ambitious-w0") == 1 && count("ambitious-w1") == 1 &&
           count("ambitious-watch") == 1;
  }));
  s.stop();
  s.join();
  // Gone with their threads (the kernel may list an exiting thread a moment longer).
  EXPECT_TRUE(eventually([&] { return count("ambitious-w0") == 0; }));
}

TEST(ThreadName, BlockingPoolThreadsAreNamed) {
  struct NameJob final : BlockingJob {
    std::string name;
    std::atomic<bool> done{false};
    void run() noexcept override {
      name = this_thread_name();
      done.store(true);
    }
  } job;
  {
    BlockingPool pool(1);
    pool.submit(&job);
    EXPECT_TRUE(eventually([&] { return job.done.load(); }));
  }
  EXPECT_EQ(job.name, "ambitious-block");
}
