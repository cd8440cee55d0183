// QuicCarrier: a distribution connection on a pool of QUIC streams. Two endpoints in this process
// on 127.0.0.1, one io_context on the test's thread, certificates from scripts/cluster-certs.sh.
// Connections on both ends (the handshake on stream 0, then each sender's frames on its own
// stream, each sender's order kept across fragments of large messages); the reader's merge (a
// frame that has not arrived whole holds back no other stream's frame); the writer (a stream
// without room holds back only the senders whose stream it is).

#include "quic_carrier.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../patience.hpp"
#include "connection.hpp"

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::dist::detail;
using namespace ambitious::test;
namespace fs = std::filesystem;

namespace {

const std::string a_node = "a@127.0.0.1";
const std::string b_node = "b@127.0.0.1";

fs::path& certs_dir() {
  static fs::path dir;
  return dir;
}

// What a connection tells its node; admits every peer.
struct Events final : ConnectionOwner {
  bool up = false;
  std::optional<std::string> down;
  std::vector<ControlMessage> got;
  Admission admit(Connection&, const handshake_action::Admit&) override { return Admission::ok; }
  bool confirm_alive(Connection&) override { return true; }
  void replace_old(Connection&) override {}
  void established(Connection&) override { up = true; }
  void received(Connection&, ControlMessage&& m) override { got.push_back(std::move(m)); }
  void closed(Connection&, const std::string& why) override { down = why; }
};

// A QUIC carrier whose streams can be held without room: a peer that does not read one of them.
struct Holding final : Carrier {
  explicit Holding(std::unique_ptr<Carrier> c) : inner(std::move(c)) {}
  asio::awaitable<std::string> open() override { co_return co_await inner->open(); }
  std::string check_peer_name(std::string_view node) const override {
    return inner->check_peer_name(node);
  }
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> into,
                                         boost::system::error_code& ec) override {
    co_return co_await inner->read_some(into, ec);
  }
  asio::awaitable<void> write(std::span<const asio::const_buffer> b,
                              boost::system::error_code& ec) override {
    co_await inner->write(b, ec);
  }
  std::size_t streams() const noexcept override { return inner->streams(); }
  bool has_room(std::size_t stream) const noexcept override {
    return stream != held && inner->has_room(stream);
  }
  void on_room(std::function<void()> handler) override {
    room = handler;
    inner->on_room(std::move(handler));
  }
  asio::awaitable<void> write_streams(std::span<const asio::const_buffer> b,
                                      std::span<const std::uint32_t> s,
                                      boost::system::error_code& ec) override {
    for (std::uint32_t stream : s) written_on.push_back(stream);
    co_await inner->write_streams(b, s, ec);
  }
  void established() override { inner->established(); }
  void close() noexcept override { inner->close(); }
  std::string describe(const boost::system::error_code& ec) const override {
    return inner->describe(ec);
  }
  const char* kind() const noexcept override { return inner->kind(); }
  std::string remote() const override { return inner->remote(); }
  void release() {
    held = none;
    if (room) room();
  }

  static constexpr std::size_t none = ~std::size_t{0};
  std::unique_ptr<Carrier> inner;
  std::size_t held = none;
  std::function<void()> room;
  std::vector<std::uint32_t> written_on;
};

