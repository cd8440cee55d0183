// The QUIC adapter alone: two endpoints in this process on 127.0.0.1, one io_context on the test's
// thread, certificates from scripts/cluster-certs.sh. Mutual TLS 1.3 with the node-name check,
// streams (many at once, each in order; a transfer far larger than the flow-control windows),
// a slow reader stalling its writer, the four refusals in each direction they apply, and loss
// of a peer reported by the idle timeout while keep-alive holds an idle live connection up.

#include "quic_endpoint.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../patience.hpp"

using namespace ambitious::dist;
using namespace ambitious::dist::detail;
using namespace ambitious::test;
namespace fs = std::filesystem;

namespace {

const std::string a_node = "a@127.0.0.1";
const std::string b_node = "b@127.0.0.1";

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

// The byte at `offset` of stream number `n`'s test data: order mistakes change it.
std::uint8_t pattern(std::uint64_t n, std::uint64_t offset) {
  return static_cast<std::uint8_t>((offset * 131 + n * 7 + (offset >> 13)) & 0xff);
}

std::vector<std::uint8_t> bytes_of(std::uint64_t n, std::uint64_t from, std::size_t size) {
  std::vector<std::uint8_t> out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = pattern(n, from + i);
  return out;
}

// A dial's outcome.
struct Dial {
  std::optional<std::expected<std::shared_ptr<QuicConnection>, std::string>> result;
  bool done() const { return result.has_value(); }
  bool ok() const { return result && result->has_value(); }
  std::shared_ptr<QuicConnection> connection() const { return ok() ? **result : nullptr; }
  std::string error() const { return result && !result->has_value() ? result->error() : ""; }
};

struct QuicEndpointTest : ::testing::Test {
  static void SetUpTestSuite() {
    Certs& c = certs();
    char pattern[] = "/tmp/ambitious-quic-XXXXXX";
    if (!::mkdtemp(pattern)) return;
    c.dir = pattern;
    c.made = run_script(c.cluster().string() + " " + a_node + " " + b_node) &&
             run_script(c.other_ca().string() + " " + a_node + " " + b_node);
    // The expired ones are signed by the cluster's CA: the script reuses the CA it finds.
    std::error_code ec;
    fs::create_directories(c.expired(), ec);
    for (const char* f : {"ca.pem", "ca-key.pem"})
      fs::copy_file(c.cluster() / f, c.expired() / f, ec);
    c.made = c.made && !ec &&
             run_script("--expired " + c.expired().string() + " " + a_node + " " + b_node);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!certs().dir.empty()) fs::remove_all(certs().dir, ec);
  }
  void SetUp() override {
    ASSERT_TRUE(certs().made) << "scripts/cluster-certs.sh failed (is gnutls-bin installed?)";
  }

  // `node`'s certificate from `dir`, trusting `dir`'s CA.
  static QuicOptions options(const fs::path& dir, const std::string& node) {
    TlsOptions t{(dir / "ca.pem").string(), (dir / (node + ".pem")).string(),
                 (dir / (node + "-key.pem")).string()};
    auto loaded = TlsCredentials::load(t);
    EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error());
    QuicOptions o;
    if (loaded) o.use(*loaded);
    return o;
  }
  // The cluster's CA and no certificate of its own.
  static QuicOptions no_certificate() {
    gnutls_certificate_credentials_t raw = nullptr;
    gnutls_certificate_allocate_credentials(&raw);
    gnutls_certificate_set_x509_trust_file(raw, (certs().cluster() / "ca.pem").c_str(),
                                           GNUTLS_X509_FMT_PEM);
    QuicOptions o;
    o.credentials = raw;
    o.credentials_owner = std::shared_ptr<void>(raw, [](void* p) {
      gnutls_certificate_free_credentials(static_cast<gnutls_certificate_credentials_t>(p));
    });
    return o;
  }

  std::unique_ptr<QuicEndpoint> endpoint(QuicOptions o) {
    auto e = QuicEndpoint::open(io.get_executor(), {asio::ip::make_address("127.0.0.1"), 0},
                                std::move(o));
    EXPECT_TRUE(e.has_value()) << (e ? "" : e.error());
    return e ? std::move(*e) : nullptr;
  }

  // Runs the loop until `done()`, at most `patience`; whether it came.
  template <class P>
  bool run_until(P done) {
    const auto give_up = std::chrono::steady_clock::now() + patience;
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      io.run_one_for(std::chrono::milliseconds(100));
    }
    return true;
  }

  // A server for `a` (cluster certificate unless `server_options` says otherwise) recording
  // what it accepts and refuses.
  void serve(QuicOptions o) {
    server = endpoint(std::move(o));
    ASSERT_TRUE(server);
    server->on_accept([this](std::shared_ptr<QuicConnection> c) { accepted.push_back(c); });
    server->on_refused(
        [this](const udp::endpoint&, const std::string& why) { refusals.push_back(why); });
  }

  Dial dial(QuicEndpoint& from, const std::string& node) {
    Dial d;
    from.dial(server->local(), node, [&d](auto result) { d.result = std::move(result); });
    EXPECT_TRUE(run_until([&] { return d.done(); }));
    return d;
  }

  asio::io_context io;
  std::unique_ptr<QuicEndpoint> server;
  std::vector<std::shared_ptr<QuicConnection>> accepted;
  std::vector<std::string> refusals;
};

