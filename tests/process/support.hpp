#pragma once
// Helpers shared by the process-layer tests.

#include <atomic>
#include <chrono>
#include <utility>

#include "ambitious/process/errors.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/process_info.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "ambitious/process/timeout.hpp"
#include "ambitious/process/timer.hpp"
#include "ambitious/runtime/task.hpp"

#include "../common.hpp"

namespace ambitious::test {

/// Counts its destructions, to check that frames are destroyed exactly once.
struct Counted {
  explicit Counted(std::atomic<int>& destroyed) noexcept : destroyed_(&destroyed) {}
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  ~Counted() { destroyed_->fetch_add(1); }

 private:
  std::atomic<int>* destroyed_;
};

/// A message a test sends to say "go on" or "done".
struct Go {};
struct Done {};

/// A process that waits until told to stop (or killed).
inline Task<> wait_forever() { co_await receive<Done>(); }

/// An exit reason for the tests: any atom OTP gives no meaning.
inline const Atom foo("foo");

/// Waits for Go, then ends with `reason`.
inline Task<> exit_on_go(ExitReason reason) {
  co_await receive<Go>();
  exit(std::move(reason));
}

/// A receive_if predicate for the Down of monitor `ref`.
inline auto down_for(const Ref& ref) {
  return [ref](const Down& d) { return d.ref == ref; };
}

}  // namespace ambitious::test
