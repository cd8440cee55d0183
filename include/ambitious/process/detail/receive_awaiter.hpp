#pragma once
// The machinery behind receive: clauses, the checks that explain a wrong clause in one line, and
// the awaitable that scans the mailbox.

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ambitious/core/codec.hpp"
#include "ambitious/core/functional.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/process/detail/receive_core.hpp"
#include "ambitious/process/timeout.hpp"

namespace ambitious::detail {

/// A callable's parameters, when it has one call operator that is not a template.
template <class F, class = void>
struct call_signature {
  static constexpr bool known = false;
};
template <class R, class... A>
struct call_signature<R (*)(A...)> {
  static constexpr bool known = true;
  static constexpr std::size_t arity = sizeof...(A);
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct call_signature<R (*)(A...) noexcept> : call_signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct call_signature<R (C::*)(A...)> : call_signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct call_signature<R (C::*)(A...) const> : call_signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct call_signature<R (C::*)(A...) noexcept> : call_signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct call_signature<R (C::*)(A...) const noexcept> : call_signature<R (*)(A...)> {};
template <class F>
struct call_signature<F, std::void_t<decltype(&F::operator())>>
    : call_signature<decltype(&F::operator())> {};

/// The message type a one-parameter handler takes.
template <class H>
using handler_message_t =
    std::remove_cvref_t<std::tuple_element_t<0, typename call_signature<H>::args>>;

struct Always {
  template <class T>
  constexpr bool operator()(const T&) const noexcept {
    return true;
  }
};

template <class T>
struct Identity {
  T operator()(T&& v) const { return std::move(v); }
};

/// True when a clause for T also takes a Term message that Codec<T> decodes (wire typing: a
/// message from another node is a Term in the mailbox). A clause for Term takes Terms as they
/// are; a type without a Codec never takes one.
template <class T>
inline constexpr bool decodes_from_term = Encodable<T> && !std::same_as<T, Term>;

/// The message holding the T that a clause decoded from the Term it accepted, until that
/// clause's take() hands it on. One per thread is enough: a scan stops at the first message a
/// clause accepts, and the receive takes it on the same thread before anything scans again.
/// Kept out of the clause, so that a receive's awaiter is no bigger and costs no more to build.
inline constinit thread_local Message* decoded_term = nullptr;

/// A receive clause: takes a message of type T when `pred` holds, and hands it to `handler`.
/// For a T with a Codec it also takes a Term message that decodes into a T for which `pred`
/// holds; the handler then gets the decoded T. The Term check comes after the type check and
/// only for such types, so a local message costs what it did.
template <class T, class Pred, class Handler>
struct Clause {
  static constexpr bool is_receive_clause = true;
  using type = T;
  Pred pred;
  Handler handler;
  bool accepts(Message& m) const {
    if (m.type == message_type<T>) return detail::invoke(pred, std::as_const(value_of<T>(m)));
    if constexpr (decodes_from_term<T>) {
      if (m.type == message_type<Term>) [[unlikely]]
        return accepts_term(value_of<Term>(m));
    }
    return false;
  }
  decltype(auto) take(MessagePtr& m) {
    if constexpr (decodes_from_term<T>) {
      if (m.get()->type == message_type<Term>) [[unlikely]]
        return take_term();
    }
    return detail::invoke(handler, std::move(value_of<T>(*m.get())));
  }