TEST_F(QuicEndpointTest, both_sides_present_certificates_and_the_client_checks_the_server_name) {
  serve(options(certs().cluster(), a_node));
  auto client = endpoint(options(certs().cluster(), b_node));
  Dial d = dial(*client, a_node);
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_TRUE(run_until([&] { return !accepted.empty(); }));
  // The server learns who the client claims to be from the distribution handshake and asks.
  EXPECT_EQ(accepted[0]->check_peer_name(b_node), "");
  EXPECT_NE(accepted[0]->check_peer_name("c@127.0.0.1").find("does not name c@127.0.0.1"),
            std::string::npos);
  EXPECT_EQ(d.connection()->check_peer_name(a_node), "");
  EXPECT_TRUE(refusals.empty());
}

TEST_F(QuicEndpointTest, many_streams_echo_at_once_each_in_order) {
  serve(options(certs().cluster(), a_node));
  auto client = endpoint(options(certs().cluster(), b_node));
  Dial d = dial(*client, a_node);
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_TRUE(run_until([&] { return !accepted.empty(); }));
  // The server echoes every stream's bytes back on it (the whole test fits its queue).
  std::size_t echo_refused = 0;
  accepted[0]->on_data([&, c = accepted[0].get()](QuicStreamId s, auto bytes, bool) {
    if (c->try_write(s, bytes) != bytes.size()) ++echo_refused;
  });
  constexpr int streams = 64;
  constexpr std::size_t per_stream = 24 * 1024, piece = 1000;
  auto conn = d.connection();
  std::vector<QuicStreamId> ids;
  std::vector<std::vector<std::uint8_t>> got(streams);
  for (int n = 0; n < streams; ++n) {
    auto id = conn->open_stream();
    ASSERT_TRUE(id.has_value()) << id.error();
    ids.push_back(*id);
    conn->set_reader(*id, [&got, n](QuicStreamId, auto bytes, bool) {
      got[n].insert(got[n].end(), bytes.begin(), bytes.end());
    });
  }
  // Interleaved: a piece on every stream in turn.
  for (std::size_t at = 0; at < per_stream; at += piece)
    for (int n = 0; n < streams; ++n) {
      auto b = bytes_of(n, at, std::min(piece, per_stream - at));
      ASSERT_EQ(conn->try_write(ids[n], b), b.size());
    }
  ASSERT_TRUE(run_until([&] {
    for (auto& g : got)
      if (g.size() < per_stream) return false;
    return true;
  }));
  EXPECT_EQ(echo_refused, 0u);
  for (int n = 0; n < streams; ++n) EXPECT_EQ(got[n], bytes_of(n, 0, per_stream)) << n;
}

