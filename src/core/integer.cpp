#include "ambitious/core/integer.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ambitious {

namespace {

// An integer as sign and magnitude (little-endian bytes, no trailing zeros).
struct SignMagnitude {
  bool negative = false;
  std::vector<std::uint8_t> magnitude;
};

SignMagnitude split(const Term& t) {
  if (t.is_big()) {
    auto m = t.big_magnitude();
    return {t.big_negative(), {m.begin(), m.end()}};
  }
  std::int64_t v = *t.to_int64();
  // The magnitude of INT64_MIN does not fit in int64: negate in unsigned arithmetic.
  std::uint64_t u = v < 0 ? std::uint64_t(0) - std::uint64_t(v) : std::uint64_t(v);
  SignMagnitude s{v < 0, {}};
  for (; u; u >>= 8) s.magnitude.push_back(static_cast<std::uint8_t>(u));
  return s;
}

int compare_magnitudes(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (std::size_t i = a.size(); i-- > 0;)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

Term sum(SignMagnitude a, SignMagnitude b) {
  std::vector<std::uint8_t> out;
  bool negative = a.negative;
  if (a.negative == b.negative) {
    unsigned carry = 0;
    const std::size_t n = std::max(a.magnitude.size(), b.magnitude.size());
    out.reserve(n + 1);
    for (std::size_t i = 0; i < n || carry; ++i) {
      unsigned s = carry + (i < a.magnitude.size() ? a.magnitude[i] : 0u) +
                   (i < b.magnitude.size() ? b.magnitude[i] : 0u);
      out.push_back(static_cast<std::uint8_t>(s));
      carry = s >> 8;
    }
  } else {
    // Opposite signs: the larger magnitude minus the smaller, with the larger one's sign.
    if (compare_magnitudes(a.magnitude, b.magnitude) < 0) std::swap(a, b);
    negative = a.negative;
    out.reserve(a.magnitude.size());
    int borrow = 0;
    for (std::size_t i = 0; i < a.magnitude.size(); ++i) {
      int d = a.magnitude[i] - borrow - (i < b.magnitude.size() ? b.magnitude[i] : 0);
      borrow = d < 0;
      out.push_back(static_cast<std::uint8_t>(d + (borrow ? 256 : 0)));
    }
  }
  while (!out.empty() && out.back() == 0) out.pop_back();
  return Term::integer(negative && !out.empty(), out);
}

}  // namespace

std::optional<Term> integer_add(const Term& a, const Term& b) {
  if (!a.is_integer() || !b.is_integer()) return std::nullopt;
  if (!a.is_big() && !b.is_big()) {
    std::int64_t r;
    if (!__builtin_add_overflow(*a.to_int64(), *b.to_int64(), &r)) return Term(r);
  }
  return sum(split(a), split(b));
}

std::optional<Term> integer_subtract(const Term& a, const Term& b) {
  if (!a.is_integer() || !b.is_integer()) return std::nullopt;
  if (!a.is_big() && !b.is_big()) {
    std::int64_t r;
    if (!__builtin_sub_overflow(*a.to_int64(), *b.to_int64(), &r)) return Term(r);
  }
  SignMagnitude negated = split(b);
  negated.negative = !negated.negative && !negated.magnitude.empty();
  return sum(split(a), std::move(negated));
}

}  // namespace ambitious
