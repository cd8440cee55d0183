#pragma once
// The control messages of the distribution protocol (erl_dist_protocol.md, "Protocol between
// connected nodes"): each a typed struct, from and to the control tuple and payload terms.
//
//   struct          operations (control tuple; "+ X": the payload term)
//   Link            LINK            {1, From, To}
//   Send            SEND            {2, '', To} + Msg          SEND_TT {12, '', To, Token} + Msg
//                   SEND_SENDER     {22, From, To} + Msg       SEND_SENDER_TT {23, From, To, Token}
//   Exit            EXIT            {3, From, To, Reason}      EXIT_TT {13, From, To, Token,
//   Reason}
//                   PAYLOAD_EXIT    {24, From, To} + Reason    PAYLOAD_EXIT_TT {25, ..., Token}
//   Unlink          UNLINK          {4, From, To}              (obsolete, peers without UNLINK_ID)
//   NodeLink        NODE_LINK       {5}
//   RegSend         REG_SEND        {6, From, '', ToName} + Msg   REG_SEND_TT {16, ..., Token}
//   GroupLeader     GROUP_LEADER    {7, From, To}
//   Exit2           EXIT2           {8, From, To, Reason}      EXIT2_TT {18, From, To, Token, R.}
//                   PAYLOAD_EXIT2   {26, From, To} + Reason    PAYLOAD_EXIT2_TT {27, ..., Token}
//   MonitorP        MONITOR_P       {19, From, ToProc, Ref}    (ToProc: a pid or a name)
//   DemonitorP      DEMONITOR_P     {20, From, ToProc, Ref}
//   MonitorPExit    MONITOR_P_EXIT  {21, FromProc, To, Ref, Reason}
//                   PAYLOAD_MONITOR_P_EXIT {28, FromProc, To, Ref} + Reason
//   SpawnRequest    SPAWN_REQUEST   {29, ReqId, From, GroupLeader, {M, F, A}, Opts} + Args
//                   SPAWN_REQUEST_TT {30, ..., Opts, Token} + Args
//   SpawnReply      SPAWN_REPLY     {31, ReqId, To, Flags, Result}   SPAWN_REPLY_TT {32, ...,
//   Token} AliasSend       ALIAS_SEND      {33, From, Alias} + Msg    ALIAS_SEND_TT {34, ...,
//   Token} UnlinkId        UNLINK_ID       {35, Id, From, To} UnlinkIdAck     UNLINK_ID_ACK   {36,
//   Id, From, To}
//
// A struct stands for all the forms of its operation: decoding accepts each of them whatever
// the connection negotiated (OTP may send a SEND queued before SEND_SENDER was known), and
// encoding picks the form the negotiated flags call for (SEND_SENDER with a sender, the PAYLOAD
// exits with EXIT_PAYLOAD, the _TT form when a trace token is present).

#include <cstdint>
#include <expected>
#include <optional>
#include <variant>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/dist/flags.hpp"
#include "ambitious/dist/wire_error.hpp"

