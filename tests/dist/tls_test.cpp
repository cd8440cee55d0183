// TLS distribution against real Erlang nodes that speak `-proto_dist inet_tls` (erlang-ssl),
// with the certificates scripts/cluster-certs.sh makes. Both directions carry traffic; a peer
// whose certificate comes from another CA, names another node, has expired, or is missing is
// refused in each direction it can be tried, nothing reaches the other side, and this node logs
// the refusal once with why. The same refusals between two ambitious nodes over QUIC.

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../common.hpp"
#include "ambitious/behaviours/logger.hpp"
#include "ambitious/dist/node.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/process/send.hpp"
#include "erl_node.hpp"
#include "interop_child.hpp"

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::test;
namespace fs = std::filesystem;

namespace {

const char* const cookie = "tls_cookie";
const std::string a_node = "a@127.0.0.1";

// The certificates of the suite, made once: the cluster CA's for a, x, w and cpp; x's and cpp's
// from another CA; x's and cpp's, expired, from the cluster CA.
struct Certs {
  fs::path dir;
  bool made = false;
  fs::path cluster() const { return dir / "cluster"; }
  fs::path other_ca() const { return dir / "other"; }
  fs::path expired() const { return dir / "expired"; }
};

Certs& certs() {
  static Certs c;
  return c;
}

bool run_script(const std::string& args) {
  std::string command = std::string(CLUSTER_CERTS_SCRIPT) + " " + args + " >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

// Every report this node logs, from whichever thread logs it.
struct Logged {
  struct Shared {
    std::mutex mutex;
    std::condition_variable logged;
    std::vector<LogReport> reports;
  };
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  Logged() {
    set_logger([s = shared](const LogReport& report) {
      std::lock_guard lock(s->mutex);
      s->reports.push_back(LogReport{report.level, report.kind, report.who, report.text});
      s->logged.notify_all();
    });
  }
  ~Logged() { set_logger(nullptr); }
  // The texts of the refusals logged so far.
  std::vector<std::string> refusals() const {
    std::lock_guard lock(shared->mutex);
    return refusals_locked();
  }
  // The refusals, once there are at least `n` (or the patience ran out: then fewer).
  std::vector<std::string> refusals(std::size_t n) const {
    std::unique_lock lock(shared->mutex);
    shared->logged.wait_for(lock, patience, [&] { return refusals_locked().size() >= n; });
    return refusals_locked();
  }

 private:
  std::vector<std::string> refusals_locked() const {
    std::vector<std::string> out;
    for (const auto& r : shared->reports)
      if (r.kind == "dist_handshake_refused") out.push_back(r.text);
    return out;
  }
};

// An ambitious node, cpp@127.0.0.1 (a global_node child), on TLS distribution and QUIC,
// presenting the certificate of `cert_node` from `dir` and verifying its peers against the CA
// of `dir`.
class QuicPeer {
 public:
  QuicPeer(std::uint16_t epmd, const fs::path& dir, const std::string& cert_node)
      : child_({GLOBAL_NODE_BINARY, name, std::to_string(epmd), cookie, (dir / "ca.pem").string(),
                (dir / (cert_node + ".pem")).string(), (dir / (cert_node + "-key.pem")).string(),
                "quic"}) {
    ready_ = next("global_node ready").has_value();
  }
  static constexpr const char* name = "cpp@127.0.0.1";
  bool ready() const { return ready_; }
  const std::string& log() const { return child_.log(); }
  // Whether its dial of `node` came up.
  bool connect(const std::string& node) {
    child_.write("connect " + node + "\n");
    auto line = next("connected " + node + " ");
    return line && line->ends_with(" true");
  }

 private:
  std::optional<std::string> next(const std::string& prefix) {
    for (;;) {
      auto line = child_.read_line(patience);
      if (!line || line->starts_with(prefix)) return line;
    }
  }
  ChildProcess child_;
  bool ready_ = false;
};

struct TlsTest : ::testing::Test {
  static void SetUpTestSuite() {
    Certs& c = certs();
    char pattern[] = "/tmp/ambitious-tls-XXXXXX";
    if (!::mkdtemp(pattern)) return;
    c.dir = pattern;
    c.made =
        run_script(c.cluster().string() + " a@127.0.0.1 x@127.0.0.1 w@127.0.0.1 cpp@127.0.0.1") &&
        run_script(c.other_ca().string() + " x@127.0.0.1 cpp@127.0.0.1");
    // The expired one is signed by the cluster's CA: the copy of it is what the script reuses.
    std::error_code ec;
    fs::create_directories(c.expired(), ec);
    for (const char* f : {"ca.pem", "ca-key.pem"})
      fs::copy_file(c.cluster() / f, c.expired() / f, ec);
    c.made = c.made && !ec &&
             run_script("--expired " + c.expired().string() + " x@127.0.0.1 cpp@127.0.0.1");
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!certs().dir.empty()) fs::remove_all(certs().dir, ec);
  }

  void SetUp() override {
    if (!have_erl()) GTEST_SKIP() << "erlang-base is not installed";
    ASSERT_TRUE(certs().made) << "scripts/cluster-certs.sh failed (is gnutls-bin installed?)";
  }

  std::uint16_t epmd = free_port();

  // This node, a@127.0.0.1, with the cluster's certificate for it (and the embedded epmd).
  std::unique_ptr<Node> start(bool quic = false) {
    const fs::path c = certs().cluster();
    NodeOptions o;
    if (quic) o.quic = QuicDistOptions{};
    o.name = a_node;
    o.cookie = cookie;
    o.epmd_port = epmd;
    o.tls = TlsOptions{.ca_file = (c / "ca.pem").string(),
                       .cert_file = (c / "a@127.0.0.1.pem").string(),
                       .key_file = (c / "a@127.0.0.1-key.pem").string()};
    auto n = Node::start(o);
    if (!n) ADD_FAILURE() << "the node did not start: " << n.error().detail;
    return n ? std::move(*n) : nullptr;
  }

  // The environment of the interop node cpp@127.0.0.1 on TLS distribution with the cluster's
  // certificate for it, on this test's epmd; with QUIC as well when `quic`.
  std::vector<std::pair<std::string, std::string>> interop_env(bool quic = false) const {
    const fs::path c = certs().cluster();
    std::vector<std::pair<std::string, std::string>> env{
        {"INTEROP_NODE_NAME", "cpp@127.0.0.1"},
        {"INTEROP_COOKIE", cookie},
        {"ERL_EPMD_PORT", std::to_string(epmd)},
        {"INTEROP_TLS_CA", (c / "ca.pem").string()},
        {"INTEROP_TLS_CERT", (c / "cpp@127.0.0.1.pem").string()},
        {"INTEROP_TLS_KEY", (c / "cpp@127.0.0.1-key.pem").string()}};
    if (quic) env.emplace_back("INTEROP_QUIC", "0");
    return env;
  }

  // This node and a QuicPeer presenting `cert_node`'s certificate from `dir` dial each other
  // over QUIC, each in turn: both dials fail and neither node connects. Returns what this node
  // logged as refused, once two refusals came (one per connection) or the patience ran out.
  std::vector<std::string> refused_over_quic(const fs::path& dir, const std::string& cert_node) {
    Logged logged;
    auto node = start(/*quic=*/true);
    if (!node) return {};
    QuicPeer cpp(epmd, dir, cert_node);
    EXPECT_TRUE(cpp.ready()) << cpp.log();
    EXPECT_FALSE(node->connect(QuicPeer::name, patience));
    EXPECT_FALSE(cpp.connect(a_node)) << cpp.log();
    EXPECT_TRUE(node->connected().empty());
    return logged.refusals(2);
  }

  // An Erlang node `name` on TLS distribution, presenting the certificate of `cert_node` from
  // `dir` (none when empty) and verifying its peers against the cluster's CA, as an
  // ssl_dist_optfile says it.
  ErlNode erl(const std::string& name, const fs::path& dir, const std::string& cert_node) {
    return ErlNode(erl_options(name, dir, cert_node));
  }
  ErlOptions erl_options(const std::string& name, const fs::path& dir,
                         const std::string& cert_node) {
    const std::string ca = (certs().cluster() / "ca.pem").string();
    std::string own;
    if (!cert_node.empty())
      own = "{certfile, \"" + (dir / (cert_node + ".pem")).string() + "\"}, {keyfile, \"" +
            (dir / (cert_node + "-key.pem")).string() + "\"}, ";
    const std::string common = own + "{cacertfile, \"" + ca + "\"}, {verify, verify_peer}";
    const fs::path conf = certs().dir / (name + "-" + std::to_string(epmd) + ".conf");
    std::ofstream(conf) << "[{server, [" << common << ", {fail_if_no_peer_cert, true}]},\n"
                        << " {client, [" << common << "]}].\n";
    return ErlOptions{.name = name,
                      .cookie = cookie,
                      .epmd_port = epmd,
                      .args = {"-proto_dist", "inet_tls", "-ssl_dist_optfile", conf.string()}};
  }
};

// The next "=> " result the node prints (of an expression written without waiting).
std::string next_result(ErlNode& n) {
  for (;;) {
    auto line = n.process().read_line(patience);
    if (!line) return "<no answer>";
    if (line->starts_with("=> ")) return line->substr(3);
  }
}

}  // namespace

