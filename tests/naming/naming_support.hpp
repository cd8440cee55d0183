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

#include "../common.hpp"

namespace ambitious::test {

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
