#pragma once
// Private: the TLS carrier (GnuTLS over one TCP socket) and the credentials its sessions share.
// TLS 1.3 (and 1.2 with ECDHE and AEAD ciphers, which OTP 25's inet_tls speaks), mutual: both roles
// present the node's certificate and require and verify the peer's (GnuTLS verifies only when
// asked: every session asks). The socket is non-blocking and GnuTLS does its own reads and writes
// on it; when it would block, the carrier waits for the socket on the connection's executor, so a
// carrier costs no thread.

#include <gnutls/gnutls.h>

#include <expected>
#include <memory>
#include <string>

#include "ambitious/dist/tls.hpp"
#include "carrier.hpp"

namespace ambitious::dist::detail {

/// The CA, certificate and key of TlsOptions, loaded once for every session of a node. Any
/// thread (read only once made).
class TlsCredentials {
 public:
  /// Loads the files; on failure, which file and why (never a key's content).
  static std::expected<std::shared_ptr<const TlsCredentials>, std::string> load(
      const TlsOptions& options);
  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  /// For gnutls_credentials_set.
  gnutls_certificate_credentials_t get() const noexcept { return credentials_; }

 private:
  TlsCredentials() = default;
  gnutls_certificate_credentials_t credentials_ = nullptr;
};

/// One TLS session over `socket`, in the client role for the initiator and the server role for
/// the acceptor. Owner only (the connection's executor).
class TlsCarrier final : public Carrier {
 public:
  enum class Role : bool { client, server };
  TlsCarrier(tcp::socket socket, Role role, std::shared_ptr<const TlsCredentials> credentials);
  ~TlsCarrier() override;

  asio::awaitable<std::string> open() override;
  std::string check_peer_name(std::string_view node) const override;
  std::size_t handshake_length_size() const noexcept override { return 4; }
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> into,
                                         boost::system::error_code& ec) override;
  asio::awaitable<void> write(std::span<const asio::const_buffer> buffers,
                              boost::system::error_code& ec) override;
  void close() noexcept override;
  const char* kind() const noexcept override { return "tls"; }
  std::string remote() const override;

 private:
  // Waits until the socket is readable (or writable); false when the wait failed (closed).
  asio::awaitable<bool> wait(tcp::socket::wait_type what, boost::system::error_code& ec);
  // Gives the executor a turn. GnuTLS reads and writes the socket inside its calls, so a read
  // or write that never had to wait for the socket would complete inside its caller's turn; the
  // connection's read loop, finding another record waiting each time (a peer streaming), would
  // then run forever on the node's I/O thread while its writer, the node's other connections
  // and its timers never ran (dist_hol over TLS stalled so). Every operation that did not wait
  // ends with this, as Asio's own operations complete through the executor, never inline.
  asio::awaitable<void> yield();

  tcp::socket socket_;
  Role role_;
  std::shared_ptr<const TlsCredentials> credentials_;
  gnutls_session_t session_ = nullptr;
  std::string remote_;
  bool open_ = false;
};

}  // namespace ambitious::dist::detail
