#pragma once
// Inbox: the lock-free side of a mailbox, where any thread pushes messages and signals.

#include <atomic>
#include <cstdint>

#include "ambitious/process/detail/message.hpp"

namespace ambitious::detail {

/// A LIFO stack of messages whose head word also says whether the owner is parked waiting for
/// one, or dead. Folding those two states into the head makes "push, and learn that the owner
/// must be woken" and "push, and learn that the owner is gone" single atomic steps, with no
/// window for a lost wake-up or a message left behind in a dead process.
///
/// push() from any thread; everything else by the owner only.
class Inbox {
 public:
  enum class Push { queued, woke_owner, closed };

  /// Any thread. `woke_owner`: the owner was parked and the caller must schedule it.
  /// `closed`: the owner is dead and `m` was not taken (the caller still owns it).
  Push push(Message* m) noexcept {
    std::uintptr_t head = head_.load(std::memory_order_relaxed);
    for (;;) {
      if (head == closed_tag) return Push::closed;
      m->next = head == waiting_tag ? nullptr : reinterpret_cast<Message*>(head);
      if (head_.compare_exchange_weak(head, reinterpret_cast<std::uintptr_t>(m),
                                      std::memory_order_acq_rel, std::memory_order_relaxed))
        return head == waiting_tag ? Push::woke_owner : Push::queued;
    }
  }

  /// Owner: takes every message pushed so far, oldest first.
  Message* take_all() noexcept {
    // Empty, or closed (or parked): nothing to take, and the tag stays.
    std::uintptr_t head = head_.load(std::memory_order_relaxed);
    if (head == 0 || head == waiting_tag || head == closed_tag) return nullptr;
    return reverse(head_.exchange(0, std::memory_order_acquire));
  }

  /// Owner: parks if nothing was pushed since take_all(). After true, the owner must not touch
  /// the process again: the next push schedules it, possibly on another worker at once.
  bool try_park() noexcept {
    std::uintptr_t expected = 0;
    return head_.compare_exchange_strong(expected, waiting_tag, std::memory_order_acq_rel,
                                         std::memory_order_relaxed);
  }

  /// Owner, when it ends: refuses every later push; returns what was pushed, oldest first.
  Message* close() noexcept {
    return reverse(head_.exchange(closed_tag, std::memory_order_acquire));
  }

  /// Owner: the newest message pushed and not yet taken (linked newest first), or null. For
  /// reading the inbox without taking it: pushes meanwhile only add in front.
  const Message* newest() const noexcept {
    std::uintptr_t head = head_.load(std::memory_order_acquire);
    if (head == waiting_tag || head == closed_tag) return nullptr;
    return reinterpret_cast<const Message*>(head);
  }

  /// Owner: true when nothing waits in the inbox.
  bool empty() const noexcept { return head_.load(std::memory_order_relaxed) == 0; }

 private:
  static constexpr std::uintptr_t waiting_tag = 1;
  static constexpr std::uintptr_t closed_tag = 2;

  static Message* reverse(std::uintptr_t head) noexcept {
    if (head == 0 || head == waiting_tag || head == closed_tag) return nullptr;
    Message* m = reinterpret_cast<Message*>(head);
    Message* fifo = nullptr;
    while (m) {
      Message* next = m->next;
      m->next = fifo;
      fifo = m;
      m = next;
    }
    return fifo;
  }

  std::atomic<std::uintptr_t> head_{0};
};

}  // namespace ambitious::detail
