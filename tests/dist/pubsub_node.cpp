// A node for the PubSub tests across nodes (pubsub_dist_test), a child process of the test:
//
//   pubsub_node NAME EPMD_PORT COOKIE REPORT_NODE
//
// starts the PubSub `chat` and distribution, prints "pubsub_node NAME ready", then runs the
// commands that come on stdin, one a line, each answered by one line on stdout:
//
//   subscribe N      N subscribers of "t" (tests/dist/pubsub_subscriber.hpp), reporting to
//                    {collector, REPORT_NODE}                        -> "subscribed N"
//   connect NODE     connects to NODE                       -> "connect NODE ok" (or failed)
//   servers K        waits until the group of chat's servers has K members -> "servers K"
//   broadcast M      broadcasts "1" .. "M", then "end"               -> "broadcast M"
//   stats            -> "stats sends=S receives=R" (remote_sends(), remote_receives())
//   quit             ends the node

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "ambitious/dist/node.hpp"
#include "ambitious/dist/nodes.hpp"
#include "ambitious/naming/pg.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/spawn.hpp"
#include "pubsub_subscriber.hpp"

using namespace ambitious;

namespace {

struct Command {
  std::string line;
};

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

Task<> wait_for_servers(const PubSub& ps, std::size_t k) {
  pg::GroupMonitor mon = co_await pg::monitor(PubSub::scope(), Term(ps.adapter_name()));
  while (pg::get_members(PubSub::scope(), Term(ps.adapter_name())).size() < k) {
    auto is_ours = [ref = mon.ref](const pg::Notification& n) { return n.ref == ref; };
    (void)co_await receive_if<pg::Notification>(is_ours);
  }
  (void)co_await pg::demonitor(PubSub::scope(), mon.ref);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quic = argc == 9 && std::string(argv[8]) == "quic";
  if (argc != 5 && argc != 8 && !quic) {
    std::fprintf(stderr,
                 "usage: pubsub_node NAME EPMD_PORT COOKIE REPORT_NODE [CA CERT KEY [quic]]\n");
    return 2;
  }
  dist::NodeOptions options;
  options.name = argv[1];
  options.epmd_port = static_cast<std::uint16_t>(std::stoi(argv[2]));
  options.cookie = argv[3];
  if (argc >= 8)
    options.tls = dist::TlsOptions{.ca_file = argv[5], .cert_file = argv[6], .key_file = argv[7]};
  if (quic) options.quic = dist::QuicDistOptions{};
  const Atom report_to(argv[4]);

  return run([&]() -> Task<> {
    auto ps = co_await PubSub::start_link(Atom("chat"));
    if (!ps) exit(ps.error());
    auto node = dist::Node::start(options);
    if (!node) {
      std::fprintf(stderr, "pubsub_node: no distribution: %s\n", node.error().detail.c_str());
      exit(ExitReason(Atom("no_distribution")));
    }
    say("pubsub_node " + std::string(argv[1]) + " ready");
    // Detached: it ends with the program.
    std::thread([root = self()] {
      std::string line;
      while (std::getline(std::cin, line)) post(root, Command{line});
      post(root, Command{"quit"});
    }).detach();
    for (;;) {
      Command c = co_await receive<Command>();
      auto space = c.line.find(' ');
      std::string verb = c.line.substr(0, space);
      std::string arg = space == std::string::npos ? "" : c.line.substr(space + 1);
      long n = verb == "connect" || arg.empty() ? 0 : std::stol(arg);
      if (verb == "connect") {
        bool up = co_await dist::connect(Atom(arg));
        say("connect " + arg + (up ? " ok" : " failed"));
      } else if (verb == "subscribe") {
        for (long i = 0; i < n; ++i)
          spawn([ps = *ps, report_to] { return test::pubsub_subscriber(ps, report_to); });
        say("subscribed " + std::to_string(n));
      } else if (verb == "servers") {
        co_await wait_for_servers(*ps, static_cast<std::size_t>(n));
        say("servers " + std::to_string(n));
      } else if (verb == "broadcast") {
        for (long i = 1; i <= n; ++i) ps->broadcast(test::pubsub_topic, std::to_string(i));
        ps->broadcast(test::pubsub_topic, std::string("end"));
        say("broadcast " + std::to_string(n));
      } else if (verb == "stats") {
        say("stats sends=" + std::to_string(ps->remote_sends()) +
            " receives=" + std::to_string(ps->remote_receives()));
      } else if (verb == "quit") {
        break;
      } else {
        say("unknown command: " + c.line);
      }
    }
    (*node)->stop();
  });
}
