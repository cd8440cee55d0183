#pragma once
// The run queues: a bounded ring per worker that others may steal from, and one global queue.
// Part of the runtime layer's interface to the process layer above; applications do not use it.

#include <atomic>
#include <cstdint>
#include <mutex>

#include "ambitious/runtime/runnable.hpp"

namespace ambitious::detail {

/// An intrusive FIFO of runnables (linked by next_runnable). Not thread-safe by itself.
struct RunnableList {
  Runnable* head = nullptr;
  Runnable* tail = nullptr;
  std::size_t size = 0;

  void push(Runnable* r) noexcept {
    r->next_runnable = nullptr;
    if (tail)
      tail->next_runnable = r;
    else
      head = r;
    tail = r;
    ++size;
  }
  void append(RunnableList& other) noexcept {
    if (!other.head) return;
    if (tail)
      tail->next_runnable = other.head;
    else
      head = other.head;
    tail = other.tail;
    size += other.size;
    other = {};
  }
  Runnable* pop() noexcept {
    Runnable* r = head;
    if (!r) return nullptr;
    head = r->next_runnable;
    if (!head) tail = nullptr;
    --size;
    return r;
  }
};

/// The queue every worker falls back to: overflow of local rings, and wake-ups from threads that
/// are not workers (the blocking pool, timers of a stopped worker). Any thread.
class GlobalQueue {
 public:
  void push(Runnable* r) noexcept {
    std::lock_guard lock(mutex_);
    list_.push(r);
    size_.store(list_.size, std::memory_order_relaxed);
  }
  void push_all(RunnableList& batch) noexcept {
    std::lock_guard lock(mutex_);
    list_.append(batch);
    size_.store(list_.size, std::memory_order_relaxed);
  }
  /// Takes up to `max` runnables, oldest first.
  RunnableList pop_batch(std::size_t max) noexcept {
    RunnableList out;
    if (empty()) return out;
    std::lock_guard lock(mutex_);
    while (out.size < max)
      if (Runnable* r = list_.pop())
        out.push(r);
      else
        break;
    size_.store(list_.size, std::memory_order_relaxed);
    return out;
  }
  bool empty() const noexcept { return size_.load(std::memory_order_relaxed) == 0; }

 private:
  std::mutex mutex_;
  RunnableList list_;
  std::atomic<std::size_t> size_{0};
};

/// A worker's own run queue: a bounded FIFO ring. The owner pushes at the tail; the owner and
/// thieves take from the head with a CAS (so a thief can take half the ring in one step).
class LocalQueue {
 public:
  static constexpr std::uint32_t capacity = 256;

  /// Owner only. False when full (the caller moves work to the global queue).
  bool push(Runnable* r) noexcept {
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    // A stale head only makes the ring look fuller than it is: never overwrites a live slot.
    if (t - head_.load(std::memory_order_acquire) >= capacity) return false;
    slots_[t & mask].store(r, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  /// Owner (or a thief on its own ring's behalf). Oldest first.
  Runnable* pop() noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      if (h == tail_.load(std::memory_order_acquire)) return nullptr;
      Runnable* r = slots_[h & mask].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel)) return r;
    }
  }

  /// Owner only: takes the older half of the ring (to move it to the global queue).
  RunnableList pop_half() noexcept {
    RunnableList out;
    std::uint32_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      std::uint32_t n = (tail_.load(std::memory_order_acquire) - h) / 2;
      if (n == 0) return out;
      Runnable* taken[capacity];
      for (std::uint32_t i = 0; i < n; ++i)
        taken[i] = slots_[(h + i) & mask].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_acq_rel)) {
        for (std::uint32_t i = 0; i < n; ++i) out.push(taken[i]);
        return out;
      }
    }
  }

  /// Any thread: moves up to half of this ring into `into` (the thief's own ring, which must be
  /// empty). Returns one of the stolen runnables to run now, or null.
  Runnable* steal_into(LocalQueue& into) noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      std::uint32_t t = tail_.load(std::memory_order_acquire);
      std::uint32_t n = t - h;
      if (n == 0 || n > capacity) return nullptr;  // empty, or a torn read of a moving ring
      n -= n / 2;
      Runnable* taken[capacity];
      for (std::uint32_t i = 0; i < n; ++i)
        taken[i] = slots_[(h + i) & mask].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_acq_rel)) {
        for (std::uint32_t i = 1; i < n; ++i) into.push(taken[i]);
        return taken[0];
      }
    }
  }

  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  static constexpr std::uint32_t mask = capacity - 1;
  alignas(64) std::atomic<std::uint32_t> head_{0};
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  std::atomic<Runnable*> slots_[capacity]{};
};

}  // namespace ambitious::detail
