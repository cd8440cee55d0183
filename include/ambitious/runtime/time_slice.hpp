#pragma once
// request_time_slice: how long the kernel lets the calling thread run before another may take
// its CPU. The workers ask for a short one: Linux's scheduler (EEVDF, 6.6 and later) lets a
// thread that wakes with a shorter slice than the running thread's preempt it at once; with the
// default slice it waits until the running thread's slice ends, on a kernel with a 4 ms tick up
// to 4 ms. So a process woken on a machine whose CPUs are busy (a node's distribution thread
// moving a bulk transfer) runs within microseconds instead of a tick later. Part of the runtime
// layer's interface to the layers above; applications set RuntimeOptions::worker_slice.

#include "ambitious/core/chrono.hpp"

namespace ambitious::detail {

/// Asks the kernel to run the calling thread in slices of `slice` (sched_attr.sched_runtime of
/// a SCHED_OTHER or SCHED_BATCH thread; Linux keeps it between 100 us and 100 ms), keeping its
/// policy and nice value. Whether the kernel took it: false elsewhere than on Linux, under
/// another policy (a real-time thread), or on a kernel that refuses the request; then nothing
/// changed.
bool request_time_slice(std::chrono::microseconds slice) noexcept;

/// The calling thread's slice as the kernel reports it (its default one until a request);
/// zero where the kernel reports none.
std::chrono::microseconds time_slice() noexcept;

}  // namespace ambitious::detail
