#include "tls_carrier.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../patience.hpp"
#include "connection.hpp"

// The TLS carrier alone (two carriers over loopback TCP, certificates from
// scripts/cluster-certs.sh), then under two connections, each on an I/O thread of its own as on
// two nodes: a bulk stream one way while round trips go both ways.

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::dist::detail;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using ambitious::test::patience;

namespace {

// The cluster's CA and the certificates of a@127.0.0.1 and b@127.0.0.1, made once.
struct Certs {
  fs::path dir;
  bool made = false;
  std::shared_ptr<const TlsCredentials> a, b;
};

Certs& certs() {
  static Certs c;
  return c;
}

std::shared_ptr<const TlsCredentials> load(const std::string& node) {
  const fs::path& d = certs().dir;
  auto c = TlsCredentials::load(TlsOptions{.ca_file = (d / "ca.pem").string(),
                                           .cert_file = (d / (node + ".pem")).string(),
                                           .key_file = (d / (node + "-key.pem")).string()});
  return c ? *c : nullptr;
}

// Runs `io` until `done` holds; false when patience ran out first.
bool until(asio::io_context& io, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();  // it ran out of work: what is spawned next is new work
    io.run_one_for(10ms);
  }
  return true;
}

struct TlsCarrierTest : ::testing::Test {
  static void SetUpTestSuite() {
    Certs& c = certs();
    char pattern[] = "/tmp/ambitious-tls-carrier-XXXXXX";
    if (!::mkdtemp(pattern)) return;
    c.dir = pattern;
    const std::string command = std::string(CLUSTER_CERTS_SCRIPT) + " " + c.dir.string() +
                                " a@127.0.0.1 b@127.0.0.1 >/dev/null 2>&1";
    c.made = std::system(command.c_str()) == 0;
    if (c.made) {
      c.a = load("a@127.0.0.1");
      c.b = load("b@127.0.0.1");
      c.made = c.a && c.b;
    }
  }
  static void TearDownTestSuite() {
    certs().a.reset();
    certs().b.reset();
    std::error_code ec;
    if (!certs().dir.empty()) fs::remove_all(certs().dir, ec);
  }
  void SetUp() override {
    ASSERT_TRUE(certs().made) << "scripts/cluster-certs.sh failed (is gnutls-bin installed?)";
  }
};

// Two carriers over loopback on one io_context, their TLS handshake done: a the client, b the
// server.
struct CarrierPair : TlsCarrierTest {
  asio::io_context io;
  std::unique_ptr<TlsCarrier> a, b;
  int b_fd = -1;

  void SetUp() override {
    TlsCarrierTest::SetUp();
    if (HasFatalFailure()) return;
    tcp::acceptor listener(io, {asio::ip::make_address("127.0.0.1"), 0});
    tcp::socket client(io), server(io);
    client.connect(listener.local_endpoint());
    listener.accept(server);
    b_fd = server.native_handle();
    a = std::make_unique<TlsCarrier>(std::move(client), TlsCarrier::Role::client, certs().a);
    b = std::make_unique<TlsCarrier>(std::move(server), TlsCarrier::Role::server, certs().b);
    std::optional<std::string> a_open, b_open;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { a_open = co_await a->open(); }, asio::detached);
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { b_open = co_await b->open(); }, asio::detached);
    ASSERT_TRUE(until(io, [&] { return a_open && b_open; })) << "no TLS handshake";
    ASSERT_EQ(*a_open, "");
    ASSERT_EQ(*b_open, "");
    EXPECT_EQ(a->check_peer_name("b@127.0.0.1"), "");
    EXPECT_EQ(b->check_peer_name("a@127.0.0.1"), "");
  }
};

}  // namespace

