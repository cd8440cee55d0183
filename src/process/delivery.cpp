// Delivery: how a message or a signal reaches a process, or what happens when it cannot.

#include <atomic>
#include <optional>
#include <string>

#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/detail/remote_signals.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
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
      reply->name = s.name;  // a remote MONITOR_P by name is answered naming the name
      deliver_message(s.from, reply);
      break;
    }
    case SignalKind::unlink:
      if (!s.from.is_local()) {  // UNLINK_ID is acknowledged even for a process that is gone
        Signal* ack = make_signal(SignalKind::unlink_ack, to);
        ack->seq = s.seq;
        deliver_message(s.from, ack);
      }
      break;
    case SignalKind::info_request:
      deliver_message(s.from, make_message<InfoReply>(InfoReply{s.ref, std::nullopt}));
      break;
    default:
      break;
  }
}

Pid current_pid() noexcept {
  Process* p = Process::current();
  return p ? p->pid : Pid();
}

// The term of a message bound for another node. A type without a Codec cannot leave the node:
// for a send() (`from_send`) that is a BadArg; on any other path the message is dropped.
std::optional<Term> wire_term(Pid to, const Message& m, bool from_send) {
  if (m.type->to_term) return m.type->to_term(m);
  if (from_send)
    throw BadArg("send: " + std::string(m.type->name()) +
                 " has no Codec, so it cannot be sent to " + to_string(to) +
                 ", a process of another node (describe the type, or specialize " +
                 "ambitious::Codec)");
  return std::nullopt;
}

// `to` is a process of another node: hands `m` to the distribution. With none installed (this
// node is not alive) does what OTP 25 does then: messages are dropped, a link is answered with
// the exit signal `noconnection` and a monitor with Down `noconnection`; the rest is dropped.
bool deliver_remote(Pid to, Message* m, bool from_send) {
  MessagePtr owned(m);
  RemoteNodes* net = remote_nodes();
  if (!is_signal(*m)) {
    std::optional<Term> term = wire_term(to, *m, from_send);
    if (!term || !net) return false;
    net->send(current_pid(), to, std::move(*term));
    return true;
  }
  auto& s = static_cast<Signal&>(*m);
  if (s.kind == SignalKind::alias) {
    std::optional<Term> term = wire_term(to, *s.payload, from_send);
    if (!term || !net) return false;
    net->send_alias(s.from, to, s.ref, std::move(*term));
    return true;
  }
  if (!net) {
    if (s.kind == SignalKind::link) {
      Signal* reply = make_signal(SignalKind::exit, to);
      reply->reason = atoms::noconnection;
      reply->linked = true;
      deliver_message(s.from, reply);
    } else if (s.kind == SignalKind::monitor) {
      Signal* reply = make_signal(SignalKind::down, to);
      reply->reason = atoms::noconnection;
      reply->ref = s.ref;
      deliver_message(s.from, reply);
    } else if (s.kind == SignalKind::info_request) {
      deliver_message(s.from, make_message<InfoReply>(InfoReply{s.ref, std::nullopt}));
    }
    return false;
  }
  switch (s.kind) {
    case SignalKind::exit:
      if (s.linked)
        net->exit(s.from, to, s.reason);
      else
        net->exit2(s.from, to, s.reason);
      break;
    case SignalKind::link:
      net->link(s.from, to);
      break;
    case SignalKind::unlink:
      net->unlink(s.from, to, s.seq);
      break;
    case SignalKind::unlink_ack:
      net->unlink_ack(s.from, to, s.seq);
      break;
    case SignalKind::monitor:
      net->monitor(s.from, to, s.ref);
      break;
    case SignalKind::demonitor:
      net->demonitor(s.from, to, s.ref);
      break;
    case SignalKind::down:
      net->down(s.from, s.name == Atom() ? std::nullopt : std::optional<Atom>(s.name), to, s.ref,
                s.reason);
      break;
    case SignalKind::info_request:  // process_info of a remote pid: none (OTP raises badarg)
      deliver_message(s.from, make_message<InfoReply>(InfoReply{s.ref, std::nullopt}));
      return false;
    case SignalKind::timeout:
    case SignalKind::alias:
      return false;
  }
  return true;
}

// Local targets first: the remote branch is only taken where a local lookup failed, so a local
// delivery costs what it did.
template <bool FromSend>
[[gnu::always_inline]] inline bool deliver_to(Pid to, Message* m) {
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
  } else if (!to.is_local()) [[unlikely]] {
    return deliver_remote(to, m, FromSend);
  }
  undeliverable(to, m);
  return false;
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