TEST_F(TlsTest, an_erlang_tls_node_and_this_node_carry_messages_both_ways) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1", certs().cluster(), "x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  Node* n = node.get();
  run_test([&]() -> Task<> {
    register_name(Atom("echo"), self());
    // x dials us (we are the TLS server), sends, and waits for our answer.
    x.process().write(
        "{echo, 'a@127.0.0.1'} ! {hello, self()}, "
        "receive R -> R after 10000 -> no_reply end.\n");
    Term got = co_await expect<Term>();
    if (!got.is_tuple() || got.size() != 2 || !got[1].is_pid())
      give_up("echo got " + got.to_string());
    EXPECT_TRUE(n->send(self(), got[1].as_pid(), Term::tuple(Atom("echo"), Atom("over_tls"))));
  });
  EXPECT_EQ(next_result(x), "{echo,over_tls}") << x.log();
  // The connection is TLS distribution as Erlang sees it too: its net_address says tls.
  EXPECT_EQ(x.eval("{ok, Info} = net_kernel:nodes_info(), "
                   "[element(4, A) || {_, I} <- Info, {address, A} <- I]."),
            "[tls]");
}

TEST_F(TlsTest, this_node_dials_an_erlang_tls_node_and_a_big_message_arrives_whole) {
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1", certs().cluster(), "x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("register(sink, self())."), "true");
  // We are the TLS client now; 1 MB goes as fragments, in many TLS records.
  Term big = Term::binary(std::string(1'000'000, 'z'));
  ASSERT_TRUE(node->send(Pid(nodes::local, 1, 0), Atom("sink"), Atom("x@127.0.0.1"),
                         Term::tuple(Atom("big"), big)));
  EXPECT_EQ(x.eval("receive {big, B} -> B =:= binary:copy(<<\"z\">>, 1000000) after 10000 -> "
                   "none end."),
            "true");
  EXPECT_EQ(node->connected(), std::vector<std::string>{"x@127.0.0.1"});
}