TEST_F(QuicEndpointTest, a_transfer_far_larger_than_the_windows_arrives_exact_in_bounded_memory) {
  serve(options(certs().cluster(), a_node));
  auto client = endpoint(options(certs().cluster(), b_node));
  Dial d = dial(*client, a_node);
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_TRUE(run_until([&] { return !accepted.empty(); }));
  constexpr std::uint64_t total = 64ull << 20;
  std::uint64_t received = 0, wrong = 0;
  accepted[0]->on_data([&](QuicStreamId, auto bytes, bool) {
    for (auto b : bytes) wrong += b != pattern(1, received++);
  });
  auto conn = d.connection();
  auto id = conn->open_stream();
  ASSERT_TRUE(id.has_value());
  std::size_t most_queued = 0;
  std::string error = "unfinished";
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        constexpr std::size_t piece = 1 << 20;
        for (std::uint64_t at = 0; at < total; at += piece) {
          auto b = bytes_of(1, at, piece);
          if (std::string why = co_await conn->write(*id, b); !why.empty()) {
            error = why;
            co_return;
          }
          most_queued = std::max(most_queued, conn->queued_bytes());
        }
        error.clear();
      },
      asio::detached);
  ASSERT_TRUE(run_until([&] { return received >= total; })) << received;
  EXPECT_EQ(error, "");
  EXPECT_EQ(received, total);
  EXPECT_EQ(wrong, 0u);
  // The writer waited instead of queueing all 64 MiB.
  EXPECT_LE(most_queued, client->options().max_queued_bytes);
}

// Packets of one size go out several to a system call (UDP GSO) and come in several to a read
// (UDP GRO), at the loopback's size and at Ethernet's, and arrive exact.
TEST_F(QuicEndpointTest, a_bulk_transfer_goes_out_in_batches_of_packets_and_arrives_exact) {
  for (std::size_t payload : {std::size_t{16 * 1024}, std::size_t{1452}}) {
    SCOPED_TRACE(payload);
    accepted.clear();
    QuicOptions server_options = options(certs().cluster(), a_node);
    QuicOptions client_options = options(certs().cluster(), b_node);
    server_options.loopback_udp_payload = client_options.loopback_udp_payload = payload;
    serve(server_options);
    auto client = endpoint(client_options);
    Dial d = dial(*client, a_node);
    ASSERT_TRUE(d.ok()) << d.error();
    ASSERT_TRUE(run_until([&] { return !accepted.empty(); }));
    constexpr std::uint64_t total = 8ull << 20;
    std::uint64_t received = 0, wrong = 0;
    accepted[0]->on_data([&](QuicStreamId, auto bytes, bool) {
      for (auto b : bytes) wrong += b != pattern(2, received++);
    });
    auto conn = d.connection();
    auto id = conn->open_stream();
    ASSERT_TRUE(id.has_value());
    std::string error = "unfinished";
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          constexpr std::size_t piece = 1 << 20;
          for (std::uint64_t at = 0; at < total; at += piece) {
            auto b = bytes_of(2, at, piece);
            if (std::string why = co_await conn->write(*id, b); !why.empty()) {
              error = why;
              co_return;
            }
          }
          error.clear();
        },
        asio::detached);
    ASSERT_TRUE(run_until([&] { return received >= total; })) << received;
    EXPECT_EQ(error, "");
    EXPECT_EQ(received, total);
    EXPECT_EQ(wrong, 0u);
    // Far fewer calls than datagrams: at least two packets a call on average.
    const auto counts = client->sent();
    EXPECT_GE(counts.datagrams, total / payload);
    EXPECT_GE(counts.datagrams, 2 * counts.calls) << counts.calls << " calls";
    const auto in = server->received();
    EXPECT_GE(in.datagrams, total / payload);
    EXPECT_GT(in.datagrams, in.reads) << in.reads << " reads";
    conn->close();
  }
}

