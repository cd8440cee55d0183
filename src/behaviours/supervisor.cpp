#include "ambitious/behaviours/supervisor.hpp"

#include <chrono>
#include <unordered_set>

#include "ambitious/behaviours/logger.hpp"
#include "ambitious/process/timer.hpp"
#include "child_shutdown.hpp"
#include "supervisor_server.hpp"

namespace ambitious {

ChildStart::ChildStart(const ChildStart& other) = default;
ChildStart::ChildStart(ChildStart&& other) noexcept = default;
ChildStart& ChildStart::operator=(const ChildStart& other) = default;
ChildStart& ChildStart::operator=(ChildStart&& other) noexcept = default;
ChildStart::~ChildStart() = default;

namespace detail {
namespace {

bool is_ignore(const ExitReason& r) { return r.is(atoms::ignore); }

// A child's start that ends without waiting resumes the supervisor on the same stack (symmetric
// transfer): where the compiler makes no tail calls (ASan) a long run of them overflows the
// stack. A loop of starts yields after this many, which unwinds it and lets others run.
constexpr std::size_t starts_per_yield = 256;

}  // namespace

bool RestartIntensity::add(std::uint64_t now) {
  restarts_.push_back(now);
  // OTP keeps the restarts younger than the period (now - t < period).
  while (!restarts_.empty() && now - restarts_.front() >= period_ms_) restarts_.pop_front();
  return static_cast<int>(restarts_.size()) <= intensity_;
}

SupervisorServer::SupervisorServer(SupervisorSpec spec) : intensity_(flags_) {
  adopt(std::move(spec));
}

SupervisorServer::SupervisorServer(SupervisorInit init)
    : intensity_(flags_), init_(std::move(init)) {}

void SupervisorServer::adopt(SupervisorSpec spec) {
  flags_ = spec.flags;
  intensity_ = RestartIntensity(flags_);
  children_.clear();
  children_.reserve(spec.children.size());
  for (auto& c : spec.children) children_.push_back(Child{std::move(c), std::nullopt});
}

std::optional<std::size_t> SupervisorServer::find(const Term& id) const {
  for (std::size_t i = 0; i < children_.size(); ++i)
    if (children_[i].spec.id == id) return i;
  return std::nullopt;
}

std::optional<std::size_t> SupervisorServer::find(Pid pid) const {
  for (std::size_t i = 0; i < children_.size(); ++i)
    if (children_[i].pid == pid) return i;
  return std::nullopt;
}

Task<SupervisorServer::StartReply> SupervisorServer::start(std::size_t i) {
  // Copy the start: the call below runs while this child's slot may move (a start may not add
  // children, but being careful costs one copy). Every spec here has one: init and start_child
  // refuse a spec without.
  ChildStart start = children_[i].spec.start;
  StartChildResult r = co_await start();
  if (!r) {
    if (!is_ignore(r.error())) co_return StartReply(std::unexpect, r.error());
    children_[i].restarting = false;
    co_return std::optional<Pid>();
  }
  children_[i].pid = *r;
  children_[i].restarting = false;
  co_return std::optional<Pid>(*r);
}

Task<InitResult> SupervisorServer::init() {
  trap_exit(true);
  if (init_) {
    std::expected<SupervisorSpec, ExitReason> spec = co_await init_();
    if (!spec && spec.error().is(atoms::ignore)) co_return ignore();  // start_link: ignore
    if (!spec) co_return stop(spec.error());
    adopt(std::move(*spec));
  }
  // OTP checks the whole spec before it starts any child, child by child in order: the spec
  // itself, then its id against the earlier ones (supervisor:check_startspec). OTP 25:
  // start_link with [#{id => a}] returns {error, {start_spec, missing_start}}.
  std::unordered_set<Term> ids;  // a hash set: a search of the list per child was quadratic
  ids.reserve(children_.size());
  for (std::size_t i = 0; i < children_.size(); ++i) {
    if (!children_[i].spec.start)
      co_return stop(ExitReason(Term::tuple(atoms::start_spec, atoms::missing_start)));
    if (!ids.insert(children_[i].spec.id).second)
      co_return stop(ExitReason(Term::tuple(
          atoms::start_spec, Term::tuple(atoms::duplicate_child_name, children_[i].spec.id))));
  }
  for (std::size_t i = 0; i < children_.size(); ++i) {
    if (i > 0 && i % starts_per_yield == 0) co_await yield();
    StartReply r = co_await start(i);
    if (!r) {
      Term id = children_[i].spec.id;
      co_await stop_range(0, i);
      co_return stop(
          ExitReason::shutdown(Term::tuple(atoms::failed_to_start_child, id, r.error().term())));
    }
    if (!*r && children_[i].spec.restart == Restart::temporary) {
      children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));  // ignored, temporary
      --i;
    }
  }
  co_return ok();
}

