#pragma once
// send: move a value into a process's mailbox.

#include <concepts>
#include <type_traits>
#include <utility>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/term.hpp"
#include "ambitious/process/detail/message.hpp"
#include "ambitious/process/registered_name.hpp"

namespace ambitious {

/// What became of a message delivered from outside the sending process's code (deliver_term).
enum class Delivery {
  queued,      ///< in the receiver's mailbox
  no_process,  ///< no such live local process (or name): the message is dropped, as OTP does
  no_runtime,  ///< no runtime runs, or it is stopping: the message is dropped
};

namespace detail {
/// Delivers `m` to `to`, or destroys it if `to` is dead. Inside a process only.
void deliver(Pid to, Message* m);
/// Delivers `m` to the process registered as `name`; throws BadArg when there is none.
void deliver(Atom name, Message* m);
/// Delivers `m` to the process registered as `to.name` on `to.node`; see send(RegisteredName).
void deliver(const RegisteredName& to, Message* m);
/// Delivers `m` to `to` (or the process registered as `name`) from any thread.
Delivery post_message(Pid to, Message* m);
Delivery post_message(Atom name, Message* m);
}  // namespace detail

/// Sends `value` to `to`. Order is kept per sender and receiver; a dead `to` drops it silently.
///
/// A `to` of another node gets `value` as the term its Codec makes, through the distribution
/// (SEND_SENDER); the receiver's `receive<T>` decodes it. A type without a Codec cannot leave the
/// node: sending one to a remote pid throws BadArg (escaping the process body, it ends the
/// process with `{exception, What}`), whether or not this node is distributed, so the mistake
/// shows on the first try. When this node is not distributed the message is dropped silently,
/// as OTP 25 drops it.
template <class T>
  requires std::is_constructible_v<std::decay_t<T>, T&&>
void send(Pid to, T&& value) {
  detail::deliver(to, detail::make_message<std::decay_t<T>>(std::forward<T>(value)));
}

/// Sends `value` to the process registered as `name`; throws BadArg when nobody is (as
/// Erlang's `Name ! Msg` raises badarg).
template <class T>
  requires std::is_constructible_v<std::decay_t<T>, T&&>
void send(Atom name, T&& value) {
  detail::deliver(name, detail::make_message<std::decay_t<T>>(std::forward<T>(value)));
}

/// Sends `value` to the process registered as `to.name` on the node `to.node` (Erlang's
/// `{Name, Node} ! Msg`): this node's name sends locally, and, as in OTP, a name nobody holds
/// drops the message (no BadArg, unlike send(Atom)); another node's goes through the
/// distribution (REG_SEND) as a term, and needs a Codec as send(Pid) to a remote pid does.
template <class T>
  requires std::is_constructible_v<std::decay_t<T>, T&&>
void send(const RegisteredName& to, T&& value) {
  detail::deliver(to, detail::make_message<std::decay_t<T>>(std::forward<T>(value)));
}

/// A message type an emplacing send can build: a plain object type (no reference, no const).
template <class T>
concept MessageValue = std::is_object_v<T> && std::same_as<T, std::remove_cv_t<T>>;

/// Sends a T built in place, inside the message, from `args` (`T(args...)`, which also
/// initialises an aggregate member by member): `send<SetName>(to, std::string("x"))`. Write
/// a message with members that have destructors this way: there is no braced temporary of T
/// for g++ 12 to destroy twice when the same full-expression awaits (README, "A g++ 12 trap").
template <MessageValue T, class... A>
  requires std::is_constructible_v<T, A&&...>
void send(Pid to, A&&... args) {
  detail::deliver(to, detail::make_message<T>(std::forward<A>(args)...));
}

/// Sends a T built in place from `args` to the process registered as `name`; throws BadArg
/// when nobody is.
template <MessageValue T, class... A>
  requires std::is_constructible_v<T, A&&...>
void send(Atom name, A&&... args) {
  detail::deliver(name, detail::make_message<T>(std::forward<A>(args)...));
}

/// Sends `value` to `to` from any thread — a signal handler's thread, a thread of another
/// library — where send() is not allowed (it is a process function). Slower than send (the
/// foreign threads take turns); false when no runtime is running, or it is stopping (then the
/// value is dropped).
template <class T>
  requires std::is_constructible_v<std::decay_t<T>, T&&>
bool post(Pid to, T&& value) {
  return detail::post_message(to, detail::make_message<std::decay_t<T>>(std::forward<T>(value))) !=
         Delivery::no_runtime;
}

/// Delivers `message`, a term from another node, to the local process `to`, from any thread:
/// the entry point of the distribution's connections (the thread reading a connection may be a
/// worker or a thread of its own). `receive<Term>()` takes it. What one thread pushes into one
/// mailbox arrives in the order pushed, messages and signals alike: a connection that hands on
/// what it reads in the order it read it keeps the per-sender order OTP keeps between nodes.
/// From a thread that is not a worker it takes the foreign threads' slow path (see post).
Delivery deliver_term(Pid to, Term message);
/// Delivers `message` to the process registered as `name` (the distribution's REG_SEND):
/// `no_process` when nobody is registered under it.
Delivery deliver_term(Atom name, Term message);

}  // namespace ambitious
