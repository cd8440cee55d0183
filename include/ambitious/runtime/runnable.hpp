#pragma once
// Runnable: what the scheduler runs (a process, in practice).
// Part of the runtime layer's interface to the process layer above; applications do not use it.

namespace ambitious::detail {

/// Something a worker can run. The scheduler knows nothing else of processes.
struct Runnable {
  Runnable* next_runnable = nullptr;  ///< link in the global queue (owned by whoever queues it)
  /// Runs until the runnable suspends; called by exactly one worker at a time.
  virtual void run() noexcept = 0;

 protected:
  ~Runnable() = default;
};

}  // namespace ambitious::detail
