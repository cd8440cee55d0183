// libFuzzer: decoding arbitrary bytes never crashes, and what decodes can be printed, hashed,
// compared and measured.
#include "ambitious/core/etf.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto term = ambitious::etf::decode(std::span(data, size));
  if (!term) return 0;
  (void)term->to_string();
  (void)term->to_string(ambitious::TermFormat::w);
  (void)term->hash();
  (void)term->size();
  if (!(*term == *term) || ambitious::Term::compare(*term, *term) != 0) __builtin_trap();
  return 0;
}
