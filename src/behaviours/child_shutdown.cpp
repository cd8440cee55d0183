#include "child_shutdown.hpp"

#include <chrono>
#include <map>
#include <unordered_map>

#include "ambitious/behaviours/logger.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/timer.hpp"

namespace ambitious::detail {
namespace {

Task<Down> wait_down(Ref mref) {
  co_return co_await receive_if<Down>([mref](const Down& d) { return d.ref == mref; }).since(mref);
}

void report_shutdown_error(const Term& id, Pid child, const ExitReason& reason) {
  if (!log_enabled(LogLevel::error)) return;  // not formatted for nobody
  log(LogReport{LogLevel::error, "supervisor_shutdown_error", self(),
                "** Supervisor " + to_string(self()) + ": child " + id.to_string() + " " +
                    to_string(child) +
                    " did not end with the reason asked for: " + reason.to_string()});
}

}  // namespace

bool should_restart(Restart restart, const ExitReason& reason) noexcept {
  switch (restart) {
    case Restart::permanent:
      return true;
    case Restart::transient:
      return !reason.is_normal() && !reason.is_shutdown();
    case Restart::temporary:
      return false;
  }
  return false;
}

void report_child_terminated(const Term& id, Pid child, const ExitReason& reason) {
  if (reason.is_normal() || reason.is_shutdown() || !log_enabled(LogLevel::error)) return;
  log(LogReport{LogLevel::error, "supervisor_child_terminated", self(),
                "** Supervisor " + to_string(self()) + ": child " + id.to_string() + " " +
                    to_string(child) + " terminated: " + reason.to_string()});
}

Task<ExitReason> shutdown_child(Pid child, Shutdown how, Term id) {
  Ref mref = monitor(child);
  unlink(child);
  // It may have ended already: then its Exit is in our mailbox (unlink came too late to stop
  // it), and that is its reason, not the noproc of the monitor.
  if (auto early = co_await receive_if<Exit>([child](const Exit& e) { return e.from == child; },
                                             std::chrono::milliseconds(0))) {
    co_await wait_down(mref);
    co_return early->reason;
  }
  if (how.is_brutal_kill()) {
    exit(child, atoms::kill);
    Down d = co_await wait_down(mref);
    if (!d.reason.is(atoms::killed)) report_shutdown_error(id, child, d.reason);
    co_return d.reason;
  }
  exit(child, atoms::shutdown);
  std::optional<Down> d;
  if (how.is_infinity()) {
    d = co_await wait_down(mref);
  } else {
    d = co_await receive_if<Down>([mref](const Down& x) { return x.ref == mref; }, how.time())
            .since(mref);
    if (!d) {
      exit(child, atoms::kill);  // out of time: OTP kills it
      d = co_await wait_down(mref);
    }
  }
  if (!d->reason.is(atoms::shutdown)) report_shutdown_error(id, child, d->reason);
  co_return d->reason;
}

Task<> shutdown_children(std::vector<std::pair<Pid, Shutdown>> children) {
  // Each child by pid, with its monitor: a Down or an Exit is matched and dropped in O(1), so
  // stopping n children costs O(n) (a scan of a list of the children per message, and per Down
  // its removal, made it quadratic: seconds for 100,000 children).
  std::unordered_map<Pid, Ref> pending;
  pending.reserve(children.size());
  // Who is killed when: one group per shutdown time (all deadlines count from the same now).
  std::map<std::uint64_t, std::vector<Pid>> kills;
  Ref mark;
  std::uint64_t start = monotonic_time_ms();
  for (auto& [pid, how] : children) {
    mark = monitor(pid);
    pending.emplace(pid, mark);
    unlink(pid);
    if (how.is_brutal_kill()) {
      exit(pid, atoms::kill);
      continue;
    }
    exit(pid, atoms::shutdown);
    if (!how.is_infinity())
      kills[start + static_cast<std::uint64_t>(how.time().count())].push_back(pid);
  }
  while (!pending.empty()) {
    std::uint64_t now = monotonic_time_ms();
    for (; !kills.empty() && kills.begin()->first <= now; kills.erase(kills.begin()))
      for (Pid pid : kills.begin()->second)
        if (pending.contains(pid)) exit(pid, atoms::kill);  // out of time: killed, as OTP does
    Timeout wait =
        kills.empty() ? infinity : Timeout(std::chrono::milliseconds(kills.begin()->first - now));
    // Nothing in this process drained its mailbox since the monitors were made, so every
    // message queued before the last one's mark is older than all of them and is skipped: no
    // Down of theirs, and an Exit of a child that ended before it was unlinked is left behind
    // (the caller is ending). One that came later is taken and dropped, so that it is not
    // scanned again: its Down follows.
    co_await receive(
        match<Down>(
            [&](const Down& d) {
              auto it = pending.find(d.pid);
              return it != pending.end() && it->second == d.ref;
            },
            [&](Down d) { pending.erase(d.pid); }),
        match<Exit>([&](const Exit& e) { return pending.contains(e.from); }, [](Exit) {}),
        after(wait, [] {}))
        .since(mark);
  }
}

}  // namespace ambitious::detail
