// libFuzzer: TLS distribution's node-name check (a peer's certificate, as DER bytes from the
// network) never crashes, and accepts only a certificate that carries the node's name.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "certificate_names.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ambitious::dist::detail::check_certificate_names;
  const bool named = check_certificate_names(std::span(data, size), "a@127.0.0.1").empty();
  // The SAN's bytes are in the DER as they are (an IA5String): an accepted input holds them.
  std::string_view all(reinterpret_cast<const char*>(data), size);
  if (named && all.find("erlang-node:a@127.0.0.1") == std::string_view::npos) __builtin_trap();
  return 0;
}
