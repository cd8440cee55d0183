#pragma once
// Quiescent-state-based reclamation: when memory that other workers may still read can be freed.
// Part of the runtime layer's interface to the process layer above; applications do not use it.

#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

namespace ambitious::detail {

/// Workers read shared pointers (a process found through the pid table) without taking a
/// reference; they hold them only while running one process. Between runs a worker announces a
/// quiescent state. An object retired at epoch e is freed once every online worker has announced
/// an epoch after e: by then no worker can still hold a pointer read before it was unpublished.
class Quiescence {
 public:
  static constexpr std::uint64_t offline = std::numeric_limits<std::uint64_t>::max();

  explicit Quiescence(unsigned workers) : seen_(workers) {}

  /// Worker `w` holds no shared pointer now. Owner thread of `w` only.
  void announce(unsigned w) noexcept {
    // Release: every read of a shared pointer made before this stays before it.
    seen_[w].value.store(epoch_.load(std::memory_order_acquire), std::memory_order_release);
  }
  /// Worker `w` goes to sleep holding nothing: it does not hold reclamation back.
  void go_offline(unsigned w) noexcept { seen_[w].value.store(offline, std::memory_order_release); }
  /// Worker `w` wakes up; it must call this before it reads any shared pointer.
  void go_online(unsigned w) noexcept {
    seen_[w].value.store(epoch_.load(std::memory_order_acquire), std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }

  /// The epoch to tag an object with, read after the object was unpublished.
  std::uint64_t current() const noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return epoch_.load(std::memory_order_acquire);
  }
  /// Objects retired before the returned epoch may be freed; advances the epoch.
  std::uint64_t safe_before() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::uint64_t min = offline;
    for (auto& s : seen_) min = std::min(min, s.value.load(std::memory_order_acquire));
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    return min;
  }

 private:
  struct alignas(64) Seen {
    std::atomic<std::uint64_t> value{offline};
  };
  alignas(64) std::atomic<std::uint64_t> epoch_{1};
  std::vector<Seen> seen_;
};

}  // namespace ambitious::detail
