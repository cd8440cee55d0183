#include "quic_endpoint.hpp"

#include <gnutls/crypto.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "certificate_names.hpp"

namespace ambitious::dist::detail {

namespace {

// Our connection ids: one length for all, so a short-header packet's id can be read.
constexpr std::size_t cid_length = 18;
// Datagrams read per recvmmsg, and the largest one taken.
constexpr std::size_t batch = 16;
constexpr std::size_t datagram_room = 65536;
// Rounds of recvmmsg per wake-up, so one busy peer does not starve the timers.
constexpr int rounds = 2;
// Packets one flush writes before it lets the loop run (ngtcp2's congestion window bounds it
// first, in practice).
constexpr int flush_packets = 32;
// One send of several packets (UDP GSO): at most this many bytes (a UDP datagram's 65,507 less
// room) and this many packets (the kernel's UDP_MAX_SEGMENTS).
constexpr std::size_t gso_bytes = 65000;
constexpr std::size_t gso_segments = 64;
// A chunk of a stream's queue holds at least this much, so small writes share chunks.
constexpr std::size_t chunk_size = 64 * 1024;
constexpr std::size_t max_vecs = 16;
// A reason phrase sent to the peer is cut to this length (it must fit in one packet).
constexpr std::size_t max_reason = 256;

// The size of the datagrams a read of `length` bytes holds: UDP GRO's, when the kernel
// coalesced several of one sender into it, or `length` (one datagram).
std::size_t coalesced_size(msghdr& m, std::size_t length) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO) continue;
    int size = 0;
    std::memcpy(&size, CMSG_DATA(c), sizeof size);
    if (size > 0) return static_cast<std::size_t>(size);
  }
  return std::max<std::size_t>(length, 1);
}

const char alpn_name[] = "ambitious-dist/1";

// TLS 1.3 only, with the AEADs QUIC defines; no middlebox compatibility mode (QUIC forbids it).
constexpr const char* priorities =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "%DISABLE_TLS13_COMPAT_MODE";

ngtcp2_tstamp now() {
  return static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

ngtcp2_duration nanos(std::chrono::milliseconds ms) {
  return static_cast<ngtcp2_duration>(ms.count()) * NGTCP2_MILLISECONDS;
}

bool random_bytes(std::uint8_t* into, std::size_t size) {
  return gnutls_rnd(GNUTLS_RND_RANDOM, into, size) == 0;
}

std::string cid_key(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

bool is_local_stream(bool server, QuicStreamId id) {
  // Bit 0 of a stream id: 0 when the client opened it, 1 when the server did.
  return ((id & 1) == 1) == server;
}

std::string verify_text(unsigned status) {
  gnutls_datum_t out{};
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) < 0)
    return "the peer's certificate did not verify";
  std::string text(reinterpret_cast<const char*>(out.data), out.size);
  gnutls_free(out.data);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string alert_text(std::uint64_t alert) {
  const char* name = gnutls_alert_get_name(static_cast<gnutls_alert_description_t>(alert));
  return name ? std::string(name) : "alert " + std::to_string(alert);
}

// Why the peer closed, from its CONNECTION_CLOSE.
std::string peer_close_text(ngtcp2_conn* conn) {
  ngtcp2_connection_close_error cc;
  ngtcp2_connection_close_error_default(&cc);
  ngtcp2_conn_get_connection_close_error(conn, &cc);
  std::string text = "the peer closed the connection";
  if (cc.reason && cc.reasonlen > 0)
    text += ": " + std::string(reinterpret_cast<const char*>(cc.reason), cc.reasonlen);
  if (cc.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT) {
    if (cc.error_code >= NGTCP2_CRYPTO_ERROR && cc.error_code < NGTCP2_CRYPTO_ERROR + 256)
      text += " (TLS alert: " + alert_text(cc.error_code - NGTCP2_CRYPTO_ERROR) + ")";
    else if (cc.error_code == NGTCP2_CONNECTION_REFUSED)
      text += " (refused)";
    else if (cc.error_code != NGTCP2_NO_ERROR)
      text += " (transport error " + std::to_string(cc.error_code) + ")";
  }
  return text;
}

}  // namespace

// ngtcp2's callbacks, forwarded to the connection (user_data).
struct QuicCallbacks {
  static QuicConnection& of(void* user) { return *static_cast<QuicConnection*>(user); }

