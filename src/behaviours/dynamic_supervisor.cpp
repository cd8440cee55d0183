#include "ambitious/behaviours/dynamic_supervisor.hpp"

#include <unordered_map>

#include "ambitious/behaviours/logger.hpp"
#include "ambitious/process/timer.hpp"
#include "child_shutdown.hpp"
#include "supervisor_server.hpp"

namespace ambitious {
namespace detail {

/// The server behind dynamic_supervisor::start_link: children by pid, restarted one for one.
class DynamicSupervisorServer : public GenServer<DynamicSupervisorServer> {
 public:
  /// Sent to itself after a restart failed, as Elixir's {:"$gen_restart", pid}: try again
  /// after the messages already queued.
  struct TryAgainRestart {
    Pid old;
  };
  using info = Types<Exit, TryAgainRestart>;
  using StartReply = std::expected<std::optional<Pid>, ExitReason>;
  using VoidReply = std::expected<void, ExitReason>;

  struct StartChild {
    ChildSpec spec;
  };
  struct TerminateChild {
    Pid pid;
  };
  struct WhichChildren {};
  struct CountChildren {};
  using calls = Types<StartChild, TerminateChild, WhichChildren, CountChildren>;

  explicit DynamicSupervisorServer(DynamicSupervisorOptions options)
      : options_(std::move(options)),
        intensity_(
            SupervisorFlags{Strategy::one_for_one, options_.max_restarts, options_.max_seconds}) {}

  InitResult init() {
    trap_exit(true);
    return ok();
  }

  Task<CallResult<StartReply>> handle_call(StartChild req, const From&) {
    if (children_.size() >= options_.max_children)
      co_return reply(StartReply(std::unexpect, ExitReason(atoms::max_children)));
    co_return reply(co_await start(req.spec));
  }

  Task<CallResult<VoidReply>> handle_call(TerminateChild req, const From&) {
    auto it = children_.find(req.pid);
    if (it == children_.end())
      co_return reply(VoidReply(std::unexpect, ExitReason(atoms::not_found)));
    Child child = std::move(it->second);
    children_.erase(it);
    // A child being restarted has no process to stop; its pending try is then ignored.
    if (!child.restarting)
      co_await shutdown_child(
          {req.pid, child.spec.effective_shutdown(), child.spec.restart, Term(atoms::undefined)});
    co_return reply(VoidReply());
  }

  CallResult<std::vector<ChildInfo>> handle_call(WhichChildren, const From&) {
    std::vector<ChildInfo> out;
    out.reserve(children_.size());
    for (auto& [pid, child] : children_)
      out.push_back(child.restarting
                        ? ChildInfo{Term(atoms::undefined), std::nullopt, child.spec.type, true}
                        : ChildInfo{Term(atoms::undefined), pid, child.spec.type});
    return reply(std::move(out));
  }

  CallResult<ChildCounts> handle_call(CountChildren, const From&) {
    ChildCounts n;
    n.specs = children_.size();
    for (auto& [pid, child] : children_) {
      if (!child.restarting) ++n.active;
      if (child.spec.type == ChildType::supervisor)
        ++n.supervisors;
      else
        ++n.workers;
    }
    return reply(n);
  }

  Task<Action> handle_info(Exit e) {
    auto it = children_.find(e.from);
    if (it == children_.end() || it->second.restarting) co_return noreply();
    report_child_terminated(Term(atoms::undefined), e.from, e.reason);
    if (!should_restart(it->second.spec.restart, e.reason)) {
      children_.erase(it);
      co_return noreply();
    }
    co_return co_await restart(e.from);
  }

  Task<Action> handle_info(TryAgainRestart t) {
    // Ignored if terminate_child removed the child meanwhile, as in Elixir.
    auto it = children_.find(t.old);
    if (it == children_.end() || !it->second.restarting) co_return noreply();
    co_return co_await restart(t.old);
  }

