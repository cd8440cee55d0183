#include "ambitious/dist/node.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include <sys/eventfd.h>
#include <unistd.h>

#include "ambitious/behaviours/logger.hpp"
#include "ambitious/core/node.hpp"
#include "ambitious/dist/cookie.hpp"
#include "ambitious/dist/epmd_server.hpp"
#include "ambitious/dist/node_name.hpp"
#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/detail/remote_signals.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/runtime/scheduler.hpp"
#include "ambitious/runtime/thread_name.hpp"
#include "connection.hpp"
#include "epmd_async.hpp"
#include "net_kernel.hpp"
#include "quic_carrier.hpp"
#include "rpc_service.hpp"
#include "running_node.hpp"
#include "tls_carrier.hpp"

namespace ambitious::dist {

namespace asio = detail::asio;
using asio::awaitable;
using asio::use_awaitable;
using detail::Connection;
using detail::tcp;
using detail::udp;

namespace {

// One Node at a time: local pids carry its name.
std::atomic<bool> node_running{false};

// The nodedown_reason of monitor_nodes for why a connection ended (OTP's atoms).
Atom nodedown_reason(const std::string& why) {
  if (why.starts_with("net_tick_timeout")) return Atom("net_tick_timeout");
  if (why == "the node stopped" || why.starts_with("disconnected by")) return Atom("disconnect");
  return Atom("connection_closed");
}

// The bytes on their way to one peer node, from any thread: what its processes' sends charged
// and the connection has not written yet. A sender waits while it is above the busy limit.
struct Flow {
  std::atomic<std::int64_t> queued{0};
  std::atomic<std::int64_t> small{0};  // the part of `queued` that small messages make
  // The established connection to the node, for the senders' direct writes (Hook::offer):
  // under the hook's jobs_mutex, set and cleared on the node's thread.
  std::shared_ptr<Connection> connection;
};

// A message up to this size waits only for the small messages ahead of it, not for the
// fragments of large ones: a round trip is not held behind another process's bulk transfer
// (both kinds stay bounded, each by the busy limit plus what one sender adds).
constexpr std::int64_t small_message = 64 * 1024;

// The senders waiting for a flow to drain (of static storage, as the hook).
struct Busy {
  std::atomic<std::int64_t> limit{std::int64_t{4} << 20};  // the node's busy limit
  std::mutex mutex;
  std::condition_variable cv;
  // Who waits, by what it waits for: a small message for the small messages ahead of it to
  // drain, a large one for everything. A discharge wakes only those it lets go (a bulk stream's
  // sender is not woken by every fragment written while it is still above the limit).
  std::atomic<int> waiting_small{0};
  std::atomic<int> waiting_large{0};
  std::uint64_t generation = 0;  // under `mutex`: each stop() releases every waiter

  bool drained(const Flow& f, bool small) const noexcept {
    const std::atomic<std::int64_t>& q = small ? f.small : f.queued;
    return q.load(std::memory_order_relaxed) <= limit.load(std::memory_order_relaxed);
  }
  void release_all() {
    std::lock_guard lock(mutex);
    ++generation;
    cv.notify_all();
  }
};
Busy busy;

void charge(Flow& f, std::int64_t bytes, std::int64_t small) noexcept {
  f.queued.fetch_add(bytes, std::memory_order_relaxed);
  if (small) f.small.fetch_add(small, std::memory_order_relaxed);
}

void discharge(Flow& f, std::int64_t bytes, std::int64_t small) noexcept {
  f.queued.fetch_sub(bytes, std::memory_order_relaxed);
  if (small) f.small.fetch_sub(small, std::memory_order_relaxed);
  // seq_cst against the waiter's increment: either it sees the new figure under the mutex, or
  // this sees it waiting and notifies under the mutex.
  const bool small_go =
      busy.waiting_small.load(std::memory_order_seq_cst) > 0 && busy.drained(f, true);
  const bool large_go =
      busy.waiting_large.load(std::memory_order_seq_cst) > 0 && busy.drained(f, false);
  if (!small_go && !large_go) return;
  std::lock_guard lock(busy.mutex);
  busy.cv.notify_all();
}

// A message's estimated bytes, charged to its flow from the send until the connection has
// queued it (which charges the exact bytes), or until it is dropped: released when destroyed.
class Charge {
 public:
  Charge() = default;
  Charge(Flow* f, std::int64_t bytes) noexcept
      : flow_(f), bytes_(bytes), small_(bytes <= small_message ? bytes : 0) {
    if (flow_) charge(*flow_, bytes_, small_);
  }
  Charge(Charge&& o) noexcept
      : flow_(std::exchange(o.flow_, nullptr)), bytes_(o.bytes_), small_(o.small_) {}
  Charge& operator=(Charge&& o) noexcept {
    if (this != &o) {
      release();
      flow_ = std::exchange(o.flow_, nullptr);
      bytes_ = o.bytes_;
      small_ = o.small_;
    }
    return *this;
  }
  ~Charge() { release(); }
  void release() noexcept {
    if (flow_) discharge(*std::exchange(flow_, nullptr), bytes_, small_);
  }

 private:
  Flow* flow_ = nullptr;
  std::int64_t bytes_ = 0, small_ = 0;
};

}  // namespace

// Coroutines and posted handlers hold a plain pointer to it: the Node owns it alone, and
// destroying its io_context (last, in ~Impl) destroys whatever never ran.
struct Node::Impl final : detail::ConnectionOwner {
  // A control message on its way, with what is decided only once the peer's flags are known.
  struct Outgoing {
    ControlMessage message;
    std::optional<Pid> lane;      // the sender whose order it keeps (a by-name MONITOR_P_EXIT)
    std::optional<Pid> alias_to;  // an ALIAS_SEND's process, for a peer without ALIAS
    Charge charge{};              // a process's message: its bytes until queued or dropped
  };
  // A monitor a local process holds on a process of the peer.
  struct Held {
    Pid holder;
    ProcessRef target;
  };
  struct Peer {
    std::shared_ptr<Connection> conn;  // null while our dial looks the node up and connects
    std::uint64_t attempt = 0;         // our outgoing attempt (0: none)
    std::vector<Outgoing> pending;
    std::vector<std::function<void(bool)>> waiters;  // connect() calls
    // The pairs over this connection, as OTP keeps them in the distribution entry, so that its
    // loss fires them with noconnection. Each enters with its LINK or MONITOR_P (either way)
    // and leaves with what ends it (EXIT, UNLINK_ID, MONITOR_P_EXIT, DEMONITOR_P), so they hold
    // no more than the processes themselves do.
    std::set<std::pair<Pid, Pid>> links;         // (local, remote)
    std::unordered_map<Ref, Held> held;          // monitors of local processes, by ref
    std::map<std::pair<Pid, Ref>, Pid> watched;  // (remote holder, ref) -> local target
  };

  Impl(NodeOptions o, NodeName n, Cookie c)
      : options(std::move(o)), me(std::move(n)), cookie(std::move(c)), acceptor(io), jobs_due(io) {}