  static int handshake_completed(ngtcp2_conn*, void* user) {
    return of(user).on_handshake_completed();
  }
  static int handshake_confirmed(ngtcp2_conn*, void* user) {
    QuicConnection& c = of(user);
    if (!c.server_) c.pending_report_ = true;
    return 0;
  }
  static int recv_stream_data(ngtcp2_conn*, std::uint32_t flags, std::int64_t id, std::uint64_t,
                              const std::uint8_t* data, std::size_t size, void* user, void*) {
    return of(user).on_stream_data(id, flags, data, size);
  }
  static int acked(ngtcp2_conn*, std::int64_t id, std::uint64_t offset, std::uint64_t size,
                   void* user, void*) {
    of(user).on_acked(id, offset, size);
    return 0;
  }
  static int stream_close(ngtcp2_conn*, std::uint32_t, std::int64_t id, std::uint64_t, void* user,
                          void*) {
    of(user).on_stream_close(id);
    return 0;
  }
  static int extend_max_stream_data(ngtcp2_conn*, std::int64_t id, std::uint64_t, void* user,
                                    void*) {
    QuicConnection& c = of(user);
    if (auto it = c.streams_.find(id); it != c.streams_.end()) {
      it->second.blocked = false;
      c.mark_ready(id, it->second);
    }
    return 0;
  }
  static void rand(std::uint8_t* into, std::size_t size, const ngtcp2_rand_ctx*) {
    random_bytes(into, size);
  }
  static int new_cid(ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token, std::size_t size,
                     void* user) {
    if (!random_bytes(cid->data, size) || !random_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN))
      return NGTCP2_ERR_CALLBACK_FAILURE;
    cid->datalen = size;
    QuicConnection& c = of(user);
    c.cids_.push_back(cid_key(cid->data, size));
    if (c.endpoint_) c.endpoint_->routes_[c.cids_.back()] = &c;
    return 0;
  }
  static int remove_cid(ngtcp2_conn*, const ngtcp2_cid* cid, void* user) {
    QuicConnection& c = of(user);
    std::string key = cid_key(cid->data, cid->datalen);
    std::erase(c.cids_, key);
    if (c.endpoint_) c.endpoint_->routes_.erase(key);
    return 0;
  }
  static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref) {
    return static_cast<QuicConnection*>(ref->user_data)->conn_;
  }

  static ngtcp2_callbacks make(bool server) {
    ngtcp2_callbacks cb{};
    if (server) {
      cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    } else {
      cb.client_initial = ngtcp2_crypto_client_initial_cb;
      cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    }
    cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb.encrypt = ngtcp2_crypto_encrypt_cb;
    cb.decrypt = ngtcp2_crypto_decrypt_cb;
    cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb.update_key = ngtcp2_crypto_update_key_cb;
    cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb.handshake_completed = handshake_completed;
    cb.handshake_confirmed = handshake_confirmed;
    cb.recv_stream_data = recv_stream_data;
    cb.acked_stream_data_offset = acked;
    cb.stream_close = stream_close;
    cb.extend_max_stream_data = extend_max_stream_data;
    cb.rand = rand;
    cb.get_new_connection_id = new_cid;
    cb.remove_connection_id = remove_cid;
    return cb;
  }
};

// ---------------------------------------------------------------------------------------------
// QuicConnection

QuicConnection::QuicConnection(QuicEndpoint& endpoint, bool server, udp::endpoint remote,
                               std::string node)
    : endpoint_(&endpoint),
      server_(server),
      remote_(std::move(remote)),
      node_(std::move(node)),
      timer_(endpoint.executor_),
      room_(endpoint.executor_) {
  // Writers wait on room_ until it is cancelled; it never expires by itself.
  room_.expires_at(asio::steady_timer::time_point::max());
}

QuicConnection::~QuicConnection() { release(); }

std::string QuicConnection::start(const ngtcp2_cid& dcid, const ngtcp2_cid& scid,
                                  const ngtcp2_cid* odcid, std::uint32_t version) {
  const QuicOptions& o = endpoint_->options_;
  if (!o.credentials) return "no TLS credentials";
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now();
  settings.max_tx_udp_payload_size = o.max_udp_payload;
  if (remote_.address().is_loopback()) {
    settings.max_tx_udp_payload_size = o.loopback_udp_payload;
    settings.no_tx_udp_payload_size_shaping = 1;  // that size from the first packet on
  }
  settings.handshake_timeout = nanos(o.handshake_timeout);

  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_stream_data_bidi_local = o.stream_window;
  params.initial_max_stream_data_bidi_remote = o.stream_window;
  params.initial_max_stream_data_uni = 0;
  params.initial_max_data = o.connection_window;
  params.initial_max_streams_bidi = o.max_streams;
  params.initial_max_streams_uni = 0;
  params.max_idle_timeout = nanos(o.idle_timeout);
  params.max_udp_payload_size = datagram_room;
  if (server_) {
    params.original_dcid = *odcid;
    params.stateless_reset_token_present = 1;
    if (!random_bytes(params.stateless_reset_token, sizeof(params.stateless_reset_token)))
      return "no random bytes";
  }

  const udp::endpoint& local = endpoint_->local_;
  ngtcp2_path path{
      {const_cast<ngtcp2_sockaddr*>(reinterpret_cast<const ngtcp2_sockaddr*>(local.data())),
       static_cast<ngtcp2_socklen>(local.size())},
      {reinterpret_cast<ngtcp2_sockaddr*>(remote_.data()),
       static_cast<ngtcp2_socklen>(remote_.size())},
      nullptr};
  ngtcp2_callbacks callbacks = QuicCallbacks::make(server_);
  int rv = server_ ? ngtcp2_conn_server_new(&conn_, &dcid, &scid, &path, version, &callbacks,
                                            &settings, &params, nullptr, this)
                   : ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path, version, &callbacks,
                                            &settings, &params, nullptr, this);
  if (rv != 0) {
    conn_ = nullptr;
    return std::string("QUIC connection: ") + ngtcp2_strerror(rv);
  }
  // Keep-alive: a live peer never reaches the idle timeout, and a dead one's closed port
  // answers with an ICMP error (port_unreachable) within a keep-alive period.
  ngtcp2_conn_set_keep_alive_timeout(conn_,
                                     std::min(nanos(o.keep_alive), nanos(o.idle_timeout) / 3));

  unsigned flags = (server_ ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_END_OF_EARLY_DATA;
  if (server_) flags |= GNUTLS_NO_AUTO_SEND_TICKET;
  if (int r = gnutls_init(&session_, flags); r < 0) {
    session_ = nullptr;
    return std::string("TLS session: ") + gnutls_strerror(r);
  }
  int r = server_ ? ngtcp2_crypto_gnutls_configure_server_session(session_)
                  : ngtcp2_crypto_gnutls_configure_client_session(session_);
  if (r != 0) return "TLS session: ngtcp2 could not configure it";
  if (r = gnutls_priority_set_direct(session_, priorities, nullptr); r < 0)
    return std::string("TLS priorities: ") + gnutls_strerror(r);
  if (r = gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, o.credentials); r < 0)
    return std::string("TLS credentials: ") + gnutls_strerror(r);
  // Mutual: the server requires the client's certificate, and both verify the peer's chain
  // during the handshake (GnuTLS verifies only when asked). The node name is checked apart:
  // the client's at handshake completion, the server's when the peer says who it is.
  if (server_) gnutls_certificate_server_set_request(session_, GNUTLS_CERT_REQUIRE);
  gnutls_session_set_verify_cert(session_, nullptr, 0);
  gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(alpn_name)),
                      sizeof(alpn_name) - 1};
  if (r = gnutls_alpn_set_protocols(session_, &alpn, 1, GNUTLS_ALPN_MANDATORY); r < 0)
    return std::string("TLS ALPN: ") + gnutls_strerror(r);
  conn_ref_.get_conn = QuicCallbacks::get_conn;
  conn_ref_.user_data = this;
  gnutls_session_set_ptr(session_, &conn_ref_);
  ngtcp2_conn_set_tls_native_handle(conn_, session_);
  return {};
}

