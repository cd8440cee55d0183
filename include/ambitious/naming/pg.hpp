#pragma once
// pg: named process groups, as OTP 25's pg module.
//
//   OTP pg                              | here (namespace ambitious::pg)
//   ------------------------------------|--------------------------------------------------------
//   start_link() / start_link(Scope)    | co_await start_link() / start_link(Atom scope)
//   join(Group, PidOrPids)              | co_await join(group, pid | pids)      (scope: pg)
//   join(Scope, Group, PidOrPids)       | co_await join(scope, group, pid | pids)
//   leave(...) -> ok | not_joined       | co_await leave(...) -> Left::ok | Left::not_joined
//   get_members / get_local_members     | get_members([scope,] group) -> vector<Pid>
//   which_groups / which_local_groups   | which_groups([scope]) -> vector<Term>
//   monitor_scope(Scope)                | co_await monitor_scope([scope]) -> ScopeMonitor
//   monitor(Scope, Group)               | co_await monitor([scope,] group) -> GroupMonitor
//   demonitor(Scope, Ref)               | co_await demonitor([scope,] ref) -> bool (flushes)
//   {Ref, join | leave, Group, Pids}    | the message Notification{ref, event, group, pids}
//
// A group is any term; groups exist while they have members. A process may join a group many
// times and is then a member that many times (it leaves once per leave); a member that ends
// leaves all its groups. join and leave are calls to the scope's process (which monitors the
// members and tells the monitors); reads are direct reads of the scope's table from the caller.
// Only local processes may join (BadArg otherwise, as OTP's {nolocal, Pid}).
//
// Across nodes a scope is the same-named scope process on each node, as in OTP 25's pg.erl, and
// speaks its protocol, so that C++ and BEAM processes share groups. A scope sends
// `{discover, Self}` to `{Scope, Node}` for each node connected when it starts and each node that
// comes up later; a scope that gets a discover answers with its local members
// (gen_server:cast `{sync, Self, [{Group, Pids}]}`), monitors the peer scope and discovers it in
// turn; joins and leaves go to every peer scope as plain messages (`{join, Self, Group, Pids}`,
// `{leave, Self, Pids, Groups}`, one leave with all its groups for a member that ends). The
// peer's members leave when its scope ends or its node goes down (the monitor fires with
// `noconnection`). get_members() and which_groups() then cover every node, get_local_members()
// and which_local_groups() this node only, and the monitors hear of remote joins and leaves too.
// The views are eventually consistent, as OTP's: a join on another node shows here a moment
// later (wait for the monitor's notification, not for a time).
//
// Hidden nodes (found by experiment with OTP 25, and in pg.erl): Erlang's pg discovers only the
// nodes that nodes() lists and net_kernel:monitor_nodes(true) reports, the visible ones. An
// ambitious node connects as hidden (the connection is then hidden on both sides), so an
// Erlang scope never discovers it first; but it answers a discover from any node, and then
// keeps the exchange going both ways. So our scope discovers on every nodeup of any type
// (detail::watch_nodes, which the dist layer fills): Erlang-to-ambitious and ambitious-to-
// ambitious scopes find each other whichever side connects. What remains as in OTP with
// hidden nodes: an Erlang scope that starts (or restarts) while the connection is already up
// does not discover us (its init asks nodes() only), so the two scopes do not meet until the
// nodes connect again; our own scope, (re)started, discovers every connected node.

#include <map>
#include <span>
#include <vector>

#include "ambitious/behaviours/child_spec.hpp"
#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious::pg {

/// The default scope, `pg`.
Atom default_scope();

/// Starts the scope `scope` (its process registered under that name), linked to the caller.
Task<std::expected<Pid, ExitReason>> start_link(Atom scope = default_scope());
/// Starts the scope `scope`, not linked.
Task<std::expected<Pid, ExitReason>> start(Atom scope);
/// A child spec that starts the scope `scope` with start_link(scope): a scope in a
/// supervision tree with no start function to write (OTP's `#{id => Scope, start => {pg,
/// start_link, [Scope]}}`). Its id is `scope`; it is a worker.
ChildSpec child_spec(Atom scope = default_scope());

/// @name join
///@{

/// Joins `pids` (local processes; repeats join repeatedly) to `group` in `scope` (without a
/// scope: the default scope, `pg`).
Task<> join(Atom scope, Term group, std::vector<Pid> pids);
Task<> join(Atom scope, Term group, Pid pid);
Task<> join(Term group, Pid pid);
Task<> join(Term group, std::vector<Pid> pids);
///@}

/// What leave() did: `ok`, or `not_joined` when none of the pids was a member.
enum class Left { ok, not_joined };
/// @name leave
///@{

/// Each of `pids` leaves `group` once, in `scope` (without a scope: `pg`).
Task<Left> leave(Atom scope, Term group, std::vector<Pid> pids);
Task<Left> leave(Atom scope, Term group, Pid pid);
Task<Left> leave(Term group, Pid pid);
Task<Left> leave(Term group, std::vector<Pid> pids);
///@}

/// @name Members
///@{

/// The members of `group` in `scope` (without a scope: `pg`), repeated as often as they joined,
/// in no specific order.
std::vector<Pid> get_members(Atom scope, const Term& group);
std::vector<Pid> get_members(const Term& group);
///@}
/// @name Local members
///@{

/// The members of `group` on this node, in `scope` (without a scope: `pg`).
std::vector<Pid> get_local_members(Atom scope, const Term& group);
std::vector<Pid> get_local_members(const Term& group);
///@}
/// The groups that have members.
std::vector<Term> which_groups(Atom scope = default_scope());
/// The groups that have members on this node.
std::vector<Term> which_local_groups(Atom scope = default_scope());

/// A membership change, sent to the monitors of the scope or the group.
struct Notification {
  Ref ref;  ///< the monitor's ref
  /// What changed.
  enum Event {
    join,   ///< `pids` joined `group`
    leave,  ///< `pids` left `group`
  };
  Event event;            ///< what changed
  Term group;             ///< the group that changed
  std::vector<Pid> pids;  ///< the processes that joined or left
};

/// What monitor_scope() returns: the ref of its notifications and every group's members.
struct ScopeMonitor {
  Ref ref;                                  ///< the ref of the notifications to come
  std::map<Term, std::vector<Pid>> groups;  ///< every group's members, now
};
/// What monitor() returns: the ref of its notifications and the group's members.
struct GroupMonitor {
  Ref ref;                   ///< the ref of the notifications to come
  std::vector<Pid> members;  ///< the group's members, now
};

/// Subscribes the caller to every join and leave in `scope`.
Task<ScopeMonitor> monitor_scope(Atom scope = default_scope());
/// @name monitor
///@{

/// Subscribes the caller to the joins and leaves of `group` in `scope` (without a scope: `pg`).
Task<GroupMonitor> monitor(Atom scope, Term group);
Task<GroupMonitor> monitor(Term group);
///@}
/// @name demonitor
///@{

/// Ends the subscription `ref` in `scope` (without a scope: `pg`) and removes its notifications
/// already in the caller's mailbox; false when `ref` was not a subscription of the scope.
Task<bool> demonitor(Atom scope, Ref ref);
Task<bool> demonitor(Ref ref);
///@}

}  // namespace ambitious::pg
