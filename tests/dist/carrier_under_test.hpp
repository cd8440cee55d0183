#pragma once
// The carrier a suite of ambitious-to-ambitious distribution tests runs over, so that one suite
// runs once per carrier: AMBITIOUS_TEST_CARRIER (tcp when unset, tls, quic; CTest sets it:
// tests/dist/CMakeLists.txt), and the cluster's certificates TLS and QUIC need
// (scripts/cluster-certs.sh, at CLUSTER_CERTS_SCRIPT).

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "ambitious/dist/node.hpp"

namespace ambitious::test {

/// tcp, tls or quic.
inline std::string carrier_under_test() {
  const char* c = std::getenv("AMBITIOUS_TEST_CARRIER");
  return c ? c : "tcp";
}
/// TLS or QUIC: the nodes need certificates.
inline bool secure_carrier() { return carrier_under_test() != "tcp"; }

/// The cluster's CA and a certificate and key for each of `nodes`, made once per run of the
/// program (the nodes of the first call) and removed at its end; empty when they could not be
/// made (is gnutls-bin installed?).
inline const std::filesystem::path& cluster_certificates(const std::vector<std::string>& nodes) {
  struct Dir {
    std::filesystem::path path;
    explicit Dir(const std::vector<std::string>& names) {
      char pattern[] = "/tmp/ambitious-certs-XXXXXX";
      if (!::mkdtemp(pattern)) return;
      path = pattern;
      std::string command = std::string(CLUSTER_CERTS_SCRIPT) + " " + path.string();
      for (const auto& n : names) command += " " + n;
      if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) remove();
    }
    ~Dir() { remove(); }
    void remove() {
      std::error_code ec;
      if (!path.empty()) std::filesystem::remove_all(path, ec);
      path.clear();
    }
  };
  static Dir dir(nodes);
  return dir.path;
}

/// `o` (the node `o.name`) on the carrier under test: TLS with its certificate among those of
/// `cluster` (cluster_certificates), and QUIC itself; false when the certificates could not be
/// made.
inline bool use_carrier_under_test(dist::NodeOptions& o, const std::vector<std::string>& cluster) {
  if (!secure_carrier()) return true;
  const std::filesystem::path& certs = cluster_certificates(cluster);
  if (certs.empty()) return false;
  o.tls = dist::TlsOptions{.ca_file = (certs / "ca.pem").string(),
                           .cert_file = (certs / (o.name + ".pem")).string(),
                           .key_file = (certs / (o.name + "-key.pem")).string()};
  if (carrier_under_test() == "quic") o.quic = dist::QuicDistOptions{};
  return true;
}

/// The arguments that put a global_node child `node` on the carrier under test (its CA,
/// certificate and key, and `quic`); none for TCP.
inline std::vector<std::string> carrier_arguments(const std::string& node,
                                                  const std::vector<std::string>& cluster) {
  if (!secure_carrier()) return {};
  const std::filesystem::path& certs = cluster_certificates(cluster);
  std::vector<std::string> args{(certs / "ca.pem").string(), (certs / (node + ".pem")).string(),
                                (certs / (node + "-key.pem")).string()};
  if (carrier_under_test() == "quic") args.push_back("quic");
  return args;
}

/// The same for the programs that take them as flags (examples/cluster's members):
/// `--tls-ca CA --tls-cert CERT --tls-key KEY`, and `--quic 0`; none for TCP.
inline std::vector<std::string> carrier_flags(const std::string& node,
                                              const std::vector<std::string>& cluster) {
  std::vector<std::string> files = carrier_arguments(node, cluster);
  if (files.size() < 3) return {};
  std::vector<std::string> flags{"--tls-ca", files[0],    "--tls-cert",
                                 files[1],   "--tls-key", files[2]};
  if (carrier_under_test() == "quic") flags.insert(flags.end(), {"--quic", "0"});
  return flags;
}

}  // namespace ambitious::test
