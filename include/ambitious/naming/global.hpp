#pragma once
// global: names unique across the ambitious nodes of a cluster, as OTP 25's global module.
//
//   OTP global                          | here (namespace ambitious::global)
//   ------------------------------------|--------------------------------------------------------
//   register_name(Name, Pid) -> yes|no  | co_await register_name(name, pid) -> bool
//   register_name(Name, Pid, Resolve)   | co_await register_name(name, pid, resolver_name)
//   unregister_name(Name)               | co_await unregister_name(name)
//   whereis_name(Name) -> Pid|undefined | whereis_name(name) -> optional<Pid>   (a local read)
//   registered_names()                  | registered_names()
//   sync()                              | co_await sync()
//   send(Name, Msg)                     | send(name, msg)  (exits {badarg, {Name, Msg}})
//   {via, global, Name}                 | global::via(name), for ServerRef and send
//   random_exit_name/3 (the default),   | the resolvers random_exit_name(), random_notify_name(),
//   random_notify_name/3,               | notify_all_name(); register_resolver(atom, f) adds one
//   notify_all_name/3                   |
//
// A name is any term; a name names one process, and a process holds one name (a second one is
// refused, as OTP's default `global_multi_name_action` deny does). Each node
// runs a name server (registered as `ambitious_global`, started with the node's net_kernel, or
// on first use in a runtime without distribution, where names are this node's only, as OTP's
// global on a non-distributed node). Lookups read the node's own copy of the table under a
// shared lock: no message, no cluster-wide lock. A registration or unregistration goes to the
// name server of the *leader*, the smallest node name among this node and the peers whose name
// servers it knows; the leader decides (yes when the name is free), applies it and tells every
// peer, the caller's node included, before it answers. So two concurrent registrations of a
// name anywhere in a connected cluster meet at one process: exactly one wins (OTP takes its
// global lock for the same effect). The node where a holder runs monitors it and, when it ends,
// tells every peer to drop its names; when a node goes down (its name server's monitor fires
// with noconnection) every node drops the names of that node's processes.
//
// Partitions heal as in OTP: when name servers meet (every nodeup: each sends `{discover,
// Self}`), each sends the other the names its own processes hold. A name both sides hold for
// different processes is a conflict, settled by the node of the smaller of the two pids (node
// name first, as OTP's minmax): it calls the resolver of the registration it holds with (name,
// pid1, pid2), keeps the pid the resolver returns (a null pid: neither, as OTP's `none`) and
// tells every peer. OTP's resolvers are kept: random_exit_name keeps the smaller pid and kills
// the other (exit(Pid, kill)), random_notify_name sends it `{global_name_conflict, Name}`,
// notify_all_name sends both `{global_name_conflict, Name, OtherPid}` and keeps neither. As
// Erlang functions are terms but C++ functions are not, a resolver travels by name: register
// a custom one with register_resolver under the same atom on every node (as Erlang code must be
// loaded on every node).
//
// Not Erlang's global: ambitious nodes connect to Erlang nodes as hidden, and OTP's global
// ignores hidden nodes, so this protocol runs among ambitious nodes only; a name registered
// here is not seen by Erlang's global:whereis_name/1 and the reverse. The mesh is assumed full
// (the default): a node learns the names of the nodes it is connected to.

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "ambitious/behaviours/server_ref.hpp"
#include "ambitious/core/atom.hpp"
#include "ambitious/core/codec.hpp"
#include "ambitious/core/functional.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious::global {

/// Settles a name held by two processes after a partition heals: returns the pid to keep, or
/// a null pid to keep neither. Runs in the name server of the node that settles it (it may
/// send messages and exit signals; it must not wait).
using Resolver = std::function<Pid(const Term& name, Pid pid1, Pid pid2)>;

/// OTP's default resolver: keeps the smaller pid, kills the other (exit(Pid, kill)).
Atom random_exit_name();
/// Keeps the smaller pid, sends the other `{global_name_conflict, Name}`.
Atom random_notify_name();
/// Keeps neither; sends each `{global_name_conflict, Name, OtherPid}`.
Atom notify_all_name();

/// Makes `resolver` known as `method` on this node (replacing one of that name). Register it
/// under the same name on every node. Any thread.
void register_resolver(Atom method, Resolver resolver);

/// global:register_name/2,3: `name` for `pid` across the cluster, settled with the resolver
/// `method` after a partition; false (OTP's `no`) when the name is taken, `pid` holds a name
/// already, or `pid` is on a node whose name server this node does not know. Inside a process.
Task<bool> register_name(Term name, Pid pid, Atom method = random_exit_name());

/// global:unregister_name/1: removes `name`, whoever holds it, across the cluster. Inside a
/// process.
Task<> unregister_name(Term name);

/// global:sync/0: returns once this node's name server has met the name server of every node
/// connected now (exchanged names with it), or learnt that it runs none. Inside a process.
Task<> sync();

/// global:whereis_name/1: the holder of `name`, read from this node's table. Any process.
std::optional<Pid> whereis_name(const Term& name);

/// global:registered_names/0: every name in this node's table. Any process.
std::vector<Term> registered_names();

/// global:send/2: sends `msg` to the holder of `name` and returns its pid; with no holder the
/// calling process exits with `{badarg, {Name, Msg}}` (Msg as its Codec's term, or
/// `undefined` for a type without one). Inside a process.
template <class T>
Pid send(const Term& name, T&& msg) {
  std::optional<Pid> pid = whereis_name(name);
  if (!pid) {
    Term m(atoms::undefined);
    if constexpr (Encodable<std::decay_t<T>>) m = ambitious::to_term(msg);
    exit(ExitReason(Term::tuple(atoms::badarg, Term::tuple(name, std::move(m)))));
  }
  ambitious::send(*pid, std::forward<T>(msg));
  return *pid;
}

/// `{via, global, Name}`: a name to start a server under (StartOptions::name: the server
/// registers it before init, waiting for the leader; taken: `{already_started, Pid}`), and for
/// ServerRef (calls and casts find the holder at each call) and ambitious::send.
std::shared_ptr<const ViaName> via(Term name);

/// \cond
namespace detail {
/// Starts this runtime's name server unless one runs (the dist layer calls it where it starts
/// net_kernel; the API calls it on first use). Inside a process.
void ensure_server();
}  // namespace detail
/// \endcond

}  // namespace ambitious::global
