#include "tls_carrier.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include "certificate_names.hpp"

namespace ambitious::dist::detail {

namespace {

// TLS 1.3 first; TLS 1.2 too, since OTP 25's inet_tls distribution speaks only 1.2 unless its
// ssl_dist_optfile says otherwise (measured: its server answers a 1.3-only hello with a
// protocol_version alert). For 1.2, only forward-secret key exchange (ECDHE) and AEAD ciphers.
constexpr const char* priorities =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"
    "+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA";

std::string gnutls_text(int code) { return gnutls_strerror(code); }

// GnuTLS's transport on the socket, with MSG_NOSIGNAL: a peer that closed must give EPIPE, not
// a SIGPIPE that ends the program. errno is what GnuTLS reads (EAGAIN: wait and call again).
ssize_t pull(gnutls_transport_ptr_t fd, void* data, std::size_t size) {
  return ::recv(static_cast<int>(reinterpret_cast<std::intptr_t>(fd)), data, size, 0);
}

ssize_t push(gnutls_transport_ptr_t fd, const giovec_t* iov, int count) {
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(reinterpret_cast<const iovec*>(iov));
  m.msg_iovlen = static_cast<std::size_t>(count);
  return ::sendmsg(static_cast<int>(reinterpret_cast<std::intptr_t>(fd)), &m, MSG_NOSIGNAL);
}

// The most encrypted bytes the kernel holds unsent for this socket (TCP_NOTSENT_LOWAT), as on the
// TCP carrier: beyond them a write waits, so that a bulk stream keeps at most this much between a
// small message and the peer; the rest waits in the connection's queue, where other senders'
// messages overtake the stream's fragments.
constexpr int notsent_lowat = 512 * 1024;

bool would_block(int code) { return code == GNUTLS_E_AGAIN || code == GNUTLS_E_INTERRUPTED; }

// Why the chain did not verify, in GnuTLS's words.
std::string verify_text(gnutls_session_t session) {
  unsigned status = gnutls_session_get_verify_cert_status(session);
  gnutls_datum_t out{};
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) < 0)
    return "the peer's certificate did not verify";
  std::string text(reinterpret_cast<const char*>(out.data), out.size);
  gnutls_free(out.data);
  return text;
}

}  // namespace

std::expected<std::shared_ptr<const TlsCredentials>, std::string> TlsCredentials::load(
    const TlsOptions& options) {
  std::shared_ptr<TlsCredentials> c(new TlsCredentials());
  if (int r = gnutls_certificate_allocate_credentials(&c->credentials_); r < 0)
    return std::unexpected("TLS credentials: " + gnutls_text(r));
  int cas = gnutls_certificate_set_x509_trust_file(c->credentials_, options.ca_file.c_str(),
                                                   GNUTLS_X509_FMT_PEM);
  if (cas < 0) return std::unexpected("the CA file " + options.ca_file + ": " + gnutls_text(cas));
  if (cas == 0) return std::unexpected("the CA file " + options.ca_file + " has no certificate");
  if (int r = gnutls_certificate_set_x509_key_file(c->credentials_, options.cert_file.c_str(),
                                                   options.key_file.c_str(), GNUTLS_X509_FMT_PEM);
      r < 0)
    return std::unexpected("the certificate " + options.cert_file + " or its key " +
                           options.key_file + ": " + gnutls_text(r));
  return std::shared_ptr<const TlsCredentials>(std::move(c));
}

TlsCredentials::~TlsCredentials() {
  if (credentials_) gnutls_certificate_free_credentials(credentials_);
}

TlsCarrier::TlsCarrier(tcp::socket socket, Role role,
                       std::shared_ptr<const TlsCredentials> credentials)
    : socket_(std::move(socket)), role_(role), credentials_(std::move(credentials)) {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);
  // Best effort: a kernel without the option only loses what it buys.
  const int lowat = notsent_lowat;
  ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
  auto at = socket_.remote_endpoint(ec);
  remote_ = ec ? std::string("?") : at.address().to_string() + ":" + std::to_string(at.port());
}

TlsCarrier::~TlsCarrier() {
  if (session_) gnutls_deinit(session_);
}