void QuicConnection::release() {
  if (conn_) {
    ngtcp2_conn_del(conn_);
    conn_ = nullptr;
  }
  if (session_) {
    gnutls_deinit(session_);
    session_ = nullptr;
  }
  if (endpoint_) {
    for (const auto& cid : cids_) endpoint_->routes_.erase(cid);
    QuicEndpoint* e = endpoint_;
    endpoint_ = nullptr;
    e->forget(this);  // may drop the endpoint's reference: the caller holds one
  }
  cids_.clear();
  closed_ = true;
  boost::system::error_code ignored;
  timer_.cancel();
  room_.cancel();
}

void QuicConnection::receive(std::span<std::uint8_t> datagram, const udp::endpoint& from) {
  if (!conn_ || closed_) return;
  const udp::endpoint& local = endpoint_->local_;
  ngtcp2_path path{
      {const_cast<ngtcp2_sockaddr*>(reinterpret_cast<const ngtcp2_sockaddr*>(local.data())),
       static_cast<ngtcp2_socklen>(local.size())},
      {const_cast<ngtcp2_sockaddr*>(reinterpret_cast<const ngtcp2_sockaddr*>(from.data())),
       static_cast<ngtcp2_socklen>(from.size())},
      nullptr};
  ngtcp2_pkt_info pi{};
  in_ngtcp2_ = true;
  int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, datagram.data(), datagram.size(), now());
  in_ngtcp2_ = false;
  if (rv != 0 && rv != NGTCP2_ERR_CRYPTO && server_ && first_datagram_) {
    // The datagram that made the connection was not a QUIC handshake (noise, a scan: a real
    // client's Initial decrypts, and what TLS then refuses is answered and reported): dropped
    // without a word and without a report.
    reported_ = true;
    closed_handler_ = nullptr;
    release();
    return;
  }
  first_datagram_ = false;
  if (rv != 0) {
    failed(rv);
    return;
  }
  report_handshake();
}

void QuicConnection::port_unreachable(std::span<const std::uint8_t> quoted) {
  if (!conn_ || closed_ || quoted.empty()) return;
  // The destination connection id: after the first byte in a short header; after the
  // version and its length in a long one (the handshake's packets).
  std::size_t at = 1;
  if (quoted[0] & 0x80) {
    if (quoted.size() < 6) return;
    at = 6;
  }
  const ngtcp2_cid* dcid = ngtcp2_conn_get_dcid(conn_);
  // ICMP keeps at least 8 bytes of the datagram (its UDP header; Linux keeps far more): too
  // little to tell whose it is, and it is left to the idle timeout.
  if (dcid->datalen == 0 || quoted.size() < at + dcid->datalen ||
      std::memcmp(quoted.data() + at, dcid->data, dcid->datalen) != 0)
    return;
  fail(
      "the peer's UDP port is closed (an ICMP port unreachable answered a packet of this "
      "connection): its node is gone",
      nullptr);
}

void QuicConnection::report_handshake() {
  if (!pending_report_ || closed_) return;
  pending_report_ = false;
  reported_ = true;
  auto self = shared_from_this();
  if (dialed_) {
    auto done = std::move(dialed_);
    dialed_ = nullptr;
    done(self);
  } else if (endpoint_ && endpoint_->accepted_) {
    endpoint_->accepted_(self);
  }
}

void QuicConnection::failed(int rv) {
  ngtcp2_connection_close_error cc;
  ngtcp2_connection_close_error_default(&cc);
  std::string why;
  switch (rv) {
    case NGTCP2_ERR_DRAINING:
      fail(peer_close_text(conn_), nullptr);
      return;
    case NGTCP2_ERR_DROP_CONN:
      fail("the connection was dropped (stateless reset or bad packet)", nullptr);
      return;
    case NGTCP2_ERR_IDLE_CLOSE:
      fail("idle timeout: nothing from the peer in " +
               std::to_string(endpoint_->options_.idle_timeout.count()) + " ms",
           nullptr);
      return;
    case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
      fail("handshake timeout", nullptr);
      return;
    case NGTCP2_ERR_CRYPTO: {
      why = tls_failure();
      cc.type = NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT;
      cc.error_code = NGTCP2_CRYPTO_ERROR | ngtcp2_conn_get_tls_alert(conn_);
      break;
    }
    case NGTCP2_ERR_CALLBACK_FAILURE:
      if (!refusal_.empty()) {
        why = refusal_;
        cc.type = NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT;
        cc.error_code = NGTCP2_CONNECTION_REFUSED;
        break;
      }
      [[fallthrough]];
    default:
      why = std::string("QUIC: ") + ngtcp2_strerror(rv);
      ngtcp2_connection_close_error_set_transport_error_liberr(&cc, rv, nullptr, 0);
  }
  fail(why, &cc);
}