TEST_F(QuicEndpointTest, a_reader_that_does_not_consume_stalls_the_writer) {
  QuicOptions o = options(certs().cluster(), a_node);
  o.auto_consume = false;
  serve(std::move(o));
  QuicOptions co = options(certs().cluster(), b_node);
  co.max_queued_bytes = 2 << 20;
  auto client = endpoint(std::move(co));
  Dial d = dial(*client, a_node);
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_TRUE(run_until([&] { return !accepted.empty(); }));
  std::uint64_t received = 0, unconsumed = 0;
  bool consuming = false;
  auto server_conn = accepted[0];
  server_conn->on_data([&](QuicStreamId s, auto bytes, bool) {
    received += bytes.size();
    if (consuming)
      server_conn->consume(s, bytes.size());
    else
      unconsumed += bytes.size();
  });
  auto conn = d.connection();
  auto id = conn->open_stream();
  ASSERT_TRUE(id.has_value());
  constexpr std::uint64_t total = 16ull << 20;
  bool written = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto b = bytes_of(2, 0, total);
        written = (co_await conn->write(*id, b)).empty();
      },
      asio::detached);
  // Stalled: the stream's window is full at the reader and the writer's queue is full.
  const std::size_t window = server->options().stream_window;
  ASSERT_TRUE(run_until([&] {
    return received == window && conn->queued_bytes() == client->options().max_queued_bytes;
  })) << received
      << " " << conn->queued_bytes();
  EXPECT_FALSE(written);
  // Consumed: credit flows back and the rest arrives.
  consuming = true;
  server_conn->consume(*id, unconsumed);
  ASSERT_TRUE(run_until([&] { return written && received == total; })) << received;
}

TEST_F(QuicEndpointTest, a_peer_may_open_only_as_many_streams_as_allowed) {
  QuicOptions o = options(certs().cluster(), a_node);
  o.max_streams = 4;
  serve(std::move(o));
  auto client = endpoint(options(certs().cluster(), b_node));
  Dial d = dial(*client, a_node);
  ASSERT_TRUE(d.ok()) << d.error();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(d.connection()->open_stream().has_value()) << i;
  auto fifth = d.connection()->open_stream();
  ASSERT_FALSE(fifth.has_value());
  EXPECT_EQ(fifth.error(), "the peer allows no more streams");
}

TEST_F(QuicEndpointTest, garbage_datagrams_are_dropped_without_state_and_service_goes_on) {
  serve(options(certs().cluster(), a_node));
  udp::socket noise(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint8_t>(seed >> 56);
  };
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::uint8_t> junk(1 + (i * 37) % 1500);
    for (auto& b : junk) b = next();
    // Some look like QUIC v1 long headers (Initial, version 1), the rest are noise.
    if (i % 3 == 0 && junk.size() > 8) {
      junk[0] = 0xc0;
      junk[1] = 0, junk[2] = 0, junk[3] = 0, junk[4] = 1;
      junk[5] = 8;
    }
    noise.send_to(asio::buffer(junk), server->local());
  }
  // The real client's packets come after the noise on the same socket: once it is accepted,
  // the noise has been read, and none of it made a connection that lasts.
  auto client = endpoint(options(certs().cluster(), b_node));
  Dial d = dial(*client, a_node);
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_TRUE(run_until([&] { return !accepted.empty(); }));
  EXPECT_EQ(server->connections(), 1u);
  // Not even a refusal to report: nothing in the noise was a peer.
  EXPECT_TRUE(refusals.empty()) << refusals[0];
  EXPECT_TRUE(accepted[0]->is_open());
}

// A refusal: the dial fails, with `dialer_says` in its reason, and the server reports a refusal
// (its own check, or the client's alert) unless the client is the one refusing.
void expect_refused(const Dial& d, const std::string& dialer_says) {
  ASSERT_TRUE(d.done());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().find(dialer_says), std::string::npos) << d.error();
}

TEST_F(QuicEndpointTest, a_certificate_from_another_ca_is_refused_both_ways) {
  serve(options(certs().cluster(), a_node));
  // Its CA is not ours, and ours is not its: the client refuses the server first.
  auto stranger = endpoint(options(certs().other_ca(), b_node));
  expect_refused(dial(*stranger, a_node), "certificate is refused");
  ASSERT_TRUE(run_until([&] { return !refusals.empty(); }));
  EXPECT_NE(refusals[0].find("TLS alert"), std::string::npos) << refusals[0];
  EXPECT_TRUE(accepted.empty());
  // The other way: a server of another CA.
  refusals.clear();
  server.reset();
  serve(options(certs().other_ca(), a_node));
  auto member = endpoint(options(certs().cluster(), b_node));
  expect_refused(dial(*member, a_node), "certificate is refused");
  ASSERT_TRUE(run_until([&] { return !refusals.empty(); }));
  EXPECT_TRUE(accepted.empty());
}

