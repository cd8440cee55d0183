#pragma once
// ExitReason: why a process ended, as Erlang's exit reasons.

#include <iosfwd>
#include <string>
#include <string_view>

#include "ambitious/core/term.hpp"

namespace ambitious {

/// Any term, as in Erlang, with the reasons OTP gives meaning to made easy to build and test:
/// `normal`, `kill` (untrappable when sent with exit/2; partners then see `killed`), `shutdown`
/// and `{shutdown, T}`, `noproc`, `noconnection`, and ours, `{exception, What}`, for a C++
/// exception that escaped a process body. A value type; any thread.
class ExitReason {
 public:
  /// `normal`.
  ExitReason() noexcept : term_(atoms::normal) {}
  /// The atom `reason`: `ExitReason(atoms::shutdown)`.
  ExitReason(Atom reason) noexcept : term_(reason) {}
  /// Any term as a reason.
  explicit ExitReason(Term reason) noexcept : term_(std::move(reason)) {}

  /// `{shutdown, Detail}`.
  static ExitReason shutdown(Term detail) {
    return ExitReason(Term::tuple(atoms::shutdown, std::move(detail)));
  }
  /// `{exception, <<"what">>}`: a C++ exception escaped the process body.
  static ExitReason exception(std::string_view what) {
    return ExitReason(Term::tuple(atoms::exception, Term::binary(what)));
  }

  /// The reason as a term.
  const Term& term() const noexcept { return term_; }
  /// True when the reason is the atom `a`.
  bool is(Atom a) const noexcept { return term_.is_atom() && term_.as_atom() == a; }
  /// True for `normal`.
  bool is_normal() const noexcept { return is(atoms::normal); }
  /// True for `kill`.
  bool is_kill() const noexcept { return is(atoms::kill); }
  /// `shutdown` or `{shutdown, _}`: a clean stop, as supervisors see it.
  bool is_shutdown() const noexcept {
    return is(atoms::shutdown) || (term_.is_tuple() && term_.size() == 2 && term_[0].is_atom() &&
                                   term_[0].as_atom() == atoms::shutdown);
  }
  /// `{exception, What}`: the message of the escaped exception, else empty.
  std::string_view exception_what() const noexcept {
    if (term_.is_tuple() && term_.size() == 2 && term_[0].is_atom() &&
        term_[0].as_atom() == atoms::exception && term_[1].is_binary())
      return term_[1].as_string_view();
    return {};
  }

  friend bool operator==(const ExitReason& a, const ExitReason& b) noexcept {
    return a.term_ == b.term_;
  }
  friend bool operator==(const ExitReason& a, Atom b) noexcept { return a.is(b); }

  /// The reason as Erlang prints it: `{shutdown,closing_time}`.
  std::string to_string() const { return term_.to_string(); }

 private:
  Term term_;
};

/// Writes the value as Erlang prints it.
std::ostream& operator<<(std::ostream& out, const ExitReason& r);

}  // namespace ambitious