std::string QuicConnection::tls_failure() const {
  // The alert our side sent says what went wrong when the chain was not even looked at.
  const std::uint8_t alert = ngtcp2_conn_get_tls_alert(conn_);
  if (server_ && alert == GNUTLS_A_CERTIFICATE_REQUIRED)
    return "TLS handshake: the peer presented no certificate";
  if (unsigned status = gnutls_session_get_verify_cert_status(session_); status != 0)
    return "TLS handshake: the peer's certificate is refused: " + verify_text(status);
  return "TLS handshake failed (alert: " + alert_text(alert) + ")";
}

void QuicConnection::fail(const std::string& why, const ngtcp2_connection_close_error* cc) {
  if (closed_) return;
  auto self = shared_from_this();
  if (cc && conn_ && endpoint_ && !ngtcp2_conn_is_in_closing_period(conn_) &&
      !ngtcp2_conn_is_in_draining_period(conn_)) {
    ngtcp2_connection_close_error with_reason = *cc;
    std::string reason = why.substr(0, max_reason);
    with_reason.reason = reinterpret_cast<std::uint8_t*>(reason.data());
    with_reason.reasonlen = reason.size();
    std::vector<std::uint8_t> packet(endpoint_->options_.max_udp_payload);
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    auto n = ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, packet.data(), packet.size(),
                                                &with_reason, now());
    if (n > 0) {
      const auto length = static_cast<std::size_t>(n);
      endpoint_->send({packet.data(), length}, length, remote_);
    }
  }
  // No closing period kept: the peer that loses our CONNECTION_CLOSE finds out by its idle
  // timeout, which is what it would do for a crashed node anyway.
  release();
  if (!reported_) {
    reported_ = true;
    if (dialed_) {
      auto done = std::move(dialed_);
      dialed_ = nullptr;
      done(std::unexpected(why));
    } else if (refused_) {
      refused_(remote_, why);
    }
  } else if (closed_handler_) {
    auto handler = std::move(closed_handler_);
    closed_handler_ = nullptr;
    handler(why);
  }
}

void QuicConnection::close(const std::string& why) {
  if (closed_) return;
  if (in_ngtcp2_) {
    // From a reader, inside ngtcp2: close once ngtcp2 has returned.
    asio::post(timer_.get_executor(), [self = shared_from_this(), why] { self->close(why); });
    return;
  }
  ngtcp2_connection_close_error cc;
  ngtcp2_connection_close_error_default(&cc);
  ngtcp2_connection_close_error_set_application_error(&cc, 0, nullptr, 0);
  fail(why, &cc);
}

int QuicConnection::on_handshake_completed() {
  handshake_done_ = true;
  if (server_) {
    pending_report_ = true;
    return 0;
  }
  // The client: the server must be the node it dialed. Reported once confirmed (the server
  // has accepted our certificate by then).
  if (std::string why = check_peer_name(node_); !why.empty()) {
    refusal_ = "the server is not " + node_ + ": " + why;
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

std::string QuicConnection::check_peer_name(std::string_view node) const {
  if (!session_ || !handshake_done_) return "no TLS session";
  unsigned count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session_, &count);
  if (!chain || count == 0) return "the peer presented no certificate";
  return check_certificate_names({chain[0].data, chain[0].size}, node);
}

QuicConnection::Stream& QuicConnection::stream(QuicStreamId id) {
  auto [it, fresh] = streams_.try_emplace(id);
  return it->second;
}

void QuicConnection::set_reader(QuicStreamId id, Reader reader) {
  stream(id).reader = std::move(reader);
}

std::expected<QuicStreamId, std::string> QuicConnection::open_stream() {
  if (!is_open()) return std::unexpected(std::string("the connection is closed"));
  QuicStreamId id = -1;
  int rv = ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
    return std::unexpected(std::string("the peer allows no more streams"));
  if (rv != 0) return std::unexpected(std::string("QUIC stream: ") + ngtcp2_strerror(rv));
  stream(id);
  return id;
}

void QuicConnection::mark_ready(QuicStreamId id, Stream& s) {
  if (s.ready || s.blocked || s.sent >= s.queued) return;
  s.ready = true;
  ready_.push_back(id);
  schedule_flush();
}

std::size_t QuicConnection::room() const noexcept {
  if (!is_open() || !endpoint_) return 0;
  const std::size_t limit = endpoint_->options_.max_queued_bytes;
  return limit > queued_ ? limit - queued_ : 0;
}

std::size_t QuicConnection::try_write(QuicStreamId id, std::span<const std::uint8_t> bytes) {
  if (!is_open() || bytes.empty()) return 0;
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  std::size_t n = std::min(bytes.size(), room());
  if (n == 0) return 0;
  Stream& s = it->second;
  std::size_t left = n;
  const std::uint8_t* from = bytes.data();
  // Into the last chunk's spare capacity: no reallocation, so ngtcp2's pointers into its
  // earlier bytes stay valid.
  if (!s.chunks.empty()) {
    auto& last = s.chunks.back().bytes;
    std::size_t fit = std::min(left, last.capacity() - last.size());
    last.insert(last.end(), from, from + fit);
    from += fit;
    left -= fit;
  }
  if (left > 0) {
    Chunk c{{}, s.queued + (n - left)};
    c.bytes.reserve(std::max(left, chunk_size));
    c.bytes.assign(from, from + left);
    s.chunks.push_back(std::move(c));
  }
  s.queued += n;
  queued_ += n;
  mark_ready(id, s);
  return n;
}

asio::awaitable<std::string> QuicConnection::write(QuicStreamId id,
                                                   std::span<const std::uint8_t> bytes) {
  auto self = shared_from_this();  // alive across the waits
  while (!bytes.empty()) {
    if (!is_open()) co_return "the connection is closed";
    if (!streams_.contains(id)) co_return "no stream " + std::to_string(id);
    bytes = bytes.subspan(try_write(id, bytes));
    if (bytes.empty()) break;
    boost::system::error_code ec;
    ++waiting_;
    co_await room_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    --waiting_;
  }
  co_return std::string();
}

void QuicConnection::wake_writers() {
  if (waiting_ > 0) room_.cancel();
  if (room_handler_) room_handler_();
}

std::size_t QuicConnection::queued_bytes(QuicStreamId id) const noexcept {
  auto it = streams_.find(id);
  return it == streams_.end() ? 0 : static_cast<std::size_t>(it->second.queued - it->second.acked);
}

void QuicConnection::consume(QuicStreamId id, std::size_t bytes) {
  if (!conn_ || closed_) return;
  ngtcp2_conn_extend_max_stream_offset(conn_, id, bytes);
  ngtcp2_conn_extend_max_offset(conn_, bytes);
  schedule_flush();
}

int QuicConnection::on_stream_data(QuicStreamId id, std::uint32_t flags, const std::uint8_t* data,
                                   std::size_t size) {
  Stream& s = stream(id);
  const bool fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  const Reader& reader = s.reader ? s.reader : default_reader_;
  if (reader && (size > 0 || fin)) reader(id, {data, size}, fin);
  if (endpoint_ && endpoint_->options_.auto_consume && size > 0) {
    ngtcp2_conn_extend_max_stream_offset(conn_, id, size);
    ngtcp2_conn_extend_max_offset(conn_, size);
  }
  return 0;
}

void QuicConnection::on_acked(QuicStreamId id, std::uint64_t offset, std::uint64_t size) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& s = it->second;
  // ngtcp2 reports acknowledgements in order, without overlap.
  s.acked = offset + size;
  queued_ -= static_cast<std::size_t>(size);
  while (!s.chunks.empty() && s.chunks.front().offset + s.chunks.front().bytes.size() <= s.acked &&
         // The last chunk stays while it has room for more, unless everything is acknowledged.
         (s.chunks.size() > 1 || s.acked == s.queued))
    s.chunks.pop_front();
  wake_writers();
}

