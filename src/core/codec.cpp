#include "ambitious/core/codec.hpp"

#include "term_node.hpp"

namespace ambitious::detail {

std::string describe_term(const Term& t) {
  const char* kind = "term";
  switch (t.type()) {
    case TermType::number:
      kind = t.is_float() ? "float" : "integer";
      break;
    case TermType::atom:
      kind = "atom";
      break;
    case TermType::reference:
      kind = "reference";
      break;
    case TermType::fun:
      kind = "fun";
      break;
    case TermType::port:
      kind = "port";
      break;
    case TermType::pid:
      kind = "pid";
      break;
    case TermType::tuple:
      kind = "tuple";
      break;
    case TermType::map:
      kind = "map";
      break;
    case TermType::nil:
      kind = "list";
      break;
    case TermType::list:
      kind = "list";
      break;
    case TermType::bitstring:
      kind = t.is_binary() ? "binary" : "bitstring";
      break;
  }
  // Only the start of a large term: the message must stay readable.
  std::string text = to_string_prefix(t, TermFormat::p, 80);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return std::string(kind) + " " + text;
}

CodecError mismatch(std::string_view what, const Term& t) {
  return CodecError{"", "expected " + std::string(what) + ", got " + describe_term(t)};
}

}  // namespace ambitious::detail
