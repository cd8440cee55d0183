#pragma once
// Private: Carrier, what moves a connection's bytes (TCP, TLS, QUIC, behind the same
// interface), and the TCP carrier on Boost.Asio (the TLS one: tls_carrier.hpp, QUIC:
// quic_carrier.hpp). A carrier knows
// nothing of frames: the Connection above it reads into its FrameReader's buffer and writes batches
// of frames.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "asio_support.hpp"

namespace ambitious::dist::detail {

/// A byte stream to a peer. Owner only: its members run on the connection's executor, at most
/// one read and one write outstanding at a time; try_write alone may come from another thread.
/// read_some and write complete through the executor, never inside their caller's turn (as
/// Asio's operations do), even when the transport had everything at once: the connection's
/// reader and writer, its node's other connections and timers share that executor and take
/// turns only so.
class Carrier {
 public:
  virtual ~Carrier() = default;
  /// Sets up what must come before the distribution handshake (TLS: its own handshake, the
  /// peer's certificate verified); the empty string, or why it failed. TCP has nothing to do.
  virtual asio::awaitable<std::string> open() { co_return std::string(); }
  /// Whether the peer proved it is `node` (TLS: its certificate names it); the empty string,
  /// or why not. Asked once the peer's node name is known. TCP proves nothing and allows all.
  virtual std::string check_peer_name(std::string_view /*node*/) const { return {}; }
  /// The bytes of a handshake frame's length: 2 on TCP. Erlang's TLS distribution frames its
  /// handshake with 4 (seen on the wire from OTP 25's inet_tls), so the TLS carrier says 4.
  virtual std::size_t handshake_length_size() const noexcept { return 2; }
  /// Reads at least one byte into `into` and returns how many; on failure sets `ec` (eof when
  /// the peer closed the stream) and returns 0.
  virtual asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> into,
                                                 boost::system::error_code& ec) = 0;
  /// Writes every byte of `buffers`, in one gather write where the transport allows.
  virtual asio::awaitable<void> write(std::span<const asio::const_buffer> buffers,
                                      boost::system::error_code& ec) = 0;
  /// Writes what the transport takes of `buffers` at once, without waiting, and returns how
  /// many bytes (0 when it would block, or does not write this way); sets `ec` when the stream
  /// failed. Any thread, but never while a write() is outstanding, nor concurrently with
  /// close() (the connection's write lock orders the three).
  virtual std::size_t try_write(std::span<const asio::const_buffer> /*buffers*/,
                                boost::system::error_code& /*ec*/) {
    return 0;
  }
  /// How many ordered streams it carries, each written and read independently of the others:
  /// 1 for TCP and TLS (one byte stream, in one order); QUIC: a pool, so that a frame on one
  /// stream never waits behind another stream's. The connection puts all frames of one sender
  /// on one stream (a hash of the sender over the pool: its order holds), its ticks on stream 0.
  /// A carrier of several streams reads them back as one stream of whole frames: frames of
  /// different streams interleave only between frames, as senders' frames do on TCP.
  virtual std::size_t streams() const noexcept { return 1; }
  /// Several streams: whether `stream` takes more now. The writer holds back the frames of a
  /// stream without room and writes the other streams' meanwhile.
  virtual bool has_room(std::size_t /*stream*/) const noexcept { return true; }
  /// Several streams: `handler` runs (on the executor) whenever a stream may have room again.
  virtual void on_room(std::function<void()> /*handler*/) {}
  /// Writes every byte of `buffers`, buffer i on stream streams[i] (one entry per buffer); a
  /// carrier of one stream writes them all on it, in one gather write.
  virtual asio::awaitable<void> write_streams(std::span<const asio::const_buffer> buffers,
                                              std::span<const std::uint32_t> /*streams*/,
                                              boost::system::error_code& ec) {
    co_await write(buffers, ec);
  }
  /// The distribution handshake is over: what follows is 4-byte frames (a carrier of several
  /// streams reads them from every stream from now on, the handshake from stream 0 only).
  virtual void established() {}
  /// Ends the stream: what is pending completes with an error. Idempotent.
  virtual void close() noexcept = 0;
  /// Why a read or write failed with `ec`, in words (QUIC: the connection's own reason, such
  /// as its idle timeout).
  virtual std::string describe(const boost::system::error_code& ec) const { return ec.message(); }
  /// What it is: "tcp", "tls" or "quic" (Node::carrier).
  virtual const char* kind() const noexcept = 0;
  /// The peer's address, for error texts.
  virtual std::string remote() const = 0;
};

/// TCP: one socket, TCP_NODELAY (the connection batches its writes itself).
class TcpCarrier final : public Carrier {
 public:
  explicit TcpCarrier(tcp::socket socket);
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> into,
                                         boost::system::error_code& ec) override;
  asio::awaitable<void> write(std::span<const asio::const_buffer> buffers,
                              boost::system::error_code& ec) override;
  std::size_t try_write(std::span<const asio::const_buffer> buffers,
                        boost::system::error_code& ec) override;
  void close() noexcept override;
  const char* kind() const noexcept override { return "tcp"; }
  std::string remote() const override;

 private:
  tcp::socket socket_;
  std::string remote_;
};

}  // namespace ambitious::dist::detail
