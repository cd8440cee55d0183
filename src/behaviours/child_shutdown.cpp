#include "behaviours/child_shutdown.hpp"

#include <algorithm>
#include <chrono>

#include "ambitious/behaviours/logger.hpp"
#include "ambitious/process/link.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "runtime/timer_wheel.hpp"

namespace ambitious::detail {
namespace {

Task<Down> wait_down(Ref mref) {
  co_return co_await receive_if<Down>([mref](const Down& d) { return d.ref == mref; }).since(mref);
}

void report_shutdown_error(const Term& id, Pid child, const ExitReason& reason) {
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
  struct Pending {
    Pid pid;
    Ref mref;
    std::uint64_t kill_at;  // ms on the runtime clock; max: never
  };
  std::vector<Pending> pending;
  std::uint64_t now = now_ms();
  for (auto& [pid, how] : children) {
    Ref mref = monitor(pid);
    unlink(pid);
    std::uint64_t kill_at = UINT64_MAX;
    if (how.is_brutal_kill()) {
      exit(pid, atoms::kill);
    } else {
      exit(pid, atoms::shutdown);
      if (!how.is_infinity()) kill_at = now + static_cast<std::uint64_t>(how.time().count());
    }
    pending.push_back(Pending{pid, mref, kill_at});
  }
  // Drop the Exits of children that ended before they were unlinked.
  while (co_await receive_if<Exit>(
      [&](const Exit& e) {
        return std::any_of(pending.begin(), pending.end(),
                           [&](auto& p) { return p.pid == e.from; });
      },
      std::chrono::milliseconds(0))) {
  }
  while (!pending.empty()) {
    std::uint64_t next_kill = UINT64_MAX;
    for (auto& p : pending) next_kill = std::min(next_kill, p.kill_at);
    now = now_ms();
    Timeout wait = next_kill == UINT64_MAX
                       ? infinity
                       : Timeout(std::chrono::milliseconds(next_kill > now ? next_kill - now : 0));
    auto d = co_await receive_if<Down>(
        [&](const Down& x) {
          return std::any_of(pending.begin(), pending.end(),
                             [&](auto& p) { return p.mref == x.ref; });
        },
        wait);
    if (d) {
      std::erase_if(pending, [&](auto& p) { return p.mref == d->ref; });
      continue;
    }
    now = now_ms();
    for (auto& p : pending)
      if (p.kill_at <= now) {
        exit(p.pid, atoms::kill);
        p.kill_at = UINT64_MAX;
      }
  }
}

}  // namespace ambitious::detail
