#include "ambitious/dist/epmd_client.hpp"

#include <sys/socket.h>

#include <charconv>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <vector>

#include "epmd_async.hpp"

namespace ambitious::dist::epmd {

namespace asio = ambitious::dist::detail::asio;
using ambitious::dist::detail::Deadline;
using asio::awaitable;
using asio::use_awaitable;
using detail::AsyncRegistration;
using detail::tcp;

namespace {

// The most a PORT2 or NAMES response may hold: far above any real one (a PORT2_RESP is at most
// ~2 KiB; a NAMES line ~1 KiB, and epmd keeps at most a few thousand nodes).
constexpr std::size_t max_response = std::size_t{4} << 20;

ClientError error_of(const boost::system::error_code& ec, const Deadline& deadline) {
  namespace e = asio::error;
  if (deadline.expired()) return {ClientErrc::timeout, "epmd did not answer in time"};
  if (ec == e::connection_refused || ec == e::host_not_found || ec == e::host_unreachable ||
      ec == e::network_unreachable || ec == e::host_not_found_try_again)
    return {ClientErrc::unreachable, ec.message()};
  if (ec == e::eof || ec == e::connection_reset)
    return {ClientErrc::closed, "epmd closed the connection"};
  return {ClientErrc::io, ec.message()};
}

// Connects `socket` to epmd and sends `request`, under `deadline` (which covers the whole
// conversation, the name resolution included).
awaitable<boost::system::error_code> open(tcp::socket& socket, tcp::resolver& resolver,
                                          const Address& at,
                                          const std::vector<std::uint8_t>& request) {
  boost::system::error_code ec;
  auto endpoints = co_await resolver.async_resolve(tcp::v4(), at.host, std::to_string(at.port),
                                                   asio::redirect_error(use_awaitable, ec));
  if (ec) co_return ec;
  co_await asio::async_connect(socket, endpoints, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return ec;
  ambitious::dist::detail::close_on_exec(socket.native_handle());
  socket.set_option(tcp::no_delay(true), ec);
  co_await asio::async_write(socket, asio::buffer(request),
                             asio::redirect_error(use_awaitable, ec));
  co_return ec;
}

// A socket, its resolver and the deadline over both: what every conversation starts with.
struct Conversation {
  Conversation(const asio::any_io_executor& ex, std::chrono::milliseconds timeout)
      : socket(ex), resolver(ex), deadline(socket, timeout, &resolver) {}
  tcp::socket socket;
  tcp::resolver resolver;
  Deadline deadline;
};

// Everything epmd writes until it closes the connection (bounded by max_response).
awaitable<std::expected<std::vector<std::uint8_t>, ClientError>> read_to_close(
    tcp::socket& socket, const Deadline& deadline) {
  std::vector<std::uint8_t> in;
  std::uint8_t chunk[4096];
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = co_await socket.async_read_some(asio::buffer(chunk),
                                                    asio::redirect_error(use_awaitable, ec));
    in.insert(in.end(), chunk, chunk + n);
    if (in.size() > max_response)
      co_return std::unexpected(ClientError{ClientErrc::bad_response, "epmd's answer is too long"});
    if (ec == asio::error::eof) co_return in;
    if (ec) co_return std::unexpected(error_of(ec, deadline));
  }
}

ClientError bad(const WireError& e) { return {ClientErrc::bad_response, to_string(e)}; }

}  // namespace

std::string_view to_string(ClientErrc e) noexcept {
  switch (e) {
    case ClientErrc::unreachable:
      return "unreachable";
    case ClientErrc::timeout:
      return "timeout";
    case ClientErrc::closed:
      return "closed";
    case ClientErrc::bad_response:
      return "bad response";
    case ClientErrc::name_taken:
      return "name taken";
    case ClientErrc::not_registered:
      return "not registered";
    case ClientErrc::io:
      return "io";
  }
  return "unknown epmd error";
}

std::string to_string(const ClientError& e) {
  std::string s(to_string(e.code));
  if (!e.detail.empty()) s += ": " + e.detail;
  return s;
}

std::optional<std::uint16_t> parse_port(std::string_view text) noexcept {
  unsigned value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::uint16_t configured_port() {
  const char* env = std::getenv("ERL_EPMD_PORT");
  if (!env) return default_port;
  auto port = parse_port(env);
  if (!port)
    throw std::invalid_argument("ERL_EPMD_PORT is not a port number (1-65535): '" +
                                std::string(env) + "'");
  return *port;
}

namespace detail {

awaitable<std::expected<AsyncRegistration, ClientError>> async_register(
    Address at, NodeEntry node, std::chrono::milliseconds timeout) {
  // No braced temporary in an expression that awaits: g++ 12 destroys such a temporary twice
  // (README, "A g++ 12 trap"). The request is built in a statement of its own.
  const std::vector<std::uint8_t> request = encode(Request(Alive2Request{node}));
  Conversation c(co_await asio::this_coro::executor, timeout);
  if (auto ec = co_await open(c.socket, c.resolver, at, request))
    co_return std::unexpected(error_of(ec, c.deadline));
  // epmd keeps the socket open: the answer ends where its size says.
  std::uint8_t in[8];
  std::size_t have = 0;
  for (;;) {
    auto r = decode_alive2_response(std::span<const std::uint8_t>(in, have));
    if (r) {
      c.deadline.cancel();
      if (r->first.result != 0)
        co_return std::unexpected(
            ClientError{ClientErrc::name_taken, "epmd has a node named '" + node.name + "'"});
      co_return AsyncRegistration{std::move(c.socket), r->first.creation};
    }
    if (r.error().code != WireErrc::truncated) co_return std::unexpected(bad(r.error()));
    // Read only what the response can still need, so that nothing after it is consumed.
    std::size_t want = have == 0 ? 1 : (in[0] == tag::alive2_x_resp ? 6 : 4);
    boost::system::error_code ec;
    std::size_t n = co_await c.socket.async_read_some(asio::buffer(in + have, want - have),
                                                      asio::redirect_error(use_awaitable, ec));
    have += n;
    if (ec) co_return std::unexpected(error_of(ec, c.deadline));
  }
}

awaitable<std::expected<NodeEntry, ClientError>> async_port_please(
    Address at, std::string alive, std::chrono::milliseconds timeout) {
  if (!valid_name(alive))
    co_return std::unexpected(ClientError{ClientErrc::not_registered, "invalid node name"});
  const std::vector<std::uint8_t> request = encode(Request(PortPlease2Request{alive}));
  Conversation c(co_await asio::this_coro::executor, timeout);
  if (auto ec = co_await open(c.socket, c.resolver, at, request))
    co_return std::unexpected(error_of(ec, c.deadline));
  auto bytes = co_await read_to_close(c.socket, c.deadline);
  if (!bytes) co_return std::unexpected(bytes.error());
  auto r = decode_port2_response(*bytes);
  if (!r) co_return std::unexpected(bad(r.error()));
  if (r->result != 0)
    co_return std::unexpected(
        ClientError{ClientErrc::not_registered, "epmd knows no node named '" + alive + "'"});
  co_return std::move(r->node);
}

awaitable<std::expected<NamesResponse, ClientError>> async_names(
    Address at, std::chrono::milliseconds timeout) {
  const std::vector<std::uint8_t> request = encode(Request(NamesRequest{}));
  Conversation c(co_await asio::this_coro::executor, timeout);
  if (auto ec = co_await open(c.socket, c.resolver, at, request))
    co_return std::unexpected(error_of(ec, c.deadline));
  auto bytes = co_await read_to_close(c.socket, c.deadline);
  if (!bytes) co_return std::unexpected(bytes.error());
  auto r = decode_names_response(*bytes);
  if (!r) co_return std::unexpected(bad(r.error()));
  co_return std::move(*r);
}

}  // namespace detail

namespace {
// Runs one conversation on an io_context of its own (the blocking API).
template <class T>
T run_alone(asio::io_context& io, awaitable<T> op) {
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(
      io, [&]() -> awaitable<void> { result.emplace(co_await std::move(op)); },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}
}  // namespace

struct Registration::Socket {
  asio::io_context io;
  tcp::socket socket{io};
};

Registration::Registration(std::unique_ptr<Socket> socket, std::uint32_t creation) noexcept
    : socket_(std::move(socket)), creation_(creation) {}
Registration::Registration(Registration&&) noexcept = default;
Registration& Registration::operator=(Registration&& o) noexcept {
  close();
  socket_ = std::move(o.socket_);
  creation_ = o.creation_;
  return *this;
}
Registration::~Registration() { close(); }

bool Registration::lost() {
  if (!socket_ || !socket_->socket.is_open()) return true;
  // epmd never writes on this connection: readable means closed (or broken).
  std::uint8_t byte;
  ssize_t n = ::recv(socket_->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

void Registration::close() noexcept {
  if (!socket_) return;
  boost::system::error_code ignored;
  socket_->socket.close(ignored);
  socket_.reset();
}

std::expected<Registration, ClientError> register_node(const Address& at, const NodeEntry& node,
                                                       std::chrono::milliseconds timeout) {
  auto holder = std::make_unique<Registration::Socket>();
  auto r = run_alone(holder->io, detail::async_register(at, node, timeout));
  if (!r) return std::unexpected(r.error());
  holder->socket = std::move(r->socket);  // on holder->io, which lives with the registration
  return Registration(std::move(holder), r->creation);
}

std::expected<NodeEntry, ClientError> port_please(const Address& at, std::string_view alive,
                                                  std::chrono::milliseconds timeout) {
  asio::io_context io;
  return run_alone(io, detail::async_port_please(at, std::string(alive), timeout));
}

std::expected<NamesResponse, ClientError> names(const Address& at,
                                                std::chrono::milliseconds timeout) {
  asio::io_context io;
  return run_alone(io, detail::async_names(at, timeout));
}

}  // namespace ambitious::dist::epmd
