// A cluster of three nodes on one machine: they form a full mesh from one list of seeds, one is
// killed, the other two see it down, it comes back and the cluster heals.
//
//   cluster                          the demonstration: starts an epmd on a free port and three
//                                    members (this program, as `cluster member ...`), and
//                                    watches what each one prints
//   cluster member NAME EPMD_PORT [--partial] [--forget-after MS]
//                  [--tls-ca CA --tls-cert CERT --tls-key KEY [--quic PORT]]
//                                    one node: joins the cluster of AMBITIOUS_SEEDS and prints
//                                    `members up=A,B known=A,B` after each change (--partial:
//                                    connect_all false; --forget-after: forget_after; the PEM
//                                    files, e.g. from scripts/cluster-certs.sh: TLS distribution,
//                                    and with --quic QUIC on that UDP port, 0 for any, to the
//                                    members that speak it)
//
// The members are OS processes of their own, as nodes are; the demonstration kills one with
// SIGKILL (no goodbye: its peers see the connection go) and starts it again under its name.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ambitious/ambitious.hpp>
#include <ambitious/dist/cluster.hpp>
#include <ambitious/dist/epmd_server.hpp>
#include <ambitious/dist/node.hpp>
#include <ambitious/dist/nodes.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

using namespace ambitious;
using namespace std::chrono_literals;

namespace {

std::string joined(const std::vector<Atom>& nodes) {
  std::string out;
  for (Atom n : nodes) out += (out.empty() ? "" : ",") + std::string(n.name());
  return out;
}

// One member of the cluster: this program's node, until it is killed. `options` holds its
// carrier (TLS, QUIC) when it was given one.
int member(dist::NodeOptions options, dist::ClusterOptions cluster) {
  // Ends with the program that started it (the demonstration, a test), even one that was killed.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;  // that program is gone already
  const std::string name = options.name;
  // A member started again right after it was killed may find its name still registered: epmd
  // lets it go once it sees the dead node's connection closed, a moment later.
  auto node = dist::Node::start(options);
  for (int tries = 0; !node && node.error().code == dist::NodeErrc::epmd_failed && tries < 100;
       ++tries) {
    std::this_thread::sleep_for(50ms);
    node = dist::Node::start(options);
  }
  if (!node) {
    std::fprintf(stderr, "cluster: %s did not start: %s\n", name.c_str(),
                 node.error().detail.c_str());
    return 2;
  }
  return run([&]() -> Task<> {
    // [snippet join]
    // The seeds come from AMBITIOUS_SEEDS (or the file AMBITIOUS_SEEDS_FILE names).
    auto joined_cluster = dist::join_cluster(cluster);
    if (!joined_cluster) {
      std::fprintf(stderr, "cluster: %s\n", joined_cluster.error().detail.c_str());
      std::fflush(stderr);
      std::_Exit(2);
    }
    dist::monitor_members(true);
    for (;;) {
      auto changed = co_await receive<dist::MembersChanged>();
      std::printf("members up=%s known=%s\n", joined(changed.members.up).c_str(),
                  joined(changed.members.known).c_str());
      // and what each connection travels on: tcp, tls or quic
      for (Atom up : changed.members.up)
        if (auto carrier = (*node)->carrier(up.name()))
          std::printf("  %s: %s\n", std::string(up.name()).c_str(), carrier->c_str());
      std::fflush(stdout);
    }
    // [snippet join]
  });
}

// The demonstration's view of one member: its process and the last line it printed.
class Member {
 public:
  Member(std::string name, std::uint16_t epmd_port, std::string seeds)
      : name_(std::move(name)), port_(std::to_string(epmd_port)), seeds_(std::move(seeds)) {
    start();
  }
  ~Member() { kill(); }

