// Delivery: how a message or a signal reaches a process, or what happens when it cannot.

#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "process/info_reply.hpp"
#include "process/process.hpp"
#include "process/runtime_state.hpp"

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

void deliver_message(Pid to, Message* m) {
  RuntimeState* rt = runtime();
  if (Process* p = rt ? rt->table.lookup(to) : nullptr) {
    switch (p->mailbox.push(m)) {
      case Mailbox::Push::queued:
        return;
      case Mailbox::Push::woke_owner:
        schedule_woken(p);
        return;
      case Mailbox::Push::closed:
        break;
    }
  }
  undeliverable(to, m);
}

bool post_message(Pid to, Message* m) {
  MessagePtr owned(m);
  RuntimeState* rt = runtime();
  if (!rt) return false;
  if (Worker* w = Worker::current(); w && &w->scheduler() == &rt->scheduler) {
    deliver_message(to, owned.release());
  } else {
    return rt->scheduler.run_as_reader([&] { deliver_message(to, owned.release()); });
  }
  return true;
}

}  // namespace ambitious::detail
