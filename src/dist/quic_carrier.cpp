#include "quic_carrier.hpp"

#include <algorithm>
#include <cstring>

namespace ambitious::dist::detail {

QuicCarrier::QuicCarrier(asio::any_io_executor executor, std::shared_ptr<QuicConnection> connection,
                         Role role)
    : connection_(std::move(connection)),
      role_(role),
      arrival_(executor, asio::steady_timer::time_point::max()) {
  // Streams the peer opens reach the default reader: the acceptor's control stream, and any
  // other stream, which this carrier refuses.
  connection_->on_data([this](QuicStreamId id, std::span<const std::uint8_t> bytes, bool fin) {
    arrived(id, bytes, fin);
  });
  connection_->on_closed([this](const std::string& why) { ended(why); });
  if (!connection_->is_open()) ended("the QUIC connection closed before its carrier started");
}

QuicCarrier::~QuicCarrier() {
  // The readers point here: the QUIC connection may outlive this carrier in its endpoint.
  connection_->on_closed(nullptr);
  connection_->on_data(nullptr);
  if (stream_ && connection_->is_open()) connection_->set_reader(*stream_, nullptr);
  connection_->close("the distribution connection closed");
}

asio::awaitable<std::string> QuicCarrier::open() {
  if (role_ == Role::acceptor) co_return failure_;  // the peer opens the control stream
  auto id = connection_->open_stream();
  if (!id) co_return "QUIC control stream: " + id.error();
  stream_ = *id;
  connection_->set_reader(*id, [this](QuicStreamId s, std::span<const std::uint8_t> bytes,
                                      bool fin) { arrived(s, bytes, fin); });
  co_return std::string();
}

std::string QuicCarrier::check_peer_name(std::string_view node) const {
  // The initiator's peer proved the name it dialed during the QUIC handshake already.
  return role_ == Role::acceptor ? connection_->check_peer_name(node) : std::string();
}

void QuicCarrier::arrived(QuicStreamId id, std::span<const std::uint8_t> bytes, bool fin) {
  if (!failure_.empty()) return;
  if (!stream_ && role_ == Role::acceptor) stream_ = id;
  if (id != stream_) {
    ended("the peer opened a second QUIC stream (this connection carries one)");
    connection_->close(failure_);
    return;
  }
  // What was read goes once it is at least as long as what was not: the buffer stays within
  // twice the stream window, at a copy per byte at most.
  if (in_begin_ > 0 && in_begin_ >= in_.size() - in_begin_) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_begin_));
    in_begin_ = 0;
  }
  in_.insert(in_.end(), bytes.begin(), bytes.end());
  fin_ = fin_ || fin;
  arrival_.cancel();
}

void QuicCarrier::ended(const std::string& why) {
  if (failure_.empty()) failure_ = why.empty() ? std::string("the QUIC connection closed") : why;
  arrival_.cancel();
}

asio::awaitable<std::size_t> QuicCarrier::read_some(std::span<std::uint8_t> into,
                                                    boost::system::error_code& ec) {
  // Through the executor even when bytes are here already (the Carrier's promise).
  co_await asio::post(arrival_.get_executor(), asio::use_awaitable);
  for (;;) {
    if (in_begin_ < in_.size()) {
      const std::size_t n = std::min(into.size(), in_.size() - in_begin_);
      std::memcpy(into.data(), in_.data() + in_begin_, n);
      in_begin_ += n;
      // The peer may send as much again: credit goes back only for what was read.
      if (stream_ && failure_.empty()) connection_->consume(*stream_, n);
      co_return n;
    }
    if (!failure_.empty()) {
      ec = asio::error::connection_reset;
      co_return 0;
    }
    if (fin_) {
      ec = asio::error::eof;
      co_return 0;
    }
    boost::system::error_code woken;
    arrival_.expires_at(asio::steady_timer::time_point::max());
    co_await arrival_.async_wait(asio::redirect_error(asio::use_awaitable, woken));
  }
}

asio::awaitable<void> QuicCarrier::write(std::span<const asio::const_buffer> buffers,
                                         boost::system::error_code& ec) {
  if (!stream_) {
    ec = asio::error::not_connected;
    co_return;
  }
  for (const auto& b : buffers) {
    std::span<const std::uint8_t> bytes(static_cast<const std::uint8_t*>(b.data()), b.size());
    std::string why = co_await connection_->write(*stream_, bytes);
    if (!why.empty()) {
      if (failure_.empty()) failure_ = why;
      ec = asio::error::broken_pipe;
      co_return;
    }
  }
  // Queued without a wait: still complete on a later turn (the Carrier's promise).
  co_await asio::post(arrival_.get_executor(), asio::use_awaitable);
}

void QuicCarrier::close() noexcept {
  ended("closed");
  connection_->close("the distribution connection closed");
}

std::string QuicCarrier::describe(const boost::system::error_code& ec) const {
  return failure_.empty() ? ec.message() : failure_;
}

std::string QuicCarrier::remote() const {
  auto at = connection_->remote();
  return at.address().to_string() + ":" + std::to_string(at.port()) + " (QUIC)";
}

}  // namespace ambitious::dist::detail
