#include "process.hpp"

#include <exception>

#include "ambitious/process/detail/exit_exception.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process_info.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/timeout.hpp"
#include "ambitious/runtime/exception_cast.hpp"
#include "ambitious/runtime/task.hpp"
#include "info_reply.hpp"
#include "runtime_state.hpp"

namespace ambitious::detail {

constinit thread_local Process* Process::current_ = nullptr;

// The control block is most of an idle process's memory: keep it in mimalloc's 224-byte class
// (one byte more costs 32 per process).
static_assert(sizeof(Process) <= 224, "Process grew out of its allocation size class");

namespace {

constexpr std::uint64_t no_timeout = Timeout::infinite().milliseconds();
// How many receives may take a queued message at once before the process yields its worker (the
// BEAM gives a process 4,000 reductions, a few hundred messages handled, per turn). A process
// whose mailbox is never empty would otherwise keep its worker for ever.
constexpr std::uint32_t receives_per_run = 256;

// Fires a receive timeout: a signal through the inbox, so it is ordered with the messages and
// a stale one (the receive already ended) is recognised by its number.
void fire_receive_timeout(TimerEntry& e) noexcept {
  Signal* s = make_signal(SignalKind::timeout, e.pid);
  s->seq = e.arg;
  deliver_message(e.pid, s);
}
void discard_nothing(TimerEntry&) noexcept {}
constexpr TimerAction receive_timeout_action{&fire_receive_timeout, &discard_nothing};

struct CurrentProcess {
  explicit CurrentProcess(Process* p, Process*& slot) noexcept : slot_(slot) { slot_ = p; }
  ~CurrentProcess() { slot_ = nullptr; }
  Process*& slot_;
};

}  // namespace

Process::~Process() {
  if (root_) root_.destroy();  // first: the frames' destructors still run as this process
  incoming_timers.close();     // a process freed at teardown never ran terminate()
}

void Process::destroy_at_teardown(Process* p) noexcept {
  CurrentProcess scope(p, current_);
  delete p;
}

Relations& Process::relations() {
  if (!relations_) relations_ = std::make_unique<Relations>();
  return *relations_;
}

void Process::drain() {
  mailbox.fetch([this](Signal& s) noexcept { handle_signal(s); });
}

// Inlined into handle_signal: links and monitors are most of what a gen_server call signals.
[[gnu::always_inline]] inline void Process::handle_relation_signal(Signal& s) noexcept {
  switch (s.kind) {
    case SignalKind::link:
      // OTP 23's link protocol: a LINK that crossed our own UNLINK_ID (its ack still to come)
      // is void; the partner removes its link when our UNLINK_ID reaches it.
      if (relations_ && relations_->unlinking.contains(s.from)) break;
      relations().links.insert(s.from);
      break;
    case SignalKind::unlink:
      if (relations_) relations_->links.erase(s.from);
      if (!s.from.is_local()) {
        // UNLINK_ID is always acknowledged, or the partner's link stays `unlinking` for good.
        Signal* ack = make_signal(SignalKind::unlink_ack, pid);
        ack->seq = s.seq;
        deliver_message(s.from, ack);
      }
      break;
    case SignalKind::unlink_ack:
      if (relations_)
        if (auto* pending = relations_->unlinking.find(s.from); pending && pending->second == s.seq)
          relations_->unlinking.erase(s.from);
      break;
    case SignalKind::monitor:
      relations().monitored_by.insert({s.ref, s.from});
      if (s.name != Atom()) relations_->monitored_by_names.insert({s.ref, s.name});
      break;
    case SignalKind::demonitor:
      if (relations_) {
        relations_->monitored_by.erase(s.ref);
        relations_->monitored_by_names.erase(s.ref);
      }
      break;
    default:
      break;
  }
}

void Process::handle_signal(Signal& s) noexcept {
  switch (s.kind) {
    case SignalKind::exit:
      handle_exit_signal(s);
      break;
    case SignalKind::link:
    case SignalKind::unlink:
    case SignalKind::unlink_ack:
    case SignalKind::monitor:
    case SignalKind::demonitor:
      handle_relation_signal(s);
      break;
    case SignalKind::down:
      // Only while the monitor is active: once demonitor() returned, no Down may appear.
      if (relations_ && relations_->monitors.erase(s.ref)) {
        Down down{s.ref, s.from, std::move(s.reason)};
        if (auto* by_name = relations_->monitor_names.find(s.ref)) {
          down.name = by_name->second;
          relations_->monitor_names.erase(s.ref);
        }
        mailbox.enqueue(make_message<Down>(std::move(down)));
      }
      break;
    case SignalKind::timeout:
      if (suspend_ == Suspend::receive && s.seq == receive_seq_) timed_out_ = true;
      break;
    case SignalKind::info_request:
      answer_info_request(s);
      break;
    case SignalKind::alias:
      if (relations_ && relations_->monitors.contains(s.ref))
        mailbox.enqueue(std::exchange(s.payload, nullptr));
      break;
  }
}

void Process::handle_exit_signal(Signal& s) noexcept {
  // The partner's link is gone with this signal: an UNLINK_ID of ours it will never ack now.
  if (s.linked && !s.from.is_local() && relations_) relations_->unlinking.erase(s.from);
  if (s.linked) {
    // A link already removed by unlink() has no effect, even if its signal was in flight.
    if (!relations_ || !relations_->links.erase(s.from)) return;
  } else if (s.reason.is_kill()) {
    request_exit(atoms::killed);  // exit(Pid, kill): untrappable
    return;
  }
  if (trap_exit) {
    mailbox.enqueue(make_message<Exit>(Exit{s.from, std::move(s.reason)}));
  } else if (!s.reason.is_normal()) {
    request_exit(std::move(s.reason));
  } else if (s.from == pid && !s.linked) {
    request_exit(atoms::normal);  // exit(self(), normal) ends the caller, as in OTP
  }
}

void Process::answer_info_request(const Signal& s) noexcept {
  ProcessInfo info;
  info.items = InfoItems::from_bits(s.items);
  auto asked = [&](InfoItem item) { return info.items.contains(item); };
  // Asked by itself, a process is running (as OTP's process_info(self(), status) says).
  if (asked(InfoItem::status))
    info.status = s.from == pid                  ? ProcessInfo::Status::running
                  : suspend_ == Suspend::receive ? ProcessInfo::Status::waiting
                                                 : ProcessInfo::Status::runnable;
  if (asked(InfoItem::message_queue_len)) info.message_queue_len = mailbox.size();
  if (asked(InfoItem::message_types)) {
    info.message_types.reserve(mailbox.size());
    mailbox.for_each([&](const Message& m) { info.message_types.emplace_back(m.type->name()); });
  }
  if (relations_) {
    if (asked(InfoItem::links))
      for (const Pid& p : relations_->links) info.links.push_back(p);
    if (asked(InfoItem::monitors))
      for (auto& [ref, p] : relations_->monitors) info.monitors.push_back(p);
    if (asked(InfoItem::monitored_by))
      for (auto& [ref, p] : relations_->monitored_by) info.monitored_by.push_back(p);
  }
  if (asked(InfoItem::registered_name) && name_state.load(std::memory_order_acquire) == 1) {
    std::shared_lock lock(runtime()->names.mutex);
    if (name_state.load(std::memory_order_relaxed) == 1) info.registered_name = name;
  }
  if (asked(InfoItem::trap_exit)) info.trap_exit = trap_exit;
  deliver_message(s.from, make_message<InfoReply>(InfoReply{s.ref, std::move(info)}));
}

bool Process::receive_ready(ReceiveRequest& r) {
  drain();
  if (pending_exit_) return false;  // suspend, so that run() ends the process
  mailbox.start_scan(r.since);
  if (mailbox.budget_spent()) {
    receive_yield_ = true;  // run() requeues us; the scan happens when we run again
    return false;
  }
  if (Message* m = mailbox.scan(r)) {
    mailbox.spend_budget();
    r.matched = m;
    return true;
  }
  if (r.timeout_ms == 0) {
    r.matched = nullptr;
    return true;
  }
  return false;
}

void Process::receive_suspend(ReceiveRequest& r, std::coroutine_handle<> h) noexcept {
  receive_ = &r;
  resume_at_ = h;
  suspend_ = Suspend::receive;
  timed_out_ = false;
  ++receive_seq_;
  if (r.timeout_ms != no_timeout && !pending_exit_) {
    std::uint64_t deadline = deadline_after(r.timeout_ms);
    receive_timer_ =
        Worker::current()->timers().arm(deadline, receive_timeout_action, [&](TimerEntry& e) {
          e.pid = pid;
          e.arg = receive_seq_;
        });
  }
}

void Process::end_receive() noexcept {
  if (receive_timer_) {
    TimerWheel::cancel(receive_timer_);
    receive_timer_ = {};
  }
  ++receive_seq_;  // a timeout signal still in flight is now stale
  receive_ = nullptr;
  mailbox.end_scan();
  suspend_ = Suspend::resume;
}

bool Process::poll_receive() {
  ReceiveRequest& r = *receive_;
  Message* m = nullptr;
  try {
    m = mailbox.scan(r);
  } catch (const std::exception& e) {
    request_exit(ExitReason::exception(e.what()));  // a clause's predicate threw
    return false;
  } catch (...) {
    request_exit(ExitReason::exception("unknown exception in a receive predicate"));
    return false;
  }
  // A receive that yielded before it scanned (see receive_ready) may be a poll: no match ends it.
  if (!m && !timed_out_ && r.timeout_ms != 0) return false;
  r.matched = m;
  end_receive();
  return true;
}

void Process::yield_suspend(std::coroutine_handle<> h) noexcept {
  resume_at_ = h;
  suspend_ = Suspend::yield;
}

void Process::blocking_suspend(BlockingCall& call, std::coroutine_handle<> h) noexcept {
  resume_at_ = h;
  blocking_ = &call;
  suspend_ = Suspend::blocking;
}

namespace {
// Runs a process's blocking call on the pool, then hands the process back to the scheduler.
struct BlockingRun final : BlockingJob {
  Process* process;
  BlockingCall* call;
  void run() noexcept override {
    call->call();
    Process* p = process;
    delete this;
    runtime()->scheduler.schedule(p);
  }
};
}  // namespace

ExitReason Process::root_result() noexcept {
  auto h = std::coroutine_handle<Task<>::promise_type>::from_address(root_.address());
  const std::exception_ptr& e = h.promise().exception;
  if (!e) return atoms::normal;
  if (const auto* exit = exception_cast<ProcessExit>(e)) return exit->reason;
  if (const auto* ex = exception_cast<std::exception>(e)) return ExitReason::exception(ex->what());
  return ExitReason::exception("unknown exception");
}

void Process::run() noexcept {
  CurrentProcess scope(this, current_);
  mailbox.refill_budget(receives_per_run);
  drain();
  for (;;) {
    if (pending_exit_) return terminate(std::move(*pending_exit_));
    if (suspend_ == Suspend::receive && !poll_receive()) {
      if (pending_exit_) continue;
      if (mailbox.try_park()) return;  // a push schedules us again; `this` is no longer ours
      drain();
      continue;
    }
    suspend_ = Suspend::resume;
    resume_at_.resume();  // runs until the body's next suspension, or its end
    if (root_.done()) {
      // An exit signal that reached us before we saw the end wins, as in OTP where it would
      // have ended the process at once: `exit(self(), foo); co_return;` ends with foo.
      drain();
      return terminate(pending_exit_ ? std::move(*pending_exit_) : root_result());
    }
    if (suspend_ == Suspend::yield) {
      suspend_ = Suspend::resume;
      drain();
      if (pending_exit_) continue;
      Worker::current()->push(this);  // behind everything already queued here
      return;
    }
    if (suspend_ == Suspend::blocking) {
      suspend_ = Suspend::resume;
      auto* job = new BlockingRun;
      job->process = this;
      job->call = blocking_;
      runtime()->pool->submit(job);  // the pool schedules us when the call returns
      return;
    }
    if (std::exchange(receive_yield_, false)) {
      Worker::current()->push(this);  // the receive scans when we run again
      return;
    }
    // Suspend::receive: loop to park, or to take what arrived meanwhile.
  }
}

void Process::terminate(ExitReason reason) noexcept {
  RuntimeState& rt = *runtime();
  // The body's frames go first: their destructors still run as this process.
  if (root_) {
    root_.destroy();
    root_ = {};
  }
  if (receive_timer_) {
    TimerWheel::cancel(receive_timer_);
    receive_timer_ = {};
  }
  incoming_timers.close();  // a timer to a pid is cancelled when the process exits (OTP)
  // From here no signal or message can reach us: pushes now fail, and their senders act as if
  // we never existed (link -> noproc exit, monitor -> noproc Down).
  Message* late = mailbox.close();
  rt.table.remove(this);
  if (name_state.exchange(2, std::memory_order_acq_rel) == 1) {
    std::unique_lock lock(rt.names.mutex);
    auto it = rt.names.by_name.find(name);
    if (it != rt.names.by_name.end() && it->second == pid) rt.names.by_name.erase(it);
  }
  for (Message* m = late; m;) {
    Message* next = m->next;
    if (is_signal(*m)) {
      auto& s = static_cast<Signal&>(*m);
      if (s.kind == SignalKind::info_request)
        deliver_message(s.from, make_message<InfoReply>(InfoReply{s.ref, std::nullopt}));
      else
        handle_relation_signal(s);  // a link or a monitor made now is answered just below
    }
    destroy(m);
    m = next;
  }
  mailbox.clear();

  if (relations_) {
    for (const Pid& partner : relations_->links) {
      Signal* s = make_signal(SignalKind::exit, pid);
      s->reason = reason;
      s->linked = true;
      deliver_message(partner, s);
    }
    for (auto& [ref, watcher] : relations_->monitored_by) {
      Signal* s = make_signal(SignalKind::down, pid);
      s->ref = ref;
      s->reason = reason;
      if (auto* by_name = relations_->monitored_by_names.find(ref)) s->name = by_name->second;
      deliver_message(watcher, s);
    }
    for (auto& [ref, target] : relations_->monitors) {
      auto* by_name = relations_->monitor_names.find(ref);
      send_demonitor(pid, ref, target, by_name ? &by_name->second : nullptr);
    }
    relations_.reset();
  }

  if (pid == rt.root) {
    std::lock_guard lock(rt.done_mutex);
    if (!rt.done) {
      rt.done = true;
      rt.exit_code = reason.is_normal() ? 0 : 1;
      rt.root_reason = reason;
    }
    rt.done_cv.notify_all();
  }
  // Other workers may still hold a pointer found in the table: free only after they move on.
  Worker::current()->retire(this, [](void* p) noexcept { delete static_cast<Process*>(p); });
}

}  // namespace ambitious::detail
