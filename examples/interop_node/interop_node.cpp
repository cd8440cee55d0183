// interop_node: an ambitious node that Erlang code talks to as if it were an Erlang node (the
// contract is ../shared/protocols/erlang-dist-contract.md). Three registered processes under a
// one_for_one supervisor, written with the library's ordinary API, beside OTP's default pg
// scope (the scope process `pg`, which Erlang nodes' pg scopes exchange their groups with):
//   echo     (a plain process)  {Pid, Term} -> Pid ! {echo, Term};  {ping_me, Pid};
//            {ping_me_reg, Name, Node};  {whoami, Pid};  {call_erlang, Name, Node, Request, Pid};
//            {pg_members, Group, Pid} -> Pid ! {pg_members, Group, SortedMembers};
//            a member of the pg group `interop` (joined again by each restart)
//   counter  (a GenServer)      call get, call {add, N}, cast reset
//   crasher  (a plain process)  crash -> exits boom;  {whoami, Pid}
// and two C++ functions Erlang calls with erpc:call or rpc:call: interop:add(A, B) (integers of
// any size) and interop:echo(T).
//
// Run it beside an Erlang node (epmd on its default port, or ERL_EPMD_PORT for both; with no epmd
// answering, the node starts one of its own as erl does):
//   build/release/examples/interop_node --name cpp@127.0.0.1 --cookie secret [--ticktime 60]
//   erl -name x@127.0.0.1 -setcookie secret
//     1> {echo, 'cpp@127.0.0.1'} ! {self(), [1, <<"two">>, #{3 => 4.0}]}, flush().
//     Shell got {echo,[1,<<"two">>,#{3 => 4.0}]}
//     2> gen_server:call({counter, 'cpp@127.0.0.1'}, {add, 5}).
//     5
//     3> erpc:call('cpp@127.0.0.1', interop, add, [1 bsl 64, 1]).
//     18446744073709551617
// With --tls-ca, --tls-cert and --tls-key (PEM files, e.g. from scripts/cluster-certs.sh) it speaks
// TLS distribution, as an Erlang node with -proto_dist inet_tls and an ssl_dist_optfile does.
// Absent flags are read from INTEROP_NODE_NAME, INTEROP_COOKIE, INTEROP_NET_TICKTIME and
// INTEROP_TLS_CA, INTEROP_TLS_CERT, INTEROP_TLS_KEY. The node registers with epmd only once the
// pg scope and the three processes exist (that is its readiness signal) and prints "ready";
// SIGTERM or SIGINT stops it in order (unregistered, connections closed), exit 0. An Erlang
// node's pg scope and this one find each other as soon as the two nodes connect, whichever side
// connects (see include/ambitious/naming/pg.hpp):
//     4> net_kernel:connect_node('cpp@127.0.0.1').
//     true
//     5> pg:get_members(interop).   % a moment later, once the scopes have exchanged groups
//     [<8617.4.0>]

#include <signal.h>

#include <algorithm>
#include <boost/describe.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <ambitious/behaviours/gen_server.hpp>
#include <ambitious/behaviours/supervisor.hpp>
#include <ambitious/core/integer.hpp>
#include <ambitious/dist/node.hpp>
#include <ambitious/dist/rpc.hpp>
#include <ambitious/naming/pg.hpp>
#include <ambitious/process/names.hpp>
#include <ambitious/process/runtime.hpp>
#include <ambitious/process/send.hpp>
#include <ambitious/process/spawn.hpp>

using namespace ambitious;

// ---- counter: a GenServer whose requests are the terms Erlang sends -------------------------
// The atoms `get` and `reset` are described enums (their Codec is the enumerator's name); the
// tuple {add, N} is a described struct in record form.
enum class Get { get };
BOOST_DESCRIBE_ENUM(Get, get)
enum class Reset { reset };
BOOST_DESCRIBE_ENUM(Reset, reset)
struct Add {
  std::int64_t n = 0;
};
BOOST_DESCRIBE_STRUCT(Add, (), (n))
template <>
struct ambitious::CodecRecord<Add> {
  static constexpr auto tag = "add";
};

struct Counter : GenServer<Counter> {
  using calls = Types<Get, Add>;
  using casts = Types<Reset>;
  std::int64_t count = 0;
  CallResult<std::int64_t> handle_call(Get, const From&) { return reply(count); }
  CallResult<std::int64_t> handle_call(Add add, const From&) { return reply(count += add.n); }
  Action handle_cast(Reset) {
    count = 0;
    return noreply();
  }
};

// Any gen_server of another node: a request is any term, and so is the reply. The type only
// tells gen_server::call what to send and what to read back; it is never started here.
struct AnyServer : GenServer<AnyServer> {
  using calls = Types<Term>;
  CallResult<Term> handle_call(Term request, const From&) { return reply(std::move(request)); }
};

// ---- echo and crasher: plain processes that take every term sent to them --------------------
const Atom pong_from_cpp("pong_from_cpp");

