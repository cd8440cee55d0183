// Term::to_string: Erlang syntax, as io:format's "~tp" (one line) and "~w" print terms.

#include <charconv>
#include <cmath>
#include <cstring>
#include <ostream>

#include "ambitious/core/term.hpp"
#include "term_node.hpp"
#include "utf8.hpp"
#include "work_stack.hpp"

namespace ambitious {
namespace {

using Rep = TermAccess::Rep;
using A = TermAccess;

using detail::append_utf8;
using detail::next_code_point;

// One character inside quotes, escaped as Erlang's io_lib does. `unicode`: characters from
// U+00A0 up print as themselves; otherwise those above U+00FF print as \x{HEX}.
void put_quoted_char(std::string& out, std::uint32_t c, char quote, bool unicode) {
  if (c == static_cast<unsigned char>(quote) || c == '\\') {
    out += '\\';
    out += static_cast<char>(c);
  } else if (c >= ' ' && c <= '~') {
    out += static_cast<char>(c);
  } else if (c >= 0xA0 && (unicode || c <= 0xFF)) {
    append_utf8(out, c);
  } else if (c >= 0xA0) {
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, c, 16);
    out += "\\x{";
    for (char* q = buf; q < r.ptr; ++q) out += static_cast<char>(std::toupper(*q));
    out += '}';
  } else {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case 27:
        out += "\\e";
        break;
      case 127:
        out += "\\d";
        break;
      default:
        out += '\\';
        out += static_cast<char>('0' + (c >> 6));
        out += static_cast<char>('0' + (c >> 3 & 7));
        out += static_cast<char>('0' + (c & 7));
    }
  }
}

bool is_reserved_word(std::string_view s) {
  static constexpr std::string_view words[] = {
      "after", "and",  "andalso", "band",   "begin",   "bnot", "bor", "bsl",  "bsr",
      "bxor",  "case", "catch",   "cond",   "div",     "end",  "fun", "if",   "let",
      "not",   "of",   "or",      "orelse", "receive", "rem",  "try", "when", "xor"};
  for (auto w : words)
    if (w == s) return true;
  return false;
}

bool is_lower_start(std::uint32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 0xDF && c <= 0xFF && c != 0xF7);
}
bool is_name_char(std::uint32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '@' || (c >= 0xC0 && c <= 0xFF && c != 0xD7 && c != 0xF7);
}

void put_atom(std::string& out, Atom a, bool unicode) {
  std::string_view name = a.name();
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  const auto* end = p + name.size();
  bool bare = !name.empty() && !is_reserved_word(name);
  bool first = true;
  for (const auto* q = p; bare && q < end;) {
    std::uint32_t c;
    if (!next_code_point(q, end, c)) break;
    bare = first ? is_lower_start(c) : is_name_char(c);
    first = false;
  }
  if (bare) {
    out += name;
    return;
  }
  out += '\'';
  while (p < end) {
    std::uint32_t c;
    if (!next_code_point(p, end, c)) c = *p++;
    put_quoted_char(out, c, '\'', unicode);
  }
  out += '\'';
}

// Shortest round-trip digits, laid out as Erlang does: the shorter of the plain form
// (123.0, 0.001) and the exponent form (1.0e-4), the plain one on a tie; but never the plain
// form from 2^53 up, where floats are no longer dense in the integers.
void put_float(std::string& out, double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
  bool neg = s.front() == '-';
  if (neg) s.remove_prefix(1);
  auto e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e))
    if (c != '.') digits += c;
  int exp10 = 0;
  std::from_chars(s.data() + e + 1 + (s[e + 1] == '+'), s.data() + s.size(), exp10);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (neg) out += '-';
  if (digits == "0") {
    out += "0.0";
    return;
  }
  // value = 0.DIGITS * 10^place
  int place = exp10 + 1;
  int len = static_cast<int>(digits.size());
  std::string plain;
  if (place <= 0) {
    plain = "0." + std::string(static_cast<std::size_t>(-place), '0') + digits;
  } else if (place < len) {
    plain = digits.substr(0, static_cast<std::size_t>(place)) + "." +
            digits.substr(static_cast<std::size_t>(place));
  } else {
    plain = digits + std::string(static_cast<std::size_t>(place - len), '0') + ".0";
  }
  std::string expo = digits.substr(0, 1) + "." + (len > 1 ? digits.substr(1) : "0") + "e" +
                     std::to_string(place - 1);
  out += plain.size() <= expo.size() && std::fabs(d) < 9007199254740992.0 ? plain : expo;
}