Task<> SupervisorServer::stop_range(std::size_t first, std::size_t end) {
  // Each child's stop looks for its Exit (OTP's unlink_flush). With many children dying at once
  // (one_for_all when they all crash) their Exits pile up in the mailbox while the others are
  // stopped, and each look would go past all of them: n^2 steps in all. The stops share one
  // ExitsOf instead, which takes the Exits of these children out in passes.
  std::unordered_set<Pid> running;
  for (std::size_t i = first; i < end; ++i)
    if (children_[i].pid) running.insert(*children_[i].pid);
  ExitsOf exits(std::move(running));
  for (std::size_t i = end; i-- > first;) {
    if (!children_[i].pid) continue;
    Pid pid = *children_[i].pid;
    children_[i].pid.reset();
    const ChildSpec& spec = children_[i].spec;
    co_await shutdown_child({pid, spec.effective_shutdown(), spec.restart, spec.id}, &exits);
  }
}

Task<std::optional<std::size_t>> SupervisorServer::restart_range(std::size_t first,
                                                                 std::size_t end) {
  for (std::size_t i = first, started = 0; i < end && i < children_.size(); ++i) {
    if (children_[i].pid) continue;
    if (started > 0 && started % starts_per_yield == 0) co_await yield();
    ++started;
    StartReply r = co_await start(i);
    if (r) continue;
    log(LogReport{LogLevel::error, "supervisor_start_error", self(),
                  "** Supervisor " + to_string(self()) + ": restarting child " +
                      children_[i].spec.id.to_string() + " failed: " + r.error().to_string()});
    co_return i;
  }
  co_return std::nullopt;
}

Task<Action> SupervisorServer::handle_info(Exit e) {
  std::optional<std::size_t> found = find(e.from);
  if (!found) co_return noreply();  // not a child (anymore): nothing to do, as in OTP
  std::size_t i = *found;
  children_[i].pid.reset();
  report_child_terminated(children_[i].spec.id, e.from, e.reason);
  if (!should_restart(children_[i].spec.restart, e.reason)) {
    if (children_[i].spec.restart == Restart::temporary)
      children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
    co_return noreply();
  }
  co_return co_await restart(i);
}

Task<Action> SupervisorServer::handle_info(TryAgainRestart t) {
  // Ignored if the child was terminated, deleted or restarted by a call meanwhile, as in OTP.
  std::optional<std::size_t> i = find(t.id);
  if (!i || !children_[*i].restarting) co_return noreply();
  co_return co_await restart(*i);
}

Task<Action> SupervisorServer::restart(std::size_t i) {
  if (!intensity_.add(monotonic_time_ms())) {
    log(LogReport{LogLevel::error, "supervisor_reached_max_restart_intensity", self(),
                  "** Supervisor " + to_string(self()) + ": more than " +
                      std::to_string(flags_.intensity) + " restarts in " +
                      std::to_string(flags_.period.count()) + " ms; shutting down"});
    co_return stop(atoms::shutdown);  // terminate() stops the remaining children
  }
  std::size_t first = i, end = i + 1;
  if (flags_.strategy == Strategy::one_for_all) {
    first = 0;
    end = children_.size();
  } else if (flags_.strategy == Strategy::rest_for_one) {
    end = children_.size();
  }
  co_await stop_range(first, end);
  // Temporary children stopped by one_for_all/rest_for_one are not restarted: OTP drops them.
  for (std::size_t k = end; k-- > first;)
    if (k != i && children_[k].spec.restart == Restart::temporary) {
      children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(k));
      --end;
      if (k < i) --i;
    }
  if (std::optional<std::size_t> failed = co_await restart_range(first, end)) {
    children_[*failed].restarting = true;
    send(self(), TryAgainRestart{children_[*failed].spec.id});
  }
  co_return noreply();
}

Task<> SupervisorServer::terminate(const ExitReason&) { co_await stop_range(0, children_.size()); }

CallResult<std::vector<ChildInfo>> SupervisorServer::handle_call(WhichChildren, const From&) {
  // OTP lists the children the other way round: the last started first.
  std::vector<ChildInfo> out;
  out.reserve(children_.size());
  for (auto it = children_.rbegin(); it != children_.rend(); ++it)
    out.push_back(ChildInfo{it->spec.id, it->pid, it->spec.type, it->restarting});
  return reply(std::move(out));
}

CallResult<ChildCounts> SupervisorServer::handle_call(CountChildren, const From&) {
  ChildCounts n;
  n.specs = children_.size();
  for (auto& c : children_) {
    if (c.pid) ++n.active;
    if (c.spec.type == ChildType::supervisor)
      ++n.supervisors;
    else
      ++n.workers;
  }
  return reply(n);
}