void QuicConnection::on_stream_close(QuicStreamId id) {
  auto it = streams_.find(id);
  if (it != streams_.end()) {
    queued_ -= static_cast<std::size_t>(it->second.queued - it->second.acked);
    streams_.erase(it);
    wake_writers();
  }
  // The peer may open another one in its place: streams it opened stay bounded by max_streams
  // at a time, not in total.
  if (!is_local_stream(server_, id)) ngtcp2_conn_extend_max_streams_bidi(conn_, 1);
}

void QuicConnection::schedule_flush() {
  if (flush_posted_ || flushing_ || closed_) return;
  flush_posted_ = true;
  asio::post(timer_.get_executor(), [w = weak_from_this()] {
    if (auto c = w.lock()) c->flush();
  });
}

void QuicConnection::flush() {
  flush_posted_ = false;
  if (!conn_ || closed_ || !endpoint_) return;
  if (endpoint_->write_blocked_) return;  // the endpoint flushes everyone once writable
  auto self = shared_from_this();
  // Packets go out in batches of equal-sized ones, one system call per batch (UDP GSO): a
  // batch ends with a shorter packet, a full buffer, or a packet to another address.
  std::vector<std::uint8_t>& packet = endpoint_->packet_;
  const std::size_t size =
      std::min(packet.size(), ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_));
  const std::size_t batch_room =
      std::max(size, std::min(packet.size(), gso_segments * size) / size * size);
  std::size_t used = 0;  // bytes of whole packets in the batch
  udp::endpoint batch_to;
  auto send_batch = [&] {
    const std::size_t n = std::exchange(used, 0);
    return n == 0 || endpoint_->send({packet.data(), n}, size, batch_to);
  };
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  const ngtcp2_tstamp ts = now();
  // Streams put back in turn below schedule no flush of their own: when this one stops with
  // bytes left, ngtcp2 holds them (congestion window, pacing, the peer's credit), and what lifts
  // that (an acknowledgement, MAX_DATA, the pacing timer) comes with a flush. Scheduling one
  // here instead turned a congestion-limited stream into a busy loop of flushes.
  flushing_ = true;
  int packets = 0;
  bool blocked = false;
  for (; packets < flush_packets;) {
    // Room for one more packet in the batch (unchanged while ngtcp2 asks for WRITE_MORE: the
    // packet it is coalescing stays where it began).
    if (used + size > batch_room && !send_batch()) {
      blocked = true;
      break;
    }
    // The next stream with bytes to send, in turn, so that streams share the connection.
    Stream* s = nullptr;
    QuicStreamId id = -1;
    while (!ready_.empty() && !s) {
      id = ready_.front();
      ready_.pop_front();
      auto it = streams_.find(id);
      if (it == streams_.end()) continue;
      it->second.ready = false;
      if (!it->second.blocked && it->second.sent < it->second.queued) s = &it->second;
    }
    if (!s) id = -1;
    std::array<ngtcp2_vec, max_vecs> vecs;
    std::size_t count = 0;
    if (s) {
      for (auto& c : s->chunks) {
        const std::uint64_t end = c.offset + c.bytes.size();
        if (end <= s->sent) continue;
        const std::size_t skip =
            static_cast<std::size_t>(s->sent > c.offset ? s->sent - c.offset : 0);
        vecs[count++] = {c.bytes.data() + skip, c.bytes.size() - skip};
        if (count == max_vecs) break;
      }
    }
    ngtcp2_ssize written = -1;
    const std::uint32_t flags = s ? NGTCP2_WRITE_STREAM_FLAG_MORE : NGTCP2_WRITE_STREAM_FLAG_NONE;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, packet.data() + used, size,
                                               &written, flags, id, vecs.data(), count, ts);
    if (s && written > 0) s->sent += static_cast<std::uint64_t>(written);
    if (s) {
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) s->blocked = true;
      if (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND) {
        s->blocked = true;  // nothing more will go out on it
      }
      mark_ready(id, *s);  // back in the queue if it still has bytes
    }
    if (n == NGTCP2_ERR_WRITE_MORE || n == NGTCP2_ERR_STREAM_DATA_BLOCKED ||
        n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND)
      continue;
    if (n < 0) {
      flushing_ = false;
      failed(static_cast<int>(n));
      return;
    }
    if (n == 0) break;  // nothing more now (congestion window, pacing, or all sent)
    ++packets;
    // To the path ngtcp2 chose (the peer's address, unless it moved and the move validated).
    if (udp::endpoint to; ps.path.remote.addrlen > 0 && ps.path.remote.addrlen <= to.capacity()) {
      std::memcpy(to.data(), ps.path.remote.addr, ps.path.remote.addrlen);
      to.resize(ps.path.remote.addrlen);
      remote_ = to;
    }
    const auto length = static_cast<std::size_t>(n);
    if (used > 0 && remote_ != batch_to) {
      // The path moved: the batch goes to the old address, this packet starts the next one.
      const std::size_t at = std::exchange(used, 0);
      if (!endpoint_->send({packet.data(), at}, size, batch_to)) {
        blocked = true;  // this packet is lost, as a dropped datagram (QUIC sends it again)
        break;
      }
      std::memmove(packet.data(), packet.data() + at, length);
    }
    batch_to = remote_;
    used += length;
    // A shorter packet ends a batch (the kernel cuts every datagram but the last to one size).
    if ((length < size || !endpoint_->gso_) && !send_batch()) {
      blocked = true;
      break;
    }
  }
  if (!blocked) send_batch();
  flushing_ = false;
  if (!conn_) return;
  ngtcp2_conn_update_pkt_tx_time(conn_, ts);
  arm_timer();
  // Stopped by this turn's limit, not by ngtcp2: the rest goes on a later turn.
  if (packets == flush_packets && !ready_.empty()) schedule_flush();
}

