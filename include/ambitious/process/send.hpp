#pragma once
// send: move a value into a process's mailbox.

#include <type_traits>
#include <utility>

#include "ambitious/core/atom.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/process/detail/message.hpp"

namespace ambitious {
namespace detail {
/// Delivers `m` to `to`, or destroys it if `to` is dead. Inside a process only.
void deliver(Pid to, Message* m);
/// Delivers `m` to the process registered as `name`; throws BadArg when there is none.
void deliver(Atom name, Message* m);
/// Delivers `m` to `to` from any thread; false when no runtime is running.
bool post_message(Pid to, Message* m);
}  // namespace detail

/// Sends `value` to `to`. Order is kept per sender and receiver; a dead `to` drops it silently.
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

/// Sends `value` to `to` from any thread — a signal handler's thread, a thread of another
/// library — where send() is not allowed (it is a process function). Slower than send (the
/// foreign threads take turns); false when no runtime is running, or it is stopping (then the
/// value is dropped).
template <class T>
  requires std::is_constructible_v<std::decay_t<T>, T&&>
bool post(Pid to, T&& value) {
  return detail::post_message(to, detail::make_message<std::decay_t<T>>(std::forward<T>(value)));
}

}  // namespace ambitious
