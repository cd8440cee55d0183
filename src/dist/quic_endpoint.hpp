#pragma once
// Private: the QUIC adapter (ngtcp2 0.12 + GnuTLS), the only code that speaks to ngtcp2. A
// QuicEndpoint owns one UDP socket, accepts connections (server role) and dials them (client
// role); a QuicConnection carries bidirectional streams of ordered bytes to one peer, over TLS 1.3
// with mutual authentication by the node's TlsCredentials:
//   - both sides present a certificate and verify the peer's chain against the cluster's CA
//     during the QUIC handshake (expired, another CA's, or none: the handshake fails);
//   - the client checks, before it reports the connection, that the server's certificate names
//     the node it dialed (SAN URI:erlang-node:<node>);
//   - the server learns the node the client claims to be from the first bytes of the
//     distribution handshake (send_name, on the control stream) and asks check_peer_name before
//     it answers: ALPN stays one fixed protocol ("ambitious-dist/1"), the client's certificate
//     proves the claim, and nothing of the claim has to travel twice.
// Everything runs on the io_context executor given to the endpoint, one thread: every member of
// both classes is owner only (call them on that executor).
//
// ngtcp2's rules, kept here: it does not copy stream data, so written bytes stay in the
// connection's queue, at a stable address, until the peer acknowledges them; flow-control credit
// goes back to the peer only when the application has consumed the bytes (at once by default,
// or through consume() when Options::auto_consume is off); the peer's certificate is verified
// because every session asks GnuTLS to.
//
// Bounds against a hostile or slow peer: at most Options::max_streams streams the peer may open,
// Options::max_connections connections per endpoint, flow-control windows on what the peer can
// make us buffer, and at most Options::max_queued_bytes written but unacknowledged bytes per
// connection (write() waits for room: a slow reader stalls its writer).
//
// The distribution carrier on it (quic_carrier.hpp): one QUIC connection per node pair; the
// dialing node opens the first stream, the control stream, and runs the distribution handshake
// on it (the acceptor calls check_peer_name with the name send_name claims before it answers);
// then each side writes each sending process's frames on a stream of a pool of its own, so a
// large message delays only the senders that share its stream. QUIC's idle timeout (set to
// net_ticktime) and keep-alive PINGs make on_closed the nodedown of a dead path.

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "asio_support.hpp"
#include "tls_carrier.hpp"

