#pragma once
// spawn, spawn_link, spawn_monitor: start a process running a coroutine.

#include <concepts>
#include <type_traits>
#include <utility>

#include "ambitious/core/functional.hpp"
#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {
namespace detail {

enum class SpawnLink : unsigned char { none, link, monitor };
/// Starts a process whose body is `body`; the monitor ref goes to `*monitor_ref` when asked.
Pid spawn_task(Task<> body, SpawnLink how, Ref* monitor_ref);

template <class F, class... A>
Task<> bind_body(F f, A... args) {
  // `f` and `args` live in this frame for the whole process, so a lambda's captures and the
  // arguments outlive the coroutine they start.
  co_await detail::invoke(f, std::move(args)...);
}

template <class Fn>
struct by_value_function : std::false_type {};
template <class... P>
struct by_value_function<Task<> (*)(P...)> : std::bool_constant<(!std::is_reference_v<P> && ...)> {
};

template <class F, class... A>
Task<> make_body(F&& f, A&&... args) {
  using Fn = std::decay_t<F>;
  if constexpr (sizeof...(A) == 0 && std::is_convertible_v<Fn, Task<> (*)()>) {
    return static_cast<Task<> (*)()>(f)();  // a function or capture-less lambda: one frame
  } else if constexpr (by_value_function<Fn>::value) {
    return f(std::forward<A>(args)...);  // its frame keeps copies of its arguments: one frame
  } else {
    return bind_body(Fn(std::forward<F>(f)), std::decay_t<A>(std::forward<A>(args))...);
  }
}

}  // namespace detail

/// What spawn accepts: a callable that, given the arguments, returns a Task<>.
template <class F, class... A>
concept ProcessBody =
    std::invocable<std::decay_t<F>&, std::decay_t<A>...> &&
    std::same_as<std::invoke_result_t<std::decay_t<F>&, std::decay_t<A>...>, Task<>>;

/// Starts a process running `f(args...)`; `f` and the arguments are moved into the process.
/// Inside a process only (the root process is started by run()).
template <class F, class... A>
  requires ProcessBody<F, A...>
Pid spawn(F&& f, A&&... args) {
  return detail::spawn_task(detail::make_body(std::forward<F>(f), std::forward<A>(args)...),
                            detail::SpawnLink::none, nullptr);
}

/// spawn, linked to the caller from the start (no window where the child runs unlinked).
template <class F, class... A>
  requires ProcessBody<F, A...>
Pid spawn_link(F&& f, A&&... args) {
  return detail::spawn_task(detail::make_body(std::forward<F>(f), std::forward<A>(args)...),
                            detail::SpawnLink::link, nullptr);
}

/// A spawned process and the ref of the caller's monitor on it.
struct SpawnedMonitor {
  Pid pid;  ///< the new process
  Ref ref;  ///< the caller's monitor on it
};

/// spawn, monitored by the caller from the start.
template <class F, class... A>
  requires ProcessBody<F, A...>
SpawnedMonitor spawn_monitor(F&& f, A&&... args) {
  SpawnedMonitor out;
  out.pid = detail::spawn_task(detail::make_body(std::forward<F>(f), std::forward<A>(args)...),
                               detail::SpawnLink::monitor, &out.ref);
  return out;
}

}  // namespace ambitious