  NodeOptions options;
  NodeName me;
  std::string full_name = me.full();
  Cookie cookie;  // under `mutex` once the node runs: erlang:set_cookie(node(), C) replaces it
  asio::io_context io;
  tcp::acceptor acceptor;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<epmd::LocalRegistration> registration;
  std::uint32_t creation = 0;
  std::uint16_t port = 0;
  std::uint16_t epmd_port = 0;
  std::shared_ptr<const detail::TlsCredentials> tls;  // set: every TCP connection is TLS
  // Set with NodeOptions::quic: QUIC connections, to and from peers that announce it. Dropped
  // before the io_context (its connections' timers are the io_context's).
  std::unique_ptr<detail::QuicEndpoint> quic;
  // The hook's wake-up of this thread for its queued jobs (Hook::submit): an eventfd the
  // reactor watches, written by the sender with no lock held. asio::post instead interrupts
  // the reactor while it holds the scheduler's mutex, so this thread woke only to block on
  // that mutex and needed a second wake-up (two futex calls and an epoll_ctl per hand-off).
  asio::posix::stream_descriptor jobs_due;
  int jobs_fd = -1;              // jobs_due's, for the senders (set before they see this node)
  std::uint64_t jobs_count = 0;  // what a read of jobs_due takes (the count of wake-ups)
  std::thread thread;
  std::atomic<bool> stopped{false};
  std::mt19937 random{std::random_device{}()};

  // I/O thread only.
  std::unordered_map<std::string, Peer> peers;
  std::uint64_t next_attempt = 1;

  // Any thread, under `mutex`.
  mutable std::mutex mutex;
  std::vector<detail::ConnectedPeer> up;
  std::function<void(const std::string&, const std::string&)> nodedown;
  std::map<std::string, Cookie, std::less<>> peer_cookies;  // erlang:set_cookie/2

  // erlang:set_cookie(Node, C): this node's own cookie when Node is this node (what every peer
  // without a cookie of its own is proved with), else Node's. Under `mutex`.
  void set_cookie_locked(std::string_view node, Cookie c) {
    if (node == full_name)
      cookie = std::move(c);
    else
      peer_cookies.insert_or_assign(std::string(node), std::move(c));
  }

  detail::ConnectionOptions connection_options() const {
    detail::ConnectionOptions c;
    c.net_ticktime = options.net_ticktime;
    c.net_setuptime = options.net_setuptime;
    c.busy_limit = options.busy_limit;
    c.limits.max_packet = options.max_message_size;
    c.limits.max_message = options.max_message_size;
    return c;
  }
  // The carrier of a new connection: TLS when the node has credentials (the initiator is the
  // TLS client), else plain TCP.
  std::unique_ptr<detail::Carrier> carrier(tcp::socket socket, Handshake::Role role) const {
    if (!tls) return std::make_unique<detail::TcpCarrier>(std::move(socket));
    return std::make_unique<detail::TlsCarrier>(std::move(socket),
                                                role == Handshake::Role::initiator
                                                    ? detail::TlsCarrier::Role::client
                                                    : detail::TlsCarrier::Role::server,
                                                tls);
  }

  HandshakeSettings settings(std::string peer) const {
    std::lock_guard lock(mutex);
    HandshakeSettings s{full_name, creation, options.flags, cookie, std::move(peer)};
    s.peer_cookies = peer_cookies;  // few entries: a copy per handshake costs nothing
    return s;
  }

  // A connection is visible only when both sides publish themselves (OTP's hidden nodes).
  static bool hidden(const Connection& c) { return !(c.flags() & flag::published); }

  // Runs the hook's jobs each time a sender signals jobs_due (this thread only). A read, not a
  // wait: asio re-arms a wait with an epoll_ctl each time, and an eventfd left unread stays
  // readable (a busy loop), while a read is tried at once when the reactor saw the eventfd
  // readable, and else waits for its next edge (a write before it is re-armed is not lost).
  void wait_jobs() {
    jobs_due.async_read_some(asio::buffer(&jobs_count, sizeof jobs_count),
                             [this](const boost::system::error_code& ec, std::size_t) {
                               if (ec) return;
                               hook.drain(*this);  // drops the jobs once stopped
                               wait_jobs();
                             });
  }

  void publish() {
    std::vector<detail::ConnectedPeer> now;
    for (auto& [name, p] : peers)
      if (p.conn && p.conn->established())
        now.push_back({name, hidden(*p.conn), p.conn->carrier_kind()});
    std::sort(now.begin(), now.end(), [](auto& a, auto& b) { return a.name < b.name; });
    std::lock_guard lock(mutex);
    up = std::move(now);
  }

  // --- outgoing ---------------------------------------------------------------------------

  // Queues `o` for `node`, connecting first when there is no connection (auto-connect).
  void route(const std::string& node, Outgoing o) { route(peers[node], node, std::move(o)); }
  void route(Peer& p, const std::string& node, Outgoing o) {
    if (p.conn && p.conn->established()) {
      write(*p.conn, o);
      return;
    }
    p.pending.push_back(std::move(o));
    dial(node);
  }
  static void write(Connection& c, Outgoing& o) {
    if (auto* a = std::get_if<control::AliasSend>(&o.message);
        a && !(c.flags() & flag::alias) && o.alias_to) {
      c.send(control::Send{a->from, *o.alias_to, std::move(a->message), a->token}, o.lane);
      return;
    }
    c.send(o.message, o.lane);
  }
  // The peer of a signal that belongs to a link or monitor made over a connection: with no
  // connection (up or coming) that pair is gone already, so nothing is sent.
  Peer* existing(const std::string& node) {
    auto it = peers.find(node);
    return it == peers.end() ? nullptr : &it->second;
  }
  static std::string node_of(Pid p) { return std::string(p.node().name()); }

  // --- what local processes send (the RemoteNodes calls, on this thread) ------------------

  void out_send(Pid from, Pid to, Term m, Charge charge) {
    std::optional<Pid> sender;
    if (!from.is_null()) sender = from;
    route(node_of(to), {control::Send{sender, to, std::move(m), std::nullopt}, std::nullopt,
                        std::nullopt, std::move(charge)});
  }
  void out_send_named(Pid from, const RegisteredName& to, Term m, Charge charge) {
    route(std::string(to.node.name()), {control::RegSend{from, to.name, std::move(m), {}},
                                        std::nullopt, std::nullopt, std::move(charge)});
  }
  void out_send_alias(Pid from, Pid to, const Ref& alias, Term m, Charge charge) {
    route(node_of(to),
          {control::AliasSend{from, alias, std::move(m), {}}, std::nullopt, to, std::move(charge)});
  }
  void out_link(Pid from, Pid to) {
    std::string node = node_of(to);
    Peer& p = peers[node];
    p.links.insert({from, to});
    route(p, node, {control::Link{from, to}});
  }
  void out_unlink(Pid from, Pid to, std::uint64_t id) {
    std::string node = node_of(to);
    if (Peer* p = existing(node)) {
      p->links.erase({from, to});
      route(*p, node, {control::UnlinkId{id, from, to}});
    }
  }
  void out_unlink_ack(Pid from, Pid to, std::uint64_t id) {
    std::string node = node_of(to);
    if (Peer* p = existing(node)) route(*p, node, {control::UnlinkIdAck{id, from, to}});
  }
  void out_exit(Pid from, Pid to, Term reason) {
    std::string node = node_of(to);
    if (Peer* p = existing(node)) {
      p->links.erase({from, to});
      route(*p, node, {control::Exit{from, to, std::move(reason), {}}});
    }
  }
  void out_exit2(Pid from, Pid to, Term reason) {
    route(node_of(to), {control::Exit2{from, to, std::move(reason), {}}});
  }
  void out_monitor(Pid from, ProcessRef to, const std::string& node, const Ref& ref) {
    Peer& p = peers[node];
    p.held[ref] = Held{from, to};
    route(p, node, {control::MonitorP{from, to, ref}});
  }
  void out_demonitor(Pid from, ProcessRef to, const std::string& node, const Ref& ref) {
    if (Peer* p = existing(node)) {
      p->held.erase(ref);
      route(*p, node, {control::DemonitorP{from, to, ref}});
    }
  }
  void out_down(Pid from, std::optional<Atom> name, Pid to, const Ref& ref, Term reason) {
    std::string node = node_of(to);
    if (Peer* p = existing(node)) {
      p->watched.erase({to, ref});
      ProcessRef proc = from;
      if (name) proc = *name;
      route(*p, node, {control::MonitorPExit{proc, to, ref, std::move(reason)}, from});
    }
  }

