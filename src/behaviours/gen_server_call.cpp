// The steps of gen_server:call that do not depend on the server's or the request's type
// (CallBase, in gen_server_call.hpp).
#include "ambitious/behaviours/detail/gen_server_call.hpp"
#include "ambitious/behaviours/gen_server.hpp"

#include <string>

namespace ambitious::detail {

bool CallBase::call_local(std::optional<Pid> pid, Message* request, From& from) {
  MessagePtr owned(request);
  if (!pid) return true;  // error_ is noproc
  Pid me = self();
  if (*pid == me) {
    error_ = atoms::calling_self;
    return true;
  }
  mref_ = monitor(*pid);
  from.pid = me;
  from.tag = mref_;
  deliver(*pid, owned.release());
  return wait();
}

bool CallBase::call_remote(const ServerTarget& server, Term request) {
  const RegisteredName* name = server.registered_name();
  Pid pid = name ? Pid() : *server.pid();
  remote_node_ = name ? name->node : pid.node();
  mref_ = name ? monitor(*name) : monitor(pid);
  Term message =
      Term::tuple(atoms::gen_call, Term::tuple(self(), Term::cons(Term(atoms::alias), Term(mref_))),
                  std::move(request));
  if (name)
    send(*name, std::move(message));
  else
    send(pid, std::move(message));
  return wait();
}

void CallBase::throw_no_codec(std::string_view request, std::string_view reply,
                              const ServerTarget& server) {
  throw BadArg("gen_server::call: " + std::string(request) + " and its reply " +
               std::string(reply) + " need a Codec to be sent to " + server.describe().to_string() +
               ", a server of another node");
}

bool CallBase::wait() {
  waiting_ = true;
  receive_ = ReceiveRequest{&match, this, timeout_ms_, &mref_};
  return receive_ready(receive_);
}

// The clauses of the call's receive, in order: 0 the reply (tagged with the monitor's ref), 1
// the server's Down, 2 the reply from another node as a Term that decodes into one. A decoded
// reply waits in decoded_term until finish takes it, as a receive clause's does.
int CallBase::match(const void* self, Message& m) {
  const auto& call = *static_cast<const CallBase*>(self);
  if (m.type == call.reply_->type) return call.reply_->tag(m) == call.mref_ ? 0 : -1;
  if (m.type == message_type<Down>) return value_of<Down>(m).ref == call.mref_ ? 1 : -1;
  if (m.type == message_type<Term> && call.reply_->decode) [[unlikely]] {
    Message* reply = call.reply_->decode(value_of<Term>(m), call.mref_);
    if (!reply) return -1;
    MessagePtr stale(std::exchange(decoded_term, reply));
    return 2;
  }
  return -1;
}

MessagePtr CallBase::finish() {
  if (!waiting_) return MessagePtr();  // over before the request left: error_ says why
  MessagePtr m(receive_.matched);
  if (m.get() && receive_.clause == 1) {
    // The server's Down: the monitor is gone already.
    error_ = std::move(value_of<Down>(*m.get()).reason);
    // OTP's gen:do_call: a monitor that says noconnection is the node going down.
    if (remote_node_ && error_.is(atoms::noconnection))
      error_ = ExitReason(Term::tuple(atoms::nodedown, *remote_node_));
    return MessagePtr();
  }
  // Without the Down, the monitor is still there: removing it also turns a late reply away
  // (the reply travels to the monitor as an alias).
  demonitor(mref_, Flush::yes);
  if (!m.get()) {
    error_ = atoms::timeout;
    return MessagePtr();
  }
  if (receive_.clause == 2) return MessagePtr(std::exchange(decoded_term, nullptr));
  return m;
}

void cast_remote(const ServerTarget& server, Term msg) {
  Term message = Term::tuple(atoms::gen_cast, std::move(msg));
  if (const RegisteredName* name = server.registered_name())
    send(*name, std::move(message));
  else
    send(*server.pid(), std::move(message));
}

void throw_cast_no_codec(std::string_view msg, const ServerTarget& server) {
  throw BadArg("gen_server::cast: " + std::string(msg) + " needs a Codec to be sent to " +
               server.describe().to_string() + ", a server of another node");
}

}  // namespace ambitious::detail