struct QuicCarrierTest : ::testing::Test {
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/ambitious-quic-carrier-XXXXXX";
    if (!::mkdtemp(pattern)) return;
    const std::string command = std::string(CLUSTER_CERTS_SCRIPT) + " " + pattern + " " + a_node +
                                " " + b_node + " >/dev/null 2>&1";
    if (std::system(command.c_str()) == 0) certs_dir() = pattern;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!certs_dir().empty()) fs::remove_all(certs_dir(), ec);
  }

  void SetUp() override {
    ASSERT_FALSE(certs_dir().empty())
        << "scripts/cluster-certs.sh failed (is gnutls-bin installed?)";
    server = endpoint(a_node);
    client = endpoint(b_node);
    ASSERT_TRUE(server && client);
    server->on_accept([this](std::shared_ptr<QuicConnection> c) { accepted = std::move(c); });
    client->dial(server->local(), a_node, [this](auto result) {
      ASSERT_TRUE(result.has_value()) << result.error();
      dialed = std::move(*result);
    });
    ASSERT_TRUE(run_until([&] { return dialed && accepted; }));
  }

  // `node`'s endpoint, handing credit back only as its carriers read (as a node's does).
  std::unique_ptr<QuicEndpoint> endpoint(const std::string& node) {
    const fs::path& dir = certs_dir();
    TlsOptions t{(dir / "ca.pem").string(), (dir / (node + ".pem")).string(),
                 (dir / (node + "-key.pem")).string()};
    auto loaded = TlsCredentials::load(t);
    EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error());
    if (!loaded) return nullptr;
    QuicOptions o;
    o.use(*loaded);
    o.auto_consume = false;
    auto e = QuicEndpoint::open(io.get_executor(), {asio::ip::make_address("127.0.0.1"), 0},
                                std::move(o));
    EXPECT_TRUE(e.has_value()) << (e ? "" : e.error());
    return e ? std::move(*e) : nullptr;
  }

  // Connections on both ends: b (the dialer) the initiator, a the acceptor; b's carrier
  // wrapped in a Holding one.
  void connect() {
    auto holding = std::make_unique<Holding>(
        std::make_unique<QuicCarrier>(io.get_executor(), dialed, QuicCarrier::Role::initiator));
    b_carrier = holding.get();
    HandshakeSettings bs{b_node, 7, default_flags, Cookie("secret"), a_node};
    HandshakeSettings as{a_node, 7, default_flags, Cookie("secret"), ""};
    b = std::make_shared<Connection>(io.get_executor(), std::move(holding),
                                     Handshake::Role::initiator, bs, 1111, ConnectionOptions{},
                                     b_events);
    a = std::make_shared<Connection>(
        io.get_executor(),
        std::make_unique<QuicCarrier>(io.get_executor(), accepted, QuicCarrier::Role::acceptor),
        Handshake::Role::acceptor, as, 2222, ConnectionOptions{}, a_events);
    b->start();
    a->start();
  }

  template <class P>
  bool run_until(P done) {
    const auto give_up = std::chrono::steady_clock::now() + patience;
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      io.run_one_for(std::chrono::milliseconds(100));
    }
    return true;
  }

  void TearDown() override {
    if (a) a->close("test over");
    if (b) b->close("test over");
    run_until([&] { return (!a || a_events.down) && (!b || b_events.down); });
  }

  asio::io_context io;
  std::unique_ptr<QuicEndpoint> server, client;
  std::shared_ptr<QuicConnection> accepted, dialed;
  Events a_events, b_events;
  std::shared_ptr<Connection> a, b;
  Holding* b_carrier = nullptr;
};

Pid local(std::uint32_t id) { return Pid(nodes::local, id, 0); }

control::Send message(std::uint32_t from, std::int64_t n, std::size_t padding = 0) {
  return control::Send{local(from), local(99),
                       Term::tuple(Term(n), Term::binary(std::string(padding, 'p'))), std::nullopt};
}

// Each sender's integers, in the order they arrived.
std::map<std::uint32_t, std::vector<std::int64_t>> by_sender(
    const std::vector<ControlMessage>& got) {
  std::map<std::uint32_t, std::vector<std::int64_t>> out;
  for (const auto& m : got) {
    const auto& s = std::get<control::Send>(m);
    out[s.from->id].push_back(s.message[0].as_int64());
  }
  return out;
}

TEST_F(QuicCarrierTest, connections_keep_each_senders_order_on_their_own_streams) {
  connect();
  ASSERT_TRUE(run_until([&] { return a_events.up && b_events.up; }));
  EXPECT_STREQ(b->carrier_kind(), "quic");
  // Eight senders, every fifth message of theirs large (fragments), from b to a and back.
  constexpr int senders = 8, each = 40;
  for (int n = 0; n < each; ++n)
    for (std::uint32_t s = 1; s <= senders; ++s) {
      const std::size_t padding = n % 5 == 4 ? 300 * 1024 : 16;
      ASSERT_TRUE(b->send(message(s, n, padding)));
      ASSERT_TRUE(a->send(message(s + 100, n, padding)));
    }
  ASSERT_TRUE(run_until([&] {
    return a_events.got.size() == senders * each && b_events.got.size() == senders * each;
  })) << a_events.got.size()
      << " " << b_events.got.size();
  std::vector<std::int64_t> in_order;
  for (int n = 0; n < each; ++n) in_order.push_back(n);
  for (auto& [sender, got] : by_sender(a_events.got)) EXPECT_EQ(got, in_order) << sender;
  for (auto& [sender, got] : by_sender(b_events.got)) EXPECT_EQ(got, in_order) << sender;
  for (const auto& m : a_events.got) {
    const auto& s = std::get<control::Send>(m);
    const std::size_t padding = s.message[0].as_int64() % 5 == 4 ? 300 * 1024 : 16;
    EXPECT_EQ(s.message[1].bytes().size(), padding);
  }
  // The senders' frames went on several streams of the pool, each sender's on its own.
  std::set<std::uint32_t> used(b_carrier->written_on.begin(), b_carrier->written_on.end());
  EXPECT_GT(used.size(), 2u);
  for (std::uint32_t s = 1; s <= senders; ++s)
    EXPECT_TRUE(used.contains(sender_stream(local(s), QuicCarrier::pool))) << s;
}