 private:
  // Out of line and cold: inlined, the decoding would give the scan of every local message a
  // stack frame to set up (measured: 6 -> 14 instructions per message matched).
  [[gnu::noinline, gnu::cold]] decltype(auto) take_term() {
    MessagePtr decoded(std::exchange(decoded_term, nullptr));
    return detail::invoke(handler, std::move(value_of<T>(*decoded.get())));
  }
  [[gnu::noinline, gnu::cold]] bool accepts_term(const Term& t) const {
    std::expected<T, CodecError> v = Codec<T>::from_term(t);
    if (!v || !detail::invoke(pred, std::as_const(*v))) return false;  // the Term stays queued
    MessagePtr stale(std::exchange(decoded_term, make_message<T>(std::move(*v))));
    return true;
  }
};

/// A clause taking any message of a type no earlier clause took (see match_any).
template <class Handler>
struct AnyClause {
  static constexpr bool is_receive_clause = true;
  Handler handler;
  bool accepts(Message&) const noexcept { return true; }
  decltype(auto) take(MessagePtr& m) { return detail::invoke(handler, m.get()->type->name()); }
};

/// A clause taking the next message whatever it is, as the message itself: for behaviours whose
/// loop dispatches on the message's type (see receive_next).
struct NextClause {
  static constexpr bool is_receive_clause = true;
  bool accepts(Message&) const noexcept { return true; }
  MessagePtr take(MessagePtr& m) noexcept { return std::move(m); }
};

template <class F>
struct AfterClause {
  Timeout timeout;
  F handler;
};

/// The "after" of a receive without a timeout.
struct NoAfter {};

template <class H>
inline constexpr bool is_clause_v = requires { H::is_receive_clause; };
template <class H>
inline constexpr bool is_after_v = false;
template <class F>
inline constexpr bool is_after_v<AfterClause<F>> = true;

/// What can be wrong with the handlers given to receive(...): each has its own static_assert.
enum class ClauseProblem {
  none,
  after_not_last,
  generic_handler,
  not_one_parameter,
  takes_lvalue_reference,
  not_movable,
  no_common_result,
  only_after,
};

template <class H>
constexpr ClauseProblem handler_problem() {
  if constexpr (is_after_v<H>) {
    return ClauseProblem::after_not_last;
  } else if constexpr (is_clause_v<H>) {
    return ClauseProblem::none;
  } else if constexpr (!call_signature<H>::known) {
    return ClauseProblem::generic_handler;
  } else if constexpr (call_signature<H>::arity != 1) {
    return ClauseProblem::not_one_parameter;
  } else if constexpr (!std::is_move_constructible_v<handler_message_t<H>>) {
    return ClauseProblem::not_movable;
  } else if constexpr (!std::is_invocable_v<H&, handler_message_t<H>&&>) {
    return ClauseProblem::takes_lvalue_reference;
  } else {
    return ClauseProblem::none;
  }
}

template <class H>
auto to_clause(H&& h) {
  using F = std::remove_cvref_t<H>;
  if constexpr (is_clause_v<F>)
    return std::forward<H>(h);  // already a clause (from match<T> or match_any)
  else
    return Clause<handler_message_t<F>, Always, F>{Always{}, std::forward<H>(h)};
}

template <class C>
using clause_result_t = decltype(std::declval<C&>().take(std::declval<MessagePtr&>()));

template <class After>
struct after_result {
  using type = std::invoke_result_t<decltype(std::declval<After&>().handler)>;
};

/// The common type of what the clauses (and the after clause) return; no `type` when none.
template <class After, class... Clauses>
struct receive_result
    : std::common_type<clause_result_t<Clauses>..., typename after_result<After>::type> {};
template <class... Clauses>
struct receive_result<NoAfter, Clauses...> : std::common_type<clause_result_t<Clauses>...> {};

template <class After, class... Clauses>
inline constexpr bool has_common_result =
    requires { typename receive_result<After, Clauses...>::type; };

/// The awaitable behind every receive form. `After` is an AfterClause, or NoAfter.
template <class After, class... Clauses>
class [[nodiscard]] ReceiveAwaiter {
 public:
  using result_type = typename receive_result<After, Clauses...>::type;

  explicit ReceiveAwaiter(std::tuple<Clauses...> clauses, After after = {})
      : clauses_(std::move(clauses)), after_(std::move(after)) {}

  /// Skip the messages queued before `ref` was made (it must be the latest ref this process
  /// made, or a monitor ref; otherwise the whole mailbox is scanned, which is still correct).
  ReceiveAwaiter&& since(const Ref& ref) && noexcept {
    since_ = ref;
    return std::move(*this);
  }

