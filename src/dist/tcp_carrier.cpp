#include "carrier.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

namespace ambitious::dist::detail {

namespace {

// The most bytes the kernel holds for this socket that it has not yet sent (TCP_NOTSENT_LOWAT):
// beyond them a write waits. Without it a bulk stream fills the whole send buffer (up to
// tcp_wmem's 4 MiB), and a small message written next waits behind all of it; with it the
// connection's own queue holds the rest, where other senders' messages interleave with the
// stream's fragments. It also keeps the sending of the bytes in the writer's own write call
// instead of the peer's acknowledgements (on loopback, the reader's thread).
constexpr int notsent_lowat = 512 * 1024;

// asio's completion conditions let each write call take at most 64 KiB; the kernel takes a
// whole batch in one writev.
struct TransferAll {
  std::size_t operator()(const boost::system::error_code& ec, std::size_t) const noexcept {
    return ec ? 0 : std::size_t{1} << 30;
  }
};

}  // namespace

TcpCarrier::TcpCarrier(tcp::socket socket) : socket_(std::move(socket)) {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  // Best effort: a kernel without the option only loses what it buys.
  const int lowat = notsent_lowat;
  ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
  auto at = socket_.remote_endpoint(ec);
  remote_ = ec ? std::string("?") : at.address().to_string() + ":" + std::to_string(at.port());
}

asio::awaitable<std::size_t> TcpCarrier::read_some(std::span<std::uint8_t> into,
                                                   boost::system::error_code& ec) {
  co_return co_await socket_.async_read_some(asio::buffer(into.data(), into.size()),
                                             asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> TcpCarrier::write(std::span<const asio::const_buffer> buffers,
                                        boost::system::error_code& ec) {
  // async_write gathers the buffers into writev calls (at most 16 buffers per call).
  co_await asio::async_write(socket_, buffers, TransferAll{},
                             asio::redirect_error(asio::use_awaitable, ec));
}

std::size_t TcpCarrier::try_write(std::span<const asio::const_buffer> buffers,
                                  boost::system::error_code& ec) {
  // A raw sendmsg with MSG_DONTWAIT, not the socket's write_some: it touches none of the Asio
  // socket's state (which the executor's operations own), only the descriptor, which the
  // caller's lock keeps open.
  thread_local std::vector<::iovec> iov;
  iov.clear();
  for (const auto& b : buffers) iov.push_back(::iovec{const_cast<void*>(b.data()), b.size()});
  ::msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = std::min<std::size_t>(iov.size(), IOV_MAX);
  for (;;) {
    const ::ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      ec = boost::system::error_code(errno, boost::system::system_category());
    return 0;
  }
}

void TcpCarrier::close() noexcept {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

std::string TcpCarrier::remote() const { return remote_; }

}  // namespace ambitious::dist::detail
