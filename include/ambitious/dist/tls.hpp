#pragma once
// TLS distribution: the node's certificate, its key and the cluster's CA, as Erlang's
// `-proto_dist inet_tls` with an `ssl_dist_optfile` takes them. With TlsOptions in its
// NodeOptions a node speaks TLS on every distribution connection, both ways (epmd as usual,
// then TLS, then the ordinary handshake inside it), with mutual verification:
//   - each side presents its certificate and requires the peer's;
//   - the peer's chain must lead to the CA (and be in its validity period);
//   - the peer's certificate must name the node it claims to be: a subject alternative name
//     `URI:erlang-node:<name>@<host>` equal to the peer's full node name (an initiator checks
//     the node it dialed, an acceptor the name the peer sends in its handshake).
// TLS 1.3 is preferred; TLS 1.2 with ECDHE and AEAD ciphers only is accepted too, because OTP
// 25's inet_tls distribution speaks 1.2 unless its ssl_dist_optfile lists 'tlsv1.3'.
// A peer that fails any check is refused before a byte of distribution traffic; the log line
// of the refusal says why. scripts/cluster-certs.sh makes a CA and node certificates that
// satisfy both ambitious and Erlang (whose client checks the host part against a DNS name).

#include <string>
#include <string_view>

namespace ambitious::dist {

/// PEM files: the cluster's CA, this node's certificate (chain) and its private key.
struct TlsOptions {
  std::string ca_file;    ///< the CA certificates peers' chains must lead to
  std::string cert_file;  ///< this node's certificate, leaf first
  std::string key_file;   ///< this node's private key (unencrypted PEM)
};

/// The subject alternative name that names `node` in a certificate: `erlang-node:<node>`.
std::string node_uri(std::string_view node);

}  // namespace ambitious::dist