void QuicConnection::arm_timer() {
  // Set again only when ngtcp2's expiry comes before the timer: a timer that fires early finds
  // nothing expired and sets itself for the new expiry. Setting it on every flush (the expiry
  // moves with each packet) made a timerfd_settime call per flush, a fifth of a bulk receiver's
  // time.
  const ngtcp2_tstamp at = ngtcp2_conn_get_expiry(conn_);
  const ngtcp2_tstamp t = now();
  if (at <= t) {
    // Due already (an acknowledgement to send, the pacer's next packet): on the next turn,
    // without a timer, which would cost a timerfd_settime and an epoll wake-up (half of a bulk
    // receiver's arms were of these).
    if (expiry_posted_) return;
    expiry_posted_ = true;
    asio::post(timer_.get_executor(), [w = weak_from_this()] {
      if (auto c = w.lock()) {
        c->expiry_posted_ = false;
        c->expire();
      }
    });
    return;
  }
  if (at >= timer_at_) return;
  timer_at_ = at;
  timer_.expires_after(std::chrono::nanoseconds(at - t));
  timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto c = w.lock()) c->on_timer();
  });
}

void QuicConnection::on_timer() {
  timer_at_ = UINT64_MAX;
  expire();
}

void QuicConnection::expire() {
  if (!conn_ || closed_) return;
  in_ngtcp2_ = true;
  int rv = ngtcp2_conn_handle_expiry(conn_, now());
  in_ngtcp2_ = false;
  if (rv != 0) {
    failed(rv);
    return;
  }
  flush();
}

// ---------------------------------------------------------------------------------------------
// QuicEndpoint

QuicEndpoint::QuicEndpoint(asio::any_io_executor executor, QuicOptions options)
    : executor_(std::move(executor)), options_(std::move(options)), socket_(executor_) {}

