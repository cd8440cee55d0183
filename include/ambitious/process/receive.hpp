#pragma once
// receive: typed, selective receive with an optional timeout, as Erlang's `receive ... after`.
//
//   Ping p = co_await receive<Ping>();                          // waits for a Ping
//   std::optional<Pong> r = co_await receive<Pong>(1s);          // empty on timeout
//   auto r = co_await receive_if<Reply>([&](const Reply& x) { return x.ref == ref; }, 5s);
//   co_await receive([](Ping p) { ... },                        // the first message, in mailbox
//                    [](Stop) { ... },                          // order, that any clause takes
//                    match<Job>([](const Job& j) { return j.urgent; }, [](Job j) { ... }),
//                    after(100ms, [] { ... }));
//
// Messages no clause takes stay in the mailbox, in order, for a later receive. A receive that
// waits for the reply to a request made after `ref` was created can say `.since(ref)`: it then
// skips the messages that were already queued (Erlang's receive marker), so a long mailbox is
// not scanned again for every reply.
//
// A message from another node is a Term in the mailbox. A clause for a type T with a Codec
// (ambitious/core/codec.hpp) also takes a Term message that Codec<T> decodes into a T its
// predicate accepts, and hands the decoded T to its handler; a Term that does not decode stays
// queued. So the same receive serves local and remote senders, in the one mailbox's order.
// `receive<Term>()` takes every Term message as it is; a type without a Codec never takes one.

#include <concepts>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ambitious/process/detail/receive_awaiter.hpp"
#include "ambitious/process/timeout.hpp"

namespace ambitious {

/// A clause taking a T only when `pred(const T&)` holds: `match<Job>(is_urgent, run_job)`.
template <class T, class Pred, class Handler>
auto match(Pred pred, Handler handler) {
  return detail::Clause<T, Pred, Handler>{std::move(pred), std::move(handler)};
}

/// A clause taking any message at all; the handler gets the message's C++ type name and the
/// message is dropped. Put it last (before after()): OTP's default handle_info, which logs
/// and drops what nobody expected, is built with it.
template <class Handler>
auto match_any(Handler handler) {
  return detail::AnyClause<Handler>{std::move(handler)};
}

/// The timeout clause of a multi-clause receive, last: `after(100ms, [] { ... })`.
template <class F>
auto after(Timeout timeout, F handler) {
  return detail::AfterClause<F>{timeout, std::move(handler)};
}

/// Waits for a message of type T and returns it.
template <class T>
auto receive() {
  using C = detail::Clause<T, detail::Always, detail::Identity<T>>;
  return detail::ReceiveAwaiter<detail::NoAfter, C>(std::tuple<C>{});
}

/// Waits up to `timeout` for a message of type T; empty on timeout (0 polls).
template <class T>
auto receive(Timeout timeout) {
  auto some = [](T&& v) { return std::optional<T>(std::move(v)); };
  auto none = [] { return std::optional<T>(); };
  using C = detail::Clause<T, detail::Always, decltype(some)>;
  using A = detail::AfterClause<decltype(none)>;
  return detail::ReceiveAwaiter<A, C>(std::tuple<C>{C{{}, some}}, A{timeout, none});
}

/// Waits for a message of type T for which `pred` holds; others stay queued.
template <class T, class Pred>
  requires std::predicate<Pred&, const T&>
auto receive_if(Pred pred) {
  using C = detail::Clause<T, Pred, detail::Identity<T>>;
  return detail::ReceiveAwaiter<detail::NoAfter, C>(std::tuple<C>{C{std::move(pred), {}}});
}

/// Waits up to `timeout` for a message of type T for which `pred` holds; empty on timeout.
template <class T, class Pred>
  requires std::predicate<Pred&, const T&>
auto receive_if(Pred pred, Timeout timeout) {
  auto some = [](T&& v) { return std::optional<T>(std::move(v)); };
  auto none = [] { return std::optional<T>(); };
  using C = detail::Clause<T, Pred, decltype(some)>;
  using A = detail::AfterClause<decltype(none)>;
  return detail::ReceiveAwaiter<A, C>(std::tuple<C>{C{std::move(pred), some}}, A{timeout, none});
}

/// Multi-clause receive: each handler takes one message type (or is a match<T>() clause); an
/// optional after() clause comes last. Returns what the chosen handler returns. A handler the
/// receive cannot use is a compile error that says what to write instead.
template <class... Handlers>
  requires(sizeof...(Handlers) > 0)
auto receive(Handlers... handlers) {
  using detail::ClauseProblem;
  constexpr ClauseProblem problem = detail::clauses_problem<Handlers...>();
  static_assert(problem != ClauseProblem::after_not_last,
                "receive: after(timeout, f) must be the last clause");
  static_assert(problem != ClauseProblem::only_after,
                "receive: no clause besides after(); to wait without taking a message, "
                "co_await sleep(timeout)");
  static_assert(problem != ClauseProblem::generic_handler,
                "receive: a clause must name the one message type it takes; a generic lambda "
                "(an auto parameter) or an overloaded callable cannot: write [](Ping p) { ... }, "
                "or use match<T>(pred, f)");
  static_assert(problem != ClauseProblem::not_one_parameter,
                "receive: a clause takes exactly one parameter, the message");
  static_assert(problem != ClauseProblem::takes_lvalue_reference,
                "receive: a clause takes its message by value, by const& or by &&, not by &");
  static_assert(problem != ClauseProblem::not_movable,
                "receive: a message type must be move-constructible");
  static_assert(problem != ClauseProblem::no_common_result,
                "receive: the clauses (and after) return types that have no common type: make "
                "them return the same type");
  if constexpr (problem == ClauseProblem::none) {
    constexpr std::size_t n = sizeof...(Handlers);
    constexpr bool with_after =
        detail::is_after_v<std::tuple_element_t<n - 1, std::tuple<Handlers...>>>;
    auto all = std::forward_as_tuple(std::move(handlers)...);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      using Clauses = std::tuple<decltype(detail::to_clause(std::move(std::get<I>(all))))...>;
      Clauses clauses(detail::to_clause(std::move(std::get<I>(all)))...);
      if constexpr (with_after)
        return detail::ReceiveAwaiter<std::tuple_element_t<n - 1, std::tuple<Handlers...>>,
                                      std::tuple_element_t<I, Clauses>...>(
            std::move(clauses), std::move(std::get<n - 1>(all)));
      else
        return detail::ReceiveAwaiter<detail::NoAfter, std::tuple_element_t<I, Clauses>...>(
            std::move(clauses));
    }(std::make_index_sequence < with_after ? n - 1 : n > {});
  }
}

}  // namespace ambitious