  Task<> terminate(const ExitReason&) {
    std::vector<ChildToStop> all;
    all.reserve(children_.size());
    for (auto& [pid, child] : children_)
      if (!child.restarting)
        all.push_back(
            {pid, child.spec.effective_shutdown(), child.spec.restart, Term(atoms::undefined)});
    children_.clear();
    co_await shutdown_children(std::move(all));
  }

 private:
  struct Child {
    ChildSpec spec;
    bool restarting = false;  // its restart failed; a TryAgainRestart is on its way
  };

  /// Starts a child of `spec`; on success the spec moves into children_, else it stays.
  Task<StartReply> start(ChildSpec& spec) {
    // Every spec here has a start: dynamic_supervisor::start_child refuses one without.
    StartChildResult r = co_await spec.start(options_.extra_arguments);
    if (!r) {
      if (r.error().is(atoms::ignore)) co_return std::optional<Pid>();
      co_return StartReply(std::unexpect, r.error());
    }
    children_.emplace(*r, Child{std::move(spec)});
    co_return std::optional<Pid>(*r);
  }

  /// Restarts the child that was `old`; counts toward the intensity. A failed start keeps the
  /// child under `old`, marked restarting, and is tried again by a TryAgainRestart.
  Task<Action> restart(Pid old) {
    if (!intensity_.add(monotonic_time_ms())) {
      log(LogReport{LogLevel::error, "supervisor_reached_max_restart_intensity", self(),
                    "** DynamicSupervisor " + to_string(self()) + ": more than " +
                        std::to_string(options_.max_restarts) + " restarts in " +
                        std::to_string(options_.max_seconds.count()) + " ms; shutting down"});
      co_return stop(atoms::shutdown);
    }
    auto node = children_.extract(old);
    ChildSpec spec = std::move(node.mapped().spec);
    StartReply r = co_await start(spec);
    if (!r) {
      log(LogReport{LogLevel::error, "supervisor_start_error", self(),
                    "** DynamicSupervisor " + to_string(self()) +
                        ": restarting a child failed: " + r.error().to_string()});
      children_.emplace(old, Child{std::move(spec), true});
      send(self(), TryAgainRestart{old});
    }
    co_return noreply();
  }

  DynamicSupervisorOptions options_;
  RestartIntensity intensity_;
  std::unordered_map<Pid, Child> children_;
};

}  // namespace detail

namespace dynamic_supervisor {

using detail::DynamicSupervisorServer;

Task<StartResult<DynamicSupervisorServer>> start_link(DynamicSupervisorOptions options,
                                                      StartOptions start) {
  return DynamicSupervisorServer::start_link(std::move(start), std::move(options));
}

ChildSpec child_spec(Term id, DynamicSupervisorOptions options, StartOptions start) {
  ChildSpec child =
      server_child<DynamicSupervisorServer>(std::move(id), std::move(start), std::move(options));
  child.type = ChildType::supervisor;
  return child;
}

Task<std::expected<std::optional<Pid>, ExitReason>> start_child(Ref sup, ChildSpec spec) {
  // Checked by the caller, before any call, as Elixir's validate_child: a spec without a start
  // is {error, {invalid_child_spec, Spec}} there; its id stands for it here.
  if (!spec.start)
    co_return std::unexpected(ExitReason(Term::tuple(atoms::invalid_child_spec, spec.id)));
  DynamicSupervisorServer::StartChild req{std::move(spec)};  // g++ 12: no braced temporaries
  co_return co_await gen_server::call(sup, std::move(req), infinity);
}

Task<std::expected<void, ExitReason>> terminate_child(Ref sup, Pid pid) {
  DynamicSupervisorServer::TerminateChild req{pid};
  co_return co_await gen_server::call(sup, req, infinity);
}

Task<std::vector<ChildInfo>> which_children(Ref sup) {
  co_return co_await gen_server::call(sup, DynamicSupervisorServer::WhichChildren{}, infinity);
}

Task<ChildCounts> count_children(Ref sup) {
  co_return co_await gen_server::call(sup, DynamicSupervisorServer::CountChildren{}, infinity);
}

}  // namespace dynamic_supervisor
}  // namespace ambitious