std::expected<std::unique_ptr<QuicEndpoint>, std::string> QuicEndpoint::open(
    asio::any_io_executor executor, const udp::endpoint& at, QuicOptions options) {
  if (!options.credentials) return std::unexpected(std::string("QUIC: no TLS credentials"));
  options.max_udp_payload = std::clamp<std::size_t>(options.max_udp_payload, 1200, 65527);
  options.loopback_udp_payload =
      std::clamp<std::size_t>(options.loopback_udp_payload, options.max_udp_payload, 65527);
  std::unique_ptr<QuicEndpoint> e(new QuicEndpoint(std::move(executor), std::move(options)));
  boost::system::error_code ec;
  open_close_on_exec(e->socket_, at.protocol(), ec);
  if (!ec) e->socket_.bind(at, ec);
  if (!ec) e->socket_.non_blocking(true, ec);
  if (ec)
    return std::unexpected("QUIC: UDP " + at.address().to_string() + ":" +
                           std::to_string(at.port()) + ": " + ec.message());
  // Room for bursts: a window's worth of datagrams can arrive between two reads.
  e->socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
  e->socket_.set_option(asio::socket_base::send_buffer_size(4 << 20), ec);
  // ICMP errors for the datagrams we send, in the socket's error queue: a peer whose process
  // died answers with port unreachable (read_errors). Without it an unconnected UDP socket
  // hears nothing of them.
  const int on = 1;
  if (at.address().is_v4())
    ::setsockopt(e->socket_.native_handle(), IPPROTO_IP, IP_RECVERR, &on, sizeof on);
  else
    ::setsockopt(e->socket_.native_handle(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
  // Datagrams of one sender that arrive together come up as one read, cut again here (UDP GRO):
  // a bulk receiver's reads shrink as its peer's sends did (GSO). Without it, one at a time.
  ::setsockopt(e->socket_.native_handle(), SOL_UDP, UDP_GRO, &on, sizeof on);
  e->local_ = e->socket_.local_endpoint(ec);
  e->buffers_.resize(batch * datagram_room);
  e->packet_.resize(
      std::max({gso_bytes, e->options_.loopback_udp_payload, e->options_.max_udp_payload}));
  e->read();
  e->watch_errors();
  return e;
}

QuicEndpoint::~QuicEndpoint() {
  *alive_ = false;
  // Quietly: no CONNECTION_CLOSE, no callback (a destroyed endpoint is a crashed node to its
  // peers). Connections a user still holds see themselves closed.
  auto all = std::move(connections_);
  connections_.clear();
  for (auto& [raw, c] : all) {
    c->reported_ = true;
    c->closed_handler_ = nullptr;
    c->room_handler_ = nullptr;
    c->dialed_ = nullptr;
    c->release();
  }
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void QuicEndpoint::forget(QuicConnection* c) { connections_.erase(c); }

void QuicEndpoint::dial(const udp::endpoint& peer, std::string node, Dialed done) {
  auto fail_later = [this, &done](std::string why) {
    asio::post(executor_,
               [done = std::move(done), why = std::move(why)] { done(std::unexpected(why)); });
  };
  if (connections_.size() >= options_.max_connections)
    return fail_later("QUIC: too many connections");
  std::shared_ptr<QuicConnection> c(new QuicConnection(*this, false, peer, std::move(node)));
  ngtcp2_cid dcid{}, scid{};
  dcid.datalen = cid_length;
  scid.datalen = cid_length;
  if (!random_bytes(dcid.data, dcid.datalen) || !random_bytes(scid.data, scid.datalen))
    return fail_later("QUIC: no random bytes");
  c->refused_ = refused_;
  if (std::string why = c->start(dcid, scid, nullptr, NGTCP2_PROTO_VER_V1); !why.empty()) {
    c->reported_ = true;
    c->release();
    return fail_later(why);
  }
  c->dialed_ = std::move(done);
  connections_[c.get()] = c;
  c->cids_.push_back(cid_key(scid.data, scid.datalen));
  routes_[c->cids_.back()] = c.get();
  c->flush();
}

void QuicEndpoint::read() {
  socket_.async_wait(udp::socket::wait_read, [this, alive = std::weak_ptr<bool>(alive_)](
                                                 const boost::system::error_code& ec) {
    auto a = alive.lock();
    if (ec || !a || !*a) return;
    drain();
    if (*a) read();
  });
}

void QuicEndpoint::drain() {
  std::array<mmsghdr, batch> msgs{};
  std::array<iovec, batch> iovs{};
  std::array<sockaddr_storage, batch> from{};
  // Where the kernel coalesced datagrams of one sender (UDP GRO), their size.
  using Control = std::array<char, CMSG_SPACE(sizeof(int))>;
  alignas(cmsghdr) std::array<Control, batch> control{};
  std::vector<std::shared_ptr<QuicConnection>> touched;
  auto alive = alive_;
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t i = 0; i < batch; ++i) {
      iovs[i] = {buffers_.data() + i * datagram_room, datagram_room};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i].data();
      msgs[i].msg_hdr.msg_controllen = control[i].size();
    }
    int got = ::recvmmsg(socket_.native_handle(), msgs.data(), batch, MSG_DONTWAIT, nullptr);
    if (got < 0 && errno == ECONNREFUSED && round == 0) {
      // An ICMP error was pending (IP_RECVERR reports it once, to whichever call comes first):
      // its report is in the error queue, and the datagrams are still there.
      read_errors();
      if (!*alive) return;
      got = ::recvmmsg(socket_.native_handle(), msgs.data(), batch, MSG_DONTWAIT, nullptr);
    }
    if (got <= 0) break;
    for (int i = 0; i < got; ++i) {
      udp::endpoint sender;
      const std::size_t length =
          std::min<std::size_t>(msgs[i].msg_hdr.msg_namelen, sender.capacity());
      std::memcpy(sender.data(), &from[i], length);
      sender.resize(length);
      const std::span<std::uint8_t> got_bytes(
          buffers_.data() + static_cast<std::size_t>(i) * datagram_room, msgs[i].msg_len);
      const std::size_t segment = coalesced_size(msgs[i].msg_hdr, got_bytes.size());
      ++received_.reads;
      for (std::size_t at = 0; at < got_bytes.size(); at += segment) {
        ++received_.datagrams;
        dispatch(got_bytes.subspan(at, std::min(segment, got_bytes.size() - at)), sender, touched);
        if (!*alive) return;  // a callback destroyed the endpoint
      }
    }
    if (static_cast<std::size_t>(got) < batch) break;
  }
  // One flush per connection per batch: its acknowledgements and replies in few packets.
  for (auto& c : touched) {
    c->flush();
    if (!*alive) return;
  }
}

void QuicEndpoint::watch_errors() {
  socket_.async_wait(udp::socket::wait_error, [this, alive = std::weak_ptr<bool>(alive_)](
                                                  const boost::system::error_code& ec) {
    auto a = alive.lock();
    if (ec || !a || !*a) return;
    read_errors();
    if (*a) watch_errors();
  });
}

void QuicEndpoint::read_errors() {
  auto alive = alive_;
  for (;;) {
    sockaddr_storage to{};
    std::array<std::uint8_t, 1500> quoted;  // what the ICMP message kept of our datagram
    alignas(cmsghdr) std::array<char, 512> control;
    iovec iov{quoted.data(), quoted.size()};
    msghdr m{};
    m.msg_name = &to;
    m.msg_namelen = sizeof to;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control.data();
    m.msg_controllen = control.size();
    const ssize_t n = ::recvmsg(socket_.native_handle(), &m, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // empty (EAGAIN)
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
      const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6) continue;
      sock_extended_err ee;
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      const bool icmp = ee.ee_origin == SO_EE_ORIGIN_ICMP || ee.ee_origin == SO_EE_ORIGIN_ICMP6;
      if (!icmp || ee.ee_errno != ECONNREFUSED) continue;  // only a closed port says "gone"
      // msg_name: where the datagram was going.
      udp::endpoint peer;
      const std::size_t length = std::min<std::size_t>(m.msg_namelen, peer.capacity());
      std::memcpy(peer.data(), &to, length);
      peer.resize(length);
      std::vector<std::shared_ptr<QuicConnection>> to_peer;
      for (auto& [raw, conn] : connections_)
        if (conn->remote_ == peer) to_peer.push_back(conn);
      for (auto& conn : to_peer) {
        conn->port_unreachable({quoted.data(), static_cast<std::size_t>(n)});
        if (!*alive) return;
      }
    }
  }
}