TEST_F(QuicEndpointTest, a_valid_certificate_for_another_node_is_refused_both_ways) {
  serve(options(certs().cluster(), a_node));
  auto client = endpoint(options(certs().cluster(), b_node));
  // The client dialed c, and a answered.
  expect_refused(dial(*client, "c@127.0.0.1"), "does not name c@127.0.0.1");
  ASSERT_TRUE(run_until([&] { return !refusals.empty(); }));
  EXPECT_NE(refusals[0].find("the server is not c@127.0.0.1"), std::string::npos) << refusals[0];
  // The client claims to be c: the server's check says no and closes with why.
  Dial d = dial(*client, a_node);
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_TRUE(run_until([&] { return !accepted.empty(); }));
  std::string why = accepted[0]->check_peer_name("c@127.0.0.1");
  ASSERT_NE(why, "");
  std::optional<std::string> client_saw;
  d.connection()->on_closed([&](const std::string& w) { client_saw = w; });
  accepted[0]->close(why);
  ASSERT_TRUE(run_until([&] { return client_saw.has_value(); }));
  EXPECT_NE(client_saw->find("does not name c@127.0.0.1"), std::string::npos) << *client_saw;
}

TEST_F(QuicEndpointTest, an_expired_certificate_is_refused_both_ways) {
  serve(options(certs().cluster(), a_node));
  auto expired = endpoint(options(certs().expired(), b_node));
  expect_refused(dial(*expired, a_node), "TLS alert");
  ASSERT_TRUE(run_until([&] { return !refusals.empty(); }));
  EXPECT_NE(refusals[0].find("expired"), std::string::npos) << refusals[0];
  refusals.clear();
  server.reset();
  serve(options(certs().expired(), a_node));
  auto member = endpoint(options(certs().cluster(), b_node));
  Dial d = dial(*member, a_node);
  expect_refused(d, "expired");
  EXPECT_TRUE(accepted.empty());
}

TEST_F(QuicEndpointTest, no_certificate_is_refused_both_ways) {
  serve(options(certs().cluster(), a_node));
  auto anonymous = endpoint(no_certificate());
  expect_refused(dial(*anonymous, a_node), "TLS alert");
  ASSERT_TRUE(run_until([&] { return !refusals.empty(); }));
  EXPECT_NE(refusals[0].find("no certificate"), std::string::npos) << refusals[0];
  EXPECT_TRUE(accepted.empty());
  // A server without one cannot even answer.
  refusals.clear();
  server.reset();
  serve(no_certificate());
  auto member = endpoint(options(certs().cluster(), b_node));
  Dial d = dial(*member, a_node);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().find("TLS"), std::string::npos) << d.error();
  EXPECT_TRUE(accepted.empty());
}

TEST_F(QuicEndpointTest, a_closed_connection_is_reported_once_with_the_reason) {
  serve(options(certs().cluster(), a_node));
  auto client = endpoint(options(certs().cluster(), b_node));
  Dial d = dial(*client, a_node);
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_TRUE(run_until([&] { return !accepted.empty(); }));
  std::vector<std::string> client_saw, server_saw;
  d.connection()->on_closed([&](const std::string& w) { client_saw.push_back(w); });
  accepted[0]->on_closed([&](const std::string& w) { server_saw.push_back(w); });
  accepted[0]->close("going away");
  ASSERT_TRUE(run_until([&] { return !client_saw.empty(); }));
  EXPECT_NE(client_saw[0].find("going away"), std::string::npos) << client_saw[0];
  ASSERT_EQ(server_saw.size(), 1u);
  EXPECT_FALSE(d.connection()->is_open());
  EXPECT_EQ(d.connection()->try_write(0, bytes_of(0, 0, 10)), 0u);
  accepted[0]->close("again");
  EXPECT_EQ(server_saw.size(), 1u);
  EXPECT_EQ(client_saw.size(), 1u);
}