Task<CallResult<SupervisorServer::StartReply>> SupervisorServer::handle_call(StartChild req,
                                                                             const From&) {
  // The spec is checked before its id is looked up, as OTP's handle_call({start_child, _}):
  // OTP 25 answers start_child(Sup, #{id => a}) with {error, missing_start}.
  if (!req.spec.start) co_return reply(StartReply(std::unexpect, ExitReason(atoms::missing_start)));
  if (auto i = find(req.spec.id)) {
    if (children_[*i].pid)
      co_return reply(StartReply(
          std::unexpect, ExitReason(Term::tuple(atoms::already_started, *children_[*i].pid))));
    co_return reply(StartReply(std::unexpect, ExitReason(atoms::already_present)));
  }
  children_.push_back(Child{std::move(req.spec), std::nullopt});
  std::size_t i = children_.size() - 1;
  StartReply r = co_await start(i);
  if (!r || (!*r && children_[i].spec.restart == Restart::temporary))
    children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
  co_return reply(std::move(r));
}

Task<CallResult<SupervisorServer::VoidReply>> SupervisorServer::handle_call(TerminateChild req,
                                                                            const From&) {
  std::optional<std::size_t> i = find(req.id);
  if (!i) co_return reply(VoidReply(std::unexpect, ExitReason(atoms::not_found)));
  co_await stop_range(*i, *i + 1);
  children_[*i].restarting = false;  // a pending TryAgainRestart is then ignored
  if (children_[*i].spec.restart == Restart::temporary)
    children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(*i));
  co_return reply(VoidReply());
}

Task<CallResult<SupervisorServer::StartReply>> SupervisorServer::handle_call(RestartChild req,
                                                                             const From&) {
  std::optional<std::size_t> i = find(req.id);
  if (!i) co_return reply(StartReply(std::unexpect, ExitReason(atoms::not_found)));
  if (children_[*i].pid) co_return reply(StartReply(std::unexpect, ExitReason(atoms::running)));
  if (children_[*i].restarting)
    co_return reply(StartReply(std::unexpect, ExitReason(atoms::restarting)));
  co_return reply(co_await start(*i));
}

CallResult<SupervisorServer::VoidReply> SupervisorServer::handle_call(DeleteChild req,
                                                                      const From&) {
  std::optional<std::size_t> i = find(req.id);
  if (!i) return reply(VoidReply(std::unexpect, ExitReason(atoms::not_found)));
  if (children_[*i].pid) return reply(VoidReply(std::unexpect, ExitReason(atoms::running)));
  if (children_[*i].restarting)
    return reply(VoidReply(std::unexpect, ExitReason(atoms::restarting)));
  children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(*i));
  return reply(VoidReply());
}

}  // namespace detail

namespace supervisor {

using detail::SupervisorServer;

Task<StartResult<SupervisorServer>> start_link(SupervisorSpec spec, StartOptions options) {
  return SupervisorServer::start_link(std::move(options), std::move(spec));
}

Task<StartResult<SupervisorServer>> start_link(SupervisorInit init, StartOptions options) {
  return SupervisorServer::start_link(std::move(options), std::move(init));
}

ChildSpec child_spec(Term id, SupervisorSpec spec, StartOptions options) {
  ChildSpec child =
      server_child<SupervisorServer>(std::move(id), std::move(options), std::move(spec));
  child.type = ChildType::supervisor;
  return child;
}

ChildSpec child_spec(Term id, SupervisorInit init, StartOptions options) {
  ChildSpec child =
      server_child<SupervisorServer>(std::move(id), std::move(options), std::move(init));
  child.type = ChildType::supervisor;
  return child;
}

Task<std::vector<ChildInfo>> which_children(Ref sup) {
  co_return co_await gen_server::call(sup, SupervisorServer::WhichChildren{}, infinity);
}

Task<ChildCounts> count_children(Ref sup) {
  co_return co_await gen_server::call(sup, SupervisorServer::CountChildren{}, infinity);
}

Task<std::expected<std::optional<Pid>, ExitReason>> start_child(Ref sup, ChildSpec spec) {
  SupervisorServer::StartChild req{std::move(spec)};  // g++ 12: no braced temporaries here
  co_return co_await gen_server::call(sup, std::move(req), infinity);
}

Task<std::expected<void, ExitReason>> terminate_child(Ref sup, Term id) {
  SupervisorServer::TerminateChild req{std::move(id)};
  co_return co_await gen_server::call(sup, std::move(req), infinity);
}

Task<std::expected<std::optional<Pid>, ExitReason>> restart_child(Ref sup, Term id) {
  SupervisorServer::RestartChild req{std::move(id)};
  co_return co_await gen_server::call(sup, std::move(req), infinity);
}

Task<std::expected<void, ExitReason>> delete_child(Ref sup, Term id) {
  SupervisorServer::DeleteChild req{std::move(id)};
  co_return co_await gen_server::call(sup, std::move(req), infinity);
}

}  // namespace supervisor
}  // namespace ambitious
