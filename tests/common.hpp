#pragma once
// What the tests of the process layer and above share: the runtimes the tests run on, and the
// coroutine harness (run a test body as a process, wait for the message that proves a state).
//
//   TEST(Suite, something_happens) {
//     run_test([]() -> Task<> {
//       Pid p = spawn(worker);
//       Ref mref = monitor(p);
//       send(p, Go{});
//       Reply r = co_await expect<Reply>([](const Reply& x) { return x.n == 1; });
//       co_await expect_down(mref, atoms::normal);
//     });
//   }

#include <gtest/gtest.h>

#include <chrono>
#include <source_location>
#include <string>
#include <utility>

#include "ambitious/core/atom.hpp"
#include "ambitious/process/detail/message.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/runtime.hpp"
#include "ambitious/runtime/task.hpp"
#include "patience.hpp"

namespace ambitious::test {

/// A runtime with one worker: processes run one at a time, so interleavings are exact.
inline constexpr RuntimeOptions one_worker{.workers = 1};
/// Several workers, for stealing and cross-thread wake-ups.
inline constexpr RuntimeOptions two_workers{.workers = 2};
inline constexpr RuntimeOptions four_workers{.workers = 4};

/// Runs `body` as the root process of a runtime with `options` and fails the calling test
/// unless the root ends `normal`; the failure names the reason it ended with.
template <class F>
void run_test(const RuntimeOptions& options, F&& body,
              std::source_location where = std::source_location::current()) {
  ExitReason reason;
  int code = detail::run_root(detail::make_body(std::forward<F>(body)), options, &reason);
  if (code != 0)
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "the test's root process ended with " << reason.to_string();
}
/// run_test on one worker.
template <class F>
void run_test(F&& body, std::source_location where = std::source_location::current()) {
  run_test(one_worker, std::forward<F>(body), where);
}

/// Ends the calling process, and so fails run_test, with `{test_gave_up, Why}`: a step the test
/// needs did not happen (a start failed, or what it waited for never came).
[[noreturn]] inline void give_up(std::string_view why = "a step of the test failed") {
  exit(ExitReason(Term::tuple(Atom("test_gave_up"), Term::binary(why))));
}

/// The next message of type T for which `pred` holds (others stay queued); the test fails if
/// none comes within `patience`.
template <class T, class Pred>
Task<T> expect(Pred pred) {
  auto m = co_await receive_if<T>(std::move(pred), patience);
  if (!m) give_up("no " + std::string(detail::type_name<T>()) + " came");
  co_return std::move(*m);
}
/// The next message of type T; the test fails if none comes within `patience`.
template <class T>
Task<T> expect() {
  co_return co_await expect<T>([](const T&) { return true; });
}

/// The Down of monitor `ref`; the test fails if it does not come.
inline Task<Down> expect_down(Ref ref) {
  co_return co_await expect<Down>([ref](const Down& d) { return d.ref == ref; });
}
/// The Down of monitor `ref`, which must carry `reason`.
inline Task<Down> expect_down(Ref ref, ExitReason reason,
                              std::source_location where = std::source_location::current()) {
  Down d = co_await expect_down(ref);
  if (!(d.reason == reason))
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "the Down's reason is " << d.reason.to_string() << ", not " << reason.to_string();
  co_return d;
}

}  // namespace ambitious::test
