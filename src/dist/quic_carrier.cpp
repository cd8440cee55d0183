#include "quic_carrier.hpp"

#include <algorithm>

namespace ambitious::dist::detail {

QuicCarrier::QuicCarrier(asio::any_io_executor executor, std::shared_ptr<QuicConnection> connection,
                         Role role)
    : connection_(std::move(connection)),
      role_(role),
      out_(pool, -1),
      // The peer may send as much again: credit goes back only for what was handed out.
      in_(control, long_frame,
          [this](QuicStreamId id, std::size_t n) {
            if (failure_.empty()) connection_->consume(id, n);
          }),
      arrival_(executor, asio::steady_timer::time_point::max()) {
  out_[0] = control;
  // Every stream reaches the one reader: the control stream and the peer's pool.
  connection_->on_data([this](QuicStreamId id, std::span<const std::uint8_t> bytes, bool fin) {
    arrived(id, bytes, fin);
  });
  connection_->on_closed([this](const std::string& why) { ended(why); });
  if (!connection_->is_open()) ended("the QUIC connection closed before its carrier started");
}

QuicCarrier::~QuicCarrier() {
  // The handlers point here: the QUIC connection may outlive this carrier in its endpoint.
  connection_->on_closed(nullptr);
  connection_->on_data(nullptr);
  connection_->on_room(nullptr);
  connection_->close("the distribution connection closed");
}

asio::awaitable<std::string> QuicCarrier::open() {
  if (role_ == Role::acceptor) co_return failure_;  // the peer opens the control stream
  auto id = connection_->open_stream();
  if (!id) co_return "QUIC control stream: " + id.error();
  if (*id != control) co_return "QUIC control stream: opened as stream " + std::to_string(*id);
  co_return std::string();
}

std::string QuicCarrier::check_peer_name(std::string_view node) const {
  // The initiator's peer proved the name it dialed during the QUIC handshake already.
  return role_ == Role::acceptor ? connection_->check_peer_name(node) : std::string();
}

void QuicCarrier::arrived(QuicStreamId id, std::span<const std::uint8_t> bytes, bool fin) {
  if (!failure_.empty()) return;
  in_.arrived(id, bytes);
  fin_ = fin_ || fin;
  arrival_.cancel();
}

void QuicCarrier::established() { in_.established(); }

void QuicCarrier::ended(const std::string& why) {
  if (failure_.empty()) failure_ = why.empty() ? std::string("the QUIC connection closed") : why;
  arrival_.cancel();
}

asio::awaitable<std::size_t> QuicCarrier::read_some(std::span<std::uint8_t> into,
                                                    boost::system::error_code& ec) {
  // Through the executor even when bytes are here already (the Carrier's promise).
  co_await asio::post(arrival_.get_executor(), asio::use_awaitable);
  for (;;) {
    if (const std::size_t n = in_.take(into); n > 0) co_return n;
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

QuicStreamId QuicCarrier::stream_of(std::uint32_t stream) {
  QuicStreamId& id = out_[stream % pool];
  if (id < 0) {
    auto opened = connection_->open_stream();
    id = opened ? *opened : control;
  }
  return id;
}

bool QuicCarrier::has_room(std::size_t stream) const noexcept {
  if (connection_->room() == 0) return false;
  const QuicStreamId id = out_[stream % pool];
  return id < 0 || connection_->queued_bytes(id) < stream_share;
}

void QuicCarrier::on_room(std::function<void()> handler) {
  connection_->on_room(std::move(handler));
}

asio::awaitable<void> QuicCarrier::write_streams(std::span<const asio::const_buffer> buffers,
                                                 std::span<const std::uint32_t> streams,
                                                 boost::system::error_code& ec) {
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    if (!failure_.empty()) break;
    const QuicStreamId id = stream_of(streams[i]);
    std::span<const std::uint8_t> bytes(static_cast<const std::uint8_t*>(buffers[i].data()),
                                        buffers[i].size());
    // Queued at once where the connection's queue has room (the writer asked has_room); what
    // it does not take waits for room.
    bytes = bytes.subspan(connection_->try_write(id, bytes));
    if (bytes.empty()) continue;
    if (std::string why = co_await connection_->write(id, bytes); !why.empty()) {
      if (failure_.empty()) failure_ = why;
      break;
    }
  }
  if (!failure_.empty()) {
    ec = asio::error::broken_pipe;
    co_return;
  }
  // Queued without a wait: still complete on a later turn (the Carrier's promise).
  co_await asio::post(arrival_.get_executor(), asio::use_awaitable);
}

asio::awaitable<void> QuicCarrier::write(std::span<const asio::const_buffer> buffers,
                                         boost::system::error_code& ec) {
  std::vector<std::uint32_t> streams(buffers.size(), 0);
  co_await write_streams(buffers, streams, ec);
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
  return "QUIC, " + at.address().to_string() + ":" + std::to_string(at.port());
}

}  // namespace ambitious::dist::detail
