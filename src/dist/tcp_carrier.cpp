#include "carrier.hpp"

namespace ambitious::dist::detail {

TcpCarrier::TcpCarrier(tcp::socket socket) : socket_(std::move(socket)) {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
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
  // async_write gathers the buffers into writev calls (at most IOV_MAX per call).
  co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
}

void TcpCarrier::close() noexcept {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

std::string TcpCarrier::remote() const { return remote_; }

}  // namespace ambitious::dist::detail
