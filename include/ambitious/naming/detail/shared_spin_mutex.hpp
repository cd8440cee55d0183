#pragma once
// SharedSpinMutex: the reader-writer lock of one registry shard.

#include <atomic>
#include <cstdint>

namespace ambitious::detail {

/// A reader-writer spin lock for critical sections of a few hundred nanoseconds that never
/// suspend (no co_await inside). Readers take it with one atomic add; a waiting writer blocks
/// new readers, so a stream of lookups cannot starve a registration. Any thread.
///
/// Why not std::shared_mutex: pthread_rwlock costs two atomic operations plus a branch into the
/// futex path per reader, and its cache line is as contended as this one; sharding, not the lock,
/// is what makes lookups scale.
class SharedSpinMutex {
 public:
  void lock_shared() noexcept {
    // Optimistic: count ourselves in; back out if a writer holds the lock or waits for it.
    while (state_.fetch_add(reader, std::memory_order_acquire) & (writer | pending)) {
      state_.fetch_sub(reader, std::memory_order_relaxed);
      for (unsigned spins = 0; state_.load(std::memory_order_relaxed) & (writer | pending);)
        pause(spins);
    }
  }
  void unlock_shared() noexcept { state_.fetch_sub(reader, std::memory_order_release); }

  void lock() noexcept {
    for (unsigned spins = 0;;) {
      std::uint32_t s = state_.load(std::memory_order_relaxed);
      // Free but for a pending mark (ours or another writer's): take it, clearing the mark; a
      // writer still waiting sets it again on its next round.
      if ((s & ~pending) == 0 && state_.compare_exchange_weak(s, writer, std::memory_order_acquire,
                                                              std::memory_order_relaxed))
        return;
      if (!(s & pending)) state_.fetch_or(pending, std::memory_order_relaxed);
      pause(spins);
    }
  }
  void unlock() noexcept { state_.fetch_and(~writer, std::memory_order_release); }

 private:
  static constexpr std::uint32_t writer = 1;
  static constexpr std::uint32_t pending = 2;
  static constexpr std::uint32_t reader = 4;

  // The holder may have been descheduled by the OS: after a short spin, give the core away.
  // Out of line (src/naming/shared_spin_mutex.cpp), with the headers it needs: it runs only
  // while the lock is contended.
  static void pause(unsigned& spins) noexcept;

  std::atomic<std::uint32_t> state_{0};
};

/// RAII read lock.
class SharedLock {
 public:
  explicit SharedLock(SharedSpinMutex& m) noexcept : m_(m) { m_.lock_shared(); }
  ~SharedLock() { m_.unlock_shared(); }
  SharedLock(const SharedLock&) = delete;
  SharedLock& operator=(const SharedLock&) = delete;

 private:
  SharedSpinMutex& m_;
};

/// RAII write lock.
class ExclusiveLock {
 public:
  explicit ExclusiveLock(SharedSpinMutex& m) noexcept : m_(m) { m_.lock(); }
  ~ExclusiveLock() { m_.unlock(); }
  ExclusiveLock(const ExclusiveLock&) = delete;
  ExclusiveLock& operator=(const ExclusiveLock&) = delete;

 private:
  SharedSpinMutex& m_;
};

}  // namespace ambitious::detail
