#pragma once
// Private: whether a peer's certificate names a node (tls.hpp: a subject alternative name
// URI:erlang-node:<name>). Apart from the TLS carrier so that it can be fuzzed without a
// session: the certificate's bytes come from the peer.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ambitious::dist::detail {

/// The empty string when the DER certificate `der` names `node`; else why not (it does not
/// parse, or no SAN names the node). Any thread.
std::string check_certificate_names(std::span<const std::uint8_t> der, std::string_view node);

}  // namespace ambitious::dist::detail
