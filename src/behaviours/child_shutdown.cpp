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

void report_shutdown_error(const Term& id, Term children, const ExitReason& reason) {
  if (!log_enabled(LogLevel::error)) return;  // not formatted for nobody
  log(LogReport{LogLevel::error, "supervisor_shutdown_error", self(),
                "** Supervisor " + to_string(self()) + ": child " + id.to_string() + " " +
                    children.to_string() +
                    " did not end with the reason asked for: " + reason.to_string()});
}

/// Whether a child stopped `how` that ended with `reason` ended as asked (OTP's shutdown/1:
/// killed for brutal_kill, shutdown otherwise; and for a child that is not permanent also
/// normal, shutdown and {shutdown, _}). Any other end is reported.
bool ended_as_asked(const Shutdown& how, Restart restart, const ExitReason& reason) {
  if (reason.is(how.is_brutal_kill() ? atoms::killed : atoms::shutdown)) return true;
  return restart != Restart::permanent && (reason.is_normal() || reason.is_shutdown());
}

// The queued Exit from `child`, taken without waiting (or waiting as long as `wait` says).
Task<std::optional<Exit>> exit_from(Pid child, Timeout wait) {
  co_return co_await receive_if<Exit>([child](const Exit& e) { return e.from == child; }, wait);
}

/// OTP's unlink_flush: the reason a child ended with, whose Down said `down_reason`. A Down that
/// says noproc (it had ended before the monitor) gives way to its Exit, which is still to come
/// while the link is there; otherwise the child is unlinked and its Exit, if any, dropped.
Task<ExitReason> unlink_flush(Pid child, ExitReason down_reason, ExitsOf* exits) {
  if (!down_reason.is(atoms::noproc)) {
    unlink(child);
    if (exits) {
      co_await exits->collect();
      exits->take(child);
    } else {
      co_await exit_from(child, std::chrono::milliseconds(0));
    }
    co_return down_reason;
  }
  bool coming = linked(child);
  if (exits) {
    co_await exits->collect();
    if (auto reason = exits->take(child)) co_return std::move(*reason);
  }
  if (auto e = co_await exit_from(child, coming ? infinity : Timeout(std::chrono::milliseconds(0))))
    co_return std::move(e->reason);
  co_return atoms::child_process_unlinked;  // it unlinked itself: its reason is lost
}

}  // namespace

Task<> ExitsOf::collect() {
  while (auto e =
             co_await receive_if<Exit>([this](const Exit& x) { return children_.contains(x.from); },
                                       std::chrono::milliseconds(0)))
    taken_.insert_or_assign(e->from, std::move(e->reason));
}

std::optional<ExitReason> ExitsOf::take(Pid child) {
  auto it = taken_.find(child);
  if (it == taken_.end()) return std::nullopt;
  ExitReason reason = std::move(it->second);
  taken_.erase(it);
  return reason;
}

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

Task<ExitReason> shutdown_child(ChildToStop child, ExitsOf* exits) {
  // Monitored and told first, unlinked once it has ended: a child that unlinked itself from the
  // supervisor cannot make it wait for an Exit that never comes (OTP's reason for the monitor).
  Ref mref = monitor(child.pid);
  exit(child.pid, child.how.is_brutal_kill() ? atoms::kill : atoms::shutdown);
  Down down;
  if (child.how.is_brutal_kill() || child.how.is_infinity()) {
    down = co_await wait_down(mref);
  } else if (auto in_time = co_await receive_if<Down>(
                                [mref](const Down& d) { return d.ref == mref; }, child.how.time())
                                .since(mref)) {
    down = std::move(*in_time);
  } else {
    exit(child.pid, atoms::kill);  // out of time: OTP kills it
    down = co_await wait_down(mref);
  }
  ExitReason reason = co_await unlink_flush(child.pid, std::move(down.reason), exits);
  if (!ended_as_asked(child.how, child.restart, reason))
    report_shutdown_error(child.id, Term(child.pid), reason);
  co_return reason;
}

