#pragma once
// The entry points of signals from processes of other nodes: the dist layer calls one for each
// control message it reads (messages go through deliver_term, in ambitious/process/send.hpp).
//
// Each behaves exactly as the same signal from a local process: it travels through the target's
// mailbox in the order the calls were made, so a connection that hands on what it reads in the
// order it read it keeps OTP's per-sender order (a LINK, then a message, then an EXIT). Any
// thread: a worker, or a thread of the dist layer's own (then they take the foreign threads' slow
// path, as deliver_term does). An answer the process layer owes (UNLINK_ID_ACK, an immediate
// `noproc`) goes back through the installed RemoteNodes, maybe before the entry point returns
// (see remote_nodes.hpp on re-entrant calls). Each returns what became of the signal: `queued`,
// `no_process` (the target is not alive: any answer OTP owes, such as the `noproc`, was sent),
// or `no_runtime`.
//
// `from` is always a pid of another node and `to` a local one; `noconnection` as a reason is
// how a nodedown reaches links and monitors (remote_nodes.hpp says which calls a nodedown makes).

#include <cstdint>
#include <type_traits>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/send.hpp"

namespace ambitious::detail {

/// LINK {1, From, To}: `from` linked to `to`. A dead `to` answers with EXIT `noproc` (through
/// RemoteNodes::exit); an entry `to` already has for `from` (active, or its own unlink pending)
/// makes the LINK a no-op, as in OTP 23's link protocol.
Delivery remote_link(Pid from, Pid to);
/// UNLINK_ID {35, Id, From, To}: `from` removed its link to `to`. Removes `to`'s link unless its
/// own unlink of `from` is pending; answers UNLINK_ID_ACK with `id` (RemoteNodes::unlink_ack)
/// in every case.
Delivery remote_unlink(Pid from, Pid to, std::uint64_t id);
/// UNLINK_ID_ACK {36, Id, From, To}: `from` acknowledged `to`'s unlink `id`, which `to` then
/// forgets.
Delivery remote_unlink_ack(Pid from, Pid to, std::uint64_t id);
/// EXIT / PAYLOAD_EXIT {3, From, To, Reason}: the link between `from` and `to` is broken with
/// `reason` (`from` ended; `noconnection` on nodedown). Only an active link acts: `to` dies with
/// a reason other than `normal`, or gets Exit{from, reason} when it traps exits.
Delivery remote_exit(Pid from, Pid to, ExitReason reason);
/// EXIT2 / PAYLOAD_EXIT2 {8, From, To, Reason}: `from` called exit(to, reason). `kill` ends `to`
/// with `killed` whatever it traps; `normal` is ignored unless `to` traps exits; any other
/// reason ends `to`, or becomes Exit{from, reason} when it traps exits.
Delivery remote_exit2(Pid from, Pid to, ExitReason reason);
/// MONITOR_P {19, From, To, Ref} by pid: `from` monitors `to` with `ref`. When `to` ends, its
/// MONITOR_P_EXIT goes out through RemoteNodes::down; a dead `to` answers `noproc` at once.
Delivery remote_monitor(Pid from, Pid to, const Ref& ref);
/// MONITOR_P {19, From, Name, Ref} by name: `from` monitors the local process registered as
/// `name` now. Returns that process's pid (the dist layer records the pair for a nodedown), or
/// the null pid when nobody holds the name: then MONITOR_P_EXIT `noproc` naming `name` went out
/// already, as it does later when the process ends.
Pid remote_monitor(Pid from, Atom name, const Ref& ref);
/// DEMONITOR_P {20, From, To, Ref}: `from` dropped its monitor `ref` on `to` (by pid, or by name
/// resolved to `to` by remote_monitor). No answer.
Delivery remote_demonitor(Pid from, Pid to, const Ref& ref);
/// MONITOR_P_EXIT / PAYLOAD_MONITOR_P_EXIT {21, FromProc, To, Ref, Reason}: the process `to`
/// monitored with `ref` ended (`noproc`: it did not exist; `noconnection`: nodedown). `to` gets
/// Down{ref, from, reason} if the monitor is still active, with the monitor's {Name, Node} when
/// it was made by name; `from` is the null pid when FromProc was a name.
Delivery remote_down(Pid from, Pid to, const Ref& ref, ExitReason reason);
/// ALIAS_SEND {33, From, Alias} + message: `from` sent `message` to the alias `alias` of the
/// local process `owner` (the dist layer finds the owner in its table of the monitors local
/// processes made over that connection: an alias is such a monitor's ref). Queued only while
/// `alias` is an active monitor of `owner`; dropped otherwise, as a deactivated alias is.
Delivery remote_alias_send(Pid from, Pid owner, const Ref& alias, Term message);

/// Runs `f(ctx)` on a thread that is not a worker as one reader section of the running runtime:
/// the deliveries and entry points above that `f` calls take the direct path, where each call
/// alone would take the foreign threads' gate in turn. For a connection's thread: one turn for
/// all the messages of one read. Without a runtime (or while it stops), `f` runs as it is.
void with_reader_section(void (*f)(void*), void* ctx);
/// with_reader_section for a callable.
template <class F>
void with_reader_section(F&& f) {
  using P = std::remove_reference_t<F>*;
  with_reader_section([](void* c) { (*static_cast<P>(c))(); },
                      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace ambitious::detail