TEST_F(TlsTest, a_certificate_from_another_ca_is_refused_both_ways) {
  Logged logged;
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1", certs().other_ca(), "x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("net_adm:ping('a@127.0.0.1')."), "pang");
  EXPECT_FALSE(node->connect("x@127.0.0.1", patience));
  EXPECT_TRUE(node->connected().empty());
  EXPECT_EQ(x.eval("nodes(hidden) ++ nodes()."), "[]");
  auto refusals = logged.refusals();
  ASSERT_EQ(refusals.size(), 2u) << "one line per refused connection";
  for (const auto& r : refusals) {
    EXPECT_NE(r.find("certificate"), std::string::npos) << r;
    EXPECT_EQ(r.find(cookie), std::string::npos) << "never the cookie: " << r;
  }
}

TEST_F(TlsTest, a_valid_certificate_for_another_node_name_is_refused_both_ways) {
  Logged logged;
  auto node = start();
  ASSERT_TRUE(node);
  // x presents w's certificate: the right CA, in date, but it names w@127.0.0.1.
  ErlNode x = erl("x@127.0.0.1", certs().cluster(), "w@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("net_adm:ping('a@127.0.0.1')."), "pang");
  EXPECT_FALSE(node->connect("x@127.0.0.1", patience));
  EXPECT_TRUE(node->connected().empty());
  EXPECT_EQ(x.eval("nodes(hidden) ++ nodes()."), "[]");
  auto refusals = logged.refusals();
  ASSERT_EQ(refusals.size(), 2u);
  for (const auto& r : refusals)
    EXPECT_NE(r.find("does not name x@127.0.0.1"), std::string::npos) << r;
}

TEST_F(TlsTest, an_expired_certificate_is_refused_both_ways) {
  Logged logged;
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1", certs().expired(), "x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("net_adm:ping('a@127.0.0.1')."), "pang");
  EXPECT_FALSE(node->connect("x@127.0.0.1", patience));
  EXPECT_TRUE(node->connected().empty());
  auto refusals = logged.refusals();
  ASSERT_EQ(refusals.size(), 2u);
  for (const auto& r : refusals) EXPECT_NE(r.find("expired"), std::string::npos) << r;
}

