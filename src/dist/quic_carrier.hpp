#pragma once
// Private: QuicCarrier, a distribution connection's bytes on a QUIC connection between two
// ambitious nodes (quic_endpoint.hpp is the adapter to ngtcp2). The dialing node opens the
// connection's first stream, the control stream, and the whole distribution stream (handshake,
// ticks, every control message) travels on it, as on TCP. The acceptor takes the first stream
// the peer opens as its control stream; a peer that opens another is refused (this carrier
// speaks one stream; the per-sender stream pool comes on top of it).
//
// Bounds: flow-control credit goes back to the peer only as read_some hands bytes to the
// connection, so what the peer can make us buffer is one stream window; writes wait for room in
// the QUIC connection's queue (QuicOptions::max_queued_bytes), so a slow reader stalls its writer.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "carrier.hpp"
#include "quic_endpoint.hpp"

namespace ambitious::dist::detail {

class QuicCarrier final : public Carrier {
 public:
  enum class Role { initiator, acceptor };

  /// Over `connection` (handshake done; the initiator's peer already proved the name it
  /// dialed), on `executor`, the connection's endpoint's.
  QuicCarrier(asio::any_io_executor executor, std::shared_ptr<QuicConnection> connection,
              Role role);
  ~QuicCarrier() override;

  asio::awaitable<std::string> open() override;
  std::string check_peer_name(std::string_view node) const override;
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> into,
                                         boost::system::error_code& ec) override;
  asio::awaitable<void> write(std::span<const asio::const_buffer> buffers,
                              boost::system::error_code& ec) override;
  void close() noexcept override;
  std::string describe(const boost::system::error_code& ec) const override;
  const char* kind() const noexcept override { return "quic"; }
  std::string remote() const override;

 private:
  void arrived(QuicStreamId stream, std::span<const std::uint8_t> bytes, bool fin);
  void ended(const std::string& why);

  std::shared_ptr<QuicConnection> connection_;
  Role role_;
  std::optional<QuicStreamId> stream_;  // the control stream, once opened or first seen
  std::vector<std::uint8_t> in_;        // arrived, not yet read: at most a stream window
  std::size_t in_begin_ = 0;
  bool fin_ = false;            // the peer ended the control stream
  std::string failure_;         // why the connection ended, or why the peer was refused
  asio::steady_timer arrival_;  // read_some waits on it; cancelled when bytes or the end come
  bool reading_ = false;
};

}  // namespace ambitious::dist::detail