// A peer gone without a word: as a crashed host (its datagrams vanish: a socket that reads
// nothing holds its port), only the idle timeout tells.
// A server for a and a client of it (`client`), both with `idle_timeout`, the client with
// `keep_alive`; the client's dial, accepted by the server unless it failed.
Dial idle_pair(std::chrono::milliseconds idle_timeout, std::chrono::milliseconds keep_alive,
               std::unique_ptr<QuicEndpoint>& client, QuicEndpointTest& t) {
  QuicOptions so = QuicEndpointTest::options(certs().cluster(), a_node);
  so.idle_timeout = idle_timeout;
  t.serve(std::move(so));
  QuicOptions co = QuicEndpointTest::options(certs().cluster(), b_node);
  co.idle_timeout = idle_timeout;
  co.keep_alive = keep_alive;
  client = t.endpoint(std::move(co));
  Dial d = t.dial(*client, a_node);
  if (d.ok()) {
    EXPECT_TRUE(t.run_until([&] { return !t.accepted.empty(); }));
  }
  return d;
}

TEST_F(QuicEndpointTest, a_silent_peer_is_reported_lost_by_the_idle_timeout) {
  std::unique_ptr<QuicEndpoint> client;
  Dial d = idle_pair(std::chrono::milliseconds(300), QuicOptions{}.keep_alive, client, *this);
  ASSERT_TRUE(d.ok()) << d.error();
  std::optional<std::string> lost;
  d.connection()->on_closed([&](const std::string& w) { lost = w; });
  // Idle but alive: keep-alive PINGs keep it up across several idle timeouts.
  bool waited = false;
  asio::steady_timer t(io, std::chrono::milliseconds(1000));
  t.async_wait([&](auto) { waited = true; });
  ASSERT_TRUE(run_until([&] { return waited; }));
  EXPECT_FALSE(lost.has_value()) << *lost;
  EXPECT_TRUE(d.connection()->is_open());
  // Its port taken by a socket that never answers, before the client sends again (nothing
  // runs on the loop in between).
  const udp::endpoint at = server->local();
  accepted.clear();
  server.reset();
  udp::socket hole(io, at);
  ASSERT_TRUE(run_until([&] { return lost.has_value(); }));
  EXPECT_NE(lost->find("idle timeout"), std::string::npos) << *lost;
}

// A peer whose process died: its port is closed, and the ICMP port unreachable that answers
// the next keep-alive ends the connection (the idle timeout, a minute here, never comes).
TEST_F(QuicEndpointTest, a_peer_whose_port_closed_is_reported_lost_at_its_next_packet) {
  std::unique_ptr<QuicEndpoint> client;
  Dial d = idle_pair(std::chrono::minutes(1), std::chrono::milliseconds(100), client, *this);
  ASSERT_TRUE(d.ok()) << d.error();
  std::optional<std::string> lost;
  d.connection()->on_closed([&](const std::string& w) { lost = w; });
  accepted.clear();
  server.reset();
  ASSERT_TRUE(run_until([&] { return lost.has_value(); }));
  EXPECT_NE(lost->find("UDP port is closed"), std::string::npos) << *lost;
  EXPECT_EQ(client->connections(), 0u);
}

// A dial to a port where nothing listens fails at once, not after the handshake timeout.
TEST_F(QuicEndpointTest, a_dial_to_a_closed_port_fails_at_its_first_packet) {
  serve(options(certs().cluster(), a_node));
  QuicOptions co = options(certs().cluster(), b_node);
  co.handshake_timeout = std::chrono::minutes(1);
  auto client = endpoint(std::move(co));
  const udp::endpoint at = server->local();
  server.reset();  // its port is closed now
  std::optional<std::expected<std::shared_ptr<QuicConnection>, std::string>> result;
  client->dial(at, a_node, [&](auto r) { result = std::move(r); });
  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  ASSERT_FALSE(result->has_value());
  EXPECT_NE(result->error().find("UDP port is closed"), std::string::npos) << result->error();
}

}  // namespace
