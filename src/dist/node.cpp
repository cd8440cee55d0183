#include "ambitious/dist/node.hpp"

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "ambitious/core/node.hpp"
#include "ambitious/dist/cookie.hpp"
#include "ambitious/dist/epmd_server.hpp"
#include "ambitious/dist/node_name.hpp"
#include "ambitious/process/send.hpp"
#include "connection.hpp"
#include "epmd_async.hpp"

namespace ambitious::dist {

namespace asio = detail::asio;
using asio::awaitable;
using asio::use_awaitable;
using detail::Connection;
using detail::tcp;

namespace {

// One Node at a time: local pids carry its name.
std::atomic<bool> node_running{false};

// The pid net_kernel answers from: no process of this node has id 0.
const Pid net_kernel_pid(nodes::local, 0, 0);

// The reply tag of a gen_server call: [alias | Ref] (OTP 24+), or a plain ref.
std::optional<Ref> alias_of(const Term& tag) {
  if (tag.is_cons() && tag.head() == Term(Atom("alias")) && tag.tail().is_ref())
    return tag.tail().as_ref();
  return std::nullopt;
}

}  // namespace

// Coroutines and posted handlers hold a plain pointer to it: the Node owns it alone, and
// destroying its io_context (last, in ~Impl) destroys whatever never ran.
struct Node::Impl final : detail::ConnectionOwner {
  struct Peer {
    std::shared_ptr<Connection> conn;  // null while our dial looks the node up and connects
    std::uint64_t attempt = 0;         // our outgoing attempt (0: none)
    std::vector<ControlMessage> pending;
    std::vector<std::function<void(bool)>> waiters;  // connect() calls
  };

  Impl(NodeOptions o, NodeName n, Cookie c)
      : options(std::move(o)), me(std::move(n)), cookie(std::move(c)), acceptor(io) {}

  NodeOptions options;
  NodeName me;
  std::string full_name = me.full();
  Cookie cookie;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<epmd::LocalRegistration> registration;
  std::uint32_t creation = 0;
  std::uint16_t port = 0;
  std::uint16_t epmd_port = 0;
  std::thread thread;
  std::atomic<bool> stopped{false};
  std::mt19937 random{std::random_device{}()};

  // I/O thread only.
  std::unordered_map<std::string, Peer> peers;
  std::uint64_t next_attempt = 1;

  // Any thread, under `mutex`.
  mutable std::mutex mutex;
  std::vector<std::string> up;
  std::function<void(const std::string&, const std::string&)> nodedown;

  detail::ConnectionOptions connection_options() const {
    detail::ConnectionOptions c;
    c.net_ticktime = options.net_ticktime;
    c.net_setuptime = options.net_setuptime;
    return c;
  }
  HandshakeSettings settings(std::string peer) const {
    return HandshakeSettings{full_name, creation, options.flags, cookie, std::move(peer)};
  }

  void publish() {
    std::vector<std::string> names;
    for (auto& [name, p] : peers)
      if (p.conn && p.conn->established()) names.push_back(name);
    std::sort(names.begin(), names.end());
    std::lock_guard lock(mutex);
    up = std::move(names);
  }

  // --- outgoing ---------------------------------------------------------------------------

  void route(const std::string& node, ControlMessage m) {
    Peer& p = peers[node];
    if (p.conn && p.conn->established()) {
      p.conn->send(m);
      return;
    }
    p.pending.push_back(std::move(m));
    dial(node);
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
    auto it = peers.find(node);
    if (ec || stopped || it == peers.end() || it->second.attempt != attempt || it->second.conn) {
      // Failed, or overtaken meanwhile (the peer's own attempt won, or we stopped).
      if (ec) give_up(node, attempt);
      co_return;
    }
    auto c = std::make_shared<Connection>(
        io.get_executor(), std::make_unique<detail::TcpCarrier>(std::move(socket)),
        Handshake::Role::initiator, settings(node), random(), connection_options(), *this);
    it->second.conn = c;
    c->start();
  }

  void give_up(const std::string& node, std::uint64_t attempt) {
    auto it = peers.find(node);
    if (it == peers.end() || it->second.attempt != attempt || it->second.conn) return;
    auto waiters = std::move(it->second.waiters);
    peers.erase(it);
    for (auto& w : waiters) w(false);
  }

  // --- incoming ---------------------------------------------------------------------------

  awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (stopped || !acceptor.is_open()) co_return;
      if (ec) continue;
      auto c = std::make_shared<Connection>(
          io.get_executor(), std::make_unique<detail::TcpCarrier>(std::move(socket)),
          Handshake::Role::acceptor, settings(""), random(), connection_options(), *this);
      c->start();
    }
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
      old->close("replaced by a new connection from the peer");
      report_down(c.peer(), "replaced by a new connection from the peer");
    }
    p.conn = c.shared_from_this();
  }

  void established(Connection& c) override {
    Peer& p = peers[c.peer()];
    p.conn = c.shared_from_this();
    p.attempt = 0;
    for (auto& m : p.pending) c.send(m);
    p.pending.clear();
    auto waiters = std::move(p.waiters);
    publish();
    for (auto& w : waiters) w(true);
  }

  void closed(Connection& c, const std::string& why) override {
    auto it = peers.find(c.peer());
    if (it == peers.end() || it->second.conn.get() != &c) return;  // replaced, or never ours
    const bool was_up = c.flags() != 0;
    auto waiters = std::move(it->second.waiters);
    peers.erase(it);  // what was pending for it is dropped, as OTP drops it
    publish();
    for (auto& w : waiters) w(false);
    if (was_up) report_down(c.peer(), why);
  }

  void report_down(const std::string& node, const std::string& why) {
    std::function<void(const std::string&, const std::string&)> f;
    {
      std::lock_guard lock(mutex);
      f = nodedown;
    }
    if (f) f(node, why);
  }

  void received(Connection& c, ControlMessage&& m) override {
    if (auto* s = std::get_if<control::Send>(&m)) {
      if (s->to.node_index == nodes::local) deliver_term(s->to, std::move(s->message));
    } else if (auto* r = std::get_if<control::RegSend>(&m)) {
      if (r->to == Atom("net_kernel"))
        net_kernel(c, *r);
      else
        deliver_term(r->to, std::move(r->message));
    } else if (auto* u = std::get_if<control::UnlinkId>(&m)) {
      // Always acknowledged (a missing ack leaves OTP's link 'unlinking' for good).
      c.send(control::UnlinkIdAck{u->id, u->to, u->from});
    }
    // Links, monitors, exit signals and aliases wait for the process layer's remote hook.
  }

  // net_kernel's {is_auth, Node} call (net_adm:ping): answered `yes`, to the caller's alias
  // when the tag is one and ALIAS was negotiated, else to the caller's pid.
  void net_kernel(Connection& c, const control::RegSend& r) {
    const Term& m = r.message;
    if (!m.is_tuple() || m.size() != 3 || m[0] != Term(Atom("$gen_call"))) return;
    const Term& from = m[1];
    const Term& request = m[2];
    if (!from.is_tuple() || from.size() != 2 || !from[0].is_pid()) return;
    if (!request.is_tuple() || request.size() != 2 || request[0] != Term(Atom("is_auth"))) return;
    Term reply = Term::tuple(from[1], Atom("yes"));
    if (auto alias = alias_of(from[1]); alias && (c.flags() & flag::alias))
      c.send(control::AliasSend{net_kernel_pid, *alias, reply, std::nullopt});
    else
      c.send(control::Send{net_kernel_pid, from[0].as_pid(), reply, std::nullopt});
  }

  void shutdown() {
    stopped = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (auto& [name, p] : peers) {
      for (auto& w : p.waiters) w(false);
      p.waiters.clear();
      if (p.conn) p.conn->close("the node stopped");
    }
    peers.clear();
    publish();
    work.reset();
  }
};

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
  // Listen first: registering is what tells peers we are ready.
  boost::system::error_code ec;
  auto address = asio::ip::make_address(impl->options.listen_address, ec);
  tcp::endpoint at(address, impl->options.listen_port);
  if (!ec) impl->acceptor.open(at.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(at, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(NodeErrc::listen_failed, ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  epmd::NodeEntry entry;
  entry.name = impl->me.alive;
  entry.port = impl->port;
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
  impl->thread = std::thread([raw = impl.get()] { raw->io.run(); });
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

void Node::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  // Connections close (their peers see the end of the stream); what is still in flight (an
  // epmd lookup) is abandoned with the io_context.
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->shutdown();
    impl->io.stop();
  });
  impl_->thread.join();
  impl_->registration.reset();
  nodes::set_local(NodeId{});
  node_running = false;
}

const std::string& Node::name() const noexcept { return impl_->full_name; }
std::uint32_t Node::creation() const noexcept { return impl_->creation; }
std::uint16_t Node::port() const noexcept { return impl_->port; }

bool Node::send(Pid from, Pid to, Term message) {
  if (impl_->stopped || to.node_index == nodes::local) return false;
  std::string node(to.node().name());
  asio::post(impl_->io, [impl = impl_.get(), node = std::move(node), from, to,
                         message = std::move(message)]() mutable {
    if (!impl->stopped)
      impl->route(node, control::Send{from, to, std::move(message), std::nullopt});
  });
  return true;
}

bool Node::send(Pid from, Atom name, Atom node, Term message) {
  if (impl_->stopped || node.name() == impl_->full_name) return false;
  asio::post(impl_->io, [impl = impl_.get(), node = std::string(node.name()), from, name,
                         message = std::move(message)]() mutable {
    if (!impl->stopped)
      impl->route(node, control::RegSend{from, name, std::move(message), std::nullopt});
  });
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

std::vector<std::string> Node::connected() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->up;
}

void Node::on_nodedown(std::function<void(const std::string&, const std::string&)> f) {
  std::lock_guard lock(impl_->mutex);
  impl_->nodedown = std::move(f);
}

}  // namespace ambitious::dist