void put_big(std::string& out, const Term& t) {
  // Repeated division of the magnitude by 10^9.
  auto mag = t.big_magnitude();
  std::vector<std::uint32_t> words((mag.size() + 3) / 4);
  for (std::size_t k = 0; k < mag.size(); ++k)
    words[k / 4] |= std::uint32_t{mag[k]} << (8 * (k % 4));
  std::vector<std::uint32_t> chunks;
  while (!words.empty()) {
    std::uint64_t rem = 0;
    for (std::size_t k = words.size(); k-- > 0;) {
      std::uint64_t cur = rem << 32 | words[k];
      words[k] = static_cast<std::uint32_t>(cur / 1'000'000'000);
      rem = cur % 1'000'000'000;
    }
    chunks.push_back(static_cast<std::uint32_t>(rem));
    while (!words.empty() && words.back() == 0) words.pop_back();
  }
  if (t.big_negative()) out += '-';
  out += std::to_string(chunks.back());
  for (std::size_t k = chunks.size() - 1; k-- > 0;) {
    std::string part = std::to_string(chunks[k]);
    out.append(9 - part.size(), '0');
    out += part;
  }
}

bool printable_latin1(std::int64_t c) {
  return (c >= 32 && c <= 126) || (c >= 160 && c <= 255) || (c >= 8 && c <= 13) || c == 27;
}

// Reads the module, old index and old uniq of a NEW_FUN_EXT body, for #Fun<M.I.U>.
std::string local_fun_name(std::span<const std::uint8_t> b) {
  std::size_t p = 4 + 1 + 16 + 4 + 4;  // size, arity, uniq, index, numfree
  auto need = [&](std::size_t n) { return p + n <= b.size(); };
  std::string module;
  if (!need(1)) return "";
  std::uint8_t tag = b[p++];
  std::size_t len = 0;
  if ((tag == 100 || tag == 118) && need(2)) {
    len = std::size_t{b[p]} << 8 | b[p + 1];
    p += 2;
  } else if ((tag == 115 || tag == 119) && need(1)) {
    len = b[p++];
  } else {
    return "";
  }
  if (!need(len)) return "";
  module.assign(reinterpret_cast<const char*>(b.data() + p), len);
  p += len;
  auto read_int = [&]() -> std::string {
    if (need(2) && b[p] == 97) {
      p += 2;
      return std::to_string(b[p - 1]);
    }
    if (need(5) && b[p] == 98) {
      std::int32_t v =
          static_cast<std::int32_t>(std::uint32_t{b[p + 1]} << 24 | std::uint32_t{b[p + 2]} << 16 |
                                    std::uint32_t{b[p + 3]} << 8 | b[p + 4]);
      p += 5;
      return std::to_string(v);
    }
    return "?";
  };
  std::string index = read_int();
  std::string uniq = read_int();
  return module + "." + index + "." + uniq;
}

// Prints with an explicit stack of the containers still open, so that depth costs no stack.
// Stops early (the text cut anywhere) once `limit` characters are out.
struct Printer {
  std::string& out;
  bool pretty;  // ~tp rather than ~w
  std::size_t limit = std::string::npos;

  // A container still open: what comes next inside it.
  struct Frame {
    enum Kind : std::uint8_t { tuple, map_key, map_value, list, list_close } kind;
    bool first;
    std::uint32_t i;     // list: the index of the next cell in `p` (== count: its tail is next)
    const void* p;       // tuple: the next element; map: the next entry; list: the cell's node
    std::uint64_t left;  // tuple, map: elements or entries left
  };

  void print(const Term& t) {
    detail::WorkStack<Frame, 16> st;
    open(t, st);
    while (!st.empty() && out.size() < limit) {
      Frame& f = st.top();
      bool first = f.first;
      f.first = false;
      switch (f.kind) {
        case Frame::tuple: {
          if (f.left == 0) {
            out += '}';
            st.pop();
            break;
          }
          const auto* e = static_cast<const Term*>(f.p);
          f.p = e + 1;
          --f.left;
          if (!first) out += ',';
          open(*e, st);
          break;
        }
        case Frame::map_key: {
          if (f.left == 0) {
            out += '}';
            st.pop();
            break;
          }
          if (!first) out += ',';
          f.kind = Frame::map_value;
          open(static_cast<const MapEntry*>(f.p)->key, st);
          break;
        }
        case Frame::map_value: {
          const auto* e = static_cast<const MapEntry*>(f.p);
          f.p = e + 1;
          --f.left;
          f.kind = Frame::map_key;
          out += " => ";
          open(e->value, st);
          break;
        }
        case Frame::list: {
          const auto* node = static_cast<const ListNode*>(f.p);
          if (f.i == node->count) {  // the tail, which is not a cell
            if (A::rep(node->tail) == Rep::nil) {
              out += ']';
              st.pop();
            } else {
              out += '|';
              f.kind = Frame::list_close;
              open(node->tail, st);
            }
            break;
          }
          const Term& head = node->elems()[f.i];
          if (++f.i == node->count && A::rep(node->tail) == Rep::list) {
            f.i = A::aux(node->tail);
            f.p = A::list_node(node->tail);
          }
          if (!first) out += ',';
          open(head, st);
          break;
        }
        case Frame::list_close:
          out += ']';
          st.pop();
          break;
      }
    }
  }

  // Prints a leaf whole, or the opening of a container and pushes what it holds.
  void open(const Term& t, detail::WorkStack<Frame, 16>& st) {
    switch (A::rep(t)) {
      case Rep::nil:
        out += "[]";
        return;
      case Rep::atom:
        put_atom(out, t.as_atom(), true);
        return;
      case Rep::small: {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, A::i(t));
        out.append(buf, r.ptr);
        return;
      }
      case Rep::big:
        put_big(out, t);
        return;
      case Rep::flt:
        put_float(out, A::d(t));
        return;
      case Rep::export_fun:
        out += "fun ";
        put_atom(out, t.fun_module(), true);
        out += ':';
        put_atom(out, t.fun_function(), true);
        out += '/';
        out += std::to_string(t.fun_arity());
        return;
      case Rep::local_fun:
        out += "#Fun<" + local_fun_name(t.local_fun_body()) + ">";
        return;
      case Rep::port:
        out += ambitious::to_string(t.as_port());
        return;
      case Rep::pid:
        out += ambitious::to_string(t.as_pid());
        return;
      case Rep::ref:
        out += ambitious::to_string(t.as_ref());
        return;
      case Rep::tuple:
        out += '{';
        st.push({Frame::tuple, true, 0, t.elements().data(), t.size()});
        return;
      case Rep::map:
        out += "#{";
        st.push({Frame::map_key, true, 0, t.entries().data(), t.size()});
        return;
      case Rep::list:
        if (pretty && is_printable_list(t)) {
          out += '"';
          t.for_each_element([&](const Term& e) {
            put_quoted_char(out, static_cast<std::uint32_t>(A::i(e)), '"', true);
          });
          out += '"';
          return;
        }
        out += '[';
        st.push({Frame::list, true, A::aux(t), A::list_node(t), 0});
        return;
      case Rep::binary:
        binary(t);
        return;
    }
  }

  static bool is_printable_list(const Term& t) {
    if (!t.is_proper_list()) return false;
    bool ok = true;
    t.for_each_element(
        [&](const Term& e) { return ok = A::rep(e) == Rep::small && printable_latin1(A::i(e)); });
    return ok;
  }

  void binary(const Term& t) {
    auto b = t.bytes();
    if (pretty && t.is_binary() && !b.empty()) {
      const auto* p = b.data();
      const auto* end = p + b.size();
      // Valid UTF-8 with some multi-byte character is read as UTF-8 and printed as text only
      // when every character is printable in Erlang's default range, Latin-1; other bytes are
      // read as Latin-1.
      bool utf8 = true, wide = false, printable = true;
      for (const auto* q = p; utf8 && q < end;) {
        std::uint32_t c;
        if (!next_code_point(q, end, c)) {
          utf8 = false;
        } else {
          wide = wide || c >= 0x80;
          printable = printable && printable_latin1(c);
        }
      }
      if (utf8 && wide) {
        if (printable) {
          out += "<<\"";
          for (const auto* q = p; q < end;) {
            std::uint32_t c = 0;
            next_code_point(q, end, c);
            put_quoted_char(out, c, '"', true);
          }
          out += "\"/utf8>>";
          return;
        }
      } else {
        bool latin1 = true;
        for (auto c : b) latin1 = latin1 && printable_latin1(c);
        if (latin1) {
          out += "<<\"";
          for (auto c : b) put_quoted_char(out, c, '"', true);
          out += "\">>";
          return;
        }
      }
    }
    out += "<<";
    unsigned last = t.last_byte_bits();
    for (std::size_t k = 0; k < b.size(); ++k) {
      if (k) out += ',';
      if (k + 1 == b.size() && last != 8) {
        out += std::to_string(b[k] >> (8 - last));
        out += ':';
        out += std::to_string(last);
      } else {
        out += std::to_string(b[k]);
      }
    }
    out += ">>";
  }
};

}  // namespace

std::string Term::to_string(TermFormat format) const {
  std::string out;
  Printer{out, format == TermFormat::p}.print(*this);
  return out;
}

std::string to_string_prefix(const Term& t, TermFormat format, std::size_t limit) {
  std::string out;
  Printer{out, format == TermFormat::p, limit + 1}.print(t);  // one more tells a longer text
  if (out.size() > limit) {
    out.resize(limit);
    out += "...";
  }
  return out;
}

std::ostream& operator<<(std::ostream& out, const Term& t) { return out << t.to_string(); }

}  // namespace ambitious
