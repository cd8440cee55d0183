#pragma once
// Mailbox: a process's messages, from the push of any thread to the owner's selective receive.

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "ambitious/core/ref.hpp"
#include "ambitious/process/detail/message.hpp"
#include "ambitious/process/detail/receive_core.hpp"
#include "inbox.hpp"
#include "message_queue.hpp"
#include "signals.hpp"

namespace ambitious::detail {

/// Two queues and the owner's place in them. Any thread pushes into the lock-free inbox; the
/// owner fetches what was pushed into its private queue, where receive scans without atomics.
/// Signals travel in the same inbox as messages, so that what one thread pushes reaches the
/// owner in the order pushed, signals and messages alike (OTP's per-sender order); fetch() hands
/// each signal to the owner as it comes, between the messages before and after it.
///
/// The scan cursor makes a receive that waits look at each message once: a scan that finds no
/// match leaves the cursor on the last message it examined, and the next scan starts after it.
/// The mark is the queue's end when a ref was made (make_ref, monitor): a receive `.since(ref)`
/// starts there, as a reply to a request made after the ref cannot be older than it. The budget
/// counts the receives a process may take from a non-empty queue in one run before it yields.
///
/// push() from any thread; every other member by the owner only (the worker running the
/// process, one at a time).
class Mailbox {
 public:
  using Push = Inbox::Push;

  Mailbox() = default;
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;
  /// Frees everything still in either queue.
  ~Mailbox();

  /// Any thread: appends `m` behind everything this thread pushed before. `woke_owner`: the
  /// owner was parked and the caller must schedule it; `closed`: the owner is gone and `m` was
  /// not taken (the caller still owns it).
  Push push(Message* m) noexcept { return inbox_.push(m); }

  /// Owner: moves everything pushed so far into the queue, oldest first, and hands each signal
  /// to `on_signal(Signal&)` in its place (the mailbox frees it afterwards; messages the handler
  /// enqueue()s land between the messages before and after the signal). The handler is noexcept.
  template <class OnSignal>
  void fetch(OnSignal&& on_signal);

  /// Owner: appends `m` to the queue (a message a signal became: Down, Exit, an alias reply).
  void enqueue(Message* m) noexcept { queue_.push_back(m); }

  /// Owner: parks the owner if nothing was pushed since the last fetch. After true the owner
  /// must not touch the process again: the next push schedules it, maybe on another worker.
  bool try_park() noexcept { return inbox_.try_park(); }

  /// Owner, when the process ends: every later push fails. Returns what was pushed and not yet
  /// fetched, oldest first, linked by `next`; the caller owns it. The queue is left as it was.
  Message* close() noexcept { return inbox_.close(); }

  /// Owner: frees every queued message (not the inbox's).
  void clear() noexcept;

  /// Owner: how many messages are queued (fetched and not received): O(1).
  std::size_t size() const noexcept { return queue_.size(); }
  bool empty() const noexcept { return queue_.empty(); }
  /// Owner: calls f(const Message&) for each queued message, oldest first.
  template <class F>
  void for_each(F&& f) const {
    for (Message* m = queue_.after(nullptr); m; m = m->next) f(std::as_const(*m));
  }

  /// Owner: the messages pushed and not yet fetched, oldest first, signals left out: what is
  /// on its way to the queue (for a look between runs, as DeterministicRuntime takes).
  std::vector<const Message*> pushed_messages() const;

  /// Owner: marks the queue's end for receives `.since(ref)`.
  void mark(const Ref& ref) noexcept {
    mark_ = queue_.back();
    mark_ref_ = ref;
  }

  /// Owner: starts a receive's scan: at the mark if `since` is the mark's ref, else at the front.
  void start_scan(const Ref* since) noexcept {
    cursor_ = (since && !mark_ref_.is_null() && *since == mark_ref_) ? mark_ : nullptr;
  }
  /// Owner: the first message after the cursor that `r` matches, taken out of the queue (the
  /// caller owns it; `r.clause` says which clause took it); null when none does, the cursor then
  /// on the last message examined. Throws what a clause's predicate throws (nothing is lost).
  Message* scan(ReceiveRequest& r) {
    Message* before = cursor_;
    for (Message* m = queue_.after(before); m; before = m, m = m->next) {
      int clause = r.match(r.clauses, *m);
      if (clause >= 0) {
        remove(before, m);
        r.clause = clause;
        return m;
      }
    }
    cursor_ = before;
    return nullptr;
  }
  /// Owner: the receive is over; the next scan starts afresh.
  void end_scan() noexcept { cursor_ = nullptr; }

  /// Owner: frees the queued Down messages of monitor `ref` (demonitor's flush).
  void flush_down(const Ref& ref) noexcept;

  /// Owner: a new run may take `receives` messages from a non-empty queue.
  void refill_budget(std::uint32_t receives) noexcept { budget_ = receives; }
  /// Owner: true when this run's receives are used up while messages wait: the next receive
  /// yields the worker before it scans.
  bool budget_spent() const noexcept { return budget_ == 0 && !queue_.empty(); }
  /// Owner: a receive took a queued message without waiting.
  void spend_budget() noexcept {
    if (budget_ > 0) --budget_;
  }

 private:
  /// Frees a list linked by `next`.
  static void free_list(Message* m) noexcept;
  /// Unlinks `m`, which follows position `before`, keeping the cursor and the mark valid.
  void remove(Message* before, Message* m) noexcept {
    // Positions are "the node before": a position whose node leaves moves back to its
    // predecessor.
    if (mark_ == m) mark_ = before;
    if (cursor_ == m) cursor_ = before;
    queue_.remove(before, m);
  }

  Inbox inbox_;                // any thread pushes
  MessageQueue queue_;         // owner only, from here on
  Message* cursor_ = nullptr;  // the last queued message the pending receive examined
  Message* mark_ = nullptr;    // the queue's last message when mark_ref_ was made
  Ref mark_ref_;
  std::uint32_t budget_ = 0;  // beside the ref's 28 bytes: no padding
};

template <class OnSignal>
void Mailbox::fetch(OnSignal&& on_signal) {
  // A batch that has left the inbox has nowhere to go back to: a handler that could fail
  // half-way would lose the signals after it (a monitor whose Down then never comes).
  static_assert(std::is_nothrow_invocable_v<OnSignal&, Signal&>,
                "Mailbox::fetch: the signal handler must be noexcept");
  for (Message* m = inbox_.take_all(); m;) {
    Message* next = m->next;
    if (is_signal(*m)) {
      MessagePtr owned(m);
      on_signal(static_cast<Signal&>(*m));
    } else {
      queue_.push_back(m);
    }
    m = next;
  }
}

}  // namespace ambitious::detail
