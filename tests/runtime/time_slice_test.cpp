#include "ambitious/runtime/time_slice.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "ambitious/runtime/scheduler.hpp"
#include "support.hpp"

using namespace ambitious::detail;
using namespace std::chrono_literals;
using ambitious::test::Counter;
using ambitious::test::Job;

namespace {

// What `f` returns, run on a thread of its own (a request changes only its caller's slice, and
// a new thread inherits its creator's: the test's own thread stays as it was).
template <class F>
auto on_a_new_thread(F f) {
  decltype(f()) result{};
  std::thread t([&] { result = f(); });
  t.join();
  return result;
}

// Whether this kernel takes slice requests (Linux 6.6 and later).
bool kernel_takes_requests() {
  return on_a_new_thread([] { return request_time_slice(300us); });
}

// The slice a worker of `s` runs with.
std::chrono::microseconds worker_slice_of(Scheduler& s) {
  Counter ran;
  std::chrono::microseconds seen{};
  Job job([&] {
    seen = time_slice();
    ran.add();
  });
  s.schedule(&job);
  EXPECT_TRUE(ran.wait_for(1));
  s.stop();
  s.join();
  return seen;
}

}  // namespace

TEST(TimeSlice, ARequestSetsTheCallersSlice) {
  if (!kernel_takes_requests()) GTEST_SKIP() << "this kernel takes no time-slice requests";
  EXPECT_EQ(on_a_new_thread([] {
              EXPECT_TRUE(request_time_slice(300us));
              return time_slice();
            }),
            300us);
}

TEST(TimeSlice, TheKernelKeepsTheSliceWithinItsBounds) {
  if (!kernel_takes_requests()) GTEST_SKIP() << "this kernel takes no time-slice requests";
  // Linux takes 100 us to 100 ms and clamps what lies outside.
  EXPECT_EQ(on_a_new_thread([] {
              request_time_slice(1us);
              return time_slice();
            }),
            100us);
  EXPECT_EQ(on_a_new_thread([] {
              request_time_slice(1s);
              return time_slice();
            }),
            100ms);
}

TEST(TimeSlice, ARequestKeepsTheNiceValue) {
  if (!kernel_takes_requests()) GTEST_SKIP() << "this kernel takes no time-slice requests";
  const int before = getpriority(PRIO_PROCESS, 0);
  const int after = on_a_new_thread([before] {
    // A thread's own nice value (Linux: per thread); raising it needs no privilege.
    EXPECT_EQ(setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), before + 3), 0);
    EXPECT_TRUE(request_time_slice(200us));
    return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  });
  EXPECT_EQ(after, before + 3);
}

TEST(TimeSlice, NoSliceIsNoRequest) {
  EXPECT_FALSE(on_a_new_thread([] { return request_time_slice(0us); }));
  EXPECT_FALSE(on_a_new_thread([] { return request_time_slice(-5us); }));
}

TEST(TimeSlice, WorkersAskForTheSchedulersSlice) {
  if (!kernel_takes_requests()) GTEST_SKIP() << "this kernel takes no time-slice requests";
  Scheduler s(2, true, 400us);
  s.start();
  EXPECT_EQ(worker_slice_of(s), 400us);
}

TEST(TimeSlice, WithoutOneWorkersKeepTheKernelsDefault) {
  const auto default_slice = on_a_new_thread([] { return time_slice(); });
  Scheduler s(1);
  s.start();
  EXPECT_EQ(worker_slice_of(s), default_slice);
}