namespace ambitious::dist {

/// The operation numbers (the first element of a control tuple).
namespace op {
///@{
/// An operation, named as in erl_dist_protocol.md (LINK is link, SEND_SENDER_TT send_sender_tt).
inline constexpr int link = 1;
inline constexpr int send = 2;
inline constexpr int exit = 3;
inline constexpr int unlink = 4;
inline constexpr int node_link = 5;
inline constexpr int reg_send = 6;
inline constexpr int group_leader = 7;
inline constexpr int exit2 = 8;
inline constexpr int send_tt = 12;
inline constexpr int exit_tt = 13;
inline constexpr int reg_send_tt = 16;
inline constexpr int exit2_tt = 18;
inline constexpr int monitor_p = 19;
inline constexpr int demonitor_p = 20;
inline constexpr int monitor_p_exit = 21;
inline constexpr int send_sender = 22;
inline constexpr int send_sender_tt = 23;
inline constexpr int payload_exit = 24;
inline constexpr int payload_exit_tt = 25;
inline constexpr int payload_exit2 = 26;
inline constexpr int payload_exit2_tt = 27;
inline constexpr int payload_monitor_p_exit = 28;
inline constexpr int spawn_request = 29;
inline constexpr int spawn_request_tt = 30;
inline constexpr int spawn_reply = 31;
inline constexpr int spawn_reply_tt = 32;
inline constexpr int alias_send = 33;
inline constexpr int alias_send_tt = 34;
inline constexpr int unlink_id = 35;
inline constexpr int unlink_id_ack = 36;
///@}
}  // namespace op

/// A process a monitor names: a pid, or a registered name (the name is reported back in
/// MONITOR_P_EXIT when the monitor was by name).
using ProcessRef = std::variant<Pid, Atom>;

namespace control {
/// Sequential trace tokens ride along opaque: present, the _TT form is used.
using Token = std::optional<Term>;

/// LINK: `from` links itself to `to`.
struct Link {
  Pid from;  ///< the linking process
  Pid to;    ///< the process linked to
  friend bool operator==(const Link&, const Link&) = default;
};
/// A message to a pid; `from` is absent in the old SEND form.
struct Send {
  std::optional<Pid> from;  ///< the sender (SEND_SENDER), or none (SEND)
  Pid to;                   ///< the receiver
  Term message;             ///< the payload
  Token token;              ///< the trace token, for the _TT form
  friend bool operator==(const Send&, const Send&) = default;
};
/// An exit signal caused by a link.
struct Exit {
  Pid from;     ///< the process that ended
  Pid to;       ///< the linked process
  Term reason;  ///< the exit reason
  Token token;  ///< the trace token, for the _TT form
  friend bool operator==(const Exit&, const Exit&) = default;
};
/// UNLINK (obsolete: only peers without UNLINK_ID send it).
struct Unlink {
  Pid from;  ///< the unlinking process
  Pid to;    ///< the process unlinked from
  friend bool operator==(const Unlink&, const Unlink&) = default;
};
/// NODE_LINK (defined by the protocol, never sent by OTP).
struct NodeLink {
  friend bool operator==(const NodeLink&, const NodeLink&) = default;
};
/// A message to a registered name.
struct RegSend {
  Pid from;      ///< the sender
  Atom to;       ///< the name on the receiving node
  Term message;  ///< the payload
  Token token;   ///< the trace token, for the _TT form
  friend bool operator==(const RegSend&, const RegSend&) = default;
};
/// GROUP_LEADER: make `to`'s group leader `from`.
struct GroupLeader {
  Pid from;  ///< the new group leader
  Pid to;    ///< the process whose leader changes
  friend bool operator==(const GroupLeader&, const GroupLeader&) = default;
};
/// An exit signal sent with exit/2.
struct Exit2 {
  Pid from;     ///< the process that called exit/2
  Pid to;       ///< the target
  Term reason;  ///< the exit reason
  Token token;  ///< the trace token, for the _TT form
  friend bool operator==(const Exit2&, const Exit2&) = default;
};
/// MONITOR_P: `from` monitors `to` under `ref`.
struct MonitorP {
  Pid from;       ///< the monitoring process
  ProcessRef to;  ///< the monitored process, by pid or by name
  Ref ref;        ///< the monitor's reference (made on the monitoring node)
  friend bool operator==(const MonitorP&, const MonitorP&) = default;
};
/// DEMONITOR_P: `from` drops its monitor `ref` of `to`.
struct DemonitorP {
  Pid from;       ///< the monitoring process
  ProcessRef to;  ///< the monitored process, as MONITOR_P named it
  Ref ref;        ///< the monitor's reference
  friend bool operator==(const DemonitorP&, const DemonitorP&) = default;
};
/// The monitored process `from` (as the monitor named it) ended with `reason`.
struct MonitorPExit {
  ProcessRef from;  ///< the monitored process, as MONITOR_P named it
  Pid to;           ///< the monitoring process
  Ref ref;          ///< the monitor's reference
  Term reason;      ///< why it ended (noproc: it did not exist)
  friend bool operator==(const MonitorPExit&, const MonitorPExit&) = default;
};
/// SPAWN_REQUEST: spawn `module:function/arity` with `args` (DFLAG_SPAWN).
struct SpawnRequest {
  Ref request;              ///< the request's id, echoed in the reply
  Pid from;                 ///< the requesting process
  Pid group_leader;         ///< the new process's group leader
  Atom module;              ///< the module
  Atom function;            ///< the function
  std::uint32_t arity = 0;  ///< the number of arguments
  Term options;             ///< a list
  Term args;                ///< a list (the payload)
  Token token;              ///< the trace token, for the _TT form
  friend bool operator==(const SpawnRequest&, const SpawnRequest&) = default;
};
/// SPAWN_REPLY: the answer to a SpawnRequest.
struct SpawnReply {
  Ref request;              ///< the request's id
  Pid to;                   ///< the requesting process
  std::uint32_t flags = 0;  ///< 1: linked, 2: monitored
  Term result;              ///< the new pid, or why it failed
  Token token;              ///< the trace token, for the _TT form
  friend bool operator==(const SpawnReply&, const SpawnReply&) = default;
};
/// A message to a process alias.
struct AliasSend {
  Pid from;      ///< the sender
  Ref alias;     ///< the alias on the receiving node
  Term message;  ///< the payload
  Token token;   ///< the trace token, for the _TT form
  friend bool operator==(const AliasSend&, const AliasSend&) = default;
};
/// UNLINK_ID: `from` unlinks from `to`; the peer acknowledges `id`.
struct UnlinkId {
  std::uint64_t id = 0;  ///< the unlink's id (1 to 2^64 - 1)
  Pid from;              ///< the unlinking process
  Pid to;                ///< the process unlinked from
  friend bool operator==(const UnlinkId&, const UnlinkId&) = default;
};
/// The answer to UnlinkId (`from` is the side that acknowledges).
struct UnlinkIdAck {
  std::uint64_t id = 0;  ///< the id of the UnlinkId acknowledged
  Pid from;              ///< the acknowledging process
  Pid to;                ///< the process that unlinked
  friend bool operator==(const UnlinkIdAck&, const UnlinkIdAck&) = default;
};
}  // namespace control

/// One control message.
using ControlMessage =
    std::variant<control::Link, control::Send, control::Exit, control::Unlink, control::NodeLink,
                 control::RegSend, control::GroupLeader, control::Exit2, control::MonitorP,
                 control::DemonitorP, control::MonitorPExit, control::SpawnRequest,
                 control::SpawnReply, control::AliasSend, control::UnlinkId, control::UnlinkIdAck>;

/// A control message as terms: the control tuple and, for the operations that have one, the
/// payload.
struct ControlTerms {
  Term control;                 ///< the control tuple
  std::optional<Term> payload;  ///< the payload, for the send-like and PAYLOAD_ operations
};

/// The terms of `m` in the form the negotiated `flags` call for.
ControlTerms to_terms(const ControlMessage& m, Flags flags);
/// The message of a control tuple and its payload (any form of each operation). Errors:
/// unknown_message for an operation not listed above, malformed for a tuple of the wrong shape
/// or a payload missing, trailing_bytes for a payload where the operation has none; offsets 0.
std::expected<ControlMessage, WireError> from_terms(const Term& control,
                                                    const std::optional<Term>& payload);

}  // namespace ambitious::dist