  void start() {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) std::abort();
    // Built before fork: the child only calls what is safe after a fork in a threaded program.
    std::string seeds = "AMBITIOUS_SEEDS=" + seeds_;
    std::vector<char*> env;
    for (char** e = environ; *e; ++e)
      if (!std::string_view(*e).starts_with("AMBITIOUS_SEEDS")) env.push_back(*e);
    env.push_back(seeds.data());
    env.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      execle("/proc/self/exe", "cluster", "member", name_.c_str(), port_.c_str(), nullptr,
             env.data());
      _exit(127);
    }
    close(out[1]);
    in_ = fdopen(out[0], "r");
  }

  // Kills it as a crash would (SIGKILL), and reaps it.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    std::fclose(in_);
  }

  // Reads its lines until one says `up` (bounded: the run's test has a timeout).
  bool wait_for(const std::string& up) {
    char line[512];
    while (std::fgets(line, sizeof line, in_)) {
      std::string l(line);
      if (l.starts_with("members up=" + up + " ")) return true;
    }
    return false;
  }

 private:
  std::string name_, port_, seeds_;
  pid_t pid_ = -1;
  std::FILE* in_ = nullptr;
};

// A port number (0 to 65535), or nothing.
std::optional<std::uint16_t> port_number(std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

int usage() {
  std::fprintf(
      stderr,
      "usage: cluster | cluster member NAME EPMD_PORT [--partial] [--forget-after MS]\n"
      "                 [--tls-ca CA.pem --tls-cert CERT.pem --tls-key KEY.pem [--quic PORT]]\n");
  return 2;
}

int demonstrate() {
  // A private epmd, on a free port, so that the example disturbs no other node of the machine.
  auto epmd = dist::epmd::Server::start({.address = "127.0.0.1", .port = 0});
  if (!epmd) {
    std::fprintf(stderr, "cluster: epmd: %s\n", epmd.error().detail.c_str());
    return 1;
  }
  const std::string a = "a@127.0.0.1", b = "b@127.0.0.1", c = "c@127.0.0.1";
  const std::string seeds = a + "," + b + "," + c;  // the same list on every node
  std::vector<std::unique_ptr<Member>> members;
  for (const auto& name : {a, b, c})
    members.push_back(std::make_unique<Member>(name, (*epmd)->port(), seeds));
  Member &ma = *members[0], &mb = *members[1], &mc = *members[2];

  if (!ma.wait_for(b + "," + c) || !mb.wait_for(a + "," + c) || !mc.wait_for(a + "," + b)) return 1;
  std::printf("a, b and c form a full mesh\n");

  mc.kill();
  if (!ma.wait_for(b) || !mb.wait_for(a)) return 1;
  std::printf("c was killed: a and b saw it down\n");

  mc.start();
  if (!ma.wait_for(b + "," + c) || !mb.wait_for(a + "," + c) || !mc.wait_for(a + "," + b)) return 1;
  std::printf("c came back: the cluster healed\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 1) return demonstrate();
  if (argc >= 4 && std::strcmp(argv[1], "member") == 0) {
    dist::NodeOptions options{.name = argv[2],
                              .cookie = "cluster-example",
                              .epmd_port = static_cast<std::uint16_t>(std::atoi(argv[3]))};
    dist::ClusterOptions cluster;
    dist::TlsOptions tls;
    std::optional<std::uint16_t> quic;
    for (int i = 4; i < argc; ++i) {
      const std::string_view flag = argv[i];
      const bool has_value = i + 1 < argc;
      if (flag == "--partial")
        cluster.connect_all = false;
      else if (flag == "--forget-after" && has_value)
        cluster.forget_after = std::chrono::milliseconds(std::atoi(argv[++i]));
      else if (flag == "--tls-ca" && has_value)
        tls.ca_file = argv[++i];
      else if (flag == "--tls-cert" && has_value)
        tls.cert_file = argv[++i];
      else if (flag == "--tls-key" && has_value)
        tls.key_file = argv[++i];
      else if (flag == "--quic" && has_value && (quic = port_number(argv[i + 1])))
        ++i;
      else
        return usage();
    }
    const bool some_tls = !tls.ca_file.empty() || !tls.cert_file.empty() || !tls.key_file.empty();
    if (some_tls && (tls.ca_file.empty() || tls.cert_file.empty() || tls.key_file.empty())) {
      std::fprintf(stderr, "cluster: TLS needs all three of --tls-ca, --tls-cert, --tls-key\n");
      return 2;
    }
    if (quic && !some_tls) {
      std::fprintf(stderr, "cluster: --quic needs the three TLS files\n");
      return 2;
    }
    if (some_tls) options.tls = tls;
    if (quic) options.quic = dist::QuicDistOptions{.port = *quic};
    return member(std::move(options), cluster);
  }
  return usage();
}
