#pragma once
// run(): the runtime's entry point; blocking(): run a blocking function off the workers.

#include <concepts>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "ambitious/core/chrono.hpp"
#include "ambitious/core/functional.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/spawn.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious {

namespace detail {
/// std::thread::hardware_concurrency(), out of line: <thread> is a heavy header.
unsigned hardware_concurrency() noexcept;
}  // namespace detail

/// How run() sets up the runtime.
struct RuntimeOptions {
  unsigned workers = detail::hardware_concurrency();  ///< scheduler threads (0 = 1)
  unsigned blocking_threads = 64;                     ///< most threads the blocking pool grows to
  /// The time slice the workers ask the kernel for (runtime/time_slice.hpp): short, so that a
  /// process woken while the CPUs are busy runs at once rather than a scheduler tick later.
  /// Zero keeps the kernel's default; where the kernel has no such request, nothing changes.
  std::chrono::microseconds worker_slice{100};
};

namespace detail {
int run_root(Task<> root, const RuntimeOptions& options, ExitReason* root_reason);
}  // namespace detail

/// Starts the runtime, runs `f(args...)` as the root process, and returns when the root ends
/// (or shutdown() is called: then its code): 0 if it ended `normal`, 1 otherwise. Every other
/// process still alive then is destroyed (its frames and mailbox freed). One runtime at a time per
/// program.
template <class F, class... A>
  requires ProcessBody<F, A...>
int run(const RuntimeOptions& options, F&& f, A&&... args) {
  return detail::run_root(detail::make_body(std::forward<F>(f), std::forward<A>(args)...), options,
                          nullptr);
}
/// run with the default options: one worker per core.
template <class F, class... A>
  requires ProcessBody<F, A...>
int run(F&& f, A&&... args) {
  return run(RuntimeOptions{}, std::forward<F>(f), std::forward<A>(args)...);
}

/// Halts at once, as erlang:halt/1: run() returns `code` and nothing stops in order — no
/// application's prep_stop or stop, no supervisor's shutdown, no terminate callback runs; every
/// process still alive is destroyed where it waits (the destructors in its frames run). From any
/// thread. The orderly stop, as init:stop/1, is stop_program(code) in
/// ambitious/behaviours/application.hpp: the applications stop in reverse order, then run()
/// returns `code`.
void shutdown(int code = 0) noexcept;

namespace detail {

/// A blocking function and its outcome, submitted to the blocking pool.
struct BlockingCall {
  virtual void call() noexcept = 0;

 protected:
  ~BlockingCall() = default;
};
/// Suspends the calling process until `call` has run on the blocking pool.
void submit_blocking(BlockingCall& call, std::coroutine_handle<> h) noexcept;

template <class F>
class BlockingAwaiter final : public BlockingCall {
 public:
  using R = std::invoke_result_t<F&>;
  explicit BlockingAwaiter(F f) : f_(std::move(f)) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { submit_blocking(*this, h); }
  R await_resume() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<R>) return std::move(*result_);
  }
  void call() noexcept override {
    try {
      if constexpr (std::is_void_v<R>)
        detail::invoke(f_);
      else
        result_.emplace(detail::invoke(f_));
    } catch (...) {
      error_ = std::current_exception();
    }
  }

 private:
  F f_;
  std::conditional_t<std::is_void_v<R>, std::monostate, std::optional<R>> result_;
  std::exception_ptr error_;
};

}  // namespace detail

/// `co_await blocking(f)`: runs `f()` on the blocking pool, so a blocking call (file I/O, a C
/// library that sleeps) does not stop a worker; returns its result or rethrows its exception.
/// Exit signals sent meanwhile take effect when it returns.
template <class F>
  requires std::invocable<F&>
auto blocking(F f) {
  return detail::BlockingAwaiter<F>(std::move(f));
}

}  // namespace ambitious
