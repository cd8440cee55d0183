// Delivery: how a message or a signal reaches a process, or what happens when it cannot.

#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/send.hpp"
#include "info_reply.hpp"
#include "process.hpp"
#include "runtime_state.hpp"

namespace ambitious::detail {

namespace {

// The target is dead or unknown: a request that expected an answer gets one, as if from a
// process that does not exist (OTP's noproc); anything else is dropped.
void undeliverable(Pid to, Message* m) {
  MessagePtr owned(m);
  if (!is_signal(*m)) return;
  auto& s = static_cast<Signal&>(*m);
  switch (s.kind) {
    case SignalKind::link: {
      Signal* reply = make_signal(SignalKind::exit, to);
      reply->reason = atoms::noproc;
      reply->linked = true;
      deliver_message(s.from, reply);
      break;
    }
    case SignalKind::monitor: {
      Signal* reply = make_signal(SignalKind::down, to);
      reply->ref = s.ref;
      reply->reason = atoms::noproc;
      deliver_message(s.from, reply);
      break;
    }
    case SignalKind::info_request:
      deliver_message(s.from, make_message<InfoReply>(InfoReply{s.ref, std::nullopt}));
      break;
    default:
      break;
  }
}

}  // namespace

void schedule_woken(Process* p) noexcept {
  if (Worker* w = Worker::current()) {
    // Woken by the running process: run it next here, while its message is in cache.
    if (Process::current())
      w->push_next(p);
    else
      w->push(p);
  } else {
    runtime()->scheduler.schedule(p);
  }
}

bool deliver_message(Pid to, Message* m) {
  RuntimeState* rt = runtime();
  if (Process* p = rt ? rt->table.lookup(to) : nullptr) {
    switch (p->mailbox.push(m)) {
      case Mailbox::Push::queued:
        return true;
      case Mailbox::Push::woke_owner:
        schedule_woken(p);
        return true;
      case Mailbox::Push::closed:
        break;
    }
  }
  undeliverable(to, m);
  return false;
}

namespace {

// Runs `f(RuntimeState&)`, which looks processes up, where that is safe: at once on a worker of
// the runtime, or on a thread that is its scheduler's reader already (a message dropped there,
// by a foreign post or by the watchdog firing a timer, may post from its destructor: taking the
// gate again would deadlock); from any other thread under the foreign gate (run() cannot free
// the runtime meanwhile) as the scheduler's foreign reader (no process it finds is freed
// meanwhile). A thread always takes the same path, so what it delivers keeps its order.
template <class F>
Delivery from_any_thread(F&& f) {
  if (Worker* w = Worker::current()) {
    // Its runtime stays published while it runs: run() stops the workers before it unpublishes.
    RuntimeState* rt = runtime();
    if (rt && &w->scheduler() == &rt->scheduler) return f(*rt);
  }
  if (Scheduler* reading = Scheduler::reading()) {
    // Inside a reader section the runtime is held: by the gate an outer call on this thread
    // took, or, for the watchdog, by the scheduler the watchdog belongs to.
    RuntimeState* rt = runtime();
    if (rt && &rt->scheduler == reading) return f(*rt);
  }
  std::lock_guard gate(foreign_gate());
  RuntimeState* rt = runtime();
  Delivery d = Delivery::no_runtime;
  if (rt) rt->scheduler.run_as_reader([&] { d = f(*rt); });
  return d;
}

}  // namespace

Delivery post_message(Pid to, Message* m) {
  MessagePtr owned(m);
  return from_any_thread([&](RuntimeState&) {
    return deliver_message(to, owned.release()) ? Delivery::queued : Delivery::no_process;
  });
}

Delivery post_message(Atom name, Message* m) {
  MessagePtr owned(m);
  return from_any_thread([&](RuntimeState& rt) {
    Pid to;
    {
      std::shared_lock lock(rt.names.mutex);
      auto it = rt.names.by_name.find(name);
      if (it == rt.names.by_name.end()) return Delivery::no_process;
      to = it->second;
    }
    return deliver_message(to, owned.release()) ? Delivery::queued : Delivery::no_process;
  });
}

}  // namespace ambitious::detail

namespace ambitious {

Delivery deliver_term(Pid to, Term message) {
  return detail::post_message(to, detail::make_message<Term>(std::move(message)));
}

Delivery deliver_term(Atom name, Term message) {
  return detail::post_message(name, detail::make_message<Term>(std::move(message)));
}

}  // namespace ambitious
