#pragma once
// Arithmetic on integer Terms of any size (Erlang's integers have no bound): what a function
// that serves Erlang callers needs when a 64-bit value is not enough.

#include <optional>

#include "ambitious/core/term.hpp"

namespace ambitious {

/// `a + b` for integers of any size (small or big), as Erlang's `+` on integers; nothing when
/// either is not an integer. The result is canonical (inline when it fits in 64 bits).
std::optional<Term> integer_add(const Term& a, const Term& b);
/// `a - b` for integers of any size; nothing when either is not an integer.
std::optional<Term> integer_subtract(const Term& a, const Term& b);

}  // namespace ambitious