TEST_F(QuicCarrierTest, a_stream_without_room_holds_back_only_the_senders_it_carries) {
  connect();
  ASSERT_TRUE(run_until([&] { return a_events.up && b_events.up; }));
  // x's stream has no room (its peer does not read it); y's is another.
  const std::uint32_t x = 1;
  const std::size_t held = sender_stream(local(x), QuicCarrier::pool);
  std::uint32_t y = 2;
  while (sender_stream(local(y), QuicCarrier::pool) == held) ++y;
  b_carrier->held = held;
  ASSERT_TRUE(b->send(message(x, 0, 200 * 1024)));  // a large one, then a small one
  ASSERT_TRUE(b->send(message(x, 1)));
  for (int n = 0; n < 3; ++n) ASSERT_TRUE(b->send(message(y, n)));
  ASSERT_TRUE(run_until([&] { return a_events.got.size() == 3; }));
  EXPECT_EQ(by_sender(a_events.got)[y], (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_GT(b->queued_bytes(), 200u * 1024);  // x's, waiting for its stream
  // Room again: x's messages follow, in order.
  b_carrier->release();
  ASSERT_TRUE(run_until([&] { return a_events.got.size() == 5; }));
  EXPECT_EQ(by_sender(a_events.got)[x], (std::vector<std::int64_t>{0, 1}));
  EXPECT_TRUE(run_until([&] { return b->queued_bytes() == 0; }));
}

// The reader alone, against a raw QUIC client that writes frames by hand.
TEST_F(QuicCarrierTest, a_frame_not_yet_whole_holds_back_no_other_streams_frame) {
  QuicCarrier carrier(io.get_executor(), accepted, QuicCarrier::Role::acceptor);
  std::vector<std::uint8_t> read;
  std::optional<boost::system::error_code> failed;
  bool reading = false;
  auto read_once = [&] {
    reading = true;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          std::vector<std::uint8_t> into(1 << 20);
          boost::system::error_code ec;
          const std::size_t n = co_await carrier.read_some(into, ec);
          if (ec) failed = ec;
          read.insert(read.end(), into.begin(), into.begin() + static_cast<std::ptrdiff_t>(n));
          reading = false;
        },
        asio::detached);
  };
  auto write = [&](QuicStreamId s, std::vector<std::uint8_t> bytes) {
    ASSERT_EQ(dialed->try_write(s, bytes), bytes.size());
  };
  auto control = dialed->open_stream();
  ASSERT_TRUE(control.has_value());
  ASSERT_EQ(*control, 0);
  // In the handshake: stream 0 only, a 2-byte-framed frame at a time.
  write(*control, {0, 2, 'h', 'i', 0, 1, '!'});
  read_once();
  ASSERT_TRUE(run_until([&] { return !reading; }));
  EXPECT_EQ(read, (std::vector<std::uint8_t>{0, 2, 'h', 'i'}));
  read.clear();
  read_once();
  ASSERT_TRUE(run_until([&] { return !reading; }));
  EXPECT_EQ(read, (std::vector<std::uint8_t>{0, 1, '!'}));
  read.clear();
  carrier.established();
  // A frame of 100,000 bytes, 60,000 of them sent, on one stream; a whole one on another.
  auto bulk = dialed->open_stream(), small = dialed->open_stream();
  ASSERT_TRUE(bulk && small);
  std::vector<std::uint8_t> head = {0, 1, 0x86, 0xa0};  // 100,000
  std::vector<std::uint8_t> body(100'000, 5);
  std::vector<std::uint8_t> first = head;
  first.insert(first.end(), body.begin(), body.begin() + 60'000);
  write(*bulk, first);
  write(*small, {0, 0, 0, 3, 'a', 'b', 'c'});
  read_once();
  ASSERT_TRUE(run_until([&] { return !reading; }));
  EXPECT_FALSE(failed);
  EXPECT_EQ(read, (std::vector<std::uint8_t>{0, 0, 0, 3, 'a', 'b', 'c'}));
  read.clear();
  // The rest: the long frame whole, then nothing else.
  write(*bulk, std::vector<std::uint8_t>(body.begin() + 60'000, body.end()));
  while (read.size() < head.size() + body.size()) {
    read_once();
    ASSERT_TRUE(run_until([&] { return !reading; }));
    ASSERT_FALSE(failed);
  }
  std::vector<std::uint8_t> whole = head;
  whole.insert(whole.end(), body.begin(), body.end());
  EXPECT_EQ(read, whole);
}

}  // namespace
