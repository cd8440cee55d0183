#pragma once
// RemoteNodes: how the process layer reaches processes of other nodes. The dist layer implements
// it and installs it when distribution starts; the process layer calls it for every message and
// signal whose target is on another node.
//
//   process layer call                    RemoteNodes member     OTP 25 control message
//   send(pid, v)                          send                   SEND_SENDER (SEND: no sender)
//   send(RegisteredName{n, node}, v)      send_named             REG_SEND
//   a reply to an alias (gen_server)      send_alias             ALIAS_SEND
//   link(pid)                             link                   LINK
//   unlink(pid)                           unlink                 UNLINK_ID
//   (an UNLINK_ID that arrived)           unlink_ack             UNLINK_ID_ACK
//   a process ends, linked to pid         exit                   EXIT / PAYLOAD_EXIT
//   (a LINK to a dead local pid)          exit (reason noproc)   EXIT / PAYLOAD_EXIT
//   exit(pid, reason)                     exit2                  EXIT2 / PAYLOAD_EXIT2
//   monitor(pid)                          monitor                MONITOR_P (by pid)
//   monitor(RegisteredName{n, node})      monitor_named          MONITOR_P (by name)
//   demonitor(ref), or its holder ends    demonitor(_named)      DEMONITOR_P
//   a monitored local process ends, or    down                   MONITOR_P_EXIT /
//   a MONITOR_P found nobody (noproc)                            PAYLOAD_MONITOR_P_EXIT
//
// What the dist layer keeps, and the process layer does not: the link and monitor pairs of each
// connection (OTP keeps them in the distribution entry), so that a nodedown fires them without a
// scan of all processes. On a nodedown it calls, for each pair over the lost connection, the
// entry point of ambitious/process/detail/remote_signals.hpp that the peer's end would have
// caused: remote_exit(peer, local, noconnection) for a link (it fires the link, or sends the
// trapping process its Exit, and removes the local entry); remote_down(peer, local, ref,
// noconnection) for a monitor a local process holds; remote_demonitor(peer, local, ref) for a
// monitor a peer process held on a local one. The same when a connection cannot be set up: a
// LINK or MONITOR_P that could not be sent is answered with noconnection that way, later, from
// the dist layer's own thread (OTP 25 does the same, asynchronously).
//
// The process layer keeps each local process's own view, as for local partners: its links
// (with the unlink ids of its own pending UNLINK_IDs, the OTP 23 protocol), the monitors it holds
// and those held on it (by name when MONITOR_P named it).

#include <cstdint>
#include <optional>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/registered_name.hpp"

namespace ambitious::detail {

/// The distribution as the process layer sees it: one call per message or signal to a process
/// of another node. Implemented by the dist layer.
///
/// Threads: any thread calls any member, concurrently: a worker running the sending process (a
/// send, a link, ...), a worker ending a process (its EXITs, MONITOR_P_EXITs, DEMONITOR_Ps), a
/// worker firing a timer (send_after to a remote pid), a foreign thread (post to a remote pid),
/// and the dist layer's own threads, re-entrantly, from inside an entry point of
/// remote_signals.hpp (a MONITOR_P for an unknown name is answered with `down` before
/// remote_monitor returns; a LINK to a dead pid with `exit`). So an implementation holds no lock
/// of its own while it calls an entry point, and takes only short locks here.
///
/// Order: the calls one sending process causes come in the order it made them, from one thread
/// at a time; the implementation keeps that order per (sender, receiver) pair on the wire, as OTP
/// does. Every member is noexcept and must not block: queue the signal on the node's connection
/// (setting the connection up if there is none yet, as OTP's auto-connect does), or drop it when
/// the node cannot be reached, answering links and monitors with `noconnection` as said above.
/// Messages come as Terms (the process layer encoded them with their Codec); the
/// implementation writes them as ETF.
class RemoteNodes {
 public:
  /// `from` (null when the message has no sending process: a timer, a foreign thread's post)
  /// sends `message` to the pid `to` of another node: SEND_SENDER {22, From, To}, or SEND when
  /// from is null or SEND_SENDER was not negotiated.
  virtual void send(Pid from, Pid to, Term message) noexcept = 0;
  /// `from` sends `message` to the process registered as `to.name` on the node `to.node`:
  /// REG_SEND {6, From, '', ToName}.
  virtual void send_named(Pid from, const RegisteredName& to, Term message) noexcept = 0;
  /// `from` sends `message` to the alias `alias` (a ref of another node) of the process `to`:
  /// ALIAS_SEND {33, From, Alias}; a connection without ALIAS may send SEND_SENDER to `to`.
  virtual void send_alias(Pid from, Pid to, const Ref& alias, Term message) noexcept = 0;