// Calls {Name, Node} and sends the outcome to `to`: a process of its own, so that echo keeps
// answering meanwhile and a failed call ends only this process.
// [snippet call_erlang]
Task<> call_erlang(RegisteredName server, Term request, Pid to) {
  auto reply = co_await gen_server::try_call(ServerRef<AnyServer>(server), std::move(request));
  if (reply)
    send(to, Term::tuple(Atom("call_result"), *reply));
  else
    send(to, Term::tuple(Atom("call_failed"), reply.error().term()));
}
// [snippet call_erlang]

// [snippet echo]
Task<> echo() {
  for (;;) {
    Term m = co_await receive<Term>();
    Pid to;
    Atom name, node;
    Term term;
    if (m.match(Atom("ping_me"), &to)) {
      send(to, pong_from_cpp);
    } else if (m.match(Atom("ping_me_reg"), &name, &node)) {
      send(RegisteredName{name, node}, pong_from_cpp);  // REG_SEND, connecting first if needed
    } else if (m.match(Atom("whoami"), &to)) {
      send(to, Term::tuple(Atom("iam"), Atom("echo"), self()));
    } else if (m.match(Atom("call_erlang"), &name, &node, &term, &to)) {
      spawn(call_erlang, RegisteredName{name, node}, term, to);
    } else if (m.match(Atom("pg_members"), &term, &to)) {
      // This node's view of the group in the default scope, members of every node, sorted in
      // Erlang's term order (as lists:sort sorts them).
      std::vector<Term> members;
      for (Pid p : pg::get_members(term)) members.emplace_back(p);
      std::sort(members.begin(), members.end(), [](const Term& a, const Term& b) { return a < b; });
      send(to, Term::tuple(Atom("pg_members"), term, Term::list_from(std::span<Term>(members))));
    } else if (m.match(&to, &term)) {
      send(to, Term::tuple(Atom("echo"), term));
    }  // anything else is dropped, as an Erlang receive loop with a catch-all would
  }
}
// [snippet echo]

Task<> crasher() {
  for (;;) {
    Term m = co_await receive<Term>();
    Pid to;
    if (m == Term(Atom("crash"))) exit(ExitReason(Atom("boom")));
    if (m.match(Atom("whoami"), &to)) send(to, Term::tuple(Atom("iam"), Atom("crasher"), self()));
  }
}

// A supervised plain process registered as `name` by its start, before the supervisor goes on
// (as proc_lib:start_link with {local, Name}): once the supervisor is up, the name exists.
// With a `group`, the process joins it in the default pg scope too, at each start.
// [snippet pg_join]
ChildSpec registered_process(Atom name, Task<> (*body)(), std::optional<Term> group = {}) {
  ChildSpec spec;
  spec.id = name;
  spec.start = ChildStart([name, body, group]() -> Task<StartChildResult> {
    Pid pid = spawn_link(body);
    register_name(name, pid);
    if (group) co_await pg::join(*group, pid);
    co_return pid;
  });
  return spec;
}
// [snippet pg_join]

// ---- start-up: flags, else the environment ----------------------------------------------------
const char* const usage =
    "usage: interop_node --name NAME --cookie COOKIE [--ticktime SECONDS]\n"
    "                    [--tls-ca CA.pem --tls-cert CERT.pem --tls-key KEY.pem [--quic PORT]]\n"
    "  absent flags are read from INTEROP_NODE_NAME, INTEROP_COOKIE, INTEROP_NET_TICKTIME,\n"
    "  INTEROP_TLS_CA, INTEROP_TLS_CERT, INTEROP_TLS_KEY (all three TLS files: TLS distribution,\n"
    "  as erl -proto_dist inet_tls; none: TCP), INTEROP_QUIC (a UDP port, 0 for any: QUIC as "
    "well,\n"
    "  to ambitious peers that announce it; needs the TLS files)\n"
    "  (no cookie at all: AMBITIOUS_COOKIE, else ~/.erlang.cookie);\n"
    "  epmd is found on ERL_EPMD_PORT (default 4369)\n";