TEST_F(TlsTest, a_peer_without_a_certificate_is_refused) {
  // Only as a client can a peer come without one: a TLS server always presents its own.
  Logged logged;
  auto node = start();
  ASSERT_TRUE(node);
  ErlNode x = erl("x@127.0.0.1", certs().cluster(), "");
  ASSERT_TRUE(x.ready()) << x.log();
  EXPECT_EQ(x.eval("net_adm:ping('a@127.0.0.1')."), "pang");
  EXPECT_TRUE(node->connected().empty());
  auto refusals = logged.refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_NE(refusals[0].find("TLS handshake"), std::string::npos) << refusals[0];
}

TEST_F(TlsTest, a_node_whose_tls_files_do_not_load_does_not_start_and_says_which) {
  NodeOptions o;
  o.name = a_node;
  o.cookie = cookie;
  o.epmd_port = epmd;
  o.tls = TlsOptions{.ca_file = (certs().cluster() / "ca.pem").string(),
                     .cert_file = (certs().dir / "missing.pem").string(),
                     .key_file = (certs().cluster() / "a@127.0.0.1-key.pem").string()};
  auto n = Node::start(o);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, NodeErrc::tls_failed);
  EXPECT_NE(n.error().detail.find("missing.pem"), std::string::npos) << n.error().detail;
  o.tls->cert_file = (certs().cluster() / "a@127.0.0.1.pem").string();
  o.tls->ca_file = (certs().dir / "no-ca.pem").string();
  n = Node::start(o);
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().detail.find("no-ca.pem"), std::string::npos) << n.error().detail;
  // A node that failed to start leaves nothing behind: the right files start one.
  o.tls->ca_file = (certs().cluster() / "ca.pem").string();
  n = Node::start(o);
  EXPECT_TRUE(n) << n.error().detail;
}