  // The connection to the peer is gone (or never came): every pair over it fires as the
  // peer's end would have, with noconnection (OTP 25's nodedown). Called with the peer out of
  // `peers` already, and no lock held: an entry point may call back (a process dying of it).
  static void lost(Peer p) {
    const ExitReason noconnection(atoms::noconnection);
    for (const auto& [local, remote] : p.links)
      ambitious::detail::remote_exit(remote, local, noconnection);
    for (const auto& [ref, h] : p.held) {
      const Pid* target = std::get_if<Pid>(&h.target);
      ambitious::detail::remote_down(target ? *target : Pid(), h.holder, ref, noconnection);
    }
    for (const auto& [key, local] : p.watched)
      ambitious::detail::remote_demonitor(key.first, local, key.second);
  }

  void dial(const std::string& node) {
    Peer& p = peers[node];
    if (p.conn || p.attempt) return;
    p.attempt = next_attempt++;
    asio::co_spawn(
        io,
        [this, node, attempt = p.attempt]() -> awaitable<void> {
          co_await connect_to(node, attempt);
        },
        asio::detached);
  }

  awaitable<void> connect_to(std::string node, std::uint64_t attempt) {
    auto name = NodeName::parse(node);
    if (!name || name->is_long() != me.is_long() || node == full_name) {
      give_up(node, attempt);
      co_return;
    }
    // A named Address, not a braced temporary in the co_await (the g++ 12 trap of the README:
    // it destroys such a temporary twice).
    epmd::Address at;
    at.host = name->host;
    at.port = epmd_port;
    auto entry = co_await epmd::detail::async_port_please(at, name->alive, options.net_setuptime);
    if (!entry) {
      give_up(node, attempt);
      co_return;
    }
    if (auto quic_port = announced_quic_port(entry->extra); quic && quic_port) {
      co_await connect_quic(node, attempt, name->host, *quic_port);
      co_return;
    }
    tcp::socket socket(io);
    tcp::resolver resolver(io);
    detail::Deadline deadline(socket, options.net_setuptime, &resolver);
    boost::system::error_code ec;
    auto endpoints =
        co_await resolver.async_resolve(tcp::v4(), name->host, std::to_string(entry->port),
                                        asio::redirect_error(use_awaitable, ec));
    if (!ec)
      co_await asio::async_connect(socket, endpoints, asio::redirect_error(use_awaitable, ec));
    deadline.cancel();
    if (!ec) detail::close_on_exec(socket.native_handle());
    auto it = peers.find(node);
    if (ec || stopped || it == peers.end() || it->second.attempt != attempt || it->second.conn) {
      // Failed, or overtaken meanwhile (the peer's own attempt won, or we stopped).
      if (ec) give_up(node, attempt);
      co_return;
    }
    auto c = std::make_shared<Connection>(
        io.get_executor(), carrier(std::move(socket), Handshake::Role::initiator),
        Handshake::Role::initiator, settings(node), random(), connection_options(), *this);
    it->second.conn = c;
    c->start();
  }

  // The UDP port a peer's epmd registration announces QUIC on (`quic=<port>` among the
  // space-separated words of its extra field), if it does.
  static std::optional<std::uint16_t> announced_quic_port(std::string_view extra) {
    while (!extra.empty()) {
      const std::size_t end = std::min(extra.find(' '), extra.size());
      std::string_view word = extra.substr(0, end);
      extra.remove_prefix(std::min(end + 1, extra.size()));
      if (!word.starts_with("quic=")) continue;
      word.remove_prefix(5);
      unsigned port = 0;
      auto [at, err] = std::from_chars(word.data(), word.data() + word.size(), port);
      if (err == std::errc() && at == word.data() + word.size() && port > 0 && port <= 65535)
        return static_cast<std::uint16_t>(port);
    }
    return std::nullopt;
  }

  // What a QUIC dial yields, shared with the endpoint's callback: the dial may outlive the
  // coroutine that waits for it (a stopped node abandons it).
  struct QuicDial {
    explicit QuicDial(asio::io_context& io) : done(io, asio::steady_timer::time_point::max()) {}
    asio::steady_timer done;
    std::optional<std::expected<std::shared_ptr<detail::QuicConnection>, std::string>> result;
  };

  awaitable<void> connect_quic(std::string node, std::uint64_t attempt, std::string host,
                               std::uint16_t port) {
    udp::resolver resolver(io);
    boost::system::error_code ec;
    auto found = co_await resolver.async_resolve(udp::v4(), host, std::to_string(port),
                                                 asio::redirect_error(use_awaitable, ec));
    if (ec || found.empty() || stopped || !quic) {
      give_up(node, attempt);
      co_return;
    }
    auto dial = std::make_shared<QuicDial>(io);
    quic->dial(found.begin()->endpoint(), node, [dial](auto result) {
      dial->result = std::move(result);
      dial->done.cancel();
    });
    while (!dial->result) {
      co_await dial->done.async_wait(asio::redirect_error(use_awaitable, ec));
      if (stopped) co_return;
    }
    auto it = peers.find(node);
    if (!*dial->result || it == peers.end() || it->second.attempt != attempt || it->second.conn) {
      if (!*dial->result) {
        if (log_enabled(LogLevel::warning))
          log(LogReport{LogLevel::warning, "dist_handshake_refused", Pid(),
                        "distribution connection to " + node + " (QUIC, " + host + ":" +
                            std::to_string(port) + ") refused: " + dial->result->error()});
        give_up(node, attempt);
      } else {
        (**dial->result)->close("overtaken by another connection");
      }
      co_return;
    }
    auto carrier = std::make_unique<detail::QuicCarrier>(
        io.get_executor(), std::move(**dial->result), detail::QuicCarrier::Role::initiator);
    auto c = std::make_shared<Connection>(io.get_executor(), std::move(carrier),
                                          Handshake::Role::initiator, settings(node), random(),
                                          connection_options(), *this);
    it->second.conn = c;
    c->start();
  }

  void give_up(const std::string& node, std::uint64_t attempt) {
    auto it = peers.find(node);
    if (it == peers.end() || it->second.attempt != attempt || it->second.conn) return;
    auto waiters = std::move(it->second.waiters);
    Peer gone = std::move(it->second);
    peers.erase(it);
    for (auto& w : waiters) w(false);
    lost(std::move(gone));
  }

  // --- incoming ---------------------------------------------------------------------------

  awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (stopped || !acceptor.is_open()) co_return;
      if (ec) continue;
      detail::close_on_exec(socket.native_handle());
      auto c = std::make_shared<Connection>(
          io.get_executor(), carrier(std::move(socket), Handshake::Role::acceptor),
          Handshake::Role::acceptor, settings(""), random(), connection_options(), *this);
      c->start();
    }
  }

  // A QUIC connection a peer opened (its certificate verified): a distribution connection like
  // an accepted TCP one, whose handshake checks the name the peer claims against it.
  void accepted_quic(std::shared_ptr<detail::QuicConnection> q) {
    if (stopped) {
      q->close("the node stopped");
      return;
    }
    auto carrier = std::make_unique<detail::QuicCarrier>(io.get_executor(), std::move(q),
                                                         detail::QuicCarrier::Role::acceptor);
    auto c = std::make_shared<Connection>(io.get_executor(), std::move(carrier),
                                          Handshake::Role::acceptor, settings(""), random(),
                                          connection_options(), *this);
    c->start();
  }

  // --- what connections ask and tell ------------------------------------------------------

  Admission admit(Connection& c, const handshake_action::Admit& a) override {
    auto name = NodeName::parse(a.peer);
    if (stopped || !name || name->is_long() != me.is_long() || a.peer == full_name)
      return Admission::not_allowed;
    auto [it, fresh] = peers.try_emplace(a.peer);
    Peer& p = it->second;
    if (fresh || (!p.conn && !p.attempt)) {
      p.conn = c.shared_from_this();
      return Admission::ok;
    }
    if (p.conn && p.conn->established()) return Admission::alive;
    if (p.attempt) {
      // Both sides are connecting: the greater name keeps its own attempt (dist_util).
      if (full_name > a.peer) return Admission::nok;
      if (p.conn) p.conn->close("simultaneous connect: the peer's attempt won");
      p.conn = c.shared_from_this();
      p.attempt = 0;
      return Admission::ok_simultaneous;
    }
    return Admission::nok;  // another connection from that node is in its handshake
  }

  bool confirm_alive(Connection& c) override {
    auto it = peers.find(c.peer());
    return it == peers.end() || !it->second.conn || it->second.conn.get() == &c ||
           !it->second.conn->established();
  }

  void replace_old(Connection& c) override {
    Peer& p = peers[c.peer()];
    if (p.conn && p.conn.get() != &c) {
      auto old = std::move(p.conn);
      unpublish(*old);
      old->close("replaced by a new connection from the peer");
      Peer gone;
      gone.links = std::move(p.links);
      gone.held = std::move(p.held);
      gone.watched = std::move(p.watched);
      p.links.clear();
      p.held.clear();
      p.watched.clear();
      report_down(*old, "replaced by a new connection from the peer");
      lost(std::move(gone));
      // `p` may have moved meanwhile (the entry points' calls come back through the hook, but
      // on later turns of this thread), so look it up again.
      peers[c.peer()].conn = c.shared_from_this();
      return;
    }
    p.conn = c.shared_from_this();
  }

  void established(Connection& c) override {
    Peer& p = peers[c.peer()];
    p.conn = c.shared_from_this();
    p.attempt = 0;
    for (auto& o : p.pending) write(c, o);
    p.pending.clear();
    // Senders may write to it from their own threads now (what was pending is queued first).
    auto* f = &hook.flow(Atom(c.peer()));
    c.owner_data = f;
    {
      std::lock_guard lock(hook.jobs_mutex);
      f->connection = p.conn;
    }
    auto waiters = std::move(p.waiters);
    publish();
    detail::net_kernel_up(c.peer(), hidden(c));
    for (auto& w : waiters) w(true);
  }

  // Senders write to `c` no more from their threads (this thread only).
  static void unpublish(Connection& c) {
    auto* f = static_cast<Flow*>(c.owner_data);
    if (!f) return;
    std::lock_guard lock(hook.jobs_mutex);
    if (f->connection.get() == &c) f->connection.reset();
  }

  void closed(Connection& c, const std::string& why) override {
    unpublish(c);
    auto it = peers.find(c.peer());
    if (it == peers.end() || it->second.conn.get() != &c) return;  // replaced, or never ours
    const bool was_up = c.flags() != 0;
    if (!was_up && c.peer_connecting() && !stopped) {
      // The peer refused our dial because its own dial to us won a simultaneous connect
      // (nok; not_allowed refuses us, and fails what waits at once): what waits goes on its
      // connection, as OTP keeps it in the node's one distribution entry, not dropped with the
      // losing attempt. None within net_setuptime: dropped then.
      it->second.conn.reset();
      it->second.attempt = 0;
      expect_peer_connection(c.peer());
      return;
    }
    auto waiters = std::move(it->second.waiters);
    Peer gone = std::move(it->second);
    peers.erase(it);  // what was pending for it is dropped, as OTP drops it
    publish();
    for (auto& w : waiters) w(false);
    if (was_up) report_down(c, why);
    lost(std::move(gone));
  }

  // After a refused dial: unless a connection to `node` is up or being made within
  // net_setuptime, what waits for it is dropped (and connect() calls told), as for a dial
  // that failed.
  void expect_peer_connection(const std::string& node) {
    auto timer = std::make_shared<asio::steady_timer>(io, options.net_setuptime);
    timer->async_wait([this, node, timer](const boost::system::error_code& ec) {
      if (ec || stopped) return;
      auto it = peers.find(node);
      if (it == peers.end() || it->second.conn || it->second.attempt) return;
      auto waiters = std::move(it->second.waiters);
      Peer gone = std::move(it->second);
      peers.erase(it);
      for (auto& w : waiters) w(false);
      lost(std::move(gone));
    });
  }

  // One read's messages go to the process layer in one reader section (not one per message).
  void handle_read(const std::function<void()>& handle) override {
    ambitious::detail::with_reader_section(handle);
  }

  // The connection's queue grew or shrank: its peer's flow follows (senders wait on it).
  void queue_changed(Connection& c, std::int64_t delta, std::int64_t small) override {
    auto* f = static_cast<Flow*>(c.owner_data);
    if (!f) c.owner_data = f = &hook.flow(Atom(c.peer()));
    if (delta >= 0)
      charge(*f, delta, small);
    else
      discharge(*f, -delta, -small);
  }

  // A connection that was up is gone: net_kernel tells the subscribers (nodedown).
  void report_down(const Connection& c, const std::string& why) {
    detail::net_kernel_down(c.peer(), hidden(c), nodedown_reason(why));
    std::function<void(const std::string&, const std::string&)> f;
    {
      std::lock_guard lock(mutex);
      f = nodedown;
    }
    if (f) f(c.peer(), why);
  }

  // What the peer sends goes to the process layer's entry points in the order read; the pairs
  // are recorded first, so that an answer the entry point sends back at once (an EXIT or
  // MONITOR_P_EXIT noproc, through the hook, on a later turn of this thread) removes them.
  void received(Connection& c, ControlMessage&& m) override {
    namespace rs = ambitious::detail;
    auto local = [](Pid p) { return p.node_index == nodes::local; };
    // A pid of this node's name but another creation: made before this node (re)started, so
    // no such process exists. A link or monitor of it is noproc at once, as OTP answers it.
    auto earlier_incarnation = [this](Pid p) {
      return p.node_index != nodes::local && p.node().name() == full_name;
    };
    auto it = peers.find(c.peer());
    if (it == peers.end() || it->second.conn.get() != &c) return;
    Peer& p = it->second;
    if (auto* s = std::get_if<control::Send>(&m)) {
      if (local(s->to)) deliver_term(s->to, std::move(s->message));
    } else if (auto* r = std::get_if<control::RegSend>(&m)) {
      deliver_term(r->to, std::move(r->message));  // net_kernel's calls too (net_kernel.cpp)
    } else if (auto* l = std::get_if<control::Link>(&m)) {
      if (!local(l->to)) {
        if (earlier_incarnation(l->to))
          c.send(control::Exit{l->to, l->from, Term(atoms::noproc), {}}, l->to);
        return;
      }
      p.links.insert({l->to, l->from});
      rs::remote_link(l->from, l->to);
    } else if (auto* u = std::get_if<control::UnlinkId>(&m)) {
      // Acknowledged by the process layer in every case (a missing ack leaves OTP's link
      // 'unlinking' for good); to a pid of no local process, here.
      if (!local(u->to)) {
        if (earlier_incarnation(u->to)) c.send(control::UnlinkIdAck{u->id, u->to, u->from}, u->to);
        return;
      }
      p.links.erase({u->to, u->from});
      rs::remote_unlink(u->from, u->to, u->id);
    } else if (auto* a = std::get_if<control::UnlinkIdAck>(&m)) {
      if (local(a->to)) rs::remote_unlink_ack(a->from, a->to, a->id);
    } else if (auto* e = std::get_if<control::Exit>(&m)) {
      if (!local(e->to)) return;
      p.links.erase({e->to, e->from});
      rs::remote_exit(e->from, e->to, ExitReason(std::move(e->reason)));
    } else if (auto* e2 = std::get_if<control::Exit2>(&m)) {
      if (local(e2->to)) rs::remote_exit2(e2->from, e2->to, ExitReason(std::move(e2->reason)));
    } else if (auto* mp = std::get_if<control::MonitorP>(&m)) {
      if (const Pid* to = std::get_if<Pid>(&mp->to)) {
        if (!local(*to)) {
          if (earlier_incarnation(*to))
            c.send(control::MonitorPExit{*to, mp->from, mp->ref, Term(atoms::noproc)}, *to);
          return;
        }
        p.watched[{mp->from, mp->ref}] = *to;
        rs::remote_monitor(mp->from, *to, mp->ref);
      } else {
        Pid found = rs::remote_monitor(mp->from, std::get<Atom>(mp->to), mp->ref);
        if (!found.is_null()) p.watched[{mp->from, mp->ref}] = found;
      }
    } else if (auto* d = std::get_if<control::DemonitorP>(&m)) {
      auto w = p.watched.find({d->from, d->ref});
      if (w == p.watched.end()) return;  // answered with noproc, or ended meanwhile
      Pid target = w->second;
      p.watched.erase(w);
      rs::remote_demonitor(d->from, target, d->ref);
    } else if (auto* x = std::get_if<control::MonitorPExit>(&m)) {
      if (!local(x->to)) return;
      p.held.erase(x->ref);
      const Pid* from = std::get_if<Pid>(&x->from);
      rs::remote_down(from ? *from : Pid(), x->to, x->ref, ExitReason(std::move(x->reason)));
    } else if (auto* as = std::get_if<control::AliasSend>(&m)) {
      // An alias is the ref of a monitor a local process holds over this connection.
      auto h = p.held.find(as->alias);
      if (h != p.held.end())
        rs::remote_alias_send(as->from, h->second.holder, as->alias, std::move(as->message));
    } else if (auto* sr = std::get_if<control::SpawnRequest>(&m)) {
      spawn_requested(c, std::move(*sr));
    }
    // UNLINK (peers without UNLINK_ID: we advertise it, OTP 25 uses it), GROUP_LEADER,
    // NODE_LINK and SPAWN_REPLY (we send no SPAWN_REQUEST) are not served.
  }

  // SPAWN_REQUEST: the rpc server (rpc.hpp) spawns the process and answers on its thread; the
  // answer comes back here, where the request's link and monitor (its ref: the request id) are
  // recorded and made before the SPAWN_REPLY goes out on the new process's lane, and the
  // process runs only after that (so its end, and whatever it sends, follow the reply).
  void spawn_requested(Connection& c, control::SpawnRequest&& r) {
    control::SpawnReply reply{r.request, r.from, 0, Term(), r.token};
    std::weak_ptr<Connection> conn = c.shared_from_this();
    detail::serve_spawn(std::move(r), [reply, conn](detail::SpawnAnswer a) {
      // Shared: the node's jobs are copyable functions, and the held process is not. Dropped
      // with the job (the node stopping), the answer aborts its process with noconnection.
      auto answer = std::make_shared<detail::SpawnAnswer>(std::move(a));
      hook.on_node([reply, conn, answer](Impl& i) mutable {
        i.spawned(conn.lock(), std::move(reply), std::move(*answer));
      });
    });
  }
  void spawned(const std::shared_ptr<Connection>& c, control::SpawnReply reply,
               detail::SpawnAnswer a) {
    namespace rs = ambitious::detail;
    auto it = c ? peers.find(c->peer()) : peers.end();
    if (it == peers.end() || it->second.conn != c || !c->established()) {
      // The requester's connection is gone: a linked process dies of it, as the link would.
      if (a.process && a.link) a.process->abort(ExitReason(atoms::noconnection));
      if (a.process) a.process->release();
      return;
    }
    if (!a.process) {
      reply.result = a.error;
      c->send(reply);
      return;
    }
    Peer& p = it->second;
    const Pid pid = a.process->pid();
    if (a.link) {
      p.links.insert({pid, reply.to});
      rs::remote_link(reply.to, pid);
      reply.flags |= 1;
    }
    if (a.monitor) {
      p.watched[{reply.to, reply.request}] = pid;
      rs::remote_monitor(reply.to, pid, reply.request);
      reply.flags |= 2;
    }
    reply.result = pid;
    c->send(reply, pid);
    a.process->release();
  }

  void shutdown() {
    stopped = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    auto gone = std::move(peers);
    peers.clear();
    publish();
    for (auto& [name, p] : gone) {
      for (auto& w : p.waiters) w(false);
      p.waiters.clear();
      if (p.conn && p.conn->established())
        detail::net_kernel_down(name, hidden(*p.conn), Atom("net_kernel_terminated"));
      if (p.conn) {
        unpublish(*p.conn);
        p.conn->close("the node stopped");
      }
      lost(std::move(p));
    }
    quic.reset();  // after the goodbyes of its connections
    work.reset();
  }

  // The process layer's way to this node (installed as the default RemoteNodes while the node
  // runs). Of static storage, so that a call that loaded it may still run after stop(). Each
  // call takes the shared lock only to queue itself for the node's thread, which runs the
  // queue in order (one sender's calls come one after another, so they keep their order): one
  // wake-up of that thread for all that is queued meanwhile, not one per message. A small
  // message skips that thread when no job waits or runs (offer()): the sender's worker queues
  // it in the established connection itself and writes what its run queued when the run ends
  // (Worker::defer), as BEAM's port task writes a dist entry's queue after the process; so a
  // round trip wakes no thread but the two readers.
  //
  // Back-pressure (OTP's busy distribution port): a process whose message goes to a node with
  // more than busy_limit bytes on their way (queued here, pending its connection, or in the
  // connection's queue unwritten) waits, its worker thread blocked, until the connection has
  // written enough; a slow reader therefore holds at most about busy_limit plus one message per
  // sender. Signals (links, exits, monitors) are never held back, and neither is the node's
  // own thread.
  struct Hook final : ambitious::detail::RemoteNodes {
    // A call of a process, for the node's thread: a message (the three sends) or another call.
    struct Job {
      enum class Kind : std::uint8_t { send, send_named, send_alias, other };
      Kind kind = Kind::other;
      Pid from, to;
      RegisteredName named{};
      Ref alias{};
      Term message;
      Charge charge;
      std::function<void(Impl&)> other;
    };

    std::shared_mutex mutex;
    Impl* impl = nullptr;  // under `mutex`

    // The queue for the node's thread (any thread).
    std::mutex jobs_mutex;
    std::vector<Job> jobs;       // under jobs_mutex
    bool jobs_posted = false;    // under jobs_mutex: a drain is posted and has not taken them
    std::vector<Job> draining;   // node's thread only
    bool drain_running = false;  // under jobs_mutex: the node's thread runs jobs it took

    // Flows by node name (an atom's index), never removed: a flow outlives every charge.
    std::shared_mutex flows_mutex;
    std::unordered_map<std::uint32_t, std::unique_ptr<Flow>> flows;

    Flow& flow(Atom node) {
      // Flows are never removed: the last one a thread used is still the one of its node.
      thread_local std::optional<std::uint32_t> last_node;
      thread_local Flow* last_flow = nullptr;
      if (last_node == node.index()) return *last_flow;
      Flow& f = find_flow(node);
      last_node = node.index();
      last_flow = &f;
      return f;
    }
    Flow& find_flow(Atom node) {
      {
        std::shared_lock lock(flows_mutex);
        if (auto it = flows.find(node.index()); it != flows.end()) return *it->second;
      }
      std::unique_lock lock(flows_mutex);
      auto& f = flows[node.index()];
      if (!f) f = std::make_unique<Flow>();
      return *f;
    }

    // Queues `j` (with the shared lock held): posts a drain only when none is pending.
    void submit(Impl& i, Job&& j) {
      {
        std::lock_guard lock(jobs_mutex);
        jobs.push_back(std::move(j));
        if (jobs_posted) return;
        jobs_posted = true;
      }
      // Outside jobs_mutex: the node's thread, woken, takes it at once. The fd lives as long
      // as `i`, which the caller's shared lock keeps.
      const std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(i.jobs_fd, &one, sizeof one);
    }
    // On the node's thread: runs what was queued, in order.
    void drain(Impl& i) {
      {
        std::lock_guard lock(jobs_mutex);
        draining.swap(jobs);
        jobs_posted = false;
        drain_running = true;
      }
      for (Job& j : draining) {
        if (i.stopped) break;
        switch (j.kind) {
          case Job::Kind::send:
            i.out_send(j.from, j.to, std::move(j.message), std::move(j.charge));
            break;
          case Job::Kind::send_named:
            i.out_send_named(j.from, j.named, std::move(j.message), std::move(j.charge));
            break;
          case Job::Kind::send_alias:
            i.out_send_alias(j.from, j.to, j.alias, std::move(j.message), std::move(j.charge));
            break;
          case Job::Kind::other:
            j.other(i);
            break;
        }
      }
      draining.clear();
      // Only now: the jobs' messages are in their connections' queues (offer() sees them).
      std::lock_guard lock(jobs_mutex);
      drain_running = false;
    }

    // A connection's flush due after a worker's run (Worker::defer, which runs it on the
    // worker or on the watchdog's thread). Weak, and locked only under the hook's lock while a
    // node runs: a connection outlives its node's io_context in no one's hands (its last
    // holders are the node and the io_context).
    static void flush_offers(void* connection) noexcept {
      std::unique_ptr<std::weak_ptr<Connection>> w(
          static_cast<std::weak_ptr<Connection>*>(connection));
      std::shared_lock lock(hook.mutex);
      if (!hook.impl) return;
      if (auto c = w->lock()) c->flush();
    }

    // A process's small message written (or queued) by its own thread, without waking the
    // node's: only when no job waits or runs, so that everything the process sent before is in
    // the connection already (offer() queues behind it then) or written, and its order holds.
    // False (and `j` whole) when the message goes through the node's thread instead.
    bool offer(Flow& f, Job& j) {
      std::shared_ptr<Connection> c;
      {
        std::lock_guard lock(jobs_mutex);
        if (jobs_posted || drain_running || !f.connection) return false;
        c = f.connection;
      }
      std::optional<Pid> sender;
      if (!j.from.is_null()) sender = j.from;
      ControlMessage m;
      switch (j.kind) {
        case Job::Kind::send:
          m = control::Send{sender, j.to, std::move(j.message), std::nullopt};
          break;
        case Job::Kind::send_named:
          m = control::RegSend{j.from, j.named.name, std::move(j.message), {}};
          break;
        case Job::Kind::send_alias:
          if (!(c->flags() & flag::alias)) return false;  // the node's thread rewrites it
          m = control::AliasSend{j.from, j.alias, std::move(j.message), {}};
          break;
        case Job::Kind::other:
          return false;
      }
      // On a worker, what the process offers goes out in one write when its run ends.
      ambitious::detail::Worker* worker = ambitious::detail::Worker::current();
      const Connection::Offer done = c->offer(m, worker != nullptr);
      if (done == Connection::Offer::flush) {
        // Only the first message of a run into an idle queue says so: one flush per run.
        try {
          auto note = std::make_unique<std::weak_ptr<Connection>>(c);
          worker->defer(&flush_offers, note.get());
          note.release();  // flush_offers owns it
        } catch (...) {
          c->flush();  // no memory for the note: written now
        }
      }
      if (done != Connection::Offer::refused) return true;
      std::visit(
          [&](auto& x) {
            if constexpr (requires { x.message; }) j.message = std::move(x.message);
          },
          m);
      return false;
    }

    // A message to `node`: waits while its flow is busy (not on the node's thread), then
    // queues `j` charged with the message's size.
    void send_message(Atom node, Job&& j) noexcept {
      const std::int64_t bytes = static_cast<std::int64_t>(etf::encoded_size(j.message)) + 32;
      const bool small = bytes <= small_message;
      Flow& f = flow(node);
      for (;;) {
        std::shared_lock lock(mutex);
        if (!impl || impl->stopped) return;  // stopping: dropped, as a node going down drops it
        if (busy.drained(f, small) || std::this_thread::get_id() == impl->thread.get_id()) {
          if (small && offer(f, j)) return;
          j.charge = Charge(&f, bytes);
          submit(*impl, std::move(j));
          return;
        }
        lock.unlock();
        // What this worker's run holds back counts in the flow too: out first.
        if (auto* w = ambitious::detail::Worker::current()) w->run_deferred();
        std::unique_lock wait(busy.mutex);
        const std::uint64_t g = busy.generation;
        std::atomic<int>& waiting = small ? busy.waiting_small : busy.waiting_large;
        waiting.fetch_add(1, std::memory_order_seq_cst);
        // Re-checked under the mutex, which discharge() takes to notify: no wake-up is lost.
        busy.cv.wait(wait, [&] { return busy.generation != g || busy.drained(f, small); });
        waiting.fetch_sub(1, std::memory_order_seq_cst);
      }
    }

    template <class F>
    void on_node(F&& f) noexcept {
      std::shared_lock lock(mutex);
      if (!impl || impl->stopped) return;  // stopping: dropped, as a node going down drops it
      Job j;
      j.other = std::forward<F>(f);
      submit(*impl, std::move(j));
    }
    void send(Pid from, Pid to, Term m) noexcept override {
      Job j;
      j.kind = Job::Kind::send;
      j.from = from;
      j.to = to;
      j.message = std::move(m);
      send_message(to.node(), std::move(j));
    }
    void send_named(Pid from, const RegisteredName& to, Term m) noexcept override {
      Job j;
      j.kind = Job::Kind::send_named;
      j.from = from;
      j.named = to;
      j.message = std::move(m);
      send_message(to.node, std::move(j));
    }
    void send_alias(Pid from, Pid to, const Ref& alias, Term m) noexcept override {
      Job j;
      j.kind = Job::Kind::send_alias;
      j.from = from;
      j.to = to;
      j.alias = alias;
      j.message = std::move(m);
      send_message(to.node(), std::move(j));
    }
    void link(Pid from, Pid to) noexcept override {
      on_node([=](Impl& i) { i.out_link(from, to); });
    }
    void unlink(Pid from, Pid to, std::uint64_t id) noexcept override {
      on_node([=](Impl& i) { i.out_unlink(from, to, id); });
    }
    void unlink_ack(Pid from, Pid to, std::uint64_t id) noexcept override {
      on_node([=](Impl& i) { i.out_unlink_ack(from, to, id); });
    }
    void exit(Pid from, Pid to, const ExitReason& reason) noexcept override {
      on_node([=, r = reason.term()](Impl& i) { i.out_exit(from, to, r); });
    }
    void exit2(Pid from, Pid to, const ExitReason& reason) noexcept override {
      on_node([=, r = reason.term()](Impl& i) { i.out_exit2(from, to, r); });
    }
    void monitor(Pid from, Pid to, const Ref& ref) noexcept override {
      on_node([=](Impl& i) { i.out_monitor(from, to, node_of(to), ref); });
    }
    void monitor_named(Pid from, const RegisteredName& to, const Ref& ref) noexcept override {
      on_node([=](Impl& i) { i.out_monitor(from, to.name, std::string(to.node.name()), ref); });
    }
    void demonitor(Pid from, Pid to, const Ref& ref) noexcept override {
      on_node([=](Impl& i) { i.out_demonitor(from, to, node_of(to), ref); });
    }
    void demonitor_named(Pid from, const RegisteredName& to, const Ref& ref) noexcept override {
      on_node([=](Impl& i) { i.out_demonitor(from, to.name, std::string(to.node.name()), ref); });
    }
    void down(Pid from, std::optional<Atom> name, Pid to, const Ref& ref,
              const ExitReason& reason) noexcept override {
      on_node([=, r = reason.term()](Impl& i) { i.out_down(from, name, to, ref, r); });
    }
    // A runtime starts while the node runs: its net_kernel starts in it.
    void runtime_started() noexcept override {
      {
        std::shared_lock lock(mutex);
        if (!impl || impl->stopped) return;
      }
      try {
        detail::start_net_kernel();
      } catch (...) {
        // Only an allocation failure, or a `net_kernel` the program registered itself: the
        // node then runs without one (is_auth calls go unanswered, as to a busy node).
      }
      detail::start_rpc_server();
    }
  };
  static Hook hook;
};

