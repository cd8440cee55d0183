#include "ambitious/dist/epmd_server.hpp"

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "ambitious/runtime/thread_name.hpp"
#include "asio_support.hpp"

namespace ambitious::dist::epmd {

namespace asio = ambitious::dist::detail::asio;
using ambitious::dist::detail::Deadline;
using ambitious::dist::detail::tcp;
using asio::awaitable;
using asio::use_awaitable;

struct Server::Impl {
  struct Registered {
    NodeEntry node;
    std::uint64_t connection;
  };

  explicit Impl(const ServerOptions& o) : options(o), acceptor(io) {}

  ServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;
  std::thread thread;
  std::atomic<bool> running{true};
  std::once_flag stopped;

  // Server thread only.
  std::set<tcp::socket*> sockets;  // open connections, closed all at once by shutdown()
  std::uint64_t next_connection = 1;
  std::mt19937 random{std::random_device{}()};
  std::unordered_map<std::string, std::uint32_t> last_creation;  // bounded, see creation_for

  mutable std::mutex mutex;            // guards `registered`, which names() reads from any thread
  std::vector<Registered> registered;  // oldest first

  // Server thread: a creation that differs from the one the name had last time (so that its
  // peers tell the new incarnation's pids from the old ones): 32 bits for an OTP 23+ node, 1 to
  // 3 for an older one, as epmd gives.
  std::uint32_t creation_for(const NodeEntry& node) {
    std::uint32_t last = last_creation.count(node.name) ? last_creation[node.name] : 0, c;
    do {
      c = node.highest_version >= dist_version ? random() : random() % 3 + 1;
    } while (c == 0 || c == last);
    if (last_creation.size() >= 4096) last_creation.clear();
    last_creation[node.name] = c;
    return c;
  }

  // Registers `node` for `connection`; the creation, or nothing when the name is taken.
  std::optional<std::uint32_t> add(const NodeEntry& node, std::uint64_t connection) {
    std::lock_guard lock(mutex);
    for (const Registered& r : registered)
      if (r.node.name == node.name) return std::nullopt;
    registered.push_back(Registered{node, connection});
    return creation_for(node);
  }
  void remove(std::uint64_t connection) {
    std::lock_guard lock(mutex);
    std::erase_if(registered, [&](const Registered& r) { return r.connection == connection; });
  }
  std::optional<NodeEntry> find(const std::string& name) const {
    std::lock_guard lock(mutex);
    for (const Registered& r : registered)
      if (r.node.name == name) return r.node;
    return std::nullopt;
  }
  std::vector<NameLine> list() const {
    std::lock_guard lock(mutex);
    std::vector<NameLine> out;
    for (auto it = registered.rbegin(); it != registered.rend(); ++it)
      out.push_back(NameLine{it->node.name, it->node.port});
    return out;
  }

  // Server thread: closes the acceptor and every connection; the coroutines then end.
  void shutdown() {
    running.store(false, std::memory_order_release);
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (tcp::socket* s : sockets) s->close(ignored);
  }

  // As epmd: ALIVE2 and KILL only from this host (a loopback address, or our own address).
  static bool local_peer(const tcp::socket& s) {
    boost::system::error_code ec1, ec2;
    auto remote = s.remote_endpoint(ec1).address();
    auto local = s.local_endpoint(ec2).address();
    if (ec1 || ec2) return false;
    return remote.is_loopback() || remote == local;
  }

  awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;  // a connection that went away before accept, fd exhaustion: go on
      ambitious::dist::detail::close_on_exec(s.native_handle());
      if (sockets.size() >= options.max_connections) continue;  // closed as `s` goes
      asio::co_spawn(io, serve(std::move(s)), asio::detached);
    }
  }

  // One request with its length prefix, or nothing (closed, timed out, garbage).
  awaitable<std::optional<Request>> read_request(tcp::socket& s) {
    Deadline deadline(s, options.packet_timeout);
    boost::system::error_code ec;
    std::uint8_t len[2];
    co_await asio::async_read(s, asio::buffer(len), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return std::nullopt;
    std::vector<std::uint8_t> body(std::size_t{len[0]} << 8 | len[1]);
    if (body.empty()) co_return std::nullopt;
    co_await asio::async_read(s, asio::buffer(body), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return std::nullopt;
    auto req = decode_request(body);
    if (!req) co_return std::nullopt;
    co_return std::move(*req);
  }

  awaitable<void> write(tcp::socket& s, const std::vector<std::uint8_t>& bytes) {
    boost::system::error_code ec;
    co_await asio::async_write(s, asio::buffer(bytes), asio::redirect_error(use_awaitable, ec));
  }

  // Waits until the client closes a registration's connection (or breaks the protocol by
  // writing to it, which ends the registration too, as in epmd).
  awaitable<void> hold(tcp::socket& s) {
    boost::system::error_code ec;
    std::uint8_t byte;
    co_await s.async_read_some(asio::buffer(&byte, 1), asio::redirect_error(use_awaitable, ec));
  }

  awaitable<void> serve(tcp::socket s) {
    sockets.insert(&s);
    std::uint64_t id = next_connection++;
    if (auto req = co_await read_request(s)) co_await answer(s, id, *req);
    remove(id);
    sockets.erase(&s);
    boost::system::error_code ignored;
    s.close(ignored);
  }

  // No braced temporary in an expression that awaits here: g++ 12 destroys such a temporary
  // twice (README, "A g++ 12 trap"); each reply is built in a statement of its own.
  awaitable<void> answer(tcp::socket& s, std::uint64_t id, const Request& req) {
    std::vector<std::uint8_t> reply;
    if (auto* alive = std::get_if<Alive2Request>(&req)) {
      if (!local_peer(s)) co_return;
      auto creation = add(alive->node, id);
      bool extended = alive->node.highest_version >= dist_version;
      // A name taken gets result 1 (and the creation field epmd writes then, 99); the
      // connection stays open either way, as epmd keeps it.
      Alive2Response r{static_cast<std::uint8_t>(creation ? 0 : 1), creation ? *creation : 99,
                       extended};
      reply = encode(r);
      co_await write(s, reply);
      co_await hold(s);
    } else if (auto* please = std::get_if<PortPlease2Request>(&req)) {
      Port2Response r;
      r.result = 1;
      if (auto node = find(please->name)) {
        r.result = 0;
        r.node = std::move(*node);
      }
      reply = encode(r);
      co_await write(s, reply);
    } else if (std::holds_alternative<NamesRequest>(req)) {
      NamesResponse r;
      r.epmd_port = port;
      r.names = list();
      reply = encode(r);
      co_await write(s, reply);
    } else if (std::holds_alternative<KillRequest>(req)) {
      if (!local_peer(s)) co_return;
      bool empty = list().empty();
      reply = empty ? std::vector<std::uint8_t>{'O', 'K'} : std::vector<std::uint8_t>{'N', 'O'};
      co_await write(s, reply);
      if (empty) shutdown();
    }
  }
};

Server::Server(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

std::expected<std::unique_ptr<Server>, ServerError> Server::start(const ServerOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options.address, ec);
  if (ec) return std::unexpected(ServerError{ServerErrc::io, "bad address " + options.address});
  tcp::endpoint at(address, options.port);
  tcp::acceptor& a = impl->acceptor;
  ambitious::dist::detail::open_close_on_exec(a, at.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(at, ec);
  if (ec == asio::error::address_in_use)
    return std::unexpected(ServerError{ServerErrc::address_in_use, ec.message()});
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return std::unexpected(ServerError{ServerErrc::io, ec.message()});
  impl->port = a.local_endpoint().port();
  Impl* i = impl.get();
  asio::co_spawn(i->io, i->accept_loop(), asio::detached);
  i->thread = std::thread([i] {
    ambitious::detail::name_this_thread("ambitious-epmd");
    i->io.run();
  });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() { stop(); }

std::uint16_t Server::port() const noexcept { return impl_->port; }

std::vector<NameLine> Server::names() const { return impl_->list(); }

bool Server::running() const noexcept { return impl_->running.load(std::memory_order_acquire); }

void Server::stop() {
  std::call_once(impl_->stopped, [this] {
    asio::post(impl_->io, [i = impl_.get()] { i->shutdown(); });
    if (impl_->thread.joinable()) impl_->thread.join();
  });
}

std::expected<LocalRegistration, ClientError> register_locally(const NodeEntry& node,
                                                               const ServerOptions& server,
                                                               std::chrono::milliseconds timeout) {
  Address local{"127.0.0.1", server.port};
  // Twice at most: the second attempt follows a lost race for the port (another node started
  // an epmd between our attempt to reach one and our attempt to listen).
  for (int attempt = 0;; ++attempt) {
    auto r = register_node(local, node, timeout);
    if (r) return LocalRegistration{std::move(*r), nullptr};
    if (r.error().code != ClientErrc::unreachable || attempt == 2)
      return std::unexpected(r.error());
    auto started = Server::start(server);
    if (!started) {
      if (started.error().code == ServerErrc::address_in_use) continue;
      return std::unexpected(
          ClientError{ClientErrc::unreachable,
                      "no epmd answers, and starting one failed: " + started.error().detail});
    }
    auto mine = register_node(local, node, timeout);
    if (!mine) return std::unexpected(mine.error());
    return LocalRegistration{std::move(*mine), std::move(*started)};
  }
}

}  // namespace ambitious::dist::epmd