// The contract's TLS section: given a CA, a certificate and a key, examples/interop_node serves
// every part of the contract over TLS distribution; an Erlang node on plain TCP cannot reach it.
TEST_F(TlsTest, the_interop_node_serves_the_contract_over_tls_distribution) {
  const fs::path c = certs().cluster();
  InteropNode cpp({}, interop_env());
  ASSERT_TRUE(cpp.ready()) << cpp.log();
  ErlNode x = erl("x@127.0.0.1", c, "x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  const std::string at = "'cpp@127.0.0.1'";
  // echo, counter, rpc and crasher, each once.
  EXPECT_EQ(x.eval("{echo, " + at +
                   "} ! {self(), [1, <<\"two\">>, #{3 => 4.0}]}, "
                   "receive {echo, T} -> T after 20000 -> none end."),
            "[1,<<116,119,111>>,#{3 => 4.0}]");
  EXPECT_EQ(x.eval("gen_server:call({counter, " + at + "}, {add, 5})."), "5");
  EXPECT_EQ(x.eval("erpc:call(" + at + ", interop, add, [1 bsl 64, 1])."), "18446744073709551617");
  EXPECT_EQ(x.eval("process_flag(trap_exit, true), {crasher, " + at +
                   "} ! {whoami, self()}, C = receive {iam, crasher, P} -> P after 20000 -> none "
                   "end, link(C), M = monitor(process, C), C ! crash, "
                   "[receive {'DOWN', M, process, C, R} -> R after 20000 -> none end, "
                   "receive {'EXIT', C, R2} -> R2 after 20000 -> none end]."),
            "[boom,boom]");
  EXPECT_EQ(x.eval("{ok, Info} = net_kernel:nodes_info(), "
                   "[element(4, A) || {_, I} <- Info, {address, A} <- I]."),
            "[tls]");
  // A node without TLS distribution: refused (its plain handshake is not a TLS hello).
  ErlOptions plain = erl_options("y@127.0.0.1", c, "y@127.0.0.1");
  plain.args.clear();
  ErlNode y(plain);
  ASSERT_TRUE(y.ready()) << y.log();
  EXPECT_EQ(y.eval("net_adm:ping(" + at + ")."), "pang");
}

// Two ambitious nodes over TLS (this one and the interop node): both verify, both are named.
TEST_F(TlsTest, two_ambitious_nodes_talk_over_tls) {
  auto node = start();  // its embedded epmd serves the interop node too
  ASSERT_TRUE(node);
  InteropNode cpp({}, interop_env());
  ASSERT_TRUE(cpp.ready()) << cpp.log();
  Node* n = node.get();
  run_test([&]() -> Task<> {
    const Atom cpp_node("cpp@127.0.0.1");
    send(RegisteredName{Atom("echo"), cpp_node}, Term::tuple(self(), Atom("over_tls")));
    Term t = co_await expect<Term>();
    EXPECT_EQ(t, Term::tuple(Atom("echo"), Atom("over_tls")));
    EXPECT_EQ(n->connected(), std::vector<std::string>{"cpp@127.0.0.1"});
  });
}

// A node with QUIC as well speaks each peer's carrier at once: QUIC to the ambitious node that
// announces it, TLS to the Erlang node (which announces nothing); both deliver.
TEST_F(TlsTest, a_node_speaks_quic_to_an_ambitious_peer_and_tls_to_an_erlang_one_at_once) {
  const fs::path c = certs().cluster();
  auto node = start(/*quic=*/true);
  ASSERT_TRUE(node);
  InteropNode cpp({}, interop_env(/*quic=*/true));
  ASSERT_TRUE(cpp.ready()) << cpp.log();
  ErlNode x = erl("x@127.0.0.1", c, "x@127.0.0.1");
  ASSERT_TRUE(x.ready()) << x.log();
  Node* n = node.get();
  run_test([&]() -> Task<> {
    register_name(Atom("both"), self());
    send(RegisteredName{Atom("echo"), Atom("cpp@127.0.0.1")}, Term::tuple(self(), Atom("quic")));
    Term t = co_await expect<Term>();
    EXPECT_EQ(t, Term::tuple(Atom("echo"), Atom("quic")));
    auto asked =
        blocking([&x] { return x.eval("{both, 'a@127.0.0.1'} ! {from_erlang, self()}, ok."); });
    EXPECT_EQ(co_await asked, "ok");
    Term m = co_await expect<Term>();
    EXPECT_TRUE(m.is_tuple() && m.size() == 2 && m[0] == Term(Atom("from_erlang"))) << m;
    EXPECT_EQ(n->carrier("cpp@127.0.0.1"), std::optional<std::string>("quic"));
    EXPECT_EQ(n->carrier("x@127.0.0.1"), std::optional<std::string>("tls"));
  });
  // The Erlang node sees TLS; the interop node answers it over TLS too (it has no QUIC to it).
  EXPECT_EQ(x.eval("{echo, 'cpp@127.0.0.1'} ! {self(), hi}, "
                   "receive {echo, T} -> T after 20000 -> none end."),
            "hi");
}

// Between two ambitious nodes over QUIC, the same refusals, each both ways (no certificate at all
// is refused in quic_endpoint_test: a node with QUIC does not start without one).
TEST_F(TlsTest, over_quic_a_certificate_from_another_ca_is_refused_both_ways) {
  auto refusals = refused_over_quic(certs().other_ca(), QuicPeer::name);
  ASSERT_EQ(refusals.size(), 2u) << "one line per refused connection";
  for (const auto& r : refusals) {
    EXPECT_NE(r.find("QUIC"), std::string::npos) << r;
    EXPECT_NE(r.find("certificate"), std::string::npos) << r;
    EXPECT_EQ(r.find(cookie), std::string::npos) << "never the cookie: " << r;
  }
}

TEST_F(TlsTest, over_quic_a_valid_certificate_for_another_node_name_is_refused_both_ways) {
  // cpp presents w's certificate: the right CA, in date, but it names w@127.0.0.1.
  auto refusals = refused_over_quic(certs().cluster(), "w@127.0.0.1");
  ASSERT_EQ(refusals.size(), 2u);
  for (const auto& r : refusals)
    EXPECT_NE(r.find("does not name cpp@127.0.0.1"), std::string::npos) << r;
}

TEST_F(TlsTest, over_quic_an_expired_certificate_is_refused_both_ways) {
  auto refusals = refused_over_quic(certs().expired(), QuicPeer::name);
  ASSERT_EQ(refusals.size(), 2u);
  for (const auto& r : refusals) EXPECT_NE(r.find("expired"), std::string::npos) << r;
}

// QUIC authenticates with the TLS certificates: without them the node does not start, and says so.
TEST_F(TlsTest, quic_without_tls_files_does_not_start_and_says_why) {
  NodeOptions o;
  o.name = a_node;
  o.cookie = cookie;
  o.epmd_port = epmd;
  o.quic = QuicDistOptions{};
  auto n = Node::start(o);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, NodeErrc::tls_failed);
  EXPECT_NE(n.error().detail.find("QUIC"), std::string::npos) << n.error().detail;
}
