#pragma once
// Helpers shared by the process-layer tests.

#include <atomic>
#include <chrono>
#include <utility>

#include "ambitious/ambitious.hpp"

namespace ambitious::test {

using namespace std::chrono_literals;

/// How long a test waits for something that must happen. Not a timing assertion: the bound only
/// makes a broken runtime fail the test instead of hanging it, and is far above any real wait.
inline constexpr auto patience = std::chrono::seconds(20);

/// A runtime with one worker: processes run one at a time, so interleavings are exact.
inline constexpr RuntimeOptions one_worker{.workers = 1};
/// Several workers, for stealing and cross-thread wake-ups.
inline constexpr RuntimeOptions four_workers{.workers = 4};

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
