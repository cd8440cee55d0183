#pragma once
// TimerWheel: a worker's hashed timing wheel (1 ms ticks) for timers and receive timeouts.
// Part of the runtime layer's interface to the process layer above; applications do not use it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "ambitious/core/chrono.hpp"
#include "ambitious/core/pid.hpp"

namespace ambitious::detail {

struct TimerEntry;

/// What a timer does when it fires, and how to drop its payload when it is cancelled.
struct TimerAction {
  void (*fire)(TimerEntry&) noexcept;
  void (*discard)(TimerEntry&) noexcept;
};

/// One armed timer. Entries live in chunks that are reused but never freed while the wheel
/// lives, so a handle to a recycled entry is detected by its generation, never a dangling read.
struct TimerEntry {
  enum State : std::uint64_t { free = 0, armed = 1, fired = 2, cancelled = 3 };
  static constexpr std::uint64_t state_mask = 3;

  // Slot list, or free list. Written by the owner only, but read by a rescuer (see
  // TimerWheel::rescue) while the owner may relink the entry: atomic, stored with release (so
  // that an entry reached through it is seen as the owner made it), loaded relaxed by the owner.
  std::atomic<TimerEntry*> next{nullptr};
  TimerEntry* prev = nullptr;  // slot list (owner only)
  // Written by the owner when armed; read by remaining() on any worker, which may race with a
  // re-arming of the entry (the generation check then discards the value): atomic, relaxed.
  std::atomic<std::uint64_t> deadline_ms{0};
  std::atomic<std::uint64_t> state{0};  // generation << 2 | State
  const TimerAction* action = nullptr;
  class TimerWheel* owner = nullptr;
  // Payload, interpreted by `action`.
  Pid pid;
  std::uint64_t arg = 0;
  void* payload = nullptr;
  // The list of the timers that deliver to one process, so that they are cancelled when it
  // ends: the process layer's (guarded by that list's lock), while the timer is armed.
  std::atomic<void*> target{nullptr};
  TimerEntry* target_prev = nullptr;
  union {
    TimerEntry* target_next = nullptr;
    // Once fired or cancelled by another thread, an entry is off any target list, and goes
    // back to its owner on a stack: the same word serves.
    TimerEntry* back_next;
  };
};

/// Names one arming of a timer entry: stale once the entry fires, is cancelled, or is reused.
struct TimerHandle {
  TimerEntry* entry = nullptr;
  std::uint64_t generation = 0;
  explicit operator bool() const noexcept { return entry != nullptr; }
};

/// Milliseconds on the runtime's monotonic clock (the current tick: rounded down).
std::uint64_t now_ms() noexcept;
/// The tick a timer of `delay_ms` from now is due at: the first at or after now + delay, so
/// that it never fires early (a wheel fires tick t once now_ms() reaches t).
std::uint64_t deadline_after(std::uint64_t delay_ms) noexcept;

/// A hashed timing wheel owned by one worker. arm() and advance() are owner only; cancel() and
/// remaining() may be called from any worker; rescue() by one thread that is not the owner.
class TimerWheel {
 public:
  TimerWheel();
  ~TimerWheel();  // discards every armed timer
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  /// Owner only. The entry is filled in by `fill` before it becomes visible.
  template <class Fill>
  TimerHandle arm(std::uint64_t deadline_ms, const TimerAction& action, Fill&& fill) {
    TimerEntry* e = take_entry();
    e->action = &action;
    fill(*e);
    return link(e, deadline_ms);
  }

  /// Any worker. Milliseconds that were left, or nothing if it already fired or was cancelled.
  static std::optional<std::uint64_t> cancel(TimerHandle h) noexcept;
  /// Any worker. Milliseconds left, or nothing if no longer armed.
  static std::optional<std::uint64_t> remaining(TimerHandle h) noexcept;
  /// Any thread, in two steps for a caller holding a lock that discarding takes: true if this
  /// call cancelled the entry's current arming (it was armed); the caller then owes it a
  /// finish_cancel(), once it no longer holds that lock.
  static bool begin_cancel(TimerEntry& e) noexcept;
  /// Any thread, after begin_cancel() returned true: discards the payload and hands the entry
  /// back to its owner to free.
  static void finish_cancel(TimerEntry& e) noexcept;

  /// Owner only: fires every timer due at `now`, frees the entries handed back to it.
  void advance(std::uint64_t now) noexcept;
  /// One thread other than the owner at a time (the watchdog, while the owner is stuck in a
  /// process that does not suspend): fires up to `limit` of the timers due at `now` that the
  /// owner has not fired, without touching the slot lists, and hands each back for the owner to
  /// free at its next advance(). Best effort: a timer it leaves (past the limit, or armed while
  /// it looked) fires at the next rescue or when the owner advances. Returns how many it fired.
  std::size_t rescue(std::uint64_t now, std::size_t limit) noexcept;
  /// Owner only: milliseconds until the next slot that holds a timer, or nothing when empty.
  std::optional<std::uint64_t> next_due_in(std::uint64_t now) const noexcept;
  /// Owner only: how many timers are armed here.
  std::size_t armed() const noexcept { return armed_; }

 private:
  static constexpr std::uint64_t slot_bits = 12;
  static constexpr std::uint64_t slot_count = 1ull << slot_bits;
  static constexpr std::uint64_t slot_mask = slot_count - 1;

  TimerEntry* take_entry();
  void release_entry(TimerEntry* e) noexcept;
  TimerHandle link(TimerEntry* e, std::uint64_t deadline_ms) noexcept;
  void unlink(TimerEntry* e) noexcept;
  void take_back() noexcept;
  void hand_back(TimerEntry* e) noexcept;

  // Slot heads: written by the owner (with release), read by a rescuer.
  std::unique_ptr<std::atomic<TimerEntry*>[]> slots_;
  // Each slot's last entry (owner only): a timer joins its slot at the end, so the timers of one
  // tick fire in the order they were armed, as OTP's do.
  std::unique_ptr<TimerEntry*[]> tails_;
  std::vector<std::uint64_t> occupied_;  // one bit per slot
  // Every tick before this one has been processed. Written by the owner, read by a rescuer.
  std::atomic<std::uint64_t> current_ms_;
  std::uint64_t rescued_to_ = 0;  // the rescuer's: the last tick it looked at
  std::size_t armed_ = 0;
  TimerEntry* free_ = nullptr;
  std::vector<std::unique_ptr<TimerEntry[]>> chunks_;
  // Entries cancelled or fired by other threads (their payload done with), for the owner to
  // unlink and free.
  std::atomic<TimerEntry*> handed_back_{nullptr};
};

}  // namespace ambitious::detail
