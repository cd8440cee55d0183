// Timers: send_after, start_timer, exit_after, cancel_timer, read_timer, on the caller's
// worker's wheel.

#include "ambitious/process/timer.hpp"

#include <mutex>
#include <shared_mutex>

#include "ambitious/process/errors.hpp"
#include "process.hpp"
#include "runtime_state.hpp"

namespace ambitious {
namespace {

// The payload is a message or an exit signal: either way, delivering it is all there is to do.
void fire_delivery(detail::TimerEntry& e) noexcept {
  detail::IncomingTimers::remove(e);
  detail::deliver_message(e.pid, static_cast<detail::Message*>(e.payload));
}
void discard_delivery(detail::TimerEntry& e) noexcept {
  detail::IncomingTimers::remove(e);
  detail::destroy(static_cast<detail::Message*>(e.payload));
}
constexpr detail::TimerAction delivery_action{&fire_delivery, &discard_delivery};

// To a registered name (its index in `arg`), looked up when the timer fires (OTP).
void fire_named_delivery(detail::TimerEntry& e) noexcept {
  Atom name = Atom::from_index(static_cast<std::uint32_t>(e.arg));
  detail::RuntimeState& rt = *detail::runtime();
  Pid to;  // nobody holds the name: no process has the null pid, so the message is dropped
  {
    std::shared_lock lock(rt.names.mutex);
    if (auto it = rt.names.by_name.find(name); it != rt.names.by_name.end()) to = it->second;
  }
  detail::deliver_message(to, static_cast<detail::Message*>(e.payload));
}
void discard_named_delivery(detail::TimerEntry& e) noexcept {
  detail::destroy(static_cast<detail::Message*>(e.payload));
}
constexpr detail::TimerAction named_delivery_action{&fire_named_delivery, &discard_named_delivery};

// What every arming checks. The worker whose wheel takes the timer, or null when there is none:
// a destructor running as its process after run() ended. The runtime is gone with its clock;
// such a timer would never fire, so it is not armed (cancel/read then say "fired").
detail::Worker* arming_worker(Timeout delay, const char* function) {
  if (!detail::Process::current()) throw NotInProcess(function);
  if (delay.is_infinite()) throw BadArg(std::string(function) + ": the delay must be finite");
  return detail::Worker::current();
}

TimerRef armed(detail::Worker& w, const Ref& ref, detail::TimerHandle h) {
  return TimerRef{ref, w.scheduler().id(), h.entry, h.generation};
}

TimerRef arm_delivery(Timeout delay, Pid dest, detail::Message* m, const Ref& ref,
                      const char* function) {
  detail::MessagePtr owned(m);
  detail::Worker* w = arming_worker(delay, function);
  if (!w) return TimerRef{ref};
  std::uint64_t deadline = detail::deadline_after(delay.milliseconds());
  detail::TimerHandle h;
  auto arm = [&](auto&& join) {
    h = w->timers().arm(deadline, delivery_action, [&](detail::TimerEntry& e) {
      e.pid = dest;
      e.payload = owned.release();
      join(e);
    });
  };
  if (dest.is_local()) {
    // On the destination's list, so that it dies with it. A pid not alive (OTP: the timer is
    // cancelled at once) gets no timer: the ref names none, and the message is dropped.
    detail::Process* me = detail::Process::current();
    detail::Process* target = dest == me->pid ? me : detail::runtime()->table.lookup(dest);
    if (!target || !target->incoming_timers.add(arm)) return TimerRef{ref};
  } else {
    arm([](detail::TimerEntry&) noexcept {});
  }
  return armed(*w, ref, h);
}

// The entry of a ref from another run lies in a wheel freed with that run (or, worse, in one of
// this run that took its address): such a ref names no timer, and its entry is never read.
detail::TimerHandle handle_of(const TimerRef& t) noexcept {
  detail::RuntimeState* rt = detail::runtime();
  if (!t.entry || !rt || t.run != rt->scheduler.id()) return {};
  return detail::TimerHandle{static_cast<detail::TimerEntry*>(t.entry), t.generation};
}

}  // namespace

namespace detail {

void IncomingTimers::remove(TimerEntry& e) noexcept {
  auto* list = static_cast<IncomingTimers*>(e.target.load(std::memory_order_acquire));
  if (!list) return;
  Unlock unlock{*list, list->lock()};
  // close() may have emptied the list while we waited for it: the entry is then no longer on it.
  if (e.target.load(std::memory_order_relaxed) != list) return;
  if (e.target_prev)
    e.target_prev->target_next = e.target_next;
  else
    unlock.word = reinterpret_cast<std::uintptr_t>(e.target_next);
  if (e.target_next) e.target_next->target_prev = e.target_prev;
  e.target.store(nullptr, std::memory_order_relaxed);
}

void IncomingTimers::close() noexcept {
  // Most processes never get a timer: closing an empty, unlocked list is one exchange. Closed
  // already (a process freed after terminate()): nothing can touch the list any more.
  std::uintptr_t empty = 0;
  if (word_.load(std::memory_order_relaxed) == closed ||
      word_.compare_exchange_strong(empty, closed, std::memory_order_acq_rel))
    return;
  TimerEntry* cancelled = nullptr;  // ours to discard, linked through target_next
  {
    std::uintptr_t word = lock();
    Unlock unlock{*this, closed};
    if (word & closed) return;
    for (auto* e = reinterpret_cast<TimerEntry*>(word); e;) {
      TimerEntry* next = e->target_next;
      // Off the list first: a fire or cancel racing with us finds the entry no longer on it
      // (its remove() waits for our lock, then sees no target). The entry cannot be freed
      // while we hold the lock, as whoever fires or cancels it removes it first.
      e->target.store(nullptr, std::memory_order_relaxed);
      if (TimerWheel::begin_cancel(*e)) {
        e->target_next = cancelled;
        cancelled = e;
      }
      e = next;
    }
  }
  // Outside the lock: a message's destructor may well arm a timer.
  while (cancelled) {
    TimerEntry* next = cancelled->target_next;
    TimerWheel::finish_cancel(*cancelled);
    cancelled = next;
  }
}

TimerRef send_message_after(Timeout delay, Pid dest, Message* m, const Ref& ref,
                            const char* function) {
  return arm_delivery(delay, dest, m, ref, function);
}

TimerRef send_message_after(Timeout delay, Atom dest, Message* m, const Ref& ref,
                            const char* function) {
  MessagePtr owned(m);
  Worker* w = arming_worker(delay, function);
  if (!w) return TimerRef{ref};
  TimerHandle h = w->timers().arm(deadline_after(delay.milliseconds()), named_delivery_action,
                                  [&](TimerEntry& e) {
                                    e.arg = dest.index();
                                    e.payload = owned.release();
                                  });
  return armed(*w, ref, h);
}

}  // namespace detail

TimerRef exit_after(Timeout delay, Pid pid, ExitReason reason) {
  detail::Process* me = detail::Process::current();
  if (!me) throw NotInProcess("exit_after");
  detail::Signal* s = detail::make_signal(detail::SignalKind::exit, me->pid);
  s->reason = std::move(reason);
  return arm_delivery(delay, pid, s, Ref::make(), "exit_after");
}

std::optional<std::chrono::milliseconds> cancel_timer(const TimerRef& timer) {
  if (!detail::Process::current()) throw NotInProcess("cancel_timer");
  auto left = detail::TimerWheel::cancel(handle_of(timer));
  if (!left) return std::nullopt;
  return std::chrono::milliseconds(*left);
}

std::optional<std::chrono::milliseconds> cancel_timer(const TimerRef& timer,
                                                      CancelTimerOptions options) {
  detail::Process* me = detail::Process::current();
  if (!me) throw NotInProcess("cancel_timer");
  // Cancelling is lock-free from any worker, so an async cancel is done at once too: only the
  // way the result is told differs (OTP sends it once the timer's owner has cancelled it).
  std::optional<std::chrono::milliseconds> left;
  if (auto ms = detail::TimerWheel::cancel(handle_of(timer))) left = std::chrono::milliseconds(*ms);
  if (!options.async) return options.info ? left : std::nullopt;
  if (options.info)
    detail::deliver_message(
        me->pid, detail::make_message<CancelTimerResult>(CancelTimerResult{timer, left}));
  return std::nullopt;
}

std::uint64_t monotonic_time_ms() noexcept { return detail::now_ms(); }

std::optional<std::chrono::milliseconds> read_timer(const TimerRef& timer) {
  if (!detail::Process::current()) throw NotInProcess("read_timer");
  auto left = detail::TimerWheel::remaining(handle_of(timer));
  if (!left) return std::nullopt;
  return std::chrono::milliseconds(*left);
}

}  // namespace ambitious