asio::awaitable<bool> TlsCarrier::wait(tcp::socket::wait_type what, boost::system::error_code& ec) {
  co_await socket_.async_wait(what, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && socket_.is_open();
}

asio::awaitable<void> TlsCarrier::yield() {
  co_await asio::post(socket_.get_executor(), asio::use_awaitable);
}

asio::awaitable<std::string> TlsCarrier::open() {
  const bool server = role_ == Role::server;
  if (int r = gnutls_init(&session_, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK);
      r < 0) {
    session_ = nullptr;
    co_return "TLS session: " + gnutls_text(r);
  }
  const char* where = nullptr;
  if (int r = gnutls_priority_set_direct(session_, priorities, &where); r < 0)
    co_return "TLS priorities: " + gnutls_text(r);
  if (int r = gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, credentials_->get()); r < 0)
    co_return "TLS credentials: " + gnutls_text(r);
  // Mutual: the server requires the client's certificate; both verify the peer's chain during
  // the handshake (no host name: the node name is checked against the certificate later, once
  // the distribution handshake has told it).
  if (server) gnutls_certificate_server_set_request(session_, GNUTLS_CERT_REQUIRE);
  gnutls_session_set_verify_cert(session_, nullptr, 0);
  gnutls_transport_set_ptr(session_, reinterpret_cast<gnutls_transport_ptr_t>(
                                         static_cast<std::intptr_t>(socket_.native_handle())));
  gnutls_transport_set_pull_function(session_, pull);
  gnutls_transport_set_vec_push_function(session_, push);
  for (;;) {
    int r = gnutls_handshake(session_);
    if (r == GNUTLS_E_SUCCESS) break;
    if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
      co_return "TLS handshake: the peer's certificate is refused: " + verify_text(session_);
    if (!would_block(r)) {
      if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
        co_return "TLS handshake: the peer refused us (alert: " +
            std::string(gnutls_alert_get_name(gnutls_alert_get(session_))) + ")";
      co_return "TLS handshake: " + gnutls_text(r);
    }
    boost::system::error_code ec;
    auto direction =
        gnutls_record_get_direction(session_) ? tcp::socket::wait_write : tcp::socket::wait_read;
    if (!co_await wait(direction, ec)) co_return "TLS handshake: the connection closed";
  }
  open_ = true;
  co_return std::string();
}

std::string TlsCarrier::check_peer_name(std::string_view node) const {
  if (!open_) return "no TLS session";
  unsigned count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session_, &count);
  if (!chain || count == 0) return "the peer presented no certificate";
  return check_certificate_names(std::span(chain[0].data, chain[0].size), node);  // the leaf
}

asio::awaitable<std::size_t> TlsCarrier::read_some(std::span<std::uint8_t> into,
                                                   boost::system::error_code& ec) {
  // Closed: its descriptor's number may be another socket's by now; GnuTLS must not touch it.
  if (!socket_.is_open()) {
    ec = asio::error::bad_descriptor;
    co_return 0;
  }
  // As many records as are there (each at most 16 KiB of plaintext), at least one byte.
  std::size_t got = 0;
  bool waited = false;
  while (got < into.size()) {
    ssize_t r = gnutls_record_recv(session_, into.data() + got, into.size() - got);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION) {
      if (got == 0) ec = asio::error::eof;
      break;
    }
    if (!would_block(static_cast<int>(r))) {
      if (got == 0) ec = asio::error::connection_aborted;
      break;
    }
    if (got > 0) break;
    waited = true;
    if (!co_await wait(tcp::socket::wait_read, ec)) {
      if (!ec) ec = asio::error::operation_aborted;
      break;
    }
  }
  if (!waited) co_await yield();
  co_return got;
}

asio::awaitable<void> TlsCarrier::write(std::span<const asio::const_buffer> buffers,
                                        boost::system::error_code& ec) {
  if (!socket_.is_open()) {
    ec = asio::error::bad_descriptor;
    co_return;
  }
  // Corked: the batch's frames go into as few records as they fill, then one flush.
  gnutls_record_cork(session_);
  for (const auto& b : buffers) {
    const auto* data = static_cast<const std::uint8_t*>(b.data());
    std::size_t left = b.size();
    while (left > 0) {
      ssize_t r = gnutls_record_send(session_, data, left);
      if (r < 0) {
        ec = asio::error::connection_aborted;
        gnutls_record_uncork(session_, 0);
        co_return;
      }
      data += r;
      left -= static_cast<std::size_t>(r);
    }
  }
  for (bool waited = false;; waited = true) {
    int r = gnutls_record_uncork(session_, 0);
    if (r >= 0 && gnutls_record_check_corked(session_) == 0) {
      if (!waited) co_await yield();
      co_return;
    }
    if (r < 0 && !would_block(r)) {
      ec = asio::error::connection_aborted;
      co_return;
    }
    if (!co_await wait(tcp::socket::wait_write, ec)) {
      if (!ec) ec = asio::error::operation_aborted;
      co_return;
    }
  }
}

void TlsCarrier::close() noexcept {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

std::string TlsCarrier::remote() const { return remote_; }

}  // namespace ambitious::dist::detail