Task<> shutdown_children(std::vector<ChildToStop> children) {
  // Each child by pid, with its monitor: a Down or an Exit is matched and dropped in O(1), so
  // stopping n children costs O(n) (a scan of a list of the children per message, and per Down
  // its removal, made it quadratic: seconds for 100,000 children).
  struct Pending {
    Ref monitor;
    const ChildToStop* child;
  };
  std::unordered_map<Pid, Pending> pending;
  pending.reserve(children.size());
  std::unordered_set<Pid> all;
  all.reserve(children.size());
  for (const ChildToStop& c : children) all.insert(c.pid);
  // Exits queued before the stop (children that ended meanwhile): taken now, in one pass, while
  // no Down is queued in front of them.
  ExitsOf exits(std::move(all));
  co_await exits.collect();
  // Who is killed when: one group per shutdown time (all deadlines count from the same now).
  std::map<std::uint64_t, std::vector<Pid>> kills;
  Ref mark;
  std::uint64_t start = monotonic_time_ms();
  for (const ChildToStop& c : children) {
    mark = monitor(c.pid);
    pending.emplace(c.pid, Pending{mark, &c});
    if (c.how.is_brutal_kill()) {
      exit(c.pid, atoms::kill);
      continue;
    }
    exit(c.pid, atoms::shutdown);
    if (!c.how.is_infinity())
      kills[start + static_cast<std::uint64_t>(c.how.time().count())].push_back(c.pid);
  }
  // The unexpected ends, one report per reason (OTP's terminate_dynamic_children).
  std::map<Term, std::vector<Term>> unexpected;
  // A child whose Down said noproc while still linked: its Exit, with its reason, is on its way.
  std::unordered_map<Pid, const ChildToStop*> awaiting_exit;
  // A child whose Down said noproc, no longer linked, and whose Exit was not seen: it ended
  // between the first pass and its monitor, so its Exit is queued before the mark.
  std::vector<const ChildToStop*> look_back;
  auto finish = [&](const ChildToStop& c, ExitReason reason) {
    if (!ended_as_asked(c.how, c.restart, reason)) unexpected[reason.term()].push_back(Term(c.pid));
  };
  while (!pending.empty() || !awaiting_exit.empty()) {
    std::uint64_t now = monotonic_time_ms();
    for (; !kills.empty() && kills.begin()->first <= now; kills.erase(kills.begin()))
      for (Pid pid : kills.begin()->second)
        if (pending.contains(pid)) exit(pid, atoms::kill);  // out of time: killed, as OTP does
    Timeout wait =
        kills.empty() ? infinity : Timeout(std::chrono::milliseconds(kills.begin()->first - now));
    // What came after the last monitor: a child's Exit comes before its Down (a process sends
    // its exit signals before its Downs), so it is kept for the Down that follows.
    co_await receive(match<Down>(
                         [&](const Down& d) {
                           auto it = pending.find(d.pid);
                           return it != pending.end() && it->second.monitor == d.ref;
                         },
                         [&](Down d) {
                           auto it = pending.find(d.pid);
                           const ChildToStop& c = *it->second.child;
                           pending.erase(it);
                           if (!d.reason.is(atoms::noproc)) {
                             unlink(d.pid);
                             exits.take(d.pid);  // its Exit, if it came, is dropped: the Down tells
                             finish(c, std::move(d.reason));
                           } else if (auto reason = exits.take(d.pid)) {
                             finish(c, std::move(*reason));
                           } else if (linked(d.pid)) {
                             awaiting_exit.emplace(d.pid, &c);
                           } else {
                             look_back.push_back(&c);
                           }
                         }),
                     match<Exit>(
                         [&](const Exit& e) {
                           return pending.contains(e.from) || awaiting_exit.contains(e.from);
                         },
                         [&](Exit e) {
                           if (auto it = awaiting_exit.find(e.from); it != awaiting_exit.end()) {
                             finish(*it->second, std::move(e.reason));
                             awaiting_exit.erase(it);
                           } else {
                             exits.keep(e.from, std::move(e.reason));
                           }
                         }),
                     after(wait, [] {}))
        .since(mark);
    for (const ChildToStop* c : look_back) {
      auto e = co_await exit_from(c->pid, std::chrono::milliseconds(0));
      finish(*c, e ? std::move(e->reason) : ExitReason(atoms::child_process_unlinked));
    }
    look_back.clear();
  }
  for (auto& [reason, pids] : unexpected)
    report_shutdown_error(Term(atoms::undefined), Term::list_from(std::span<Term>(pids)),
                          ExitReason(reason));
}

}  // namespace ambitious::detail
