#pragma once
// IncomingTimers: the timers that deliver to one process, cancelled when it ends.

#include <atomic>
#include <cstdint>
#include <thread>

#include "ambitious/runtime/timer_wheel.hpp"

namespace ambitious::detail {

/// The timers armed to deliver to one process (send_after, start_timer, exit_after to its pid),
/// so that they die with it: OTP cancels a timer whose destination pid exits.
///
/// An intrusive list through the entries' target links. Any thread, under a spin lock folded
/// into the head word (bit 0): each critical section is a few pointer writes. A fired or
/// cancelled timer leaves the list from its action; once closed (the process ended), the list
/// refuses new timers. The entries never outlive their list on it: close() empties it.
class IncomingTimers {
 public:
  IncomingTimers() = default;
  IncomingTimers(const IncomingTimers&) = delete;
  IncomingTimers& operator=(const IncomingTimers&) = delete;

  /// Any thread: calls `arm(join)`, which arms one timer and calls `join(entry)` from its fill,
  /// before the entry is linked in a wheel. The list stays locked meanwhile, so the timer can
  /// neither fire nor be cancelled by close() before it is on the list. Returns false, without
  /// calling `arm`, once the list is closed (the process ended: the caller arms nothing).
  template <class Arm>
  bool add(Arm&& arm) {
    std::uintptr_t word = lock();
    Unlock unlock{*this, word};
    if (word & closed) return false;
    auto* head = reinterpret_cast<TimerEntry*>(word);
    arm([&](TimerEntry& e) noexcept {
      e.target.store(this, std::memory_order_relaxed);
      e.target_prev = nullptr;
      e.target_next = head;
      if (head) head->target_prev = &e;
      unlock.word = reinterpret_cast<std::uintptr_t>(&e);
    });
    return true;
  }

  /// Any thread: takes `e` off the list it is on, if any (its timer fired or was cancelled).
  static void remove(TimerEntry& e) noexcept;

  /// Owner, when the process ends (and again when it is freed, which then finds nothing):
  /// cancels every timer on the list and refuses later ones.
  void close() noexcept;

 private:
  static constexpr std::uintptr_t locked = 1;
  static constexpr std::uintptr_t closed = 2;

  struct Unlock {
    IncomingTimers& list;
    std::uintptr_t word;  // stored on release: the head (or closed), bit 0 clear
    ~Unlock() { list.word_.store(word, std::memory_order_release); }
  };

  /// Spins until the lock is ours; returns the word it held (bit 0 clear).
  std::uintptr_t lock() noexcept {
    std::uintptr_t word = word_.load(std::memory_order_relaxed);
    for (unsigned spins = 0;; ++spins) {
      if (!(word & locked) &&
          word_.compare_exchange_weak(word, word | locked, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return word;
      if (spins > 64) std::this_thread::yield();  // the holder was preempted
      word = word_.load(std::memory_order_relaxed);
    }
  }

  std::atomic<std::uintptr_t> word_{0};  // head entry | closed | locked
};

}  // namespace ambitious::detail
