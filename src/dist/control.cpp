#include "ambitious/dist/control.hpp"

#include <type_traits>

namespace ambitious::dist {

using namespace control;

namespace {

Term process_term(const ProcessRef& p) {
  return std::visit([](auto v) { return Term(v); }, p);
}

Term with_token(std::initializer_list<Term> head, const Token& token) {
  std::vector<Term> elems(head);
  if (token) elems.push_back(*token);
  return Term::tuple_from(std::span<Term>(elems));
}

// The readers of a control tuple's elements: false when an element has the wrong kind.
bool pid(const Term& t, Pid& out) {
  if (!t.is_pid()) return false;
  out = t.as_pid();
  return true;
}
bool ref(const Term& t, Ref& out) {
  if (!t.is_ref()) return false;
  out = t.as_ref();
  return true;
}
bool atom(const Term& t, Atom& out) {
  if (!t.is_atom()) return false;
  out = t.as_atom();
  return true;
}
bool process(const Term& t, ProcessRef& out) {
  if (t.is_pid()) {
    out = t.as_pid();
    return true;
  }
  if (t.is_atom()) {
    out = t.as_atom();
    return true;
  }
  return false;
}
// A non-negative integer of at most 64 bits (UNLINK_ID's ids reach 2^64 - 1, a bignum).
bool u64(const Term& t, std::uint64_t& out) {
  if (auto v = t.to_int64()) {
    if (*v < 0) return false;
    out = static_cast<std::uint64_t>(*v);
    return true;
  }
  if (!t.is_big() || t.big_negative() || t.big_magnitude().size() > 8) return false;
  out = 0;
  auto m = t.big_magnitude();
  for (std::size_t i = m.size(); i-- > 0;) out = out << 8 | m[i];
  return true;
}
bool u32(const Term& t, std::uint32_t& out) {
  std::uint64_t v;
  if (!u64(t, v) || v > UINT32_MAX) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

std::unexpected<WireError> malformed() {
  return std::unexpected(WireError{WireErrc::malformed, 0});
}

}  // namespace

ControlTerms to_terms(const ControlMessage& m, Flags flags) {
  const bool payload_exits = flags & flag::exit_payload;
  return std::visit(
      [&](const auto& x) -> ControlTerms {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Link>) {
          return {Term::tuple(op::link, x.from, x.to), std::nullopt};
        } else if constexpr (std::is_same_v<T, Send>) {
          if (x.from && (flags & flag::send_sender))
            return {with_token({x.token ? op::send_sender_tt : op::send_sender, *x.from, x.to},
                               x.token),
                    x.message};
          return {with_token({x.token ? op::send_tt : op::send, atoms::empty, x.to}, x.token),
                  x.message};
        } else if constexpr (std::is_same_v<T, Exit>) {
          if (payload_exits)
            return {with_token({x.token ? op::payload_exit_tt : op::payload_exit, x.from, x.to},
                               x.token),
                    x.reason};
          if (x.token)
            return {Term::tuple(op::exit_tt, x.from, x.to, *x.token, x.reason), std::nullopt};
          return {Term::tuple(op::exit, x.from, x.to, x.reason), std::nullopt};
        } else if constexpr (std::is_same_v<T, Unlink>) {
          return {Term::tuple(op::unlink, x.from, x.to), std::nullopt};
        } else if constexpr (std::is_same_v<T, NodeLink>) {
          return {Term::tuple(op::node_link), std::nullopt};
        } else if constexpr (std::is_same_v<T, RegSend>) {
          return {with_token({x.token ? op::reg_send_tt : op::reg_send, x.from, atoms::empty, x.to},
                             x.token),
                  x.message};
        } else if constexpr (std::is_same_v<T, GroupLeader>) {
          return {Term::tuple(op::group_leader, x.from, x.to), std::nullopt};
        } else if constexpr (std::is_same_v<T, Exit2>) {
          if (payload_exits)
            return {with_token({x.token ? op::payload_exit2_tt : op::payload_exit2, x.from, x.to},
                               x.token),
                    x.reason};
          if (x.token)
            return {Term::tuple(op::exit2_tt, x.from, x.to, *x.token, x.reason), std::nullopt};
          return {Term::tuple(op::exit2, x.from, x.to, x.reason), std::nullopt};
        } else if constexpr (std::is_same_v<T, MonitorP>) {
          return {Term::tuple(op::monitor_p, x.from, process_term(x.to), x.ref), std::nullopt};
        } else if constexpr (std::is_same_v<T, DemonitorP>) {
          return {Term::tuple(op::demonitor_p, x.from, process_term(x.to), x.ref), std::nullopt};
        } else if constexpr (std::is_same_v<T, MonitorPExit>) {
          if (payload_exits)
            return {Term::tuple(op::payload_monitor_p_exit, process_term(x.from), x.to, x.ref),
                    x.reason};
          return {Term::tuple(op::monitor_p_exit, process_term(x.from), x.to, x.ref, x.reason),
                  std::nullopt};
        } else if constexpr (std::is_same_v<T, SpawnRequest>) {
          Term mfa = Term::tuple(x.module, x.function, x.arity);
          return {with_token({x.token ? op::spawn_request_tt : op::spawn_request, x.request, x.from,
                              x.group_leader, mfa, x.options},
                             x.token),
                  x.args};
        } else if constexpr (std::is_same_v<T, SpawnReply>) {
          return {with_token({x.token ? op::spawn_reply_tt : op::spawn_reply, x.request, x.to,
                              x.flags, x.result},
                             x.token),
                  std::nullopt};
        } else if constexpr (std::is_same_v<T, AliasSend>) {
          return {
              with_token({x.token ? op::alias_send_tt : op::alias_send, x.from, x.alias}, x.token),
              x.message};
        } else if constexpr (std::is_same_v<T, UnlinkId>) {
          return {Term::tuple(op::unlink_id, x.id, x.from, x.to), std::nullopt};
        } else {
          static_assert(std::is_same_v<T, UnlinkIdAck>);
          return {Term::tuple(op::unlink_id_ack, x.id, x.from, x.to), std::nullopt};
        }
      },
      m);
}

std::expected<ControlMessage, WireError> from_terms(const Term& control,
                                                    const std::optional<Term>& payload) {
  if (!control.is_tuple() || control.size() == 0) return malformed();
  auto e = control.elements();
  auto op_value = e[0].to_int64();
  if (!op_value) return malformed();
  const std::size_t n = e.size();
  const int o = static_cast<int>(*op_value);
  if (*op_value != o) return std::unexpected(WireError{WireErrc::unknown_message, 0});
  // Operations with a payload need one, and the others must not have one.
  auto needs_payload = [&](bool needed) -> std::optional<WireError> {
    if (needed && !payload) return WireError{WireErrc::malformed, 0};
    if (!needed && payload) return WireError{WireErrc::trailing_bytes, 0};
    return std::nullopt;
  };
  auto result = [&](bool shape_ok, bool has_payload,
                    auto&& build) -> std::expected<ControlMessage, WireError> {
    if (!shape_ok) return malformed();
    if (auto err = needs_payload(has_payload)) return std::unexpected(*err);
    return build();
  };
  switch (o) {
    case op::link:
    case op::unlink:
    case op::group_leader: {
      Pid f, t;
      bool ok = n == 3 && pid(e[1], f) && pid(e[2], t);
      return result(ok, false, [&]() -> ControlMessage {
        if (o == op::link) return Link{f, t};
        if (o == op::unlink) return Unlink{f, t};
        return GroupLeader{f, t};
      });
    }
    case op::node_link:
      return result(n == 1, false, [] { return ControlMessage(NodeLink{}); });
    case op::send:
    case op::send_tt: {
      Pid t;
      bool tt = o == op::send_tt;
      bool ok = n == (tt ? 4u : 3u) && pid(e[2], t);
      return result(ok, true, [&] {
        return ControlMessage(Send{std::nullopt, t, *payload, tt ? Token(e[3]) : std::nullopt});
      });
    }
    case op::send_sender:
    case op::send_sender_tt: {
      Pid f, t;
      bool tt = o == op::send_sender_tt;
      bool ok = n == (tt ? 4u : 3u) && pid(e[1], f) && pid(e[2], t);
      return result(ok, true, [&] {
        return ControlMessage(Send{f, t, *payload, tt ? Token(e[3]) : std::nullopt});
      });
    }
    case op::exit:
    case op::exit2: {
      Pid f, t;
      bool ok = n == 4 && pid(e[1], f) && pid(e[2], t);
      return result(ok, false, [&]() -> ControlMessage {
        if (o == op::exit) return Exit{f, t, e[3], std::nullopt};
        return Exit2{f, t, e[3], std::nullopt};
      });
    }
    case op::exit_tt:
    case op::exit2_tt: {
      Pid f, t;
      bool ok = n == 5 && pid(e[1], f) && pid(e[2], t);
      return result(ok, false, [&]() -> ControlMessage {
        if (o == op::exit_tt) return Exit{f, t, e[4], e[3]};
        return Exit2{f, t, e[4], e[3]};
      });
    }
    case op::payload_exit:
    case op::payload_exit_tt:
    case op::payload_exit2:
    case op::payload_exit2_tt: {
      Pid f, t;
      bool tt = o == op::payload_exit_tt || o == op::payload_exit2_tt;
      bool ok = n == (tt ? 4u : 3u) && pid(e[1], f) && pid(e[2], t);
      return result(ok, true, [&]() -> ControlMessage {
        Token token = tt ? Token(e[3]) : std::nullopt;
        if (o == op::payload_exit || o == op::payload_exit_tt) return Exit{f, t, *payload, token};
        return Exit2{f, t, *payload, token};
      });
    }
    case op::reg_send:
    case op::reg_send_tt: {
      Pid f;
      Atom to;
      bool tt = o == op::reg_send_tt;
      bool ok = n == (tt ? 5u : 4u) && pid(e[1], f) && atom(e[3], to);
      return result(ok, true, [&] {
        return ControlMessage(RegSend{f, to, *payload, tt ? Token(e[4]) : std::nullopt});
      });
    }
    case op::monitor_p:
    case op::demonitor_p: {
      Pid f;
      ProcessRef to;
      Ref r;
      bool ok = n == 4 && pid(e[1], f) && process(e[2], to) && ref(e[3], r);
      return result(ok, false, [&]() -> ControlMessage {
        if (o == op::monitor_p) return MonitorP{f, to, r};
        return DemonitorP{f, to, r};
      });
    }
    case op::monitor_p_exit:
    case op::payload_monitor_p_exit: {
      ProcessRef f;
      Pid t;
      Ref r;
      bool with_payload = o == op::payload_monitor_p_exit;
      bool ok = n == (with_payload ? 4u : 5u) && process(e[1], f) && pid(e[2], t) && ref(e[3], r);
      return result(ok, with_payload, [&] {
        return ControlMessage(MonitorPExit{f, t, r, with_payload ? *payload : e[4]});
      });
    }
    case op::spawn_request:
    case op::spawn_request_tt: {
      SpawnRequest s;
      bool tt = o == op::spawn_request_tt;
      bool ok = n == (tt ? 7u : 6u) && ref(e[1], s.request) && pid(e[2], s.from) &&
                pid(e[3], s.group_leader) && e[4].is_tuple() && e[4].size() == 3 &&
                atom(e[4][0], s.module) && atom(e[4][1], s.function) && u32(e[4][2], s.arity) &&
                e[5].is_list();
      return result(ok, true, [&] {
        s.options = e[5];
        s.args = *payload;
        if (tt) s.token = e[6];
        return ControlMessage(std::move(s));
      });
    }
    case op::spawn_reply:
    case op::spawn_reply_tt: {
      SpawnReply s;
      bool tt = o == op::spawn_reply_tt;
      bool ok =
          n == (tt ? 6u : 5u) && ref(e[1], s.request) && pid(e[2], s.to) && u32(e[3], s.flags);
      return result(ok, false, [&] {
        s.result = e[4];
        if (tt) s.token = e[5];
        return ControlMessage(std::move(s));
      });
    }
    case op::alias_send:
    case op::alias_send_tt: {
      Pid f;
      Ref a;
      bool tt = o == op::alias_send_tt;
      bool ok = n == (tt ? 4u : 3u) && pid(e[1], f) && ref(e[2], a);
      return result(ok, true, [&] {
        return ControlMessage(AliasSend{f, a, *payload, tt ? Token(e[3]) : std::nullopt});
      });
    }
    case op::unlink_id:
    case op::unlink_id_ack: {
      std::uint64_t id;
      Pid f, t;
      bool ok = n == 4 && u64(e[1], id) && pid(e[2], f) && pid(e[3], t);
      return result(ok, false, [&]() -> ControlMessage {
        if (o == op::unlink_id) return UnlinkId{id, f, t};
        return UnlinkIdAck{id, f, t};
      });
    }
    default:
      return std::unexpected(WireError{WireErrc::unknown_message, 0});
  }
}

}  // namespace ambitious::dist
