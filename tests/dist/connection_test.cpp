#include "connection.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "../patience.hpp"
#include "ambitious/behaviours/logger.hpp"

// Two connections talking over loopback TCP on one io_context, which the test runs until the
// state it waits for holds (at most `patience`).

using namespace ambitious;
using namespace ambitious::dist;
using namespace ambitious::dist::detail;
using namespace std::chrono_literals;

namespace {

// Records what a connection tells its node; admits every peer. Under `mutex` (offer() tells
// queue_changed from the sender's thread); the tests that run the io_context on another thread
// read it under the mutex too.
struct Recorder final : ConnectionOwner {
  std::mutex mutex;
  Admission answer = Admission::ok;
  bool up = false;
  std::optional<std::string> down;
  std::vector<ControlMessage> got;
  std::int64_t queued = 0, queued_small = 0;  // the sum of queue_changed's deltas
  Admission admit(Connection&, const handshake_action::Admit&) override { return answer; }
  bool confirm_alive(Connection&) override { return true; }
  void replace_old(Connection&) override {}
  void established(Connection&) override {
    std::lock_guard lock(mutex);
    up = true;
  }
  void received(Connection&, ControlMessage&& m) override {
    std::lock_guard lock(mutex);
    got.push_back(std::move(m));
  }
  void closed(Connection&, const std::string& why) override {
    std::lock_guard lock(mutex);
    down = why;
  }
  void queue_changed(Connection&, std::int64_t delta, std::int64_t small) override {
    std::lock_guard lock(mutex);
    queued += delta;
    queued_small += small;
  }
  template <class F>
  auto locked(F&& f) {
    std::lock_guard lock(mutex);
    return f();
  }
};

// A carrier whose reads wait while it is stalled: a peer that does not read.
struct Stalling final : Carrier {
  Stalling(asio::any_io_executor ex, std::unique_ptr<Carrier> c)
      : inner(std::move(c)), release(std::make_shared<asio::steady_timer>(ex)) {}
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> into,
                                         boost::system::error_code& ec) override {
    while (*stalled) {
      boost::system::error_code ignored;
      release->expires_at(asio::steady_timer::time_point::max());
      co_await release->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    co_return co_await inner->read_some(into, ec);
  }
  asio::awaitable<void> write(std::span<const asio::const_buffer> b,
                              boost::system::error_code& ec) override {
    co_await inner->write(b, ec);
  }
  std::size_t try_write(std::span<const asio::const_buffer> b,
                        boost::system::error_code& ec) override {
    return inner->try_write(b, ec);
  }
  void close() noexcept override {
    *stalled = false;
    release->cancel();
    inner->close();
  }
  const char* kind() const noexcept override { return inner->kind(); }
  std::string remote() const override { return inner->remote(); }
  std::unique_ptr<Carrier> inner;
  std::shared_ptr<bool> stalled = std::make_shared<bool>(false);
  std::shared_ptr<asio::steady_timer> release;
};

// A carrier that stops writing (and pretends it wrote) once muted: a peer gone silent.
struct Muting final : Carrier {
  explicit Muting(std::unique_ptr<Carrier> c) : inner(std::move(c)) {}
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> into,
                                         boost::system::error_code& ec) override {
    co_return co_await inner->read_some(into, ec);
  }
  asio::awaitable<void> write(std::span<const asio::const_buffer> b,
                              boost::system::error_code& ec) override {
    if (*muted) co_return;
    if (*corrupt) {
      std::vector<std::uint8_t> bytes = std::move(**corrupt);
      corrupt->reset();
      asio::const_buffer one(bytes.data(), bytes.size());
      co_await inner->write(std::span(&one, 1), ec);
      co_return;
    }
    co_await inner->write(b, ec);
  }
  // Muted or corrupting, it leaves the bytes to write() (which drops or corrupts them).
  std::size_t try_write(std::span<const asio::const_buffer> b,
                        boost::system::error_code& ec) override {
    return *muted || *corrupt ? 0 : inner->try_write(b, ec);
  }
  void close() noexcept override { inner->close(); }
  const char* kind() const noexcept override { return inner->kind(); }
  std::string remote() const override { return inner->remote(); }
  std::unique_ptr<Carrier> inner;
  std::shared_ptr<bool> muted = std::make_shared<bool>(false);
  std::shared_ptr<std::optional<std::vector<std::uint8_t>>> corrupt =
      std::make_shared<std::optional<std::vector<std::uint8_t>>>();
};