Node::Impl::Hook Node::Impl::hook;

Node::Node(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

Node::~Node() { stop(); }

std::expected<std::unique_ptr<Node>, NodeError> Node::start(NodeOptions options) {
  auto name = NodeName::parse(options.name);
  if (!name) return std::unexpected(NodeError{NodeErrc::bad_name, std::string(name.error())});
  auto cookie = Cookie::resolve(options.cookie);
  if (!cookie) return std::unexpected(NodeError{NodeErrc::no_cookie, cookie.error().detail});
  bool expected = false;
  if (!node_running.compare_exchange_strong(expected, true))
    return std::unexpected(NodeError{NodeErrc::already_started, "a Node runs already"});
  auto impl = std::make_unique<Impl>(std::move(options), std::move(*name), std::move(*cookie));
  auto fail = [&](NodeErrc code, std::string detail) {
    node_running = false;
    return std::unexpected(NodeError{code, std::move(detail)});
  };
  try {
    impl->epmd_port = impl->options.epmd_port ? *impl->options.epmd_port : epmd::configured_port();
  } catch (const std::exception& e) {
    return fail(NodeErrc::epmd_failed, e.what());
  }
  if (impl->options.tls) {
    auto credentials = detail::TlsCredentials::load(*impl->options.tls);
    if (!credentials) return fail(NodeErrc::tls_failed, credentials.error());
    impl->tls = std::move(*credentials);
  }
  if (impl->options.quic && !impl->tls)
    return fail(NodeErrc::tls_failed,
                "QUIC distribution needs TLS options: a CA, a certificate and a key");
  const int jobs_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (jobs_fd < 0)
    return fail(NodeErrc::listen_failed, std::string("eventfd: ") + std::strerror(errno));
  impl->jobs_due.assign(jobs_fd);
  impl->jobs_fd = jobs_fd;
  impl->wait_jobs();
  // Listen first: registering is what tells peers we are ready.
  boost::system::error_code ec;
  auto address = asio::ip::make_address(impl->options.listen_address, ec);
  tcp::endpoint at(address, impl->options.listen_port);
  if (!ec) detail::open_close_on_exec(impl->acceptor, at.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(at, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(NodeErrc::listen_failed, ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  epmd::NodeEntry entry;
  entry.name = impl->me.alive;
  entry.port = impl->port;
  if (impl->options.quic) {
    detail::QuicOptions q;
    q.use(impl->tls);
    q.auto_consume = false;  // credit goes back as the connections read (QuicCarrier)
    // QUIC's own liveness as ticks: a peer silent for net_ticktime is lost.
    q.idle_timeout = impl->options.net_ticktime;
    q.handshake_timeout = impl->options.net_setuptime;
    auto endpoint = detail::QuicEndpoint::open(
        impl->io.get_executor(), udp::endpoint(address, impl->options.quic->port), std::move(q));
    if (!endpoint) return fail(NodeErrc::listen_failed, "QUIC: " + endpoint.error());
    impl->quic = std::move(*endpoint);
    impl->quic->on_accept([raw = impl.get()](auto c) { raw->accepted_quic(std::move(c)); });
    impl->quic->on_refused([](const udp::endpoint& from, const std::string& why) {
      if (log_enabled(LogLevel::warning))
        log(LogReport{LogLevel::warning, "dist_handshake_refused", Pid(),
                      "distribution connection from " + from.address().to_string() + ":" +
                          std::to_string(from.port()) + " (QUIC) refused: " + why});
    });
    entry.extra = "quic=" + std::to_string(impl->quic->local().port());
  }
  entry.type =
      (impl->options.flags & flag::published) ? epmd::NodeType::normal : epmd::NodeType::hidden;
  epmd::ServerOptions server;
  server.address = "127.0.0.1";
  server.port = impl->epmd_port;
  auto registered = epmd::register_locally(entry, server, impl->options.net_setuptime);
  if (!registered) return fail(NodeErrc::epmd_failed, epmd::to_string(registered.error()));
  impl->creation = registered->registration.creation();
  impl->registration = std::move(*registered);
  nodes::set_local(NodeId{Atom(impl->full_name), impl->creation});
  impl->work.emplace(impl->io.get_executor());
  asio::co_spawn(
      impl->io, [raw = impl.get()]() -> awaitable<void> { co_await raw->accept_loop(); },
      asio::detached);
  impl->thread = std::thread([raw = impl.get()] {
    ambitious::detail::name_this_thread("ambitious-dist");
    raw->io.run();
  });
  busy.limit = static_cast<std::int64_t>(impl->options.busy_limit);
  {
    std::unique_lock lock(Impl::hook.mutex);
    Impl::hook.impl = impl.get();
  }
  ambitious::detail::install_default_remote_nodes(&Impl::hook);
  // Inside a process the runtime runs already: its net_kernel starts now (else with each
  // runtime that starts while the node runs, Hook::runtime_started).
  if (in_process()) {
    detail::start_net_kernel(/*report_up=*/true);
    detail::start_rpc_server();
  }
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

void Node::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  // Processes reach other nodes no more (a call that loaded the hook finds no node in it).
  ambitious::detail::install_default_remote_nodes(nullptr);
  {
    std::unique_lock lock(Impl::hook.mutex);
    Impl::hook.impl = nullptr;
  }
  busy.release_all();  // senders waiting for a connection of this node give up
  // Connections close (their peers see the end of the stream); what is still in flight (an
  // epmd lookup) is abandoned with the io_context.
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->shutdown();
    impl->io.stop();
  });
  impl_->thread.join();
  std::vector<Impl::Hook::Job> dropped;
  {
    // What was queued after the thread's last drain is dropped (its charges released, outside
    // the lock: a dropped spawn answer ends its process), and the next node's first job
    // signals its thread again.
    std::lock_guard lock(Impl::hook.jobs_mutex);
    dropped.swap(Impl::hook.jobs);
    Impl::hook.jobs_posted = false;
  }
  dropped.clear();
  detail::stop_net_kernel();  // after the thread's last nodedowns, which it may still deliver
  impl_->registration.reset();
  nodes::set_local(NodeId{});
  node_running = false;
}

const std::string& Node::name() const noexcept { return impl_->full_name; }
std::uint32_t Node::creation() const noexcept { return impl_->creation; }
std::uint16_t Node::port() const noexcept { return impl_->port; }

// The processes' path (the hook, whose node this one is while it runs): the same order as
// their sends, and the same back-pressure (the calling thread waits while the node's flow is
// above busy_limit).
bool Node::send(Pid from, Pid to, Term message) {
  if (impl_->stopped || to.node_index == nodes::local) return false;
  Impl::hook.send(from, to, std::move(message));
  return true;
}

bool Node::send(Pid from, Atom name, Atom node, Term message) {
  if (impl_->stopped || node.name() == impl_->full_name) return false;
  Impl::hook.send_named(from, RegisteredName{name, node}, std::move(message));
  return true;
}

bool Node::connect(std::string_view node, std::chrono::milliseconds timeout) {
  if (impl_->stopped) return false;
  auto done = std::make_shared<std::promise<bool>>();
  auto result = done->get_future();
  asio::post(impl_->io, [impl = impl_.get(), node = std::string(node), done] {
    auto once = [done, fired = std::make_shared<bool>(false)](bool ok) {
      if (!*fired) done->set_value(ok);
      *fired = true;
    };
    if (impl->stopped) return once(false);
    auto it = impl->peers.find(node);
    if (it != impl->peers.end() && it->second.conn && it->second.conn->established())
      return once(true);
    impl->peers[node].waiters.push_back(once);
    impl->dial(node);
  });
  if (result.wait_for(timeout) != std::future_status::ready) return false;
  return result.get();
}

bool Node::disconnect(std::string_view node) {
  if (impl_->stopped) return false;
  auto done = std::make_shared<std::promise<bool>>();
  auto result = done->get_future();
  asio::post(impl_->io, [impl = impl_.get(), node = std::string(node), done] {
    auto it = impl->peers.find(node);
    const bool up = it != impl->peers.end() && it->second.conn && it->second.conn->established();
    // closed() then reports nodedown and forgets the peer, as for a connection lost.
    if (up) it->second.conn->close("disconnected by disconnect_node");
    done->set_value(up);
  });
  return result.get();
}

std::vector<std::string> Node::connected() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::string> names;
  for (const auto& p : impl_->up) names.push_back(p.name);
  return names;
}

std::optional<std::string> Node::carrier(std::string_view node) const {
  std::lock_guard lock(impl_->mutex);
  for (const auto& p : impl_->up)
    if (p.name == node) return std::string(p.carrier);
  return std::nullopt;
}

void Node::set_cookie(std::string_view node, std::string cookie) {
  Cookie c(std::move(cookie));  // throws std::invalid_argument when empty
  std::lock_guard lock(impl_->mutex);
  impl_->set_cookie_locked(node, std::move(c));
}

void Node::on_nodedown(std::function<void(const std::string&, const std::string&)> f) {
  std::lock_guard lock(impl_->mutex);
  impl_->nodedown = std::move(f);
}

// --- the running node, for the process-facing API (running_node.hpp) ------------------------

struct detail::RunningNode {
  static std::vector<ConnectedPeer> peers() {
    std::shared_lock lock(Node::Impl::hook.mutex);
    Node::Impl* impl = Node::Impl::hook.impl;
    if (!impl) return {};
    std::lock_guard up_lock(impl->mutex);
    return impl->up;
  }
  static bool connect(const std::string& node, std::function<void(bool)> done) {
    std::shared_lock lock(Node::Impl::hook.mutex);
    Node::Impl* impl = Node::Impl::hook.impl;
    if (!impl || impl->stopped) return false;
    asio::post(impl->io, [impl, node, done = std::move(done)]() mutable {
      if (impl->stopped) return done(false);
      auto it = impl->peers.find(node);
      if (it != impl->peers.end() && it->second.conn && it->second.conn->established())
        return done(true);
      impl->peers[node].waiters.push_back(std::move(done));
      impl->dial(node);
    });
    return true;
  }
  static bool set_cookie(std::string_view node, std::string cookie) {
    std::shared_lock lock(Node::Impl::hook.mutex);
    Node::Impl* impl = Node::Impl::hook.impl;
    if (!impl || impl->stopped) return false;
    Cookie c(std::move(cookie));
    std::lock_guard cookies_lock(impl->mutex);
    impl->set_cookie_locked(node, std::move(c));
    return true;
  }
  static std::chrono::milliseconds setuptime() {
    std::shared_lock lock(Node::Impl::hook.mutex);
    Node::Impl* impl = Node::Impl::hook.impl;
    return impl ? impl->options.net_setuptime : std::chrono::milliseconds(0);
  }
};

std::vector<detail::ConnectedPeer> detail::running_peers() { return RunningNode::peers(); }

bool detail::connect_running(const std::string& node, std::function<void(bool)> done) {
  return RunningNode::connect(node, std::move(done));
}

std::chrono::milliseconds detail::running_setuptime() { return RunningNode::setuptime(); }

bool detail::set_running_cookie(std::string_view node, std::string cookie) {
  return RunningNode::set_cookie(node, std::move(cookie));
}

}  // namespace ambitious::dist
