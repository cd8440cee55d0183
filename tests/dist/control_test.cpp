#include "ambitious/dist/control.hpp"

#include <gtest/gtest.h>

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::dist::control;

namespace {

Pid remote_pid(std::uint32_t id) {
  auto node = nodes::intern(NodeId{Atom("peer@127.0.0.1"), 77});
  return Pid(*node, id, 0);
}
const Pid a = remote_pid(10), b = remote_pid(11);
const Term token = Term::tuple(0, atom("label"), 1, a, 0);

std::vector<ControlMessage> every_message() {
  Ref r = Ref::make();
  return {
      Link{a, b},
      Send{a, b, Term::tuple(atom("hi"), 1), std::nullopt},
      Send{std::nullopt, b, atom("anon"), std::nullopt},
      Send{a, b, atom("traced"), token},
      Exit{a, b, atom("boom"), std::nullopt},
      Exit{a, b, atom("boom"), token},
      Unlink{a, b},
      NodeLink{},
      RegSend{a, Atom("counter"), Term::tuple(atom("$gen_cast"), atom("reset")), std::nullopt},
      RegSend{a, Atom("counter"), atom("x"), token},
      GroupLeader{a, b},
      Exit2{a, b, atoms::kill, std::nullopt},
      Exit2{a, b, atoms::normal, token},
      MonitorP{a, b, r},
      MonitorP{a, Atom("crasher"), r},
      DemonitorP{a, Atom("crasher"), r},
      MonitorPExit{Atom("crasher"), a, r, atom("boom")},
      MonitorPExit{b, a, r, atoms::noproc},
      SpawnRequest{r, a, b, Atom("interop"), Atom("add"), 2, Term::list(atom("link")),
                   Term::list(1, 2), std::nullopt},
      SpawnRequest{r, a, b, Atom("m"), Atom("f"), 0, Term(), Term(), token},
      SpawnReply{r, a, 3, Term(b), std::nullopt},
      SpawnReply{r, a, 0, atom("badarg"), token},
      AliasSend{
          a, r,
          Term::tuple(Term::list_from(std::vector<Term>{atom("alias")}, Term(r)), atom("yes")),
          std::nullopt},
      AliasSend{a, r, atom("x"), token},
      UnlinkId{4, a, b},
      UnlinkId{UINT64_MAX, a, b},
      UnlinkIdAck{4, b, a},
  };
}

int op_of(const ControlTerms& t) { return static_cast<int>(t.control[0].as_int64()); }

}  // namespace

TEST(Control, every_message_round_trips_in_every_form) {
  for (Flags flags : {default_flags, mandatory_flags}) {
    for (const ControlMessage& m : every_message()) {
      ControlTerms t = to_terms(m, flags);
      auto back = from_terms(t.control, t.payload);
      ASSERT_TRUE(back) << t.control.to_string() << ": " << to_string(back.error());
      // Without SEND_SENDER a send goes as SEND, which has no sender.
      ControlMessage expected = m;
      if (auto* s = std::get_if<Send>(&expected); s && !(flags & flag::send_sender))
        s->from.reset();
      EXPECT_TRUE(*back == expected) << t.control.to_string();
    }
  }
}

TEST(Control, the_form_follows_the_negotiated_flags) {
  Send s{a, b, atom("m"), std::nullopt};
  EXPECT_EQ(op_of(to_terms(s, default_flags)), op::send_sender);
  ControlTerms old = to_terms(s, mandatory_flags);
  EXPECT_EQ(old.control, Term::tuple(op::send, atoms::empty, b));
  EXPECT_EQ(old.payload, atom("m"));
  Exit e{a, b, atom("why"), std::nullopt};
  ControlTerms pe = to_terms(e, default_flags);
  EXPECT_EQ(pe.control, Term::tuple(op::payload_exit, a, b));
  EXPECT_EQ(pe.payload, atom("why"));
  EXPECT_EQ(to_terms(e, mandatory_flags).control, Term::tuple(op::exit, a, b, atom("why")));
  e.token = token;
  EXPECT_EQ(to_terms(e, mandatory_flags).control,
            Term::tuple(op::exit_tt, a, b, token, atom("why")));
  EXPECT_EQ(op_of(to_terms(e, default_flags)), op::payload_exit_tt);
  Ref r = Ref::make();
  MonitorPExit down{Atom("crasher"), a, r, atom("boom")};
  EXPECT_EQ(to_terms(down, default_flags).control,
            Term::tuple(op::payload_monitor_p_exit, atom("crasher"), a, r));
  EXPECT_EQ(to_terms(down, mandatory_flags).control,
            Term::tuple(op::monitor_p_exit, atom("crasher"), a, r, atom("boom")));
  EXPECT_EQ(op_of(to_terms(Exit2{a, b, atoms::kill, std::nullopt}, default_flags)),
            op::payload_exit2);
  EXPECT_EQ(op_of(to_terms(RegSend{a, Atom("x"), atom("m"), token}, 0)), op::reg_send_tt);
}

