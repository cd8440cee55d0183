// The process functions of the public API: self, spawn, send, exit, links, monitors, receive.

#include <ostream>

#include <atomic>
#include <optional>
#include <string>

#include "ambitious/process/detail/alias.hpp"
#include "ambitious/process/detail/exit_exception.hpp"
#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "process.hpp"
#include "runtime_state.hpp"

namespace ambitious {
namespace {

// The id of an UNLINK_ID: never 0, unique among this node's unlinks.
std::uint64_t next_unlink_id() noexcept {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

detail::Process& require(const char* function) {
  detail::Process* p = detail::Process::current();
  if (!p) throw NotInProcess(function);
  return *p;
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const ExitReason& r) { return out << r.to_string(); }

namespace detail {

void check_in_process(const char* function) { require(function); }

bool receive_ready(ReceiveRequest& r) { return require("receive").receive_ready(r); }

void receive_suspend(ReceiveRequest& r, std::coroutine_handle<> h) noexcept {
  Process::current()->receive_suspend(r, h);
}

void submit_blocking(BlockingCall& call, std::coroutine_handle<> h) noexcept {
  Process::current()->blocking_suspend(call, h);
}

Pid spawn_task(Task<> body, SpawnLink how, Ref* monitor_ref) {
  Process& parent = require("spawn");
  auto* child = new Process(body.release());
  runtime()->table.insert(child);
  if (how == SpawnLink::link) {
    // The child has not run yet and nobody else touches its relations: set both ends now.
    child->relations().links.insert(parent.pid);
    parent.relations().links.insert(child->pid);
  } else if (how == SpawnLink::monitor) {
    *monitor_ref = Ref::make();
    parent.mailbox.mark(*monitor_ref);
    child->relations().monitored_by.insert({*monitor_ref, parent.pid});
    parent.relations().monitors.insert({*monitor_ref, child->pid});
  }
  Pid pid = child->pid;
  if (Worker* w = Worker::current())
    w->push_spawned(child);
  else  // a destructor running as its process after run() ended: run() will destroy the child
    runtime()->scheduler.schedule(child);
  return pid;
}

void deliver(Pid to, Message* m) {
  MessagePtr owned(m);
  require("send");
  deliver_from_send(to, owned.release());
}

void deliver(const RegisteredName& to, Message* m) {
  MessagePtr owned(m);
  Process& me = require("send");
  if (is_local_node(to.node)) {
    // {Name, Node} ! Msg never raises: a name nobody holds drops the message (checked with erl).
    RuntimeState& rt = *runtime();
    Pid pid;
    {
      std::shared_lock lock(rt.names.mutex);
      auto it = rt.names.by_name.find(to.name);
      if (it == rt.names.by_name.end()) return;
      pid = it->second;
    }
    deliver_message(pid, owned.release());
    return;
  }
  if (!m->type->to_term)
    throw BadArg("send: " + std::string(m->type->name()) +
                 " has no Codec, so it cannot be sent to {" + std::string(to.name.name()) + ", " +
                 std::string(to.node.name()) + "}");
  if (RemoteNodes* net = remote_nodes()) net->send_named(me.pid, to, m->type->to_term(*m));
}

void deliver(Atom name, Message* m) {
  MessagePtr owned(m);
  require("send");
  RuntimeState& rt = *runtime();
  Pid to;
  {
    std::shared_lock lock(rt.names.mutex);
    auto it = rt.names.by_name.find(name);
    if (it == rt.names.by_name.end())
      throw BadArg("send: no process is registered as " + std::string(name.name()));
    to = it->second;
  }
  deliver_message(to, owned.release());
}

void send_to_alias(Pid to, const Ref& alias, Message* m) {
  MessagePtr owned(m);
  Process& me = require("reply");
  Signal* s = make_signal(SignalKind::alias, me.pid);
  s->ref = alias;
  s->payload = owned.release();
  deliver_from_send(to, s);
}

}  // namespace detail

Pid self() { return require("self").pid; }

bool in_process() noexcept { return detail::Process::current() != nullptr; }

Ref make_ref() {
  Ref ref = Ref::make();
  if (detail::Process* p = detail::Process::current()) p->mailbox.mark(ref);
  return ref;
}

void exit(Pid pid, ExitReason reason) {
  detail::Process& me = require("exit");
  detail::Signal* s = detail::make_signal(detail::SignalKind::exit, me.pid);
  s->reason = std::move(reason);
  detail::deliver_message(pid, s);
}

bool alive(Pid pid) {
  require("alive");
  return detail::runtime()->table.lookup(pid) != nullptr;
}

void YieldAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  detail::Process::current()->yield_suspend(h);
}

bool trap_exit(bool on) {
  detail::Process& me = require("trap_exit");
  return std::exchange(me.trap_exit, on);
}

void link(Pid pid) {
  detail::Process& me = require("link");
  if (pid == me.pid) return;
  if (me.has_relations() && me.relations().links.contains(pid)) return;  // already linked
  // OTP 25 raises noproc at once for a process known dead when the caller does not trap exits
  // (verified with erl); a trapping caller gets the noproc exit signal as a message instead.
  if (!me.trap_exit && pid.is_local() && !detail::runtime()->table.lookup(pid))
    throw NoProc("link: no process " + to_string(pid) + " (noproc)");
  me.relations().links.insert(pid);
  // OTP 23's link protocol: a LINK of ours supersedes our UNLINK_ID still waiting for its ack.
  if (!pid.is_local()) me.relations().unlinking.erase(pid);
  // A remote pid: LINK through the distribution; not distributed, the exit signal noconnection.
  detail::deliver_message(pid, detail::make_signal(detail::SignalKind::link, me.pid));
}

void unlink(Pid pid) {
  detail::Process& me = require("unlink");
  if (!me.has_relations() || !me.relations().links.erase(pid)) return;
  detail::Signal* s = detail::make_signal(detail::SignalKind::unlink, me.pid);
  if (!pid.is_local()) {
    if (!detail::remote_nodes()) return detail::destroy(s);  // not distributed: nobody to tell
    // UNLINK_ID: until its ack comes, a LINK from the partner is void (it crossed ours).
    s->seq = next_unlink_id();
    me.relations().unlinking.insert({pid, s->seq});
  }
  detail::deliver_message(pid, s);
}

bool linked(Pid pid) {
  detail::Process& me = require("linked");
  return me.has_relations() && me.relations().links.contains(pid);
}

namespace {

// `name`: the monitor is by name, and its Down says so.
Ref monitor_process(detail::Process& me, Pid pid, std::optional<Atom> name) {
  Ref ref = Ref::make();
  me.mailbox.mark(ref);  // the Down, if any, comes after everything queued now
  detail::Relations& relations = me.relations();
  relations.monitors.insert({ref, pid});
  if (name)
    relations.monitor_names.insert({ref, RegisteredName{*name, nodes::get(nodes::local).name}});
  detail::Signal* s = detail::make_signal(detail::SignalKind::monitor, me.pid);
  s->ref = ref;
  // A dead or null pid sends Down noproc back; a remote one is monitored through the
  // distribution (MONITOR_P), or, not distributed, sends Down noconnection back.
  detail::deliver_message(pid, s);
  return ref;
}

// Removes an active monitor; false if `ref` is none (never made, removed, or its Down came).
bool remove_monitor(detail::Process& me, const Ref& ref, bool flush) {
  me.drain();  // a Down already here counts as delivered: the monitor is then inactive
  bool active = false;
  if (me.has_relations()) {
    detail::Relations& relations = me.relations();
    if (auto* entry = relations.monitors.find(ref)) {
      active = true;
      Pid target = entry->second;
      relations.monitors.erase(ref);
      if (auto* named = relations.monitor_names.find(ref)) {
        RegisteredName by_name = named->second;
        relations.monitor_names.erase(ref);
        detail::send_demonitor(me.pid, ref, target, &by_name);
      } else {
        detail::send_demonitor(me.pid, ref, target, nullptr);
      }
    }
  }
  if (flush) me.mailbox.flush_down(ref);
  return active;
}

}  // namespace

Ref monitor(Pid pid) { return monitor_process(require("monitor"), pid, std::nullopt); }

Ref monitor(Atom name) {
  detail::Process& me = require("monitor");
  Pid pid;  // nobody holds the name: the null pid, whose monitor comes back as Down noproc
  detail::RuntimeState& rt = *detail::runtime();
  {
    std::shared_lock lock(rt.names.mutex);
    if (auto it = rt.names.by_name.find(name); it != rt.names.by_name.end()) pid = it->second;
  }
  return monitor_process(me, pid, name);
}

Ref monitor(const RegisteredName& to) {
  detail::Process& me = require("monitor");
  if (detail::is_local_node(to.node)) return monitor(to.name);
  detail::RemoteNodes* net = detail::remote_nodes();
  // OTP 25 raises badarg for erlang:monitor(process, {Name, Node}) on a node that is not alive.
  if (!net)
    throw BadArg("monitor({" + std::string(to.name.name()) + ", " + std::string(to.node.name()) +
                 "}): this node is not distributed");
  Ref ref = Ref::make();
  me.mailbox.mark(ref);
  detail::Relations& relations = me.relations();
  relations.monitors.insert({ref, Pid()});  // the pid is not known: MONITOR_P_EXIT names the name
  relations.monitor_names.insert({ref, to});
  net->monitor_named(me.pid, to, ref);
  return ref;
}

void demonitor(const Ref& ref) { remove_monitor(require("demonitor"), ref, false); }

void demonitor(const Ref& ref, Flush flush) {
  remove_monitor(require("demonitor"), ref, flush == Flush::yes);
}

bool demonitor(const Ref& ref, DemonitorOptions options) {
  bool active = remove_monitor(require("demonitor"), ref, options.flush);
  return options.info ? active : true;
}

}  // namespace ambitious
