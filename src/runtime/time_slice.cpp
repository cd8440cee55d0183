#include "ambitious/runtime/time_slice.hpp"

#if defined(__linux__)
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#endif

namespace ambitious::detail {

#if defined(__linux__)
namespace {

// The kernel's struct sched_attr (linux/sched/types.h), which glibc 2.36 does not declare.
struct SchedAttr {
  std::uint32_t size;
  std::uint32_t policy;
  std::uint64_t flags;
  std::int32_t nice;
  std::uint32_t priority;
  std::uint64_t runtime;  // ns: a fair thread's requested slice
  std::uint64_t deadline;
  std::uint64_t period;
  std::uint32_t util_min;
  std::uint32_t util_max;
};

bool get(SchedAttr& a) noexcept {
  a = SchedAttr{};
  return syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0;
}

}  // namespace

bool request_time_slice(std::chrono::microseconds slice) noexcept {
  SchedAttr a;
  if (slice.count() <= 0 || !get(a)) return false;
  if (a.policy != SCHED_OTHER && a.policy != SCHED_BATCH) return false;
  // Every field as it was (the policy, the nice value) but the slice: sched_setattr sets all.
  a.size = sizeof a;
  a.flags = 0;
  a.runtime = static_cast<std::uint64_t>(slice.count()) * 1000;
  return syscall(SYS_sched_setattr, 0, &a, 0) == 0;
}

std::chrono::microseconds time_slice() noexcept {
  SchedAttr a;
  if (!get(a)) return std::chrono::microseconds(0);
  return std::chrono::microseconds(a.runtime / 1000);
}

#else

bool request_time_slice(std::chrono::microseconds) noexcept { return false; }
std::chrono::microseconds time_slice() noexcept { return std::chrono::microseconds(0); }

#endif

}  // namespace ambitious::detail