TEST(Control, the_old_forms_decode_whatever_was_negotiated) {
  auto send = from_terms(Term::tuple(op::send, atoms::empty, b), atom("m"));
  ASSERT_TRUE(send);
  EXPECT_TRUE(*send == ControlMessage(Send{std::nullopt, b, atom("m"), std::nullopt}));
  auto exit = from_terms(Term::tuple(op::exit_tt, a, b, token, atom("r")), std::nullopt);
  ASSERT_TRUE(exit);
  EXPECT_TRUE(*exit == ControlMessage(Exit{a, b, atom("r"), token}));
  auto mexit = from_terms(Term::tuple(op::monitor_p_exit, b, a, Term(Ref::make()), atoms::noproc),
                          std::nullopt);
  ASSERT_TRUE(mexit);
  EXPECT_EQ(std::get<MonitorPExit>(*mexit).reason, Term(atoms::noproc));
  // An UNLINK_ID id beyond 63 bits arrives as a bignum.
  auto big =
      from_terms(Term::tuple(op::unlink_id, Term(std::uint64_t{1} << 63), a, b), std::nullopt);
  ASSERT_TRUE(big);
  EXPECT_EQ(std::get<UnlinkId>(*big).id, std::uint64_t{1} << 63);
}

TEST(Control, bad_control_tuples_are_refused) {
  auto code = [](const Term& c, std::optional<Term> p = std::nullopt) {
    auto r = from_terms(c, p);
    return r ? WireErrc{} : r.error().code;
  };
  Term r = Term(Ref::make());
  EXPECT_EQ(code(atom("link")), WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple()), WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(atom("one"), a, b)), WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(99, a, b)), WireErrc::unknown_message);
  EXPECT_EQ(code(Term::tuple(std::int64_t{1} << 40, a, b)), WireErrc::unknown_message);
  EXPECT_EQ(code(Term::tuple(op::link, a)), WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::link, a, atom("b"))), WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::link, a, b), atom("extra")), WireErrc::trailing_bytes);
  EXPECT_EQ(code(Term::tuple(op::send_sender, a, b)), WireErrc::malformed);  // no payload
  EXPECT_EQ(code(Term::tuple(op::reg_send, a, atoms::empty, 5), atom("m")), WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::monitor_p, a, 5, r)), WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::monitor_p, a, b, a)), WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::unlink_id, -1, a, b)), WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::unlink_id, Term(1.5), a, b)), WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::spawn_request, r, a, b, Term::tuple(atom("m"), atom("f")), Term()),
                 Term()),
            WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::spawn_reply, r, a, -3, b)), WireErrc::malformed);
}

// SPAWN_REQUEST as OTP 25's erpc:call sends it (observed: the options are [monitor]; reply and
// reply_tag stay on the requesting node), its _TT form, and what is malformed in one.
TEST(Control, a_spawn_request_as_erpc_sends_it_decodes_with_its_args_from_the_payload) {
  Ref id = Ref::make();
  Term res = Term(Ref::make());
  Term mfa = Term::tuple(atom("erpc"), atom("execute_call"), 4);
  Term args = Term::list(res, atom("interop"), atom("add"), Term::list(1, 2));
  auto m =
      from_terms(Term::tuple(op::spawn_request, id, a, b, mfa, Term::list(atom("monitor"))), args);
  ASSERT_TRUE(m);
  auto* s = std::get_if<SpawnRequest>(&*m);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->request, id);
  EXPECT_EQ(s->from, a);
  EXPECT_EQ(s->group_leader, b);
  EXPECT_EQ(s->module, Atom("erpc"));
  EXPECT_EQ(s->function, Atom("execute_call"));
  EXPECT_EQ(s->arity, 4u);
  EXPECT_EQ(s->options, Term::list(atom("monitor")));
  EXPECT_EQ(s->args, args);
  EXPECT_FALSE(s->token);

  auto tt = from_terms(
      Term::tuple(op::spawn_request_tt, id, a, b, mfa, Term::list(atom("link")), token), args);
  ASSERT_TRUE(tt);
  auto* t = std::get_if<SpawnRequest>(&*tt);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, token);
  EXPECT_EQ(t->options, Term::list(atom("link")));
  EXPECT_EQ(t->args, args);

  auto code = [](const Term& c, std::optional<Term> p) {
    auto r = from_terms(c, p);
    return r ? WireErrc{} : r.error().code;
  };
  // No args payload; options not a list; an arity that is no integer; a group leader that is
  // no pid.
  EXPECT_EQ(code(Term::tuple(op::spawn_request, id, a, b, mfa, Term::list()), std::nullopt),
            WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::spawn_request, id, a, b, mfa, atom("monitor")), args),
            WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::spawn_request, id, a, b,
                             Term::tuple(atom("m"), atom("f"), atom("x")), Term::list()),
                 args),
            WireErrc::malformed);
  EXPECT_EQ(code(Term::tuple(op::spawn_request, id, a, atom("gl"), mfa, Term::list()), args),
            WireErrc::malformed);
  // The reply: {31, ReqId, To, Flags, Result}, the flags 1 (linked) | 2 (monitored).
  auto reply = to_terms(SpawnReply{id, a, 2, Term(b), std::nullopt}, default_flags);
  EXPECT_EQ(reply.control, Term::tuple(op::spawn_reply, id, a, 2, b));
  EXPECT_FALSE(reply.payload);
  auto reply_tt = to_terms(SpawnReply{id, a, 0, atom("notsup"), token}, default_flags);
  EXPECT_EQ(reply_tt.control, Term::tuple(op::spawn_reply_tt, id, a, 0, atom("notsup"), token));
}
