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

#include <concepts>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ambitious/process/detail/receive_core.hpp"
#include "ambitious/process/timeout.hpp"

namespace ambitious {
namespace detail {

template <class F>
struct callable_traits : callable_traits<decltype(&std::remove_cvref_t<F>::operator())> {};
template <class R, class A>
struct callable_traits<R (*)(A)> {
  using arg = A;
};
template <class R, class A>
struct callable_traits<R (&)(A)> {
  using arg = A;
};
template <class C, class R, class A>
struct callable_traits<R (C::*)(A) const> {
  using arg = A;
};
template <class C, class R, class A>
struct callable_traits<R (C::*)(A)> {
  using arg = A;
};
template <class C, class R, class A>
struct callable_traits<R (C::*)(A) const noexcept> {
  using arg = A;
};
template <class C, class R, class A>
struct callable_traits<R (C::*)(A) noexcept> {
  using arg = A;
};

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

/// A receive clause: takes a message of type T when `pred` holds, and hands it to `handler`.
template <class T, class Pred, class Handler>
struct Clause {
  using type = T;
  Pred pred;
  Handler handler;
  bool accepts(Message& m) const {
    return m.type == message_type<T> && std::invoke(pred, std::as_const(value_of<T>(m)));
  }
  decltype(auto) take(Message& m) { return std::invoke(handler, std::move(value_of<T>(m))); }
};

/// A clause taking any message of a type no earlier clause took (see match_any).
template <class Handler>
struct AnyClause {
  using type = void;
  static constexpr bool pred = true;
  Handler handler;
  bool accepts(Message&) const noexcept { return true; }
  decltype(auto) take(Message& m) { return std::invoke(handler, m.type->name()); }
};

template <class H>
auto to_clause(H&& h) {
  if constexpr (requires {
                  typename std::remove_cvref_t<H>::type;
                  std::remove_cvref_t<H>::pred;
                }) {
    return std::forward<H>(h);  // already a Clause (from match<T>)
  } else {
    using T = std::remove_cvref_t<typename callable_traits<std::remove_cvref_t<H>>::arg>;
    static_assert(std::is_move_constructible_v<T>, "a message type must be movable");
    return Clause<T, Always, std::decay_t<H>>{Always{}, std::forward<H>(h)};
  }
}

template <class F>
struct AfterClause {
  Timeout timeout;
  F handler;
};

template <class C>
using clause_result_t = decltype(std::declval<C&>().take(std::declval<Message&>()));

/// The "after" of a receive without a timeout.
struct NoAfter {};

template <class After, class... Clauses>
struct receive_result {
  using type = std::common_type_t<clause_result_t<Clauses>...,
                                  std::invoke_result_t<decltype(std::declval<After&>().handler)>>;
};
template <class... Clauses>
struct receive_result<NoAfter, Clauses...> {
  using type = std::common_type_t<clause_result_t<Clauses>...>;
};

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
    return dispatch(request_.clause, *owned.get(), std::index_sequence_for<Clauses...>{});
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
  result_type dispatch(int clause, Message& m, std::index_sequence<I, Rest...>) {
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

template <class... Hs>
struct last_is_after : std::false_type {};
template <class H>
    struct last_is_after<H> : std::bool_constant < requires {
  std::declval<H>().timeout;
} > {};
template <class H, class... Hs>
struct last_is_after<H, Hs...> : last_is_after<Hs...> {};

}  // namespace detail

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
/// optional after() clause comes last. Returns what the chosen handler returns.
template <class... Handlers>
  requires(sizeof...(Handlers) > 0)
auto receive(Handlers... handlers) {
  if constexpr (detail::last_is_after<Handlers...>::value) {
    auto all = std::forward_as_tuple(std::move(handlers)...);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      auto clauses = std::make_tuple(detail::to_clause(std::move(std::get<I>(all)))...);
      auto last = std::move(std::get<sizeof...(Handlers) - 1>(all));
      return detail::ReceiveAwaiter<decltype(last),
                                    decltype(detail::to_clause(std::move(std::get<I>(all))))...>(
          std::move(clauses), std::move(last));
    }(std::make_index_sequence<sizeof...(Handlers) - 1>{});
  } else {
    auto clauses = std::make_tuple(detail::to_clause(std::move(handlers))...);
    return std::apply(
        [](auto&&... c) {
          return detail::ReceiveAwaiter<detail::NoAfter, std::decay_t<decltype(c)>...>(
              std::make_tuple(std::move(c)...));
        },
        std::move(clauses));
  }
}

}  // namespace ambitious