Pid local(std::uint32_t id) { return Pid(nodes::local, id, 0); }

struct Pair : ::testing::Test {
  asio::io_context io;
  tcp::acceptor listener{io, {asio::ip::make_address("127.0.0.1"), 0}};
  Recorder a_events, b_events;
  std::shared_ptr<Connection> a, b;  // a dials b
  ConnectionOptions options;
  std::shared_ptr<bool> a_muted;
  std::shared_ptr<std::optional<std::vector<std::uint8_t>>> a_corrupt;
  std::shared_ptr<bool> b_stalled;
  std::shared_ptr<asio::steady_timer> b_release;

  HandshakeSettings settings(std::string me, std::string cookie, std::string peer = "") {
    return HandshakeSettings{std::move(me), 7, default_flags, Cookie(std::move(cookie)),
                             std::move(peer)};
  }

  void connect(std::string a_cookie = "secret", std::string b_cookie = "secret") {
    tcp::socket client(io), server(io);
    client.connect(listener.local_endpoint());
    listener.accept(server);
    auto muting = std::make_unique<Muting>(std::make_unique<TcpCarrier>(std::move(client)));
    a_muted = muting->muted;
    a_corrupt = muting->corrupt;
    a = std::make_shared<Connection>(
        io.get_executor(), std::move(muting), Handshake::Role::initiator,
        settings("a@127.0.0.1", a_cookie, "b@127.0.0.1"), 1111, options, a_events);
    auto stalling = std::make_unique<Stalling>(io.get_executor(),
                                               std::make_unique<TcpCarrier>(std::move(server)));
    b_stalled = stalling->stalled;
    b_release = stalling->release;
    b = std::make_shared<Connection>(io.get_executor(), std::move(stalling),
                                     Handshake::Role::acceptor, settings("b@127.0.0.1", b_cookie),
                                     2222, options, b_events);
    a->start();
    b->start();
  }

  // Runs the io_context until `done` holds; false when patience ran out first.
  bool until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + ambitious::test::patience;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io.run_one_for(10ms);
    }
    return true;
  }
  // Waits (the io_context running on another thread) until `done` holds, read under `r`'s
  // mutex; false when patience ran out first.
  static bool until_locked(Recorder& r, const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + ambitious::test::patience;
    while (!r.locked(done)) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(1ms);  // polling a state, not waiting for luck
    }
    return true;
  }
};

// Each sender's messages as B got them: sender id -> the integers, in the order read.
std::map<std::uint32_t, std::vector<std::int64_t>> by_sender(
    const std::vector<ControlMessage>& got) {
  std::map<std::uint32_t, std::vector<std::int64_t>> out;
  for (const auto& m : got) {
    const auto& s = std::get<control::Send>(m);
    out[s.from->id].push_back(s.message[0].as_int64());
  }
  return out;
}

}  // namespace

TEST_F(Pair, both_sides_establish_and_messages_flow_both_ways_in_order) {
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  EXPECT_EQ(a->peer(), "b@127.0.0.1");
  EXPECT_EQ(b->peer(), "a@127.0.0.1");
  EXPECT_EQ(a->flags(), default_flags);
  EXPECT_EQ(b->peer_creation(), 7u);
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(a->send(control::Send{local(1), local(2), Term(i), std::nullopt}));
  ASSERT_TRUE(b->send(control::RegSend{local(3), Atom("echo"), atom("back"), std::nullopt}));
  ASSERT_TRUE(until([&] { return b_events.got.size() == 100 && a_events.got.size() == 1; }));
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(std::get<control::Send>(b_events.got[static_cast<std::size_t>(i)]).message, Term(i));
  EXPECT_EQ(std::get<control::RegSend>(a_events.got[0]).to, Atom("echo"));
  a->close("done");
  ASSERT_TRUE(until([&] { return a_events.down && b_events.down; }));
  EXPECT_EQ(*a_events.down, "done");
  EXPECT_EQ(*b_events.down, "connection closed by the peer");
  EXPECT_FALSE(b->send(control::Link{local(1), local(2)}));
}