bool deliver_message(Pid to, Message* m) { return deliver_to<false>(to, m); }

void deliver_from_send(Pid to, Message* m) { deliver_to<true>(to, m); }

void send_remote_demonitor(Pid from, const Ref& ref, const RegisteredName& to) noexcept {
  if (RemoteNodes* net = remote_nodes()) net->demonitor_named(from, to, ref);
}

namespace {
// The process-wide RemoteNodes (install_default_remote_nodes), for runtimes without their own.
std::atomic<RemoteNodes*> default_remote{nullptr};
}  // namespace

RemoteNodes* remote_nodes() noexcept {
  RuntimeState* rt = runtime();
  if (!rt) return nullptr;
  // acquire: pairs with the releases of the installs, so the object is seen built.
  RemoteNodes* own = rt->remote.load(std::memory_order_acquire);
  return own ? own : default_remote.load(std::memory_order_acquire);
}

void install_default_remote_nodes(RemoteNodes* nodes) noexcept {
  default_remote.store(nodes, std::memory_order_release);
}

void install_remote_nodes(RemoteNodes* nodes) {
  check_in_process("install_remote_nodes");
  runtime()->remote.store(nodes, std::memory_order_release);
}

bool is_local_node(Atom node) noexcept { return node == nodes::get(nodes::local).name; }

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

// ---- signals from processes of other nodes (remote_signals.hpp) -----------------------------

namespace {

Delivery post_signal(Pid to, Signal* s) { return post_message(to, s); }

}  // namespace

Delivery remote_link(Pid from, Pid to) {
  return post_signal(to, make_signal(SignalKind::link, from));
}

Delivery remote_unlink(Pid from, Pid to, std::uint64_t id) {
  Signal* s = make_signal(SignalKind::unlink, from);
  s->seq = id;
  return post_signal(to, s);
}

Delivery remote_unlink_ack(Pid from, Pid to, std::uint64_t id) {
  Signal* s = make_signal(SignalKind::unlink_ack, from);
  s->seq = id;
  return post_signal(to, s);
}

Delivery remote_exit(Pid from, Pid to, ExitReason reason) {
  Signal* s = make_signal(SignalKind::exit, from);
  s->reason = std::move(reason);
  s->linked = true;
  return post_signal(to, s);
}

Delivery remote_exit2(Pid from, Pid to, ExitReason reason) {
  Signal* s = make_signal(SignalKind::exit, from);
  s->reason = std::move(reason);
  return post_signal(to, s);
}

Delivery remote_monitor(Pid from, Pid to, const Ref& ref) {
  Signal* s = make_signal(SignalKind::monitor, from);
  s->ref = ref;
  return post_signal(to, s);
}

Pid remote_monitor(Pid from, Atom name, const Ref& ref) {
  Pid found;
  from_any_thread([&](RuntimeState& rt) {
    {
      std::shared_lock lock(rt.names.mutex);
      if (auto it = rt.names.by_name.find(name); it != rt.names.by_name.end()) found = it->second;
    }
    Signal* s = make_signal(SignalKind::monitor, from);
    s->ref = ref;
    s->name = name;
    // Nobody holds the name: the null pid's undeliverable monitor answers noproc naming it.
    return deliver_message(found, s) ? Delivery::queued : Delivery::no_process;
  });
  return found;
}

Delivery remote_demonitor(Pid from, Pid to, const Ref& ref) {
  Signal* s = make_signal(SignalKind::demonitor, from);
  s->ref = ref;
  return post_signal(to, s);
}

Delivery remote_down(Pid from, Pid to, const Ref& ref, ExitReason reason) {
  Signal* s = make_signal(SignalKind::down, from);
  s->ref = ref;
  s->reason = std::move(reason);
  return post_signal(to, s);
}

Delivery remote_alias_send(Pid from, Pid owner, const Ref& alias, Term message) {
  Signal* s = make_signal(SignalKind::alias, from);
  s->ref = alias;
  MessagePtr owned(s);
  s->payload = make_message<Term>(std::move(message));
  return post_signal(owner, static_cast<Signal*>(owned.release()));
}

void with_reader_section(void (*f)(void*), void* ctx) {
  if (Worker::current() || Scheduler::reading()) return f(ctx);
  bool ran = false;
  {
    std::lock_guard gate(foreign_gate());
    if (RuntimeState* rt = runtime()) ran = rt->scheduler.run_as_reader([&] { f(ctx); });
  }
  if (!ran) f(ctx);  // no runtime, or it stops: what f delivers finds none and is dropped
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
