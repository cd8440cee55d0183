#include "ambitious/runtime/timer_wheel.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "ambitious/runtime/scheduler.hpp"

namespace ambitious::detail {

std::uint64_t now_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

namespace {
// The first tick at or after now.
std::uint64_t now_ms_rounded_up() noexcept {
  using namespace std::chrono;
  return ceil<milliseconds>(steady_clock::now().time_since_epoch()).count();
}
// Whole milliseconds from now to `deadline`, rounded down (a timer just armed for 100 ms has
// 100 left, as in OTP, not 100.6).
std::uint64_t left_until(std::uint64_t deadline) noexcept {
  std::uint64_t now = now_ms_rounded_up();
  return deadline > now ? deadline - now : 0;
}
}  // namespace

std::uint64_t deadline_after(std::uint64_t delay_ms) noexcept {
  // Rounded up: at 10.4 ms, a 100 ms timer is due at tick 111, never at 110 (99.6 ms later).
  std::uint64_t start = now_ms_rounded_up();
  constexpr std::uint64_t last = std::numeric_limits<std::uint64_t>::max() - 1;
  return delay_ms > last - start ? last : start + delay_ms;
}

namespace {
constexpr auto relaxed = std::memory_order_relaxed;
constexpr auto release = std::memory_order_release;
constexpr auto acquire = std::memory_order_acquire;
}  // namespace

TimerWheel::TimerWheel()
    : slots_(std::make_unique<std::atomic<TimerEntry*>[]>(slot_count)),
      tails_(std::make_unique<TimerEntry*[]>(slot_count)),
      occupied_(slot_count / 64, 0),
      current_ms_(now_ms()) {}

TimerWheel::~TimerWheel() {
  take_back();
  for (std::uint64_t slot = 0; slot < slot_count; ++slot)
    for (TimerEntry* e = slots_[slot].load(relaxed); e;) {
      TimerEntry* next = e->next.load(relaxed);
      std::uint64_t s = e->state.load(std::memory_order_acquire);
      if ((s & TimerEntry::state_mask) == TimerEntry::armed) e->action->discard(*e);
      e = next;
    }
}

TimerEntry* TimerWheel::take_entry() {
  if (!free_) {
    // 64 KiB: a size the allocator has a class for (an odd size is rounded up to the next).
    constexpr std::size_t chunk = (std::size_t{64} << 10) / sizeof(TimerEntry);
    chunks_.push_back(std::make_unique<TimerEntry[]>(chunk));
    for (std::size_t i = 0; i < chunk; ++i) {
      chunks_.back()[i].owner = this;
      chunks_.back()[i].next.store(free_, release);
      free_ = &chunks_.back()[i];
    }
  }
  TimerEntry* e = free_;
  free_ = e->next.load(relaxed);
  e->next.store(nullptr, relaxed);
  e->prev = nullptr;
  return e;
}

void TimerWheel::release_entry(TimerEntry* e) noexcept {
  // A new generation makes every outstanding handle to this entry stale.
  std::uint64_t gen = (e->state.load(std::memory_order_relaxed) >> 2) + 1;
  e->state.store(gen << 2 | TimerEntry::free, std::memory_order_release);
  e->payload = nullptr;
  e->next.store(free_, release);
  e->prev = nullptr;
  free_ = e;
}

TimerHandle TimerWheel::link(TimerEntry* e, std::uint64_t deadline_ms) noexcept {
  std::uint64_t current = current_ms_.load(relaxed);
  if (deadline_ms < current) deadline_ms = current;
  // Seqlock-style with remaining(): a reader that sees this deadline also sees the state this
  // entry left its previous arming in (the fence pairs with the reader's acquire fence).
  std::atomic_thread_fence(std::memory_order_release);
  e->deadline_ms.store(deadline_ms, std::memory_order_relaxed);
  std::uint64_t gen = e->state.load(std::memory_order_relaxed) >> 2;
  e->state.store(gen << 2 | TimerEntry::armed, std::memory_order_release);
  std::uint64_t slot = deadline_ms & slot_mask;
  TimerEntry* tail = tails_[slot];
  e->prev = tail;
  e->next.store(nullptr, relaxed);
  // A rescuer that reaches e through the store below sees it whole.
  if (tail)
    tail->next.store(e, release);
  else
    slots_[slot].store(e, release);
  tails_[slot] = e;
  occupied_[slot / 64] |= 1ull << (slot % 64);
  ++armed_;
  return TimerHandle{e, gen};
}

void TimerWheel::unlink(TimerEntry* e) noexcept {
  std::uint64_t slot = e->deadline_ms.load(relaxed) & slot_mask;
  TimerEntry* next = e->next.load(relaxed);
  // e keeps its own next: a rescuer standing on it walks on into the list.
  if (e->prev)
    e->prev->next.store(next, release);
  else
    slots_[slot].store(next, release);
  if (next)
    next->prev = e->prev;
  else
    tails_[slot] = e->prev;
  if (!slots_[slot].load(relaxed)) occupied_[slot / 64] &= ~(1ull << (slot % 64));
  --armed_;
}

std::optional<std::uint64_t> TimerWheel::cancel(TimerHandle h) noexcept {
  if (!h.entry) return std::nullopt;
  TimerEntry* e = h.entry;
  std::uint64_t expected = h.generation << 2 | TimerEntry::armed;
  if (!e->state.compare_exchange_strong(expected, h.generation << 2 | TimerEntry::cancelled,
                                        std::memory_order_acq_rel))
    return std::nullopt;
  std::uint64_t left = left_until(e->deadline_ms.load(std::memory_order_relaxed));
  TimerWheel* owner = e->owner;
  if (Worker* w = Worker::current(); w && &w->timers() == owner) {
    owner->unlink(e);
    e->action->discard(*e);
    owner->release_entry(e);
  } else {
    finish_cancel(*e);
  }
  return left;
}

bool TimerWheel::begin_cancel(TimerEntry& e) noexcept {
  std::uint64_t s = e.state.load(std::memory_order_acquire);
  if ((s & TimerEntry::state_mask) != TimerEntry::armed) return false;
  return e.state.compare_exchange_strong(s, (s & ~TimerEntry::state_mask) | TimerEntry::cancelled,
                                         std::memory_order_acq_rel);
}

void TimerWheel::finish_cancel(TimerEntry& e) noexcept {
  // The payload is ours since the state became cancelled: dropped here, at once, not when the
  // owner next looks at its wheel.
  e.action->discard(e);
  e.owner->hand_back(&e);
}

void TimerWheel::hand_back(TimerEntry* e) noexcept {
  // The owner alone touches the slot lists: the entry goes back to it through a lock-free stack.
  TimerEntry* head = handed_back_.load(std::memory_order_relaxed);
  do e->back_next = head;
  while (!handed_back_.compare_exchange_weak(head, e, std::memory_order_release,
                                             std::memory_order_relaxed));
}

std::optional<std::uint64_t> TimerWheel::remaining(TimerHandle h) noexcept {
  if (!h.entry) return std::nullopt;
  std::uint64_t armed = h.generation << 2 | TimerEntry::armed;
  if (h.entry->state.load(std::memory_order_acquire) != armed) return std::nullopt;
  std::uint64_t deadline = h.entry->deadline_ms.load(std::memory_order_relaxed);
  // The deadline is only meaningful if the entry was still this arming after we read it.
  std::atomic_thread_fence(std::memory_order_acquire);
  if (h.entry->state.load(std::memory_order_relaxed) != armed) return std::nullopt;
  return left_until(deadline);
}

void TimerWheel::take_back() noexcept {
  TimerEntry* e = handed_back_.exchange(nullptr, std::memory_order_acquire);
  while (e) {
    TimerEntry* next = e->back_next;
    unlink(e);
    release_entry(e);
    e = next;
  }
}

void TimerWheel::advance(std::uint64_t now) noexcept {
  if (handed_back_.load(std::memory_order_relaxed)) take_back();
  std::uint64_t tick = current_ms_.load(relaxed);
  if (armed_ == 0) {
    if (now + 1 > tick) current_ms_.store(now + 1, relaxed);
    return;
  }
  for (; tick <= now; current_ms_.store(++tick, relaxed)) {
    std::uint64_t slot = tick & slot_mask;
    if (!(occupied_[slot / 64] & (1ull << (slot % 64)))) continue;
    for (TimerEntry* e = slots_[slot].load(relaxed); e;) {
      TimerEntry* next = e->next.load(relaxed);
      // Not armed: cancelled, or fired by a rescuer; either way it is handed back to us.
      if (e->deadline_ms.load(std::memory_order_relaxed) <= tick) {
        std::uint64_t s = e->state.load(std::memory_order_acquire);
        // A concurrent remote cancel wins or loses here; if it wins, its stack frees the entry.
        if ((s & TimerEntry::state_mask) == TimerEntry::armed &&
            e->state.compare_exchange_strong(s, (s & ~TimerEntry::state_mask) | TimerEntry::fired,
                                             std::memory_order_acq_rel)) {
          unlink(e);
          e->action->fire(*e);
          release_entry(e);
        }
      }
      e = next;
    }
  }
}

std::size_t TimerWheel::rescue(std::uint64_t now, std::size_t limit) noexcept {
  // The owner's lists change under us (it may arm or cancel while stuck in its process), so
  // every entry reached is checked, never trusted: a due timer is fired only by whoever turns
  // its state from armed to fired, and a generation never comes back. Entries are never freed
  // while the wheel lives and every link points to one of them (or is null), so a walk that
  // strays onto a relinked entry reads valid memory; the budget ends a walk that strays long.
  constexpr std::size_t budget = 1 << 16;
  std::uint64_t from = std::max(current_ms_.load(relaxed), rescued_to_);
  if (now < from) return 0;
  if (now - from >= slot_count) from = now - slot_count + 1;  // one lap covers every slot
  std::size_t fired = 0, visited = 0;
  // Fires what is due in the slot of `tick`; false when the limit or the budget stopped it.
  auto rescue_slot = [&](std::uint64_t tick) {
    TimerEntry* next = nullptr;
    for (TimerEntry* e = slots_[tick & slot_mask].load(acquire); e; e = next) {
      if (++visited > budget || fired == limit) return false;
      next = e->next.load(acquire);  // before e is handed back and reused
      std::uint64_t s = e->state.load(acquire);
      if ((s & TimerEntry::state_mask) != TimerEntry::armed) continue;
      // The deadline belongs to the arming in `s` if the exchange below succeeds: a state
      // never returns to armed with the same generation.
      if (e->deadline_ms.load(relaxed) > now) continue;
      if (!e->state.compare_exchange_strong(s, (s & ~TimerEntry::state_mask) | TimerEntry::fired,
                                            std::memory_order_acq_rel))
        continue;
      e->action->fire(*e);
      hand_back(e);
      ++fired;
    }
    return true;
  };
  // The next rescue starts at the tick this one stopped in, or at the last one: a timer may be
  // armed into it after we looked.
  std::uint64_t tick = from;
  while (rescue_slot(tick) && tick < now) ++tick;
  rescued_to_ = tick;
  return fired;
}

std::optional<std::uint64_t> TimerWheel::next_due_in(std::uint64_t now) const noexcept {
  if (armed_ == 0) return std::nullopt;
  // The first occupied slot at or after the current tick; its timers may be a lap later, which
  // only costs one early wake-up per lap.
  for (std::uint64_t i = 0; i < slot_count; ++i) {
    std::uint64_t slot = (current_ms_.load(relaxed) + i) & slot_mask;
    std::uint64_t word = occupied_[slot / 64] >> (slot % 64);
    if (word == 0) {
      i += 63 - slot % 64;  // skip the rest of this word
      continue;
    }
    i += std::countr_zero(word);
    std::uint64_t due = current_ms_.load(relaxed) + i;
    return due > now ? due - now : 0;
  }
  return std::nullopt;
}

}  // namespace ambitious::detail