// A read whose records wait already on the socket completes without waiting for it, inside
// GnuTLS's call; what else is ready on the executor (the connection's writer, woken by a sender)
// must still run before it completes, or a reader that always finds another record (a peer
// streaming) keeps the I/O thread to itself forever.
TEST_F(CarrierPair, a_read_that_finds_its_record_waiting_lets_the_executor_run_what_is_ready) {
  const std::string hello(1000, 'h');
  std::optional<boost::system::error_code> wrote;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        boost::system::error_code ec;
        asio::const_buffer one(hello.data(), hello.size());
        co_await a->write(std::span(&one, 1), ec);
        wrote = ec;
      },
      asio::detached);
  ASSERT_TRUE(until(io, [&] { return wrote.has_value(); }));
  ASSERT_FALSE(*wrote) << wrote->message();
  // The record is in b's socket before b reads (on loopback, at once; bounded all the same).
  pollfd p{b_fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, static_cast<int>(patience / 1ms)), 1);
  bool other_ran = false;
  std::optional<bool> ran_before_read_completed;
  std::string got(hello.size(), '\0');
  std::size_t n = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::post(io, [&] { other_ran = true; });
        boost::system::error_code ec;
        while (n < got.size() && !ec)
          n += co_await b->read_some(
              std::span(reinterpret_cast<std::uint8_t*>(got.data()) + n, got.size() - n), ec);
        ran_before_read_completed = other_ran;
      },
      asio::detached);
  ASSERT_TRUE(until(io, [&] { return ran_before_read_completed.has_value(); }));
  EXPECT_TRUE(*ran_before_read_completed)
      << "the read completed inside its caller's turn: nothing else on the executor ran";
  EXPECT_EQ(got, hello);
}

// Likewise a write the socket takes at once.
TEST_F(CarrierPair, a_write_the_socket_takes_at_once_lets_the_executor_run_what_is_ready) {
  const std::string hello(1000, 'h');
  bool other_ran = false;
  std::optional<bool> ran_before_write_completed;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::post(io, [&] { other_ran = true; });
        boost::system::error_code ec;
        asio::const_buffer one(hello.data(), hello.size());
        co_await a->write(std::span(&one, 1), ec);
        EXPECT_FALSE(ec) << ec.message();
        ran_before_write_completed = other_ran;
      },
      asio::detached);
  ASSERT_TRUE(until(io, [&] { return ran_before_write_completed.has_value(); }));
  EXPECT_TRUE(*ran_before_write_completed)
      << "the write completed inside its caller's turn: nothing else on the executor ran";
  std::string got(hello.size(), '\0');
  std::size_t n = 0;
  bool read_done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        boost::system::error_code ec;
        while (n < got.size() && !ec)
          n += co_await b->read_some(
              std::span(reinterpret_cast<std::uint8_t*>(got.data()) + n, got.size() - n), ec);
        read_done = true;
      },
      asio::detached);
  ASSERT_TRUE(until(io, [&] { return read_done; }));
  EXPECT_EQ(got, hello);
}

namespace {

Pid local(std::uint32_t id) { return Pid(nodes::local, id, 0); }

const Pid streamer = local(1), pinger = local(2), sink = local(9);

// One side of the stream test: B counts the stream's binaries and answers each round trip
// (from its executor, as a node's process would); A records the answers. Under `mutex`.
struct Side final : ConnectionOwner {
  std::mutex mutex;
  std::condition_variable changed;
  bool up = false, echo = false;
  std::optional<std::string> down;
  std::int64_t binaries = 0, bytes = 0, answered = 0;
  Admission admit(Connection&, const handshake_action::Admit&) override { return Admission::ok; }
  bool confirm_alive(Connection&) override { return true; }
  void replace_old(Connection&) override {}
  void established(Connection&) override {
    note([&] { up = true; });
  }
  void closed(Connection&, const std::string& why) override {
    note([&] { down = why; });
  }
  void received(Connection& c, ControlMessage&& m) override {
    auto& s = std::get<control::Send>(m);
    if (s.message.is_binary()) {
      note([&] {
        ++binaries;
        bytes += static_cast<std::int64_t>(s.message.bytes().size());
      });
    } else if (echo) {
      c.send(control::Send{sink, *s.from, s.message, std::nullopt});
    } else {
      note([&] { answered = s.message.as_int64(); });
    }
  }
  void queue_changed(Connection&, std::int64_t, std::int64_t) override { changed.notify_all(); }
  template <class F>
  void note(F&& f) {
    {
      std::lock_guard lock(mutex);
      f();
    }
    changed.notify_all();
  }
  // Waits until `done` holds (read under the mutex); false when patience ran out first.
  bool wait(const std::function<bool()>& done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, patience, done);
  }
};

}  // namespace

