// A child node of global_test, driven by lines on its stdin (so that the test reaches it even
// while the two are partitioned), answering with lines on its stdout:
//   register NAME [METHOD]   -> registered NAME yes|no PID   (a new holder process)
//   whereis NAME             -> whereis NAME PID|undefined
//   await NAME PID|undefined -> awaited NAME ok|timeout      (its table shows that, within 20 s)
//   connect NODE             -> connected NODE true|false
//   disconnect NODE          -> disconnected NODE true|false
//   serve NAME               -> serving NAME PID|REASON   (a test::Tally under global::via(NAME))
//   call NAME N              -> called NAME TOTAL         (Tally::Add{N} to global::via(NAME))
// and, unasked: `got PID TERM` for what a holder receives, `down PID REASON` when one ends.
// Arguments: its node name, the epmd port, the cookie; then, for TLS distribution, its CA, its
// certificate and its key files (tls_test starts it so, with certificates it must refuse), and
// `quic` to speak QUIC to peers that announce it.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

#include "ambitious/dist/node.hpp"
#include "ambitious/dist/nodes.hpp"
#include "ambitious/naming/global.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/spawn.hpp"
#include "global_node.hpp"

using namespace ambitious;
using namespace std::chrono_literals;

namespace {

std::mutex out_mutex;
void say(const std::string& line) {
  std::lock_guard lock(out_mutex);
  std::cout << line << std::endl;
}

std::string text(const std::optional<Pid>& p) {
  return p ? test::pid_text(*p) : std::string("undefined");
}

// A holder of names: reports what it gets; a watcher reports its end.
Pid start_holder() {
  Pid holder = spawn([]() -> Task<> {
    for (;;) {
      Term m = co_await receive<Term>();
      say("got " + test::pid_text(self()) + " " + m.to_string());
    }
  });
  spawn([holder]() -> Task<> {
    Ref r = monitor(holder);
    Down d = co_await receive_if<Down>([&](const Down& x) { return x.ref == r; });
    say("down " + test::pid_text(holder) + " " + d.reason.term().to_string());
  });
  return holder;
}

Task<> control(dist::Node& node) {
  for (;;) {
    auto line = co_await blocking([] {
      std::string l;
      if (!std::getline(std::cin, l)) return std::optional<std::string>();
      return std::optional<std::string>(l);
    });
    if (!line) co_return;  // stdin closed: the test is done
    std::istringstream in(*line);
    std::string cmd, a, b;
    in >> cmd >> a >> b;
    if (cmd == "register") {
      Pid h = start_holder();
      bool yes = co_await global::register_name(Atom(a), h,
                                                b.empty() ? global::random_exit_name() : Atom(b));
      say("registered " + a + (yes ? " yes " : " no ") + test::pid_text(h));
    } else if (cmd == "whereis") {
      say("whereis " + a + " " + text(global::whereis_name(Atom(a))));
    } else if (cmd == "await") {
      auto until = std::chrono::steady_clock::now() + 20s;
      while (text(global::whereis_name(Atom(a))) != b && std::chrono::steady_clock::now() < until)
        co_await sleep(10ms);
      say("awaited " + a + (text(global::whereis_name(Atom(a))) == b ? " ok" : " timeout"));
    } else if (cmd == "connect") {
      bool ok = co_await dist::connect(Atom(a));
      say("connected " + a + (ok ? " true" : " false"));
    } else if (cmd == "serve") {
      StartOptions options{.name = global::via(Atom(a))};
      auto started = co_await test::Tally::start(options);
      say("serving " + a + " " +
          (started ? test::pid_text(*started->pid()) : started.error().term().to_string()));
    } else if (cmd == "call") {
      ServerRef<test::Tally> tally(global::via(Atom(a)));
      test::Tally::Add add{std::stoll(b)};
      std::int64_t total = co_await gen_server::call(tally, add);
      say("called " + a + " " + std::to_string(total));
    } else if (cmd == "disconnect") {
      say("disconnected " + a + (node.disconnect(a) ? " true" : " false"));
    } else {
      say("unknown " + *line);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool quic = argc == 8 && std::string(argv[7]) == "quic";
  if (argc != 4 && argc != 7 && !quic) {
    std::fprintf(stderr, "usage: global_node NAME EPMD_PORT COOKIE [CA CERT KEY [quic]]\n");
    return 2;
  }
  dist::NodeOptions o;
  o.name = argv[1];
  o.epmd_port = static_cast<std::uint16_t>(std::stoi(argv[2]));
  o.cookie = argv[3];
  if (argc >= 7)
    o.tls = dist::TlsOptions{.ca_file = argv[4], .cert_file = argv[5], .key_file = argv[6]};
  if (quic) o.quic = dist::QuicDistOptions{};
  auto node = dist::Node::start(o);
  if (!node) {
    std::fprintf(stderr, "global_node: %s\n", node.error().detail.c_str());
    return 1;
  }
  global::register_resolver(Atom("keep_larger"), test::keep_larger);
  say("global_node ready");
  return run([&]() -> Task<> { co_await control(**node); });
}
