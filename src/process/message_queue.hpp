#pragma once
// MessageQueue: the owner-only side of a mailbox, where selective receive scans.

#include <cstddef>

#include "ambitious/process/detail/message.hpp"

namespace ambitious::detail {

/// A FIFO of messages linked through Message::next, touched by the owner only (no atomics).
/// Positions are "the node before": null stands for the front of the queue.
class MessageQueue {
 public:
  MessageQueue() = default;
  MessageQueue(const MessageQueue&) = delete;
  MessageQueue& operator=(const MessageQueue&) = delete;
  ~MessageQueue() { clear(); }

  void push_back(Message* m) noexcept {
    m->next = nullptr;
    if (tail_)
      tail_->next = m;
    else
      head_ = m;
    tail_ = m;
    ++size_;
  }

  /// The node after position `before` (null: the front).
  Message* after(Message* before) const noexcept { return before ? before->next : head_; }
  Message* back() const noexcept { return tail_; }

  /// Unlinks `m`, which follows position `before`; the caller now owns it.
  void remove(Message* before, Message* m) noexcept {
    if (before)
      before->next = m->next;
    else
      head_ = m->next;
    if (tail_ == m) tail_ = before;
    m->next = nullptr;
    --size_;
  }

  void clear() noexcept {
    while (Message* m = head_) {
      head_ = m->next;
      destroy(m);
    }
    tail_ = nullptr;
    size_ = 0;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  Message* head_ = nullptr;
  Message* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ambitious::detail