  bool await_ready() {
    request_ = ReceiveRequest{&match, this, timeout_ms(), since_.is_null() ? nullptr : &since_};
    return receive_ready(request_);
  }
  void await_suspend(std::coroutine_handle<> h) noexcept { receive_suspend(request_, h); }
  result_type await_resume() {
    if (!request_.matched) {
      if constexpr (!std::is_same_v<After, NoAfter>) return after_.handler();
    }
    MessagePtr owned(request_.matched);
    return dispatch(request_.clause, owned, std::index_sequence_for<Clauses...>{});
  }

 private:
  std::uint64_t timeout_ms() const noexcept {
    if constexpr (std::is_same_v<After, NoAfter>)
      return Timeout::infinite().milliseconds();
    else
      return after_.timeout.milliseconds();
  }

  static int match(const void* self, Message& m) {
    auto& clauses = static_cast<const ReceiveAwaiter*>(self)->clauses_;
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      int found = -1;
      (void)((std::get<I>(clauses).accepts(m) ? (found = static_cast<int>(I), true) : false) ||
             ...);
      return found;
    }(std::index_sequence_for<Clauses...>{});
  }

  template <std::size_t I, std::size_t... Rest>
  result_type dispatch(int clause, MessagePtr& m, std::index_sequence<I, Rest...>) {
    if (clause == static_cast<int>(I) || sizeof...(Rest) == 0) {
      if constexpr (std::is_void_v<result_type>)
        std::get<I>(clauses_).take(m);
      else
        return std::get<I>(clauses_).take(m);
    } else {
      if constexpr (sizeof...(Rest) > 0) return dispatch(clause, m, std::index_sequence<Rest...>{});
    }
  }

  std::tuple<Clauses...> clauses_;
  [[no_unique_address]] After after_;
  Ref since_;
  ReceiveRequest request_{};
};

/// The after() clause of a handler list: its last handler, if that is one.
template <class Handlers>
using after_of_t =
    std::conditional_t<is_after_v<std::tuple_element_t<std::tuple_size_v<Handlers> - 1, Handlers>>,
                       std::tuple_element_t<std::tuple_size_v<Handlers> - 1, Handlers>, NoAfter>;

template <class Handlers, std::size_t... I>
constexpr ClauseProblem common_result_problem(std::index_sequence<I...>) {
  if constexpr (has_common_result<after_of_t<Handlers>,
                                  decltype(to_clause(
                                      std::declval<std::tuple_element_t<I, Handlers>>()))...>)
    return ClauseProblem::none;
  else
    return ClauseProblem::no_common_result;
}

template <class Handlers, std::size_t... I>
constexpr ClauseProblem clauses_problem_at(std::index_sequence<I...> clauses) {
  if constexpr (sizeof...(I) == 0) {
    return ClauseProblem::only_after;
  } else {
    constexpr ClauseProblem each[] = {handler_problem<std::tuple_element_t<I, Handlers>>()...};
    constexpr ClauseProblem first = [&] {
      for (ClauseProblem p : each)
        if (p != ClauseProblem::none) return p;
      return ClauseProblem::none;
    }();
    // Only well-formed clauses can be asked for their results.
    if constexpr (first != ClauseProblem::none)
      return first;
    else
      return common_result_problem<Handlers>(clauses);
  }
}

/// The first problem among the handlers of a multi-clause receive (an after() may come last).
template <class... Handlers>
constexpr ClauseProblem clauses_problem() {
  using All = std::tuple<Handlers...>;
  constexpr std::size_t clauses = sizeof...(Handlers) - (is_after_v<after_of_t<All>> ? 1 : 0);
  return clauses_problem_at<All>(std::make_index_sequence<clauses>{});
}

/// Awaits the next message, whatever its type, or nothing after `timeout`.
struct NoMessage {
  MessagePtr operator()() const noexcept { return MessagePtr(); }
};
inline ReceiveAwaiter<AfterClause<NoMessage>, NextClause> receive_next(Timeout timeout) {
  return ReceiveAwaiter<AfterClause<NoMessage>, NextClause>(std::tuple<NextClause>{},
                                                            AfterClause<NoMessage>{timeout, {}});
}

}  // namespace ambitious::detail