void QuicEndpoint::dispatch(std::span<std::uint8_t> datagram, const udp::endpoint& from,
                            std::vector<std::shared_ptr<QuicConnection>>& touched) {
  ngtcp2_version_cid vc;
  // Anything that is not a QUIC v1 packet (version negotiation included: both ends speak v1)
  // is dropped.
  if (ngtcp2_pkt_decode_version_cid(&vc, datagram.data(), datagram.size(), cid_length) != 0) return;
  std::shared_ptr<QuicConnection> c;
  if (auto it = routes_.find(cid_key(vc.dcid, vc.dcidlen)); it != routes_.end()) {
    if (auto found = connections_.find(it->second); found != connections_.end()) c = found->second;
  }
  if (!c) {
    if (!options_.accept || connections_.size() >= options_.max_connections) return;
    ngtcp2_pkt_hd hd;
    if (ngtcp2_accept(&hd, datagram.data(), datagram.size()) != 0) return;
    c.reset(new QuicConnection(*this, true, from, std::string()));
    c->refused_ = refused_;
    ngtcp2_cid scid{};
    scid.datalen = cid_length;
    if (!random_bytes(scid.data, scid.datalen)) return;
    if (std::string why = c->start(hd.scid, scid, &hd.dcid, hd.version); !why.empty()) {
      c->reported_ = true;
      c->release();
      if (refused_) refused_(from, why);
      return;
    }
    connections_[c.get()] = c;
    // The client's first id routes its Initial packets until it uses ours.
    for (const std::string& key :
         {cid_key(hd.dcid.data, hd.dcid.datalen), cid_key(scid.data, scid.datalen)}) {
      c->cids_.push_back(key);
      routes_[key] = c.get();
    }
  }
  c->receive(datagram, from);
  if (std::find(touched.begin(), touched.end(), c) == touched.end()) touched.push_back(c);
}

bool QuicEndpoint::send(std::span<const std::uint8_t> packets, std::size_t segment,
                        const udp::endpoint& to) {
  if (write_blocked_) return false;
  for (std::size_t done = 0; done < packets.size();) {
    const auto rest = packets.subspan(done);
    // Together where the kernel splits them (GSO), else one datagram at a time.
    const auto part = gso_ ? rest : rest.first(std::min(segment, rest.size()));
    switch (transmit(part, segment, to)) {
      case Sent::done:
        done += part.size();
        break;
      case Sent::no_gso:
        gso_ = false;  // this kernel or path refuses it: one datagram a call from now on
        break;
      case Sent::blocked:
        // The send buffer is full: these packets wait (ngtcp2 counts them sent) and every
        // flush stops until the socket can take them.
        pending_.assign(rest.begin(), rest.end());
        pending_segment_ = segment;
        pending_to_ = to;
        write_blocked_ = true;
        wait_writable();
        return false;
    }
  }
  return true;
}

QuicEndpoint::Sent QuicEndpoint::transmit(std::span<const std::uint8_t> datagrams,
                                          std::size_t segment, const udp::endpoint& to) {
  const bool split = datagrams.size() > segment;
  iovec iov{const_cast<std::uint8_t*>(datagrams.data()), datagrams.size()};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(std::uint16_t))> control{};
  msghdr m{};
  m.msg_name = const_cast<sockaddr*>(to.data());
  m.msg_namelen = static_cast<socklen_t>(to.size());
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (split) {
    m.msg_control = control.data();
    m.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    const auto size = static_cast<std::uint16_t>(segment);
    std::memcpy(CMSG_DATA(c), &size, sizeof size);
  }
  bool refused_retry = false;
  for (;;) {
    if (::sendmsg(socket_.native_handle(), &m, MSG_DONTWAIT) >= 0) {
      ++sent_.calls;
      sent_.datagrams += (datagrams.size() + segment - 1) / segment;
      return Sent::done;
    }
    if (errno == EINTR) continue;
    if (errno == ECONNREFUSED && !refused_retry) {
      // An ICMP error pending on the socket failed this send (it is reported once): the
      // packets go again, and the error queue is read on the next turn, not inside a flush.
      refused_retry = true;
      asio::post(executor_, [this, alive = std::weak_ptr<bool>(alive_)] {
        if (auto a = alive.lock(); a && *a) read_errors();
      });
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Sent::blocked;
    // No GSO here: a kernel without UDP_SEGMENT, or a device that cannot offload it.
    if (split && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP))
      return Sent::no_gso;
    return Sent::done;  // another error: as lost datagrams, which QUIC recovers from
  }
}

void QuicEndpoint::wait_writable() {
  socket_.async_wait(udp::socket::wait_write, [this, alive = std::weak_ptr<bool>(alive_)](
                                                  const boost::system::error_code& ec) {
    auto a = alive.lock();
    if (ec || !a || !*a) return;
    write_blocked_ = false;
    std::vector<std::uint8_t> packets = std::move(pending_);
    pending_.clear();
    if (!send(packets, pending_segment_, pending_to_)) return;  // waits again
    // Everyone may write again.
    std::vector<std::shared_ptr<QuicConnection>> all;
    for (auto& [raw, c] : connections_) all.push_back(c);
    for (auto& c : all) {
      c->flush();
      if (!*a || write_blocked_) return;
    }
  });
}

}  // namespace ambitious::dist::detail