std::expected<dist::NodeOptions, std::string> parse(int argc, char** argv) {
  auto env = [](const char* var) -> std::optional<std::string> {
    const char* v = std::getenv(var);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  std::optional<std::string> name = env("INTEROP_NODE_NAME"), cookie = env("INTEROP_COOKIE"),
                             ticktime = env("INTEROP_NET_TICKTIME"), tls_ca = env("INTEROP_TLS_CA"),
                             tls_cert = env("INTEROP_TLS_CERT"), tls_key = env("INTEROP_TLS_KEY"),
                             quic = env("INTEROP_QUIC");
  for (int i = 1; i < argc; i += 2) {
    std::string_view flag = argv[i];
    std::optional<std::string>* value = flag == "--name"       ? &name
                                        : flag == "--cookie"   ? &cookie
                                        : flag == "--ticktime" ? &ticktime
                                        : flag == "--tls-ca"   ? &tls_ca
                                        : flag == "--tls-cert" ? &tls_cert
                                        : flag == "--tls-key"  ? &tls_key
                                        : flag == "--quic"     ? &quic
                                                               : nullptr;
    if (!value) return std::unexpected("unknown flag " + std::string(flag));
    if (i + 1 == argc) return std::unexpected(std::string(flag) + " needs a value");
    *value = argv[i + 1];
  }
  dist::NodeOptions options;
  if (!name) return std::unexpected(std::string("no node name (--name or INTEROP_NODE_NAME)"));
  options.name = *name;
  options.cookie = cookie;  // absent: the library's default (AMBITIOUS_COOKIE, ~/.erlang.cookie)
  if (ticktime) {
    int seconds = 0;
    auto [end, ec] =
        std::from_chars(ticktime->data(), ticktime->data() + ticktime->size(), seconds);
    if (ec != std::errc() || end != ticktime->data() + ticktime->size() || seconds <= 0)
      return std::unexpected("the ticktime must be a positive number of seconds, not '" +
                             *ticktime + "'");
    options.net_ticktime = std::chrono::seconds(seconds);
  }
  // [snippet tls]
  if (tls_ca || tls_cert || tls_key) {
    if (!tls_ca || !tls_cert || !tls_key)
      return std::unexpected(
          std::string("TLS needs all three of the CA, the certificate and the key"));
    options.tls =
        dist::TlsOptions{.ca_file = *tls_ca, .cert_file = *tls_cert, .key_file = *tls_key};
  }
  // [snippet tls]
  // [snippet quic]
  if (quic) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(quic->data(), quic->data() + quic->size(), port);
    if (ec != std::errc() || end != quic->data() + quic->size() || port > 65535)
      return std::unexpected("the QUIC port must be a number from 0 to 65535, not '" + *quic + "'");
    if (!options.tls) return std::unexpected(std::string("QUIC needs the three TLS files"));
    options.quic = dist::QuicDistOptions{.port = static_cast<std::uint16_t>(port)};
  }
  // [snippet quic]
  return options;
}

// What the signal thread posts to the root process.
struct StopSignal {
  int number;
};

int main(int argc, char** argv) {
  auto options = parse(argc, argv);
  if (!options) {
    std::fprintf(stderr, "interop_node: %s\n%s", options.error().c_str(), usage);
    return 2;
  }
  // SIGTERM and SIGINT are blocked in every thread (all start after this line) and taken by
  // one thread of our own with sigwait, which tells the root process to stop in order.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  return run([&]() -> Task<> {
    // Generous intensity: Erlang clients crash these processes on purpose, often. The pg
    // scope first: echo joins its group as it starts.
    SupervisorSpec spec{
        {Strategy::one_for_one, 100, std::chrono::seconds(1)},
        {pg::child_spec(), registered_process(Atom("echo"), echo, Term(Atom("interop"))),
         server_child<Counter>(Atom("counter"), StartOptions{.name = Atom("counter")}),
         registered_process(Atom("crasher"), crasher)}};
    auto top = co_await supervisor::start_link(std::move(spec));
    if (!top) exit(top.error());

    // The functions Erlang calls into (erpc:call, rpc:call): an MFA not registered here gives
    // Erlang's undef. The node's rpc server (rex) runs them, each in a process of its own.
    // [snippet rpc]
    const Atom interop("interop");
    dist::register_function(interop, Atom("add"), 2, [](std::span<const Term> args) {
      auto sum = integer_add(args[0], args[1]);
      if (!sum) throw dist::ErlangException::error(Term(Atom("badarith")));  // as 1 + a does
      return *sum;
    });
    dist::register_function(interop, Atom("echo"), 1,
                            [](std::span<const Term> args) { return args[0]; });
    // [snippet rpc]

    // Distribution last: registering with epmd tells the cluster the node is ready. Started
    // from this process (not the blocking pool), so that the node's net_kernel starts in this
    // runtime; the few milliseconds of epmd registration are start-up's only work.
    // [snippet start]
    auto node = dist::Node::start(*options);
    if (!node) {
      std::fprintf(stderr, "interop_node: distribution did not start: %s\n",
                   node.error().detail.c_str());
      exit(ExitReason(Atom("no_distribution")));
    }
    std::printf("interop_node %s ready (port %u)\n", (*node)->name().c_str(), (*node)->port());
    std::fflush(stdout);
    // [snippet start]

    // Detached: it ends with the program (a signal that came before it started is pending).
    std::thread([root = self(), signals = stop_signals] {
      int number = 0;
      sigwait(&signals, &number);
      post(root, StopSignal{number});
    }).detach();
    StopSignal stop = co_await receive<StopSignal>();
    std::printf("interop_node: stopping on signal %d\n", stop.number);
    (*node)->stop();  // unregisters from epmd and closes every connection
    co_await gen_server::stop(*top);
  });
}
