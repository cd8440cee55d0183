#pragma once
// Helpers shared by the naming tests.

#include <chrono>

#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"

namespace ambitious::test {

using namespace std::chrono_literals;

/// How long a test waits for something that must happen: only so that a broken build fails
/// instead of hanging; far above any real wait. Not a timing assertion.
inline constexpr auto patience = std::chrono::seconds(30);

inline constexpr RuntimeOptions one_worker{.workers = 1};
inline constexpr RuntimeOptions four_workers{.workers = 4};

struct Go {};
struct Done {};
struct Ready {
  Pid pid;
};

/// A process that waits until told Done (or killed).
inline Task<> wait_for_done() { co_await receive<Done>(); }

/// Kills `pid` and waits for the Down of a monitor of the caller's own: after it, `pid` is dead
/// (its partitions may not have cleaned up yet).
inline Task<> kill_and_wait(Pid pid) {
  Ref ref = monitor(pid);
  exit(pid, atoms::kill);
  co_await receive_if<Down>([&](const Down& d) { return d.ref == ref; }, patience);
}

}  // namespace ambitious::test
