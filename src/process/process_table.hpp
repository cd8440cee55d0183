#pragma once
// ProcessTable: pid -> process, lock-free to read.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ambitious/core/pid.hpp"

namespace ambitious::detail {

class Process;

/// Slots indexed by the pid's id; a slot keeps the serial of its last owner, so a reused id gets
/// a new pid. lookup() is a pointer read: the caller must be a worker (the process it gets stays
/// readable until the worker's next quiescent state, see Quiescence). insert/remove: any worker.
class ProcessTable {
 public:
  explicit ProcessTable(unsigned workers);
  ~ProcessTable();

  /// Gives `p` a fresh pid and makes it visible.
  Pid insert(Process* p);
  /// The live process named `pid`, or null.
  Process* lookup(Pid pid) const noexcept;
  /// Makes `p` invisible; its id may be reused (with another serial).
  void remove(Process* p) noexcept;
  std::size_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  /// Calls f(Process*) for every process in the table (the caller keeps them from ending).
  template <class F>
  void for_each(F&& f) const {
    std::uint32_t end = next_fresh_.load(std::memory_order_acquire);
    for (std::uint32_t id = 1; id < end; ++id)
      if (Process* p = slot(id).process.load(std::memory_order_acquire)) f(p);
  }

 private:
  static constexpr std::uint32_t chunk_bits = 14;
  static constexpr std::uint32_t chunk_size = 1u << chunk_bits;
  static constexpr std::uint32_t max_chunks = 1u << 14;  // 2^28 ids

  struct Slot {
    std::atomic<Process*> process{nullptr};
    std::uint32_t serial = 0;  // touched only by whoever holds the id
  };

  Slot& slot(std::uint32_t id) const noexcept {
    return chunks_[id >> chunk_bits].load(std::memory_order_acquire)[id & (chunk_size - 1)];
  }
  std::uint32_t take_id();
  void give_back_id(std::uint32_t id) noexcept;

  std::unique_ptr<std::atomic<Slot*>[]> chunks_;
  std::atomic<std::uint32_t> next_fresh_{1};  // id 0 stays unused: Pid() is null
  std::mutex mutex_;                          // chunk growth and the shared free list
  std::vector<std::uint32_t> free_shared_;
  std::vector<std::vector<std::uint32_t>> free_local_;  // per worker, that worker only
  std::atomic<std::size_t> count_{0};
};

}  // namespace ambitious::detail
