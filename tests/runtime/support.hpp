#pragma once
// Helpers shared by the runtime-layer tests: a runnable that calls a function, and a counter a
// test can wait on.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "ambitious/runtime/runnable.hpp"

#include "../patience.hpp"

namespace ambitious::test {

/// A runnable that calls `body` each time it runs.
struct Job final : detail::Runnable {
  explicit Job(std::function<void()> f = {}) : body(std::move(f)) {}
  void run() noexcept override {
    if (body) body();
  }
  std::function<void()> body;
};

/// A count that other threads raise and a test waits on.
class Counter {
 public:
  void add(int n = 1) {
    std::lock_guard lock(mutex_);
    value_ += n;
    cv_.notify_all();
  }
  int value() {
    std::lock_guard lock(mutex_);
    return value_;
  }
  /// Waits until the count reaches `target`; false if it did not within `patience`.
  bool wait_for(int target) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, patience, [&] { return value_ >= target; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int value_ = 0;
};

/// Spins (yielding) until `done()` holds; false if it did not within `patience`. For states
/// that no one signals, such as "every worker has parked".
template <class F>
bool eventually(F&& done) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace ambitious::test