namespace ambitious::dist::detail {

using udp = asio::ip::udp;

class QuicEndpoint;

/// A stream's id, as QUIC numbers it.
using QuicStreamId = std::int64_t;

/// Settings of an endpoint and of each of its connections.
struct QuicOptions {
  /// This node's certificate, key and CA (use() sets them from TlsCredentials); kept alive by
  /// credentials_owner.
  gnutls_certificate_credentials_t credentials = nullptr;
  std::shared_ptr<const void> credentials_owner;
  bool accept = true;  ///< accept connections (server role)
  /// Without any packet from the peer this long, the connection is lost.
  std::chrono::milliseconds idle_timeout{30'000};
  /// A PING after this much silence (at most a third of idle_timeout), so that an idle live
  /// connection stays up, and a peer whose socket closed (its process died) is found out when
  /// the PING comes back as an ICMP port unreachable, long before the idle timeout.
  std::chrono::milliseconds keep_alive{1'000};
  std::chrono::milliseconds handshake_timeout{10'000};  ///< a dial fails after this
  std::size_t max_streams = 256;                        ///< bidirectional streams the peer may open
  std::size_t stream_window = 1 << 20;                  ///< per stream (flow control)
  std::size_t connection_window = 8 << 20;              ///< per connection (flow control)
  std::size_t max_queued_bytes = 8 << 20;  ///< written, not yet acknowledged, per connection
  std::size_t max_connections = 1024;      ///< per endpoint
  std::size_t max_udp_payload = 1452;      ///< largest datagram sent
  /// Largest datagram sent to a peer on a loopback address (127.0.0.0/8, ::1), whose path
  /// MTU is 64 KiB: bulk transfers between nodes of one host take far fewer packets (ngtcp2's
  /// path MTU discovery probes only up to Ethernet sizes, so this is set, not discovered).
  std::size_t loopback_udp_payload = 16 * 1024;
  bool auto_consume = true;  ///< give credit back as soon as a reader returns

  /// Sets credentials from the node's TlsCredentials.
  void use(std::shared_ptr<const TlsCredentials> c) {
    credentials = c->get();
    credentials_owner = std::move(c);
  }
};

/// One QUIC connection to a peer. Owner only (the endpoint's executor). Handed out as a
/// shared_ptr; once closed (on_closed has run) its members fail harmlessly.
class QuicConnection : public std::enable_shared_from_this<QuicConnection> {
 public:
  /// Bytes that arrived on a stream, in order; `fin` when the peer ended the stream. The bytes
  /// are valid only during the call.
  using Reader = std::function<void(QuicStreamId, std::span<const std::uint8_t>, bool fin)>;

  ~QuicConnection();
  QuicConnection(const QuicConnection&) = delete;
  QuicConnection& operator=(const QuicConnection&) = delete;

  /// The reader of streams without a reader of their own (streams the peer opens, mostly).
  void on_data(Reader reader) { default_reader_ = std::move(reader); }
  /// The reader of one stream.
  void set_reader(QuicStreamId stream, Reader reader);
  /// Called whenever acknowledgements free room in the queue (a writer that held back may go
  /// on), on the connection's executor, inside the endpoint's turn.
  void on_room(std::function<void()> handler) { room_handler_ = std::move(handler); }
  /// Called once when the connection ends, with why (the peer closed, idle timeout, refused
  /// certificate, close() here...). Not called when the endpoint is destroyed.
  void on_closed(std::function<void(const std::string&)> handler) {
    closed_handler_ = std::move(handler);
  }

  /// Opens a bidirectional stream; why not when the peer allows no more (or it is closed).
  std::expected<QuicStreamId, std::string> open_stream();
  /// Queues as many of `bytes` as the connection's queue has room for and returns how many.
  std::size_t try_write(QuicStreamId stream, std::span<const std::uint8_t> bytes);
  /// Queues all of `bytes` on `stream`, waiting for room when the queue is full (the peer has
  /// not acknowledged enough yet); the empty string, or why not (closed, unknown stream).
  asio::awaitable<std::string> write(QuicStreamId stream, std::span<const std::uint8_t> bytes);
  /// Gives `bytes` of credit back on `stream` (only with Options::auto_consume off).
  void consume(QuicStreamId stream, std::size_t bytes);
  /// Closes the connection with `why` as the reason the peer sees; runs on_closed here.
  void close(const std::string& why = "closed");

  /// Whether the peer's certificate names `node` (SAN URI:erlang-node:<node>); the empty
  /// string, or why not.
  std::string check_peer_name(std::string_view node) const;
  /// Written bytes not yet acknowledged by the peer.
  std::size_t queued_bytes() const noexcept { return queued_; }
  /// Written bytes of `stream` not yet acknowledged by the peer.
  std::size_t queued_bytes(QuicStreamId stream) const noexcept;
  /// How many more bytes try_write takes now (Options::max_queued_bytes less what is queued).
  std::size_t room() const noexcept;
  bool is_open() const noexcept { return conn_ != nullptr && handshake_done_ && !closed_; }
  udp::endpoint remote() const { return remote_; }

 private:
  friend class QuicEndpoint;
  struct Chunk {
    std::vector<std::uint8_t> bytes;  // reserved once: never reallocates (ngtcp2 points into it)
    std::uint64_t offset;             // of bytes[0] in the stream
  };
  struct Stream {
    std::deque<Chunk> chunks;  // from the first unacknowledged byte
    std::uint64_t acked = 0;   // bytes the peer acknowledged
    std::uint64_t sent = 0;    // bytes handed to ngtcp2
    std::uint64_t queued = 0;  // bytes written
    bool blocked = false;      // flow control said no, until extend_max_stream_data
    bool ready = false;        // in ready_
    Reader reader;
  };

  QuicConnection(QuicEndpoint& endpoint, bool server, udp::endpoint remote, std::string node);

  // ngtcp2 and GnuTLS setup; why it failed.
  std::string start(const ngtcp2_cid& dcid, const ngtcp2_cid& scid, const ngtcp2_cid* odcid,
                    std::uint32_t version);
  // A datagram from the peer.
  void receive(std::span<std::uint8_t> datagram, const udp::endpoint& from);
  // A datagram to the peer came back as an ICMP port unreachable; `quoted` is what the ICMP
  // message kept of it. When it is one of this connection's packets (it carries the peer's
  // connection id, which an off-path forger does not know), the peer's socket is closed: the
  // connection is lost.
  void port_unreachable(std::span<const std::uint8_t> quoted);
  // Hands the connection out once its handshake is done (after ngtcp2 has returned).
  void report_handshake();
  // Sends what ngtcp2 has to send (handshake, acks, stream data) and re-arms the timer.
  void flush();
  void schedule_flush();
  void arm_timer();
  void on_timer();
  void expire();  // ngtcp2's timers that are due, then a flush
  // An ngtcp2 error: why, in words, then fail().
  void failed(int rv);
  std::string tls_failure() const;
  // Ends the connection: `cc` (with `why` as its reason) to the peer unless null, then the
  // report (dial result, refusal, or on_closed).
  void fail(const std::string& why, const ngtcp2_connection_close_error* cc);
  void release();  // frees ngtcp2's and GnuTLS's state, forgets the connection ids
  Stream& stream(QuicStreamId id);
  void mark_ready(QuicStreamId id, Stream& s);
  void wake_writers();

  // ngtcp2 callbacks (QuicCallbacks's trampolines reach these).
  friend struct QuicCallbacks;
  int on_handshake_completed();
  int on_stream_data(QuicStreamId id, std::uint32_t flags, const std::uint8_t* data,
                     std::size_t size);
  void on_acked(QuicStreamId id, std::uint64_t offset, std::uint64_t size);
  void on_stream_close(QuicStreamId id);

  QuicEndpoint* endpoint_;
  bool server_;
  udp::endpoint remote_;
  std::string node_;  // the node a client dialed (checked against the server's certificate)
  ngtcp2_conn* conn_ = nullptr;
  gnutls_session_t session_ = nullptr;
  ngtcp2_crypto_conn_ref conn_ref_{};
  std::vector<std::string> cids_;  // our connection ids, as the endpoint routes them
  asio::steady_timer timer_;
  std::uint64_t timer_at_ = UINT64_MAX;  // when timer_ fires (UINT64_MAX: it is not set)
  asio::steady_timer room_;  // writers waiting for queue room: cancelled when room frees
  std::size_t waiting_ = 0;
  std::unordered_map<QuicStreamId, Stream> streams_;
  std::deque<QuicStreamId> ready_;  // streams with bytes to send, in turn
  std::size_t queued_ = 0;
  Reader default_reader_;
  std::function<void(const std::string&)> closed_handler_;
  std::function<void()> room_handler_;
  std::function<void(std::expected<std::shared_ptr<QuicConnection>, std::string>)> dialed_;
  std::function<void(const udp::endpoint&, const std::string&)> refused_;
  std::string refusal_;  // why a callback failed the handshake
  bool handshake_done_ = false;
  bool pending_report_ = false;  // handshake done (server) or confirmed (client): hand it out
  bool reported_ = false;        // handed out (or its failure reported)
  bool closed_ = false;
  bool first_datagram_ = true;  // a server's connection before its first datagram was read
  bool flush_posted_ = false;
  bool expiry_posted_ = false;  // expire() is posted: ngtcp2's expiry was due at the last arm
  bool flushing_ = false;       // inside flush(): what it puts back in turn schedules no other
  bool in_ngtcp2_ = false;      // inside read_pkt/handle_expiry: close() waits until it returns
};

/// One UDP socket with every QUIC connection on it, both roles. Owner only.
class QuicEndpoint {
 public:
  using Accepted = std::function<void(std::shared_ptr<QuicConnection>)>;
  using Dialed = std::function<void(std::expected<std::shared_ptr<QuicConnection>, std::string>)>;

  /// Binds a UDP socket to `at` on `executor`; why not.
  static std::expected<std::unique_ptr<QuicEndpoint>, std::string> open(
      asio::any_io_executor executor, const udp::endpoint& at, QuicOptions options);
  /// Drops every connection without a word to the peers (as a crashed node would: they notice
  /// by their idle timeout); close them first for a clean goodbye. No callback runs.
  ~QuicEndpoint();
  QuicEndpoint(const QuicEndpoint&) = delete;
  QuicEndpoint& operator=(const QuicEndpoint&) = delete;

  /// Called with each connection a peer opened, once its handshake is done.
  void on_accept(Accepted handler) { accepted_ = std::move(handler); }
  /// Called when a connection a peer opened fails before its handshake is done (refused
  /// certificate or name, timeout), with who and why.
  void on_refused(std::function<void(const udp::endpoint&, const std::string&)> handler) {
    refused_ = std::move(handler);
  }
  /// Opens a connection to `node` at `peer`; `done` gets it once the handshake is done and the
  /// server's certificate names `node`, or why not.
  void dial(const udp::endpoint& peer, std::string node, Dialed done);
  udp::endpoint local() const { return local_; }
  const QuicOptions& options() const noexcept { return options_; }
  std::size_t connections() const noexcept { return connections_.size(); }
  /// What went out: system calls and the datagrams they carried (more datagrams than calls
  /// where the kernel split batches, UDP GSO).
  struct SendCounts {
    std::uint64_t calls = 0, datagrams = 0;
  };
  SendCounts sent() const noexcept { return sent_; }
  /// What came in: reads and the datagrams they held (more datagrams than reads where the
  /// kernel coalesced them, UDP GRO).
  struct ReadCounts {
    std::uint64_t reads = 0, datagrams = 0;
  };
  ReadCounts received() const noexcept { return received_; }

 private:
  friend class QuicConnection;
  friend struct QuicCallbacks;
  QuicEndpoint(asio::any_io_executor executor, QuicOptions options);
  void read();          // waits for datagrams
  void drain();         // reads them in batches, then flushes the connections they were for
  void watch_errors();  // waits for the socket's error queue (IP_RECVERR: ICMP errors)
  void read_errors();   // reads it: a peer's closed port ends the connections to it
  void dispatch(std::span<std::uint8_t> datagram, const udp::endpoint& from,
                std::vector<std::shared_ptr<QuicConnection>>& touched);
  // Sends `packets` to `to`: one datagram, or several of `segment` bytes each back to back (the
  // last may be shorter) in one system call, which the kernel splits (UDP GSO). False: the send
  // buffer is full, and they wait in pending_ (ngtcp2 counts them sent).
  bool send(std::span<const std::uint8_t> packets, std::size_t segment, const udp::endpoint& to);
  enum class Sent { done, blocked, no_gso };
  // One system call: `datagrams` as one, or (longer than `segment`) cut by the kernel.
  Sent transmit(std::span<const std::uint8_t> datagrams, std::size_t segment,
                const udp::endpoint& to);
  void wait_writable();
  void forget(QuicConnection* c);

  asio::any_io_executor executor_;
  QuicOptions options_;
  udp::socket socket_;
  udp::endpoint local_;
  std::unordered_map<std::string, QuicConnection*> routes_;  // connection id -> connection
  std::unordered_map<QuicConnection*, std::shared_ptr<QuicConnection>> connections_;
  Accepted accepted_;
  std::function<void(const udp::endpoint&, const std::string&)> refused_;
  std::vector<std::uint8_t> buffers_;  // the receive batch's datagrams
  std::vector<std::uint8_t> packet_;   // the packets being written, back to back (one GSO send)
  std::vector<std::uint8_t> pending_;  // packets the full send buffer did not take
  std::size_t pending_segment_ = 0;    // their size (one GSO send)
  udp::endpoint pending_to_;
  bool gso_ = true;  // the kernel splits a send into datagrams (UDP_SEGMENT); off once it refuses
  SendCounts sent_;
  ReadCounts received_;
  bool write_blocked_ = false;  // until the socket takes pending_: no connection writes
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ambitious::dist::detail
