#pragma once
// What the receive templates ask of the running process (implemented in src/process).

#include <coroutine>
#include <cstdint>

#include "ambitious/core/ref.hpp"
#include "ambitious/process/detail/message.hpp"

namespace ambitious::detail {

/// Index of the first clause that `m` matches, or -1.
using MatchFn = int (*)(const void* clauses, Message& m);

/// One receive in progress. Lives in the awaiting coroutine's frame.
struct ReceiveRequest {
  MatchFn match;
  const void* clauses;
  std::uint64_t timeout_ms;  ///< UINT64_MAX: no timeout
  const Ref* since;          ///< scan only messages that arrived after this ref was made
  Message* matched = nullptr;
  int clause = -1;
};

/// Drains the inbox and looks for a match. True when the receive is over without waiting: a
/// message matched, or the timeout is 0. Throws NotInProcess outside a process.
bool receive_ready(ReceiveRequest& r);
/// Parks the receive; the scheduler resumes `h` on a match or at the timeout.
void receive_suspend(ReceiveRequest& r, std::coroutine_handle<> h) noexcept;

}  // namespace ambitious::detail
