#pragma once
// rpc: C++ functions that other nodes call by {Module, Function, Arity}, as they call any
// Erlang function: `erpc:call(Node, M, F, Args)`, `rpc:call/4,5`, `rpc:block_call/4,5`,
// `erpc:cast`, `spawn(Node, M, F, Args)`.
//
//   dist::register_function(Atom("interop"), Atom("echo"), 1,
//                           [](std::span<const Term> a) { return a[0]; });
//   // the node's rpc server (`rex`, started with its net_kernel) runs it when called
//
// OTP 25's erpc:call (and rpc:call, built on it) sends SPAWN_REQUEST for
// erpc:execute_call(Ref, M, F, Args) with the options [monitor]; the new process ends with the
// exit reason {Ref, return, Value} (or {Ref, throw | exit, R}, {Ref, error, R, Stack}), which
// the caller reads from its monitor's DOWN. Here the node hands each SPAWN_REQUEST to the rpc
// server, which spawns an ordinary process that runs the registered function and ends the same
// way; link and monitor are in place before it runs. An MFA nobody registered fails as Erlang's
// undef does: `erpc:call` raises error:{exception, undef, [{M, F, Args, []}]} and `rpc:call`
// returns {badrpc, {'EXIT', {undef, [{M, F, Args, []}]}}}. The rpc server is also `rex`, the
// process rpc:block_call/4,5 calls ({block_call, M, F, Args, GroupLeader}: run in rex itself,
// in turn, as OTP does, so a function that receives there takes from rex's mailbox) and that
// old callers reach with {call, ...} and {cast, ...} (each run by a process of its own).
//
// A function fails as Erlang code does by throwing ErlangException (erlang:error/1, exit/1,
// throw/1); the process's own exit(reason) is exit/1 too (erpc:call raises
// exit:{exception, Reason}), BadArg is error:badarg, and any other exception escaping it is
// error:{exception, <<"what()">>}.

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/codec.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious::dist {

/// The class of an Erlang exception.
enum class ExceptionClass : std::uint8_t {
  error,   ///< erlang:error(Reason): a run-time error
  exit,    ///< exit(Reason)
  throw_,  ///< throw(Value): a non-local return
};

/// An Erlang exception raised by a registered function: the caller sees it as if an Erlang
/// function had raised it (erpc:call raises error:{exception, R, Stack}, exit:{exception, R},
/// or throws the value; rpc:call gives {badrpc, {'EXIT', ...}} or the thrown value).
class ErlangException : public std::exception {
 public:
  /// An exception of class `kind` with `reason`.
  ErlangException(ExceptionClass kind, Term reason) : kind_(kind), reason_(std::move(reason)) {}
  /// erlang:error(Reason).
  static ErlangException error(Term reason) { return {ExceptionClass::error, std::move(reason)}; }
  /// exit(Reason).
  static ErlangException exit(Term reason) { return {ExceptionClass::exit, std::move(reason)}; }
  /// throw(Value).
  static ErlangException thrown(Term value) { return {ExceptionClass::throw_, std::move(value)}; }

  /// The class.
  ExceptionClass kind() const noexcept { return kind_; }
  /// The reason (the thrown value for throw).
  const Term& reason() const noexcept { return reason_; }
  /// "error:Reason", as Erlang prints it.
  const char* what() const noexcept override;

 private:
  ExceptionClass kind_;
  Term reason_;
  mutable std::string what_;
};

/// A function other nodes call: its arguments (as many as its arity) to its result. It runs as
/// a process of its own, so it may co_await (receive, call a GenServer, sleep).
using RemoteFunction = std::function<Task<Term>(std::vector<Term> args)>;

/// Registers `f` as `module:function/arity`, replacing one registered before. Any thread.
void register_function(Atom module, Atom function, unsigned arity, RemoteFunction f);

/// What register_function takes besides a RemoteFunction: a plain function of the argument
/// terms to a term, run to its end (a long one should be a RemoteFunction that co_awaits).
template <class F>
concept TermFunction = std::is_invocable_r_v<Term, F&, std::span<const Term>>;

/// Registers `f`, a plain function of the argument terms, as `module:function/arity`.
template <TermFunction F>
  requires(!std::is_convertible_v<F, RemoteFunction>)
void register_function(Atom module, Atom function, unsigned arity, F f) {
  register_function(
      module, function, arity,
      RemoteFunction([f = std::move(f)](std::vector<Term> args) mutable -> Task<Term> {
        co_return f(std::span<const Term>(args));
      }));
}

/// \cond
namespace detail {
template <class F>
struct Signature : Signature<decltype(&F::operator())> {};
template <class R, class... A>
struct Signature<R (*)(A...)> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
};
template <class R, class C, class... A>
struct Signature<R (C::*)(A...) const> : Signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct Signature<R (C::*)(A...)> : Signature<R (*)(A...)> {};

/// error:function_clause, the error of arguments a typed function's Codecs refuse.
[[noreturn]] void no_matching_clause();

template <class Args, class F, std::size_t... I>
Term apply_typed(F& f, std::span<const Term> terms, std::index_sequence<I...>) {
  std::tuple<std::optional<std::tuple_element_t<I, Args>>...> decoded;
  bool ok = true;
  (
      [&] {
        auto v = Codec<std::tuple_element_t<I, Args>>::from_term(terms[I]);
        if (v) std::get<I>(decoded).emplace(std::move(*v));
        ok = ok && v.has_value();
      }(),
      ...);
  if (!ok) no_matching_clause();
  using R = std::decay_t<decltype(f(std::move(*std::get<I>(decoded))...))>;
  if constexpr (std::is_void_v<R>) {
    f(std::move(*std::get<I>(decoded))...);
    return Term(atoms::ok);
  } else if constexpr (std::is_same_v<R, Term>)
    return f(std::move(*std::get<I>(decoded))...);
  else
    return Codec<R>::to_term(f(std::move(*std::get<I>(decoded))...));
}
}  // namespace detail
/// \endcond

/// Registers `f`, a function of C++ values with Codecs (`[](std::int64_t a, std::int64_t b) {
/// return a + b; }`), as `module:function/N`, N its number of parameters: each argument is
/// decoded by its Codec (one that does not decode is error:function_clause, as an Erlang
/// function no clause of which matches), the result encoded by its own (a void function
/// returns `ok`).
template <class F>
void register_typed_function(Atom module, Atom function, F f) {
  using Sig = detail::Signature<std::decay_t<F>>;
  using Args = typename Sig::args;
  constexpr std::size_t n = std::tuple_size_v<Args>;
  register_function(module, function, static_cast<unsigned>(n),
                    [f = std::move(f)](std::span<const Term> terms) mutable -> Term {
                      return detail::apply_typed<Args>(f, terms, std::make_index_sequence<n>{});
                    });
}

/// Removes `module:function/arity`; false when it was not registered. Any thread.
bool unregister_function(Atom module, Atom function, unsigned arity);

/// The function registered as `module:function/arity`, if any. Any thread.
std::optional<RemoteFunction> find_function(Atom module, Atom function, unsigned arity);

/// The rpc server's pid (the null pid when none runs). The node starts it, registered as `rex`,
/// in the runtime where its net_kernel starts (as Erlang's kernel starts rex), and it serves the
/// node's SPAWN_REQUESTs and rex's calls from then on. While none runs (a node without a
/// runtime, or a program that registered a `rex` of its own), a peer's spawn request is
/// answered with the error `notsup` (erpc:call raises error:{erpc, notsup}, rpc:call returns
/// {badrpc, notsup}). Any thread.
Pid rpc_server_pid() noexcept;

}  // namespace ambitious::dist