// dist_hol over TLS: A streams 8 MiB binaries to B without pause while round trips go from A
// to B and back; each round trip comes back while the stream flows, and B gets every byte. Each
// node's connection runs on an I/O thread of its own. Before the carrier gave the executor a
// turn, B's reader, always finding the stream's next record waiting, never let B's writer send
// an answer (and A's writer starved A's reader likewise): the first round trip never came back.
TEST_F(TlsCarrierTest, round_trips_come_back_while_8_mib_binaries_stream_the_other_way) {
  asio::io_context a_io, b_io;
  Side a_side, b_side;
  b_side.echo = true;
  tcp::acceptor listener(b_io, {asio::ip::make_address("127.0.0.1"), 0});
  tcp::socket client(a_io), server(b_io);
  client.connect(listener.local_endpoint());
  listener.accept(server);
  auto settings = [](std::string me, std::string peer) {
    return HandshakeSettings{std::move(me), 7, default_flags, Cookie("secret"), std::move(peer)};
  };
  ConnectionOptions options;
  auto a = std::make_shared<Connection>(
      a_io.get_executor(),
      std::make_unique<TlsCarrier>(std::move(client), TlsCarrier::Role::client, certs().a),
      Handshake::Role::initiator, settings("a@127.0.0.1", "b@127.0.0.1"), 1111, options, a_side);
  auto b = std::make_shared<Connection>(
      b_io.get_executor(),
      std::make_unique<TlsCarrier>(std::move(server), TlsCarrier::Role::server, certs().b),
      Handshake::Role::acceptor, settings("b@127.0.0.1", ""), 2222, options, b_side);
  a->start();
  b->start();
  auto a_work = asio::make_work_guard(a_io);
  auto b_work = asio::make_work_guard(b_io);
  std::thread a_thread([&] { a_io.run(); }), b_thread([&] { b_io.run(); });
  const Term bin = Term::binary_filled(8 << 20, [](std::span<std::uint8_t> to) {
    std::uint32_t x = 12345;
    for (std::uint8_t& c : to) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<std::uint8_t>(x >> 24);
    }
  });
  std::atomic<bool> streaming{true};
  std::atomic<std::int64_t> streamed{0};
  std::thread stream;
  // Whatever fails below, the threads end: the connections close, the io_contexts stop.
  struct Stop {
    std::function<void()> f;
    ~Stop() { f(); }
  } stop{[&] {
    streaming = false;
    a_side.changed.notify_all();
    if (stream.joinable()) stream.join();
    asio::post(a_io, [&] { a->close("test over"); });
    a_side.wait([&] { return a_side.down.has_value(); });
    b_side.wait([&] { return b_side.down.has_value(); });
    a_work.reset();
    b_work.reset();
    a_io.stop();
    b_io.stop();
    a_thread.join();
    b_thread.join();
  }};
  ASSERT_TRUE(a_side.wait([&] { return a_side.up; })) << "A: no connection";
  ASSERT_TRUE(b_side.wait([&] { return b_side.up; })) << "B: no connection";

  // The stream, as the node's busy distribution suspends its sender: the next binary goes once
  // the connection is no longer busy.
  stream = std::thread([&] {
    while (streaming) {
      {
        std::unique_lock lock(a_side.mutex);
        a_side.changed.wait_for(lock, 100ms, [&] { return !streaming || !a->busy(); });
      }
      if (!streaming) break;
      if (a->busy()) continue;
      asio::post(a_io, [&] { a->send(control::Send{streamer, sink, bin, std::nullopt}); });
      ++streamed;
      // The post runs before the next look at busy(): it is on the queue by then.
      std::promise<void> queued;
      asio::post(a_io, [&] { queued.set_value(); });
      queued.get_future().wait();
    }
  });
  // Round trips while the stream flows: the first only once B has had a whole binary.
  ASSERT_TRUE(b_side.wait([&] { return b_side.binaries >= 1; }))
      << "B got no binary of the stream within patience";
  constexpr std::int64_t round_trips = 100;
  for (std::int64_t i = 1; i <= round_trips; ++i) {
    asio::post(a_io, [&, i] { a->send(control::Send{pinger, sink, Term(i), std::nullopt}); });
    ASSERT_TRUE(a_side.wait([&] { return a_side.answered == i; }))
        << "round trip " << i << " of " << round_trips
        << " did not come back within patience while the stream flowed (" << streamed
        << " binaries queued so far)";
  }
  streaming = false;
  stream.join();
  const std::int64_t sent = streamed;
  ASSERT_TRUE(b_side.wait([&] { return b_side.binaries == sent; }))
      << "B did not get every binary within patience";
  std::lock_guard lock(b_side.mutex);
  EXPECT_EQ(b_side.bytes, sent * (8 << 20));
}