  /// The local `from` links to the remote `to`: LINK {1, From, To}.
  virtual void link(Pid from, Pid to) noexcept = 0;
  /// The local `from` removes its link to the remote `to`: UNLINK_ID {35, Id, From, To}. `id` is
  /// not 0 and unique among the unlinks of this node; the process waits for its ack
  /// (remote_unlink_ack) before it forgets the id.
  virtual void unlink(Pid from, Pid to, std::uint64_t id) noexcept = 0;
  /// The local `from` acknowledges the remote `to`'s unlink `id`: UNLINK_ID_ACK {36, Id, From, To}.
  virtual void unlink_ack(Pid from, Pid to, std::uint64_t id) noexcept = 0;

  /// The link between the local `from` and the remote `to` is broken with `reason`: `from`
  /// ended (EXIT {3, From, To, Reason}, or PAYLOAD_EXIT with the reason as payload), or `from`
  /// names a local process that did not exist when `to` linked to it (reason `noproc`).
  virtual void exit(Pid from, Pid to, const ExitReason& reason) noexcept = 0;
  /// The local `from` sends the exit signal `reason` to the remote `to` (exit/2): EXIT2 {8, From,
  /// To, Reason}, or PAYLOAD_EXIT2. `kill` is sent as `kill`: the receiving node makes it
  /// `killed`.
  virtual void exit2(Pid from, Pid to, const ExitReason& reason) noexcept = 0;

  /// The local `from` monitors the remote pid `to` with `ref`: MONITOR_P {19, From, To, Ref}.
  virtual void monitor(Pid from, Pid to, const Ref& ref) noexcept = 0;
  /// The local `from` monitors the process registered as `to.name` on `to.node` with `ref`:
  /// MONITOR_P {19, From, ToName, Ref}. Its MONITOR_P_EXIT names the name, not a pid.
  virtual void monitor_named(Pid from, const RegisteredName& to, const Ref& ref) noexcept = 0;
  /// The local `from` drops its monitor `ref` on the remote pid `to` (demonitor, or `from`
  /// ended): DEMONITOR_P {20, From, To, Ref}.
  virtual void demonitor(Pid from, Pid to, const Ref& ref) noexcept = 0;
  /// The same for a monitor made by name: DEMONITOR_P {20, From, ToName, Ref}.
  virtual void demonitor_named(Pid from, const RegisteredName& to, const Ref& ref) noexcept = 0;
  /// The local `from`, monitored by the remote `to` with `ref`, ended with `reason`, or did not
  /// exist when the MONITOR_P came (`noproc`): MONITOR_P_EXIT {21, FromProc, To, Ref, Reason}
  /// (or PAYLOAD_MONITOR_P_EXIT). FromProc is `from_name` when set (the monitor was by name,
  /// and OTP builds the Down's {Name, Node} from it), else `from`.
  virtual void down(Pid from, std::optional<Atom> from_name, Pid to, const Ref& ref,
                    const ExitReason& reason) noexcept = 0;

  /// Called inside the root process of every runtime that starts while this is the default
  /// RemoteNodes (install_default_remote_nodes), before the root's body: the dist layer starts
  /// its own processes there (net_kernel) for a node started before run().
  virtual void runtime_started() noexcept {}

 protected:
  ~RemoteNodes() = default;
};

/// Installs `nodes` as the running runtime's way to other nodes (null: none, as a node that is
/// not distributed). Inside a process. The object must stay valid until run() returns, also
/// after another one (or null) replaced it: a call that loaded it may still be running. Without
/// one, the process layer does what OTP 25 does on a node that is not alive: messages to other
/// nodes are dropped, a link gets the exit signal `noconnection`, a monitor of a pid gets Down
/// `noconnection`, a monitor of {Name, Node} throws BadArg, unlink and exit/2 do nothing.
void install_remote_nodes(RemoteNodes* nodes);

/// Installs `nodes` for every runtime that has none of its own (install_remote_nodes), now and
/// later (null: none): how a node started outside any process, before or between runtimes,
/// reaches them. Any thread. `nodes` must outlive every runtime that may still call it (the dist
/// layer passes an object of static storage that forwards to its node while the node runs).
void install_default_remote_nodes(RemoteNodes* nodes) noexcept;

/// The installed RemoteNodes (the runtime's own, else the default one), or null. Any thread of the
/// running runtime.
RemoteNodes* remote_nodes() noexcept;

/// True when `node` is this node's name (as nodes::get(nodes::local) says now).
bool is_local_node(Atom node) noexcept;

}  // namespace ambitious::detail
