// libFuzzer: decoding arbitrary bytes never crashes, and what decodes can be printed, hashed,
// compared and measured. Decoding the same bytes from a shared buffer, every binary a slice of
// it, gives the same term or the same error.
#include "ambitious/core/etf.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ambitious;
  auto term = etf::decode(std::span(data, size));
  etf::DecodeOptions share_all;
  share_all.share_from = 1;
  auto shared = etf::decode_shared(Term::binary(std::span(data, size)), share_all);
  if (term.has_value() != shared.has_value()) __builtin_trap();
  if (!term) {
    if (!(term.error() == shared.error())) __builtin_trap();
    return 0;
  }
  if (!(*term == *shared) || term->hash() != shared->hash()) __builtin_trap();
  (void)term->to_string();
  (void)term->to_string(TermFormat::w);
  (void)term->hash();
  (void)term->size();
  if (!(*term == *term) || Term::compare(*term, *term) != 0) __builtin_trap();
  return 0;
}
