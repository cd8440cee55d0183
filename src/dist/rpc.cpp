#include "ambitious/dist/rpc.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "ambitious/process/detail/exit_exception.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "rpc_service.hpp"

namespace ambitious::dist {

namespace {

const Atom rex("rex");
const Atom erpc("erpc");
const Atom execute_call("execute_call");
const Atom execute_cast("execute_cast");
const Atom return_("return");
const Atom throw_("throw");
const Atom exit_("exit");
const Atom undef("undef");
const Atom function_clause("function_clause");
const Atom nocatch("nocatch");
const Atom badrpc("badrpc");
const Atom notsup("notsup");
const Atom badopt("badopt");
const Atom link_("link");
const Atom monitor_("monitor");
const Atom block_call("block_call");
const Atom cast("cast");

// The registered functions, by (module, function, arity).
struct Key {
  std::uint32_t module, function;
  unsigned arity;
  auto operator<=>(const Key&) const = default;
};
Key key(Atom m, Atom f, unsigned arity) { return {m.index(), f.index(), arity}; }

std::mutex table_mutex;
std::map<Key, RemoteFunction> table;  // under table_mutex

// The rpc server running now (the null pid: none), under server_mutex.
std::mutex server_mutex;
Pid server;

Pid current_server() {
  std::lock_guard lock(server_mutex);
  return server;
}

// How a function application ended: its value, or the exception it raised.
struct Outcome {
  std::optional<ExceptionClass> raised;  // none: returned `value`
  Term value;                            // the result, or the exception's reason
};

// Erlang's stack of an exception raised by M:F(Args): one frame, the call itself.
Term stack_of(Atom m, Atom f, const std::vector<Term>& args) {
  return Term::list(Term::tuple(m, f, Term::list_from(std::span<const Term>(args)), Term::list()));
}

// Applies M:F to `args` as Erlang's apply/3 does: an unregistered MFA raises error:undef.
Task<Outcome> apply(Atom m, Atom f, std::vector<Term> args) {
  auto fn = find_function(m, f, static_cast<unsigned>(args.size()));
  if (!fn) co_return Outcome{ExceptionClass::error, Term(undef)};
  try {
    Term v = co_await (*fn)(std::move(args));
    co_return Outcome{std::nullopt, std::move(v)};
  } catch (const ErlangException& e) {
    co_return Outcome{e.kind(), e.reason()};
  } catch (const BadArg&) {
    co_return Outcome{ExceptionClass::error, Term(atoms::badarg)};
  } catch (const ambitious::detail::ProcessExit& e) {
    // The process's exit/1 inside the function is Erlang's exit/1 there: an exception that
    // execute_call catches like the others.
    co_return Outcome{ExceptionClass::exit, e.reason.term()};
  } catch (const std::exception& e) {
    // As the process layer's {exception, What} for an exception that escapes a process body.
    co_return Outcome{ExceptionClass::error, ExitReason::exception(e.what()).term()};
  } catch (...) {
    co_return Outcome{ExceptionClass::error, ExitReason::exception("unknown exception").term()};
  }
}

// The arguments of erpc:execute_call(Ref, M, F, Args) or execute_cast(M, F, Args).
struct Mfa {
  Atom module, function;
  std::vector<Term> args;
};
std::optional<Mfa> mfa_of(const Term& m, const Term& f, const Term& a) {
  if (!m.is_atom() || !f.is_atom() || !a.is_proper_list()) return std::nullopt;
  return Mfa{m.as_atom(), f.as_atom(), a.list_elements()};
}

// What Erlang's process would end with after `o` escaped M:F(Args) (a plain spawn, execute_cast).
ExitReason crash_reason(const Outcome& o, const Term& stack) {
  switch (*o.raised) {
    case ExceptionClass::exit:
      return ExitReason(o.value);
    case ExceptionClass::throw_:
      return ExitReason(Term::tuple(Term::tuple(nocatch, o.value), stack));
    case ExceptionClass::error:
      break;
  }
  return ExitReason(Term::tuple(o.value, stack));
}

// erpc:execute_call(Ref, M, F, Args): the process ends with the result, for the requester's
// monitor: {Ref, return, V}, {Ref, throw, R}, {Ref, exit, R}, {Ref, error, R, Stack}, or
// {Ref, error, {erpc, badarg}} for arguments apply/3 refuses.
Task<> run_execute_call(std::vector<Term> args) {
  const Term& ref = args[0];
  auto call = mfa_of(args[1], args[2], args[3]);
  if (!call) exit(ExitReason(Term::tuple(ref, atoms::error, Term::tuple(erpc, atoms::badarg))));
  Term stack = stack_of(call->module, call->function, call->args);
  Outcome o = co_await apply(call->module, call->function, std::move(call->args));
  if (!o.raised) exit(ExitReason(Term::tuple(ref, return_, std::move(o.value))));
  switch (*o.raised) {
    case ExceptionClass::throw_:
      exit(ExitReason(Term::tuple(ref, throw_, std::move(o.value))));
    case ExceptionClass::exit:
      exit(ExitReason(Term::tuple(ref, exit_, std::move(o.value))));
    case ExceptionClass::error:
      break;
  }
  exit(ExitReason(Term::tuple(ref, atoms::error, std::move(o.value), std::move(stack))));
}

// erpc:execute_cast(M, F, Args): nobody waits; an error ends the process as execute_cast's
// re-raised error({exception, {Reason, Stack}}) would.
Task<> run_execute_cast(std::vector<Term> args) {
  auto call = mfa_of(args[0], args[1], args[2]);
  if (!call) exit(ExitReason(Term::tuple(Term::tuple(erpc, atoms::badarg), Term::list())));
  Term stack = stack_of(call->module, call->function, call->args);
  Outcome o = co_await apply(call->module, call->function, std::move(call->args));
  if (!o.raised) co_return;
  if (*o.raised != ExceptionClass::error) exit(crash_reason(o, stack));
  Term reason = Term::tuple(atoms::exception, Term::tuple(std::move(o.value), stack));
  exit(ExitReason(Term::tuple(std::move(reason), Term::list())));
}

// What the node posts to a held process: run, or end with `abort`.
struct Release {
  std::optional<Term> abort;
};

// The body of a process a peer asked for: held until the node releases it, then
// M:F(Args) as Erlang's spawn runs it (the erpc entry points as erpc does).
Task<> spawned(Atom m, Atom f, std::vector<Term> args) {
  Release r = co_await receive<Release>();
  if (r.abort) exit(ExitReason(std::move(*r.abort)));
  if (m == erpc && f == execute_call && args.size() == 4) {
    co_await run_execute_call(std::move(args));
    co_return;
  }
  if (m == erpc && f == execute_cast && args.size() == 3) {
    co_await run_execute_cast(std::move(args));
    co_return;
  }
  Term stack = stack_of(m, f, args);
  Outcome o = co_await apply(m, f, std::move(args));
  if (o.raised) exit(crash_reason(o, stack));
}

// A spawn request on its way to the rpc server. Destroyed unanswered (the server's mailbox
// went with the server, or nobody took it), it answers `notsup`.
struct SpawnJob {
  control::SpawnRequest request;
  detail::SpawnAnswer answer;  // link and monitor decided already
  detail::SpawnDone done;
  SpawnJob(control::SpawnRequest r, detail::SpawnAnswer a, detail::SpawnDone d)
      : request(std::move(r)), answer(std::move(a)), done(std::move(d)) {}
  SpawnJob(SpawnJob&& o) noexcept
      : request(std::move(o.request)), answer(std::move(o.answer)), done(std::move(o.done)) {
    o.done = nullptr;  // the moved-from job answers nothing
  }
  SpawnJob& operator=(SpawnJob&&) = delete;
  ~SpawnJob() {
    if (!done) return;
    answer.error = notsup;
    done(std::move(answer));
  }
  void answer_with(Pid pid) {
    answer.process.emplace(pid);
    auto d = std::move(done);
    done = nullptr;
    d(std::move(answer));
  }
};

// rex's answer to rpc:call/block_call of M:F(Args), as rpc:execute_call gives it: the value, a
// thrown value itself, {badrpc, {'EXIT', R}} for exit(R), {badrpc, {'EXIT', {R, Stack}}} for an
// error.
Task<Term> rpc_result(const Term& m, const Term& f, const Term& a) {
  auto call = mfa_of(m, f, a);
  if (!call) co_return Term::tuple(badrpc, Term::tuple(atoms::EXIT, atoms::badarg));
  Term stack = stack_of(call->module, call->function, call->args);
  Outcome o = co_await apply(call->module, call->function, std::move(call->args));
  if (!o.raised || *o.raised == ExceptionClass::throw_) co_return std::move(o.value);
  if (*o.raised == ExceptionClass::exit)
    co_return Term::tuple(badrpc, Term::tuple(atoms::EXIT, std::move(o.value)));
  co_return Term::tuple(badrpc, Term::tuple(atoms::EXIT, Term::tuple(std::move(o.value), stack)));
}

// rex's {call, M, F, A, GL}: answered by a process of its own, so rex goes on meanwhile.
Task<> answer_call(Term from, Term tag, Term m, Term f, Term a) {
  Term reply = co_await rpc_result(m, f, a);
  // gen_server's reply {Tag, Reply} to the caller's pid ([alias | Ref] tags match there too),
  // or rex's old {rex, Reply} when the tag is `rex`.
  send(from.as_pid(), Term::tuple(std::move(tag), std::move(reply)));
}

Task<> answer_cast(Term m, Term f, Term a) {
  auto call = mfa_of(m, f, a);
  if (!call) co_return;
  Term stack = stack_of(call->module, call->function, call->args);
  Outcome o = co_await apply(call->module, call->function, std::move(call->args));
  if (o.raised) exit(crash_reason(o, stack));
}

bool is_call(const Term& r, Atom kind) {
  return r.is_tuple() && r.size() == 5 && r[0] == Term(kind);
}

// One message to rex: {'$gen_call', {Pid, Tag}, {call | block_call, M, F, A, GL}},
// {'$gen_cast', {cast, M, F, A, GL}}, or rex's plain {From, {call, M, F, A, GL}}.
Task<> serve_rex(const Term& t) {
  if (!t.is_tuple()) co_return;
  if (t.size() == 3 && t[0] == Term(atoms::gen_call) && t[1].is_tuple() && t[1].size() == 2 &&
      t[1][0].is_pid()) {
    const Term& from = t[1][0];
    const Term& tag = t[1][1];
    const Term& r = t[2];
    if (is_call(r, atoms::call)) {
      spawn(answer_call, from, tag, r[1], r[2], r[3]);
    } else if (is_call(r, block_call)) {
      // Run in turn, in rex itself, as OTP's rex does.
      Term reply = co_await rpc_result(r[1], r[2], r[3]);
      send(from.as_pid(), Term::tuple(tag, std::move(reply)));
    }
  } else if (t.size() == 2 && t[0] == Term(atoms::gen_cast) && is_call(t[1], cast)) {
    spawn(answer_cast, t[1][1], t[1][2], t[1][3]);
  } else if (t.size() == 2 && t[0].is_pid() && is_call(t[1], atoms::call)) {
    spawn(answer_call, t[0], Term(rex), t[1][1], t[1][2], t[1][3]);
  }
}

// Clears the server's pid when the rpc server ends, however it ends.
struct ServerRegistration {
  Pid me = self();
  ~ServerRegistration() {
    std::lock_guard lock(server_mutex);
    if (server == me) server = Pid();
  }
};

Task<> rpc_server() {
  ServerRegistration registration;
  for (;;) {
    std::optional<SpawnJob> job;
    std::optional<Term> request;
    // A message of any other C++ type is dropped, as OTP's rex drops what it does not know.
    co_await receive([&](SpawnJob j) { job.emplace(std::move(j)); },
                     [&](Term t) { request.emplace(std::move(t)); }, match_any([](auto) {}));
    if (job) {
      const auto& r = job->request;
      job->answer_with(spawn(spawned, r.module, r.function, r.args.list_elements()));
    } else if (request) {
      co_await serve_rex(*request);
    }
  }
}

}  // namespace

const char* ErlangException::what() const noexcept {
  if (what_.empty()) {
    try {
      const char* k = kind_ == ExceptionClass::error  ? "error:"
                      : kind_ == ExceptionClass::exit ? "exit:"
                                                      : "throw:";
      what_ = k + reason_.to_string();
    } catch (...) {
      return "erlang exception";
    }
  }
  return what_.c_str();
}

namespace detail {
void no_matching_clause() { throw ErlangException::error(Term(function_clause)); }
}  // namespace detail

void register_function(Atom module, Atom function, unsigned arity, RemoteFunction f) {
  if (!f) throw BadArg("register_function: an empty function");
  std::lock_guard lock(table_mutex);
  table.insert_or_assign(key(module, function, arity), std::move(f));
}

bool unregister_function(Atom module, Atom function, unsigned arity) {
  std::lock_guard lock(table_mutex);
  return table.erase(key(module, function, arity)) != 0;
}

std::optional<RemoteFunction> find_function(Atom module, Atom function, unsigned arity) {
  std::lock_guard lock(table_mutex);
  auto it = table.find(key(module, function, arity));
  if (it == table.end()) return std::nullopt;
  return it->second;
}

Pid rpc_server_pid() noexcept { return current_server(); }

namespace detail {

void start_rpc_server() noexcept {
  if (!current_server().is_null()) return;  // one runs in this runtime already
  try {
    Pid pid = spawn(rpc_server);
    try {
      register_name(rex, pid);
    } catch (...) {
      // The program registered a `rex` of its own: the node serves no rpc (notsup), as a
      // node without a server.
      exit(pid, atoms::kill);
      return;
    }
    // Set here rather than by the server itself, so that it serves once this returns.
    std::lock_guard lock(server_mutex);
    server = pid;
  } catch (...) {
    // Only an allocation failure: the node then answers spawn requests with notsup.
  }
}

HeldProcess::~HeldProcess() {
  if (!pid_.is_null()) abort(ExitReason(atoms::noconnection));
}

void HeldProcess::release() {
  if (pid_.is_null()) return;
  post(pid_, Release{});
  pid_ = Pid();
}

void HeldProcess::abort(const ExitReason& reason) {
  if (pid_.is_null()) return;
  post(pid_, Release{reason.term()});
  pid_ = Pid();
}

void serve_spawn(control::SpawnRequest request, SpawnDone done) {
  SpawnAnswer answer;
  // The options OTP 25's spawn_request sends on: link, monitor, and the spawn_opt options
  // that tune the process (of no meaning here). Anything else is badopt, as OTP answers.
  static const Atom tuning[] = {Atom("priority"),      Atom("fullsweep_after"),
                                Atom("min_heap_size"), Atom("min_bin_vheap_size"),
                                Atom("max_heap_size"), Atom("message_queue_data"),
                                Atom("async_dist")};
  bool options_ok = request.options.is_proper_list();
  if (options_ok) {
    for (const Term& o : request.options.list_elements()) {
      if (o == Term(link_)) {
        answer.link = true;
      } else if (o == Term(monitor_)) {
        answer.monitor = true;
      } else if (o.is_tuple() && o.size() == 2 && o[0].is_atom() &&
                 std::find(std::begin(tuning), std::end(tuning), o[0].as_atom()) !=
                     std::end(tuning)) {
      } else {
        options_ok = false;
      }
    }
  }
  if (!options_ok) {
    answer.error = badopt;
    done(std::move(answer));
    return;
  }
  if (!request.args.is_proper_list() || request.args.list_elements().size() != request.arity) {
    answer.error = atoms::badarg;
    done(std::move(answer));
    return;
  }
  Pid to = current_server();
  if (to.is_null()) {
    answer.error = notsup;
    done(std::move(answer));
    return;
  }
  // Unanswered (no runtime, the server gone), the job answers notsup as it is destroyed.
  post(to, SpawnJob(std::move(request), std::move(answer), std::move(done)));
}

}  // namespace detail

}  // namespace ambitious::dist
