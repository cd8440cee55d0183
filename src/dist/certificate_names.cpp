#include "certificate_names.hpp"

#include <gnutls/x509.h>

#include <vector>

#include "ambitious/dist/tls.hpp"

namespace ambitious::dist {

std::string node_uri(std::string_view node) { return "erlang-node:" + std::string(node); }

}  // namespace ambitious::dist

namespace ambitious::dist::detail {

std::string check_certificate_names(std::span<const std::uint8_t> der, std::string_view node) {
  gnutls_x509_crt_t crt = nullptr;
  if (gnutls_x509_crt_init(&crt) < 0) return "the peer's certificate could not be read";
  gnutls_datum_t datum{const_cast<unsigned char*>(der.data()), static_cast<unsigned>(der.size())};
  std::string why;
  if (gnutls_x509_crt_import(crt, &datum, GNUTLS_X509_FMT_DER) < 0) {
    why = "the peer's certificate could not be read";
  } else {
    const std::string wanted = node_uri(node);
    bool found = false;
    std::vector<char> name(256);
    for (unsigned i = 0; !found;) {
      std::size_t size = name.size();
      int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name.data(), &size, nullptr);
      if (type == GNUTLS_E_SHORT_MEMORY_BUFFER && size >= name.size()) {
        name.resize(size + 1);  // the same name again, with room
        continue;
      }
      if (type < 0) break;  // GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE: no more (or a bad one)
      found = type == GNUTLS_SAN_URI && std::string_view(name.data(), size) == wanted;
      ++i;
    }
    if (!found)
      why = "the peer's certificate does not name " + std::string(node) + " (no SAN URI:" + wanted +
            ")";
  }
  gnutls_x509_crt_deinit(crt);
  return why;
}

}  // namespace ambitious::dist::detail