TEST_F(Pair, a_wrong_cookie_is_refused) {
  connect("secret", "other");
  ASSERT_TRUE(until([&] { return a_events.down && b_events.down; }));
  EXPECT_FALSE(a_events.up);
  EXPECT_FALSE(b_events.up);
  EXPECT_NE(b_events.down->find("wrong cookie"), std::string::npos) << *b_events.down;
}

TEST_F(Pair, a_large_message_goes_in_fragments_and_other_senders_overtake_it) {
  options.fragment_size = 1000;
  options.max_batch = 4000;
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  Term big = Term::binary(std::string(100'000, 'x'));
  ASSERT_TRUE(a->send(control::Send{local(1), local(9), big, std::nullopt}));
  ASSERT_TRUE(a->send(control::Send{local(1), local(9), atom("after_big"), std::nullopt}));
  ASSERT_TRUE(a->send(control::Send{local(2), local(9), atom("small"), std::nullopt}));
  ASSERT_TRUE(until([&] { return b_events.got.size() == 3; }));
  EXPECT_EQ(std::get<control::Send>(b_events.got[0]).message, atom("small"));
  EXPECT_EQ(std::get<control::Send>(b_events.got[1]).message, big);
  EXPECT_EQ(std::get<control::Send>(b_events.got[2]).message, atom("after_big"));
}

TEST_F(Pair, large_messages_in_fragments_of_the_default_size_arrive_byte_exact) {
  // Fragments of 64 KiB: the reader puts each continuation straight into its reassembly.
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  std::vector<Term> sent;
  for (std::size_t size : {std::size_t{1} << 20, std::size_t{(2 << 20) + 3}}) {
    sent.push_back(Term::binary_filled(size, [size](std::span<std::uint8_t> b) {
      auto x = static_cast<std::uint32_t>(size);
      for (std::uint8_t& c : b) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<std::uint8_t>(x >> 24);
      }
    }));
    ASSERT_TRUE(a->send(control::Send{local(1), local(9), sent.back(), std::nullopt}));
  }
  ASSERT_TRUE(a->send(control::Send{local(2), local(9), atom("small"), std::nullopt}));
  ASSERT_TRUE(until([&] { return b_events.got.size() == 3; }));
  std::vector<Term> big;
  for (const auto& m : b_events.got)
    if (std::get<control::Send>(m).message != Term(atom("small")))
      big.push_back(std::get<control::Send>(m).message);
  EXPECT_EQ(big, sent);  // one sender's messages in order, every byte as sent
}

TEST_F(Pair, offered_messages_leave_at_once_or_behind_what_waits_and_keep_each_senders_order) {
  options.fragment_size = 1000;
  options.max_batch = 4000;
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  Term big = Term::binary(std::string(20'000, 'x'));
  std::map<std::uint32_t, std::vector<std::int64_t>> sent;
  std::int64_t next = 0;
  // A small message: offered, or (refused: its sender has fragments queued) sent as the node
  // would send it, through send().
  int written = 0;
  auto small = [&](std::uint32_t from) {
    ControlMessage m = control::Send{local(from), local(9), Term::tuple(next), std::nullopt};
    sent[from].push_back(next++);
    const Connection::Offer o = a->offer(m);
    written += o == Connection::Offer::written;
    return o != Connection::Offer::refused || a->send(m);
  };
  for (int round = 0; round < 30; ++round) {
    ASSERT_TRUE(small(1));
    if (round % 2 == 0) {
      // Fragments: the big one waits in sender 1's lane, and 1's next small one behind it.
      sent[1].push_back(next++);
      ASSERT_TRUE(a->send(control::Send{local(1), local(9), Term::tuple(next - 1, big), {}}));
      EXPECT_EQ(a->offer(control::Send{local(1), local(9), Term::tuple(0), {}}),
                Connection::Offer::refused);
    }
    ASSERT_TRUE(small(2));
    ASSERT_TRUE(small(1));
    if (round % 3 == 0) {
      // Everything written and read: the next round starts with nothing queued.
      const std::size_t all = sent[1].size() + sent[2].size();
      ASSERT_TRUE(until([&] { return b_events.got.size() == all && a->queued_bytes() == 0; }));
    }
  }
  ASSERT_TRUE(until([&] { return b_events.got.size() == sent[1].size() + sent[2].size(); }));
  EXPECT_GT(written, 0);  // the first of a round after a drain goes at once
  EXPECT_EQ(by_sender(b_events.got), sent);
  ASSERT_TRUE(until([&] { return a->queued_bytes() == 0; }));
  EXPECT_EQ(a_events.queued, 0);
  EXPECT_EQ(a_events.queued_small, 0);
}

// Senders on threads of their own offer while the io_context runs on another: what the
// socket does not take (B stalls) waits for the writer, which offer() wakes; B gets every
// message once, in each sender's order, and the owner's figures come back to zero.
TEST_F(Pair, senders_on_other_threads_offering_to_a_stalled_peer_lose_and_double_nothing) {
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  *b_stalled = true;
  auto guard = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  constexpr int senders = 4, each = 6000;
  const Term pad = Term::binary(std::string(1000, 'p'));
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int t = 1; t <= senders; ++t)
    threads.emplace_back([&, t] {
      // Even senders offer as a worker does: runs of 16, flushed at the end of each run.
      const bool runs = t % 2 == 0;
      bool flush_due = false;
      for (std::int64_t i = 0; i < each; ++i) {
        const auto o = a->offer(control::Send{local(static_cast<std::uint32_t>(t)), local(9),
                                              Term::tuple(i, pad), std::nullopt},
                                runs);
        refused += o == Connection::Offer::refused;
        flush_due = flush_due || o == Connection::Offer::flush;
        if (i % 16 == 15 && std::exchange(flush_due, false)) a->flush();
      }
      if (flush_due) a->flush();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load(), 0);
  // About 24 MB: far more than the sockets hold, so part of it waits in A's queue.
  EXPECT_GT(a->queued_bytes(), 0u);
  asio::post(io, [&] {
    *b_stalled = false;
    b_release->cancel();
  });
  ASSERT_TRUE(until_locked(b_events, [&] { return b_events.got.size() == senders * each; }));
  ASSERT_TRUE(until_locked(a_events, [&] { return a_events.queued == 0; }));
  EXPECT_EQ(a->queued_bytes(), 0u);
  guard.reset();
  asio::post(io, [&] {
    a->close("done");
    b->close("done");
  });
  runner.join();
  auto got = by_sender(b_events.got);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(senders));
  std::vector<std::int64_t> all(each);
  for (std::int64_t i = 0; i < each; ++i) all[static_cast<std::size_t>(i)] = i;
  for (auto& [from, xs] : got) EXPECT_EQ(xs, all) << "sender " << from;
  EXPECT_EQ(a_events.queued_small, 0);
}

// Senders offer while the connection closes under them: each one's messages that B got are a
// prefix of what it offered, in order, once each, and after the close (which refuses every
// later offer) the owner's figures come back to zero: nothing is counted twice or lost.
TEST_F(Pair, senders_offering_while_the_connection_closes_keep_order_and_exact_accounting) {
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  auto guard = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  constexpr int senders = 4;
  std::vector<std::thread> threads;
  std::vector<std::int64_t> offered(senders + 1, 0);
  for (int t = 1; t <= senders; ++t)
    threads.emplace_back([&, t] {
      // Even senders offer as a worker does: runs of 16, flushed at the end of each run.
      const bool runs = t % 2 == 0;
      bool flush_due = false;
      for (std::int64_t i = 0; i < 1'000'000; ++i) {
        const auto o = a->offer(control::Send{local(static_cast<std::uint32_t>(t)), local(9),
                                              Term::tuple(i), std::nullopt},
                                runs);
        if (o == Connection::Offer::refused) break;
        flush_due = flush_due || o == Connection::Offer::flush;
        offered[static_cast<std::size_t>(t)] = i + 1;
        if (i % 16 == 15 && std::exchange(flush_due, false)) a->flush();
      }
      if (flush_due) a->flush();
    });
  ASSERT_TRUE(until_locked(b_events, [&] { return b_events.got.size() >= 2000; }));
  asio::post(io, [&] { a->close("closed under the senders"); });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(until_locked(a_events, [&] { return a_events.down.has_value(); }));
  ASSERT_TRUE(until_locked(b_events, [&] { return b_events.down.has_value(); }));
  guard.reset();
  runner.join();
  EXPECT_EQ(*a_events.down, "closed under the senders");
  EXPECT_EQ(a->offer(control::Send{local(1), local(9), Term::tuple(0), std::nullopt}),
            Connection::Offer::refused);
  for (auto& [from, xs] : by_sender(b_events.got)) {
    ASSERT_LE(xs.size(), static_cast<std::size_t>(offered[from]));
    for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(xs[i], static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(a_events.queued, 0);
  EXPECT_EQ(a_events.queued_small, 0);
  EXPECT_EQ(a->queued_bytes(), 0u);
}

TEST_F(Pair, ticks_keep_a_quiet_connection_up) {
  options.net_ticktime = 200ms;
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  // Each side reads at least eight ticks: two whole ticktimes with no traffic but ticks.
  ASSERT_TRUE(until([&] { return a->ticks_received() >= 8 && b->ticks_received() >= 8; }));
  EXPECT_TRUE(a->established());
  EXPECT_TRUE(b->established());
  EXPECT_FALSE(a_events.down);
  EXPECT_FALSE(b_events.down);
}

TEST_F(Pair, a_peer_silent_for_a_whole_ticktime_is_dropped) {
  options.net_ticktime = 200ms;
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  *a_muted = true;
  ASSERT_TRUE(until([&] { return b_events.down.has_value(); }));
  EXPECT_NE(b_events.down->find("net_tick_timeout"), std::string::npos) << *b_events.down;
}

TEST_F(Pair, a_handshake_that_takes_longer_than_net_setuptime_fails) {
  options.net_setuptime = 100ms;
  tcp::socket mute(io), server(io);
  mute.connect(listener.local_endpoint());
  listener.accept(server);
  b = std::make_shared<Connection>(
      io.get_executor(), std::make_unique<TcpCarrier>(std::move(server)), Handshake::Role::acceptor,
      settings("b@127.0.0.1", "secret"), 2222, options, b_events);
  b->start();
  ASSERT_TRUE(until([&] { return b_events.down.has_value(); }));
  EXPECT_NE(b_events.down->find("net_setuptime"), std::string::npos) << *b_events.down;
}

TEST_F(Pair, a_bad_packet_closes_the_connection_with_its_error) {
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  // A's next write goes out as a frame that is no packet, as a broken peer would write it.
  *a_corrupt = std::vector<std::uint8_t>{0, 0, 0, 2, 131, 99};
  ASSERT_TRUE(a->send(control::Link{local(1), local(2)}));
  ASSERT_TRUE(until([&] { return b_events.down.has_value(); }));
  EXPECT_EQ(*b_events.down, "bad packet from the peer: unknown message at byte 1");
  EXPECT_TRUE(b_events.got.empty());
}

TEST_F(Pair, a_peer_that_does_not_read_makes_the_connection_busy_until_it_reads_again) {
  options.busy_limit = 256 * 1024;
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  *b_stalled = true;
  // Far more than the sockets' buffers hold: the rest stays queued in A, and A knows it.
  const int count = 4000;
  Term chunk = Term::binary(std::string(10'000, 'x'));
  for (int i = 0; i < count; ++i)
    ASSERT_TRUE(a->send(control::Send{local(1), local(2), Term::tuple(i, chunk), std::nullopt}));
  EXPECT_TRUE(a->busy());
  // What the writer could not hand to the socket stays counted: the owner's view (the sum of
  // queue_changed) always equals the connection's own.
  ASSERT_TRUE(until([&] { return a_events.queued < static_cast<std::int64_t>(count) * 10'000; }));
  EXPECT_TRUE(a->busy());
  EXPECT_EQ(a_events.queued, static_cast<std::int64_t>(a->queued_bytes()));
  EXPECT_EQ(a_events.queued_small, a_events.queued);  // no fragments: all whole packets
  // B took at most what its read in progress when it stalled got.
  EXPECT_LT(b_events.got.size(), static_cast<std::size_t>(count) / 10);
  // B reads again: everything arrives, in order, and A's queue drains to nothing.
  *b_stalled = false;
  b_release->cancel();
  ASSERT_TRUE(until([&] { return b_events.got.size() == count && a->queued_bytes() == 0; }));
  EXPECT_FALSE(a->busy());
  EXPECT_EQ(a_events.queued, 0);
  EXPECT_EQ(a_events.queued_small, 0);
  for (int i = 0; i < count; ++i)
    ASSERT_EQ(std::get<control::Send>(b_events.got[static_cast<std::size_t>(i)]).message[0],
              Term(i));
}

TEST_F(Pair, what_a_closed_connection_had_queued_is_released_to_its_owner) {
  options.fragment_size = 1000;
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  *b_stalled = true;
  Term big = Term::binary(std::string(2'000'000, 'y'));
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(a->send(control::Send{local(1), local(2), big, std::nullopt}));
  EXPECT_GT(a_events.queued, 0);
  EXPECT_LT(a_events.queued_small, a_events.queued);  // fragments are not small
  a->close("done");
  ASSERT_TRUE(until([&] { return a_events.down.has_value(); }));
  EXPECT_EQ(a->queued_bytes(), 0u);
  EXPECT_EQ(a_events.queued, 0);
  EXPECT_EQ(a_events.queued_small, 0);
}

struct Logged {
  std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();
  Logged() {
    set_logger([l = lines](const LogReport& r) { l->push_back(r.text); });
  }
  ~Logged() { set_logger(nullptr); }
};

TEST_F(Pair, a_frame_above_the_maximum_message_size_closes_the_connection_with_a_log_line) {
  Logged logged;
  options.limits.max_packet = 4096;
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  ASSERT_TRUE(a->send(
      control::Send{local(1), local(2), Term::binary(std::string(8000, 'z')), std::nullopt}));
  ASSERT_TRUE(until([&] { return b_events.down.has_value(); }));
  EXPECT_NE(b_events.down->find("bad frame from the peer: too large"), std::string::npos)
      << *b_events.down;
  EXPECT_NE(b_events.down->find("a packet of at most 4096 bytes"), std::string::npos)
      << *b_events.down;
  EXPECT_TRUE(b_events.got.empty());
  ASSERT_EQ(logged.lines->size(), 1u);
  EXPECT_NE((*logged.lines)[0].find("a@127.0.0.1"), std::string::npos) << (*logged.lines)[0];
  EXPECT_NE((*logged.lines)[0].find("too large"), std::string::npos) << (*logged.lines)[0];
}

TEST_F(Pair, a_fragmented_message_above_the_maximum_message_size_closes_the_connection) {
  Logged logged;
  options.fragment_size = 1000;
  options.limits.max_message = 4096;
  connect();
  ASSERT_TRUE(until([&] { return a_events.up && b_events.up; }));
  ASSERT_TRUE(a->send(
      control::Send{local(1), local(2), Term::binary(std::string(8000, 'z')), std::nullopt}));
  ASSERT_TRUE(until([&] { return b_events.down.has_value(); }));
  EXPECT_NE(b_events.down->find("bad packet from the peer: too large"), std::string::npos)
      << *b_events.down;
  EXPECT_NE(b_events.down->find("a fragmented message of at most 4096 bytes"), std::string::npos)
      << *b_events.down;
  EXPECT_TRUE(b_events.got.empty());
  EXPECT_EQ(logged.lines->size(), 1u);
}
