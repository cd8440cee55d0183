// The parts of a GenServer's process that do not depend on its type (gen_server_loop.hpp):
// taking the name, the init handshake between the starter and the server, the reports.

#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/behaviours/logger.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/send.hpp"

namespace ambitious::detail {
namespace {

/// The server's answer to its starter: running, ignored, or why not.
struct InitAck {
  Ref tag;
  enum Kind { ok, ignore, error } kind;
  ExitReason reason;
};

ExitReason already_started(Pid holder) {
  return ExitReason(Term::tuple(atoms::already_started, holder));
}

/// The name is taken: the starter gets `reason` and this process ends `normal`.
[[noreturn]] void name_taken(Pid starter, Ref tag, ExitReason reason) {
  send(starter, InitAck{tag, InitAck::error, std::move(reason)});
  exit(atoms::normal);
}

}  // namespace

void DropLoopExtra::operator()(LoopExtra* extra) const noexcept { delete extra; }

LoopExtra& LoopControl::more() {
  if (!extra) extra.reset(new LoopExtra);
  return *extra;
}

LoopControl stop_with(ExitReason reason) {
  LoopControl stop;
  stop.more().stop = true;
  stop.extra->reason = std::move(reason);
  return stop;
}

Task<> claim_server_name(Pid starter, Ref tag, const ServerName& name) {
  if (auto* atom = std::get_if<Atom>(&name)) {
    if (auto holder = whereis(*atom)) name_taken(starter, tag, already_started(*holder));
    try {
      register_name(*atom, self());
    } catch (const BadArg&) {
      auto holder = whereis(*atom);
      name_taken(starter, tag, holder ? already_started(*holder) : ExitReason(atoms::badarg));
    }
  } else {
    Pid holder;
    if (!co_await std::get<1>(name)->claim(&holder))
      name_taken(starter, tag, already_started(holder));
  }
}

void ack_server_started(Pid starter, Ref tag) {
  send(starter, InitAck{tag, InitAck::ok, atoms::normal});
}

void ack_server_ignored(Pid starter, Ref tag) {
  send(starter, InitAck{tag, InitAck::ignore, atoms::ignore});
}

void fail_server_init(Pid starter, Ref tag, ExitReason reason) {
  send(starter, InitAck{tag, InitAck::error, reason});
  exit(std::move(reason));
}

Task<std::expected<Pid, ExitReason>> await_server_start(Pid pid, bool linked, Ref tag,
                                                        Timeout timeout) {
  using Out = std::expected<Pid, ExitReason>;
  Ref mref = monitor(pid);
  bool timed_out = false;
  Out out =
      co_await receive(match<InitAck>([&](const InitAck& a) { return a.tag == tag; },
                                      [&](InitAck a) {
                                        if (a.kind == InitAck::ok) return Out(pid);
                                        return Out(std::unexpect, std::move(a.reason));
                                      }),
                       match<Down>([&](const Down& d) { return d.ref == mref; },
                                   [](Down d) { return Out(std::unexpect, std::move(d.reason)); }),
                       after(timeout, [&] {
                         timed_out = true;
                         return Out(std::unexpect, atoms::timeout);
                       }));
  if (timed_out) {
    // OTP: init took too long, so the server is killed (unlinked first, so the caller lives)
    // and start fails with `timeout`. An ack it sent meanwhile comes before its Down: drop it.
    if (linked) unlink(pid);
    ambitious::exit(pid, atoms::kill);
    co_await receive_if<Down>([&](const Down& d) { return d.ref == mref; });
    co_await receive_if<InitAck>([&](const InitAck& a) { return a.tag == tag; },
                                 std::chrono::milliseconds(0));
    co_return out;
  }
  demonitor(mref, Flush::yes);
  co_return out;
}

void report_unexpected_message(std::string_view server, std::string_view what) {
  log(LogReport{LogLevel::warning, "gen_server_unexpected_message", self(),
                "** " + std::string(server) + " " + to_string(self()) +
                    " dropped a message of undeclared type " + std::string(what)});
}

void report_unexpected_call(std::string_view server, const Term& request) {
  log(LogReport{LogLevel::warning, "gen_server_unexpected_message", self(),
                "** " + std::string(server) + " " + to_string(self()) +
                    " dropped a call from another node that none of its `calls` decodes: " +
                    request.to_string()});
}

std::optional<From> from_of_wire(const Term& from) {
  if (!from.is_tuple() || from.size() != 2 || !from[0].is_pid()) return std::nullopt;
  Term tag = from[1];
  bool plain = true;
  if (tag.is_cons() && tag.head() == Term(atoms::alias)) {
    tag = tag.tail();
    plain = false;
  }
  if (!tag.is_ref()) return std::nullopt;
  return From{from[0].as_pid(), tag.as_ref(), nullptr, plain};
}

void report_unexpected_exit(std::string_view server, const Exit& e) {
  log(LogReport{LogLevel::warning, "gen_server_unexpected_message", self(),
                "** " + std::string(server) + " " + to_string(self()) + " dropped an Exit from " +
                    to_string(e.from) + ": " + e.reason.to_string()});
}

void report_terminate_failed(std::string_view server, const ExitReason& reason,
                             const ExitReason& crash) {
  log(LogReport{LogLevel::error, "gen_server_terminate_failed", self(),
                "** terminate of " + std::string(server) + " " + to_string(self()) +
                    " (ending with " + reason.to_string() + ") failed: " + crash.to_string()});
}

void report_server_terminated(std::string_view server, const ExitReason& reason,
                              std::string_view last_message) {
  if (reason.is_normal() || reason.is_shutdown()) return;  // OTP reports only abnormal ends
  if (!log_enabled(LogLevel::error)) return;
  log(LogReport{LogLevel::error, "gen_server_terminated", self(),
                "** Generic server " + to_string(self()) + " (" + std::string(server) +
                    ") terminating\n** Last message in was of type " + std::string(last_message) +
                    "\n** Reason for termination ==\n** " + reason.to_string()});
}

void reply_type_mismatch(std::string_view waited, std::string_view sent) {
  throw std::invalid_argument("gen_server::reply: the caller waits for a " + std::string(waited) +
                              ", not a " + std::string(sent));
}

void send_plain_reply(const From& from, Term reply) {
  send(from.pid, Term::tuple(Term(from.tag), std::move(reply)));
}

void reply_without_codec(std::string_view type) {
  throw std::invalid_argument("gen_server::reply: " + std::string(type) +
                              " has no Codec, and the caller is of another node");
}

void exit_call_failed(const ExitReason& reason, const ServerTarget& server) {
  exit(ExitReason(Term::tuple(
      reason.term(), Term::tuple(atoms::gen_server, atoms::call, Term::list(server.describe())))));
}

// The server's target is resolved when the stop runs (the task is lazy), as in the template it
// replaces.
Task<std::expected<void, ExitReason>> stop_server(ServerTarget server, ExitReason reason,
                                                  Timeout timeout) {
  using Out = std::expected<void, ExitReason>;
  std::optional<Pid> pid = server.resolve();
  if (!pid) co_return Out(std::unexpect, atoms::noproc);
  Ref mref = monitor(*pid);
  send(*pid, SystemStop{reason});
  auto down =
      co_await receive_if<Down>([&](const Down& d) { return d.ref == mref; }, timeout).since(mref);
  if (!down) {
    demonitor(mref, Flush::yes);
    co_return Out(std::unexpect, atoms::timeout);
  }
  if (down->reason == reason) co_return Out();
  co_return Out(std::unexpect,
                down->reason.is(atoms::noproc) ? ExitReason(atoms::noproc) : down->reason);
}

}  // namespace ambitious::detail
