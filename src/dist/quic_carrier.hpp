#pragma once
// Private: QuicCarrier, a distribution connection's bytes on a QUIC connection between two
// ambitious nodes (quic_endpoint.hpp is the adapter to ngtcp2), on a pool of streams so that no
// sender's frames wait behind another sender's (no head-of-line blocking between processes).
//
// Streams. The dialing node opens the connection's first stream, stream 0, the control stream:
// the distribution handshake travels on it. Once the handshake is done each side writes its
// frames on a pool of `pool` streams of its own, opened as first used: pool stream 0 is the
// control stream (ticks go there), the others are streams this side opens. The connection
// puts every frame of one sender on one pool stream, so that sender's order holds.
//
// Reading. The peer's streams are merged into one stream of whole frames for the connection
// above, which frames, reassembles and decodes as on TCP (StreamMerger, stream_merger.hpp: a
// stream's frame goes out once it has arrived whole, streams in turn; in the handshake only
// stream 0, a frame at a time).
//
// Bounds: flow-control credit goes back to the peer only as read_some hands bytes to the
// connection, so what the peer can make us buffer is its streams' windows within the
// connection's window (QuicOptions); a pool stream with stream_share bytes unacknowledged, or
// a QUIC connection whose queue is full, has no room, and the connection writes the other
// streams meanwhile (a slow reader stalls the writers of what it does not read).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "carrier.hpp"
#include "quic_endpoint.hpp"
#include "stream_merger.hpp"

namespace ambitious::dist::detail {

class QuicCarrier final : public Carrier {
 public:
  enum class Role { initiator, acceptor };

  /// Streams each side writes on. A pinger and a bulk sender share a stream 1 time in `pool`.
  static constexpr std::size_t pool = 64;
  /// Unacknowledged bytes above which a pool stream has no room (its flow-control window: more
  /// could not be sent before the peer reads anyway).
  static constexpr std::size_t stream_share = 1 << 20;
  /// A frame at least this long is handed to the connection as it arrives.
  static constexpr std::size_t long_frame = 256 * 1024;

  /// Over `connection` (handshake done; the initiator's peer already proved the name it
  /// dialed), on `executor`, the connection's endpoint's.
  QuicCarrier(asio::any_io_executor executor, std::shared_ptr<QuicConnection> connection,
              Role role);
  ~QuicCarrier() override;

  asio::awaitable<std::string> open() override;
  std::string check_peer_name(std::string_view node) const override;
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> into,
                                         boost::system::error_code& ec) override;
  /// On the control stream (the handshake).
  asio::awaitable<void> write(std::span<const asio::const_buffer> buffers,
                              boost::system::error_code& ec) override;
  std::size_t streams() const noexcept override { return pool; }
  bool has_room(std::size_t stream) const noexcept override;
  void on_room(std::function<void()> handler) override;
  asio::awaitable<void> write_streams(std::span<const asio::const_buffer> buffers,
                                      std::span<const std::uint32_t> streams,
                                      boost::system::error_code& ec) override;
  void established() override;
  void close() noexcept override;
  std::string describe(const boost::system::error_code& ec) const override;
  const char* kind() const noexcept override { return "quic"; }
  std::string remote() const override;

 private:
  void arrived(QuicStreamId stream, std::span<const std::uint8_t> bytes, bool fin);
  void ended(const std::string& why);
  // The QUIC stream of pool stream `stream`, opened on first use (the control stream when the
  // peer allows no more).
  QuicStreamId stream_of(std::uint32_t stream);

  static constexpr QuicStreamId control = 0;  // the dialer's first bidirectional stream

  std::shared_ptr<QuicConnection> connection_;
  Role role_;
  std::vector<QuicStreamId> out_;  // pool stream -> QUIC stream, -1 until opened
  StreamMerger in_;                // the peer's streams, as one stream of whole frames
  bool fin_ = false;               // the peer ended a stream: the connection ends after its bytes
  std::string failure_;            // why the connection ended, or why the peer was refused
  asio::steady_timer arrival_;     // read_some waits on it; cancelled when bytes or the end come
};

}  // namespace ambitious::dist::detail
