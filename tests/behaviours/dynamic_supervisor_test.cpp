#include "ambitious/behaviours/dynamic_supervisor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "children.hpp"
#include "support.hpp"

// Conformance with Elixir's DynamicSupervisor (and OTP's simple_one_for_one underneath): the
// supervisor, not the caller, starts, links and restarts the children; max_children,
// extra_arguments, restart intensity, terminate_child, which/count_children, and the shutdown
// of every child when the supervisor stops.

using namespace ambitious;
using namespace ambitious::test;

namespace {

/// What a child's start saw: the process it ran in and its extra arguments.
struct StartSeen {
  Pid starter;
  std::vector<Term> extra;
};

/// A child whose start reports where it runs and with which extra arguments, then spawns an
/// obedient child linked to the supervisor.
ChildSpec reporting_child(const char* name, Pid observer) {
  ChildSpec spec;
  spec.id = id(name);
  std::string n = name;
  spec.start = [n, observer](std::span<const Term> extra) -> Task<StartChildResult> {
    send(observer, StartSeen{self(), std::vector<Term>(extra.begin(), extra.end())});
    co_return spawn_link(obedient, n, observer);
  };
  return spec;
}

Task<dynamic_supervisor::Ref> start_dyn(DynamicSupervisorOptions options) {
  StartOptions start;  // named: no braced temporaries beside a co_await (g++ 12)
  auto started = co_await dynamic_supervisor::start_link(std::move(options), std::move(start));
  if (!started) give_up();
  co_return *started;
}

/// Starts a child under `sup`; gives up if it does not start.
Task<Pid> start_in(dynamic_supervisor::Ref sup, ChildSpec spec) {
  auto r = co_await dynamic_supervisor::start_child(sup, std::move(spec));
  if (!r || !*r) give_up();
  co_return **r;
}

bool contains_pid(const std::vector<Pid>& pids, Pid pid) {
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

}  // namespace

TEST(DynamicSupervisor, start_child_runs_the_start_in_the_supervisor_which_links_the_child) {
  Pid sup_pid, starter, child;
  std::vector<Pid> child_links, caller_links;
  run_test([&]() -> Task<> {
    DynamicSupervisorOptions options;
    auto sup = co_await start_dyn(std::move(options));
    sup_pid = *sup.pid();
    child = co_await start_in(sup, reporting_child("c", self()));
    starter = (co_await expect<StartSeen>()).starter;
    child_links = (co_await process_info(child))->links;
    caller_links = (co_await process_info(self()))->links;
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(starter, sup_pid);
  EXPECT_EQ(child_links, std::vector<Pid>{sup_pid});
  EXPECT_FALSE(contains_pid(caller_links, child));
}

TEST(DynamicSupervisor, a_child_that_crashes_is_restarted_by_the_supervisor) {
  Pid first, second;
  std::vector<ChildInfo> children;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    DynamicSupervisorOptions options;
    auto sup = co_await start_dyn(std::move(options));
    first = co_await start_in(sup, obedient_child("c", self()));
    co_await up("c");
    send(first, ExitWith{foo});
    second = co_await up("c");
    children = co_await dynamic_supervisor::which_children(sup);
    co_await gen_server::stop(sup);
  });
  EXPECT_NE(first, second);
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].pid, second);
}

TEST(DynamicSupervisor, temporary_children_are_never_restarted_and_transient_ones_only_on_error) {
  ChildCounts counts;
  Pid transient_again;
  EXPECT_EQ(
      run(one_worker,
          [&]() -> Task<> {
            CapturedLog quiet;
            DynamicSupervisorOptions options;
            auto sup = co_await start_dyn(std::move(options));
            Pid t = co_await start_in(sup, obedient_child("temp", self(), Restart::temporary));
            Pid n = co_await start_in(sup, obedient_child("norm", self(), Restart::transient));
            Pid e = co_await start_in(sup, obedient_child("err", self(), Restart::transient));
            co_await up("temp");
            co_await up("norm");
            co_await up("err");
            send(t, ExitWith{foo});
            send(n, ExitWith{atoms::normal});
            send(e, ExitWith{foo});
            transient_again = co_await up("err");
            co_await wait_end(t);
            co_await wait_end(n);
            counts = co_await dynamic_supervisor::count_children(sup);
            co_await gen_server::stop(sup);
          }),
      0);
  EXPECT_EQ(counts.active, 1u);
  EXPECT_EQ(counts.specs, 1u);
}

TEST(DynamicSupervisor, max_children_limits_the_children_and_a_freed_place_can_be_taken_again) {
  std::optional<ExitReason> refused;
  bool taken_again = false;
  run_test([&]() -> Task<> {
    DynamicSupervisorOptions options;
    options.max_children = 2;
    auto sup = co_await start_dyn(std::move(options));
    Pid a = co_await start_in(sup, obedient_child("a", self()));
    co_await start_in(sup, obedient_child("b", self()));
    ChildSpec c = obedient_child("c", self()), c2 = c;
    auto r = co_await dynamic_supervisor::start_child(sup, std::move(c));
    if (!r) refused = r.error();
    co_await dynamic_supervisor::terminate_child(sup, a);
    auto r2 = co_await dynamic_supervisor::start_child(sup, std::move(c2));
    taken_again = r2 && *r2;
    co_await gen_server::stop(sup);
  });
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, Atom("max_children"));
  EXPECT_TRUE(taken_again);
}

TEST(DynamicSupervisor, extra_arguments_reach_every_start_including_restarts) {
  std::vector<Term> first_extra, restart_extra;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    DynamicSupervisorOptions options;
    options.extra_arguments = {Term(42), Term(Atom("x"))};
    auto sup = co_await start_dyn(std::move(options));
    Pid c = co_await start_in(sup, reporting_child("c", self()));
    first_extra = (co_await expect<StartSeen>()).extra;
    send(c, ExitWith{foo});
    restart_extra = (co_await expect<StartSeen>()).extra;
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(first_extra, (std::vector<Term>{Term(42), Term(Atom("x"))}));
  EXPECT_EQ(restart_extra, first_extra);
}

TEST(DynamicSupervisor, more_restarts_than_max_restarts_stop_the_children_and_end_with_shutdown) {
  Journal journal;
  std::optional<Exit> sup_exit;
  Pid sup_pid;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    trap_exit(true);
    DynamicSupervisorOptions options;
    options.max_restarts = 1;
    options.max_seconds = 1h;
    auto sup = co_await start_dyn(std::move(options));
    sup_pid = *sup.pid();
    co_await start_in(sup, worker("w", &journal, self()));
    Pid p0 = co_await start_in(sup, obedient_child("p", self()));
    send(p0, ExitWith{foo});
    Pid p1 = co_await up("p");
    while (p1 == p0) p1 = co_await up("p");  // the first Up was p0's own
    send(p1, ExitWith{foo});
    sup_exit = co_await expect<Exit>();
  });
  ASSERT_TRUE(sup_exit);
  EXPECT_EQ(sup_exit->from, sup_pid);
  EXPECT_EQ(sup_exit->reason, atoms::shutdown);
  EXPECT_EQ(journal.events(), (std::vector<std::string>{"start w", "stop w"}));
}

TEST(DynamicSupervisor, terminate_child_stops_the_child_for_good_and_an_unknown_pid_is_not_found) {
  std::optional<ExitReason> child_end, unknown;
  std::size_t active = 99;
  run_test([&]() -> Task<> {
    DynamicSupervisorOptions options;
    auto sup = co_await start_dyn(std::move(options));
    Pid c = co_await start_in(sup, obedient_child("c", self()));
    Ref mref = monitor(c);
    auto r = co_await dynamic_supervisor::terminate_child(sup, c);
    if (!r) give_up();
    child_end = (co_await expect_down(mref)).reason;
    active = (co_await dynamic_supervisor::count_children(sup)).active;
    auto again = co_await dynamic_supervisor::terminate_child(sup, c);
    if (!again) unknown = again.error();
    co_await gen_server::stop(sup);
  });
  ASSERT_TRUE(child_end);
  EXPECT_EQ(*child_end, atoms::shutdown);
  EXPECT_EQ(active, 0u);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(*unknown, Atom("not_found"));
}

TEST(DynamicSupervisor, which_children_and_count_children_describe_the_running_children) {
  std::vector<ChildInfo> children;
  ChildCounts counts;
  Pid a, s;
  run_test([&]() -> Task<> {
    DynamicSupervisorOptions options;
    auto sup = co_await start_dyn(std::move(options));
    a = co_await start_in(sup, obedient_child("a", self()));
    s = co_await start_in(sup, dynamic_supervisor::child_spec(id("nested")));
    children = co_await dynamic_supervisor::which_children(sup);
    counts = co_await dynamic_supervisor::count_children(sup);
    co_await gen_server::stop(sup);
  });
  ASSERT_EQ(children.size(), 2u);
  for (auto& c : children) {
    EXPECT_EQ(c.id, Term(atoms::undefined));
    ASSERT_TRUE(c.pid);
    EXPECT_EQ(c.type, *c.pid == s ? ChildType::supervisor : ChildType::worker);
  }
  EXPECT_EQ(counts.specs, 2u);
  EXPECT_EQ(counts.active, 2u);
  EXPECT_EQ(counts.supervisors, 1u);
  EXPECT_EQ(counts.workers, 1u);
}

TEST(DynamicSupervisor,
     child_spec_makes_a_named_dynamic_supervisor_child_restarted_without_children) {
  std::vector<ChildInfo> children;
  std::optional<Pid> first, second;
  std::optional<ExitReason> full;
  ChildCounts after_restart;
  run_test([&]() -> Task<> {
    DynamicSupervisorOptions options;
    options.max_children = 1;
    StartOptions start{.name = Atom("dyn")};
    SupervisorSpec spec{{}, {dynamic_supervisor::child_spec(id("dyn"), options, start)}};
    auto top = co_await supervisor::start_link(std::move(spec));
    if (!top) give_up("the supervisor did not start");
    children = co_await supervisor::which_children(*top);
    first = whereis(Atom("dyn"));
    if (!first) give_up("no dynamic supervisor under its name");
    dynamic_supervisor::Ref dyn(Atom("dyn"));
    co_await start_in(dyn, obedient_child("a", self()));
    auto refused = co_await dynamic_supervisor::start_child(dyn, obedient_child("b", self()));
    if (!refused) full = refused.error();
    Ref mref = monitor(*first);
    exit(*first, atoms::kill);
    co_await expect_down(mref);
    // The supervisor restarts it before it handles the call made after the Down (the exit
    // signal reached it first); the restarted one takes the name and has no child.
    co_await supervisor::which_children(*top);
    second = whereis(Atom("dyn"));
    after_restart = co_await dynamic_supervisor::count_children(dyn);
    co_await gen_server::stop(*top);
  });
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].id, id("dyn"));
  EXPECT_EQ(children[0].type, ChildType::supervisor);
  EXPECT_EQ(children[0].pid, first);
  ASSERT_TRUE(full);
  EXPECT_EQ(*full, atoms::max_children);
  ASSERT_TRUE(second);
  EXPECT_NE(*second, *first);
  EXPECT_EQ(after_restart.active, 0u);
}

TEST(DynamicSupervisor,
     a_start_returning_ignore_adds_no_child_and_a_failing_one_returns_its_error) {
  std::optional<std::optional<Pid>> ignored;
  std::optional<ExitReason> error;
  std::size_t specs = 99;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    DynamicSupervisorOptions options;
    auto sup = co_await start_dyn(std::move(options));
    ChildSpec i = ignoring_child("i");
    auto r = co_await dynamic_supervisor::start_child(sup, std::move(i));
    if (r) ignored = *r;
    ChildSpec f = server_child<FailingInit>(id("f"));
    auto r2 = co_await dynamic_supervisor::start_child(sup, std::move(f));
    if (!r2) error = r2.error();
    specs = (co_await dynamic_supervisor::count_children(sup)).specs;
    co_await gen_server::stop(sup);
  });
  ASSERT_TRUE(ignored);
  EXPECT_FALSE(*ignored);
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, foo);
  EXPECT_EQ(specs, 0u);
}

// Elixir's DynamicSupervisor.start_child validates the spec before it calls the supervisor: a
// spec without a start is {:error, {:invalid_child_spec, Spec}} (its id stands for it here).
TEST(DynamicSupervisor, start_child_refuses_a_spec_without_a_start_as_an_invalid_child_spec) {
  std::optional<ExitReason> error;
  std::size_t specs = 99;
  run_test([&]() -> Task<> {
    DynamicSupervisorOptions options;
    auto sup = co_await start_dyn(std::move(options));
    ChildSpec spec;
    spec.id = id("a");
    auto r = co_await dynamic_supervisor::start_child(sup, std::move(spec));
    if (!r) error = r.error();
    specs = (co_await dynamic_supervisor::count_children(sup)).specs;
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(error, ExitReason(Term::tuple(atoms::invalid_child_spec, id("a"))));
  EXPECT_EQ(specs, 0u);
}

TEST(DynamicSupervisor, stopping_the_supervisor_shuts_every_child_down_each_by_its_shutdown) {
  Journal journal;
  std::optional<ExitReason> a_end, b_end, s_end;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    DynamicSupervisorOptions options;
    auto sup = co_await start_dyn(std::move(options));
    Pid a = co_await start_in(sup, worker("a", &journal, self()));
    Pid b = co_await start_in(sup, worker("b", &journal, self()));
    ChildSpec st = process_child(id("s"), ignores_shutdown, std::string("s"), self());
    st.shutdown = Shutdown::timeout(20ms);
    Pid s = co_await start_in(sup, std::move(st));
    co_await up("s");
    Ref ma = monitor(a), mb = monitor(b), ms = monitor(s);
    co_await gen_server::stop(sup);
    for (int k = 0; k < 3; ++k) {
      Down d = co_await expect<Down>();
      if (d.ref == ma) a_end = d.reason;
      if (d.ref == mb) b_end = d.reason;
      if (d.ref == ms) s_end = d.reason;
    }
  });
  EXPECT_EQ(a_end, ExitReason(atoms::shutdown));
  EXPECT_EQ(b_end, ExitReason(atoms::shutdown));
  EXPECT_EQ(s_end, ExitReason(atoms::killed));
  auto events = journal.events();
  std::sort(events.begin(), events.end());
  EXPECT_EQ(events, (std::vector<std::string>{"start a", "start b", "stop a", "stop b"}));
}

TEST(DynamicSupervisor, a_dynamic_supervisor_whose_parent_exits_stops_its_children) {
  Journal journal;
  std::optional<ExitReason> child_end;
  run_test([&]() -> Task<> {
    Pid test = self();
    Journal* j = &journal;
    Pid parent = spawn([test, j]() -> Task<> {
      DynamicSupervisorOptions options;
      auto sup = co_await start_dyn(std::move(options));
      co_await start_in(sup, worker("a", j, test));
      co_await receive<ExitWith>();
      exit(foo);
    });
    Pid a = co_await up("a");
    Ref mref = monitor(a);
    send(parent, ExitWith{});
    child_end = (co_await expect_down(mref)).reason;
  });
  EXPECT_EQ(child_end, ExitReason(atoms::shutdown));
  EXPECT_EQ(journal.events(), (std::vector<std::string>{"start a", "stop a"}));
}

TEST(DynamicSupervisor, a_failed_restart_is_tried_again_until_the_child_starts) {
  FlakyStart flaky;
  std::size_t start_errors = 0;
  ChildCounts counts;
  run_test([&]() -> Task<> {
    CapturedLog log;
    DynamicSupervisorOptions options;
    options.max_restarts = 10;
    auto sup = co_await start_dyn(std::move(options));
    Pid first = co_await start_in(sup, flaky_child("f", self(), &flaky));
    co_await up("f");
    flaky.failures_left = 2;
    send(first, ExitWith{foo});
    co_await up("f");
    start_errors = log.of_kind("supervisor_start_error").size();
    counts = co_await dynamic_supervisor::count_children(sup);
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(flaky.attempts.load(), 4);  // the first start, two failures, the one that worked
  EXPECT_EQ(start_errors, 2u);
  EXPECT_EQ(counts.specs, 1u);
  EXPECT_EQ(counts.active, 1u);
}

TEST(DynamicSupervisor,
     a_child_being_restarted_shows_as_restarting_and_terminate_child_ends_tries) {
  FlakyStart flaky;
  std::optional<ChildInfo> while_retrying;
  ChildCounts counts_retrying;
  bool terminated = false;
  int attempts_at_terminate = -1, attempts_later = -2;
  std::size_t left = 99;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    DynamicSupervisorOptions options;
    options.max_restarts = 100'000'000;
    options.max_seconds = 1h;
    auto sup = co_await start_dyn(std::move(options));
    Pid first = co_await start_in(sup, flaky_child("f", self(), &flaky));
    co_await up("f");
    flaky.failures_left = 1'000'000'000;
    Ref mref = monitor(first);
    send(first, ExitWith{foo});
    co_await expect_down(mref);
    // The exit reached the supervisor before the Down reached us: it retries now.
    while_retrying = (co_await dynamic_supervisor::which_children(sup)).at(0);
    counts_retrying = co_await dynamic_supervisor::count_children(sup);
    // The child is still known by the pid it had.
    terminated = (co_await dynamic_supervisor::terminate_child(sup, first)).has_value();
    attempts_at_terminate = flaky.attempts.load();
    left = (co_await dynamic_supervisor::which_children(sup)).size();
    attempts_later = flaky.attempts.load();
    co_await gen_server::stop(sup);
  });
  ASSERT_TRUE(while_retrying);
  EXPECT_FALSE(while_retrying->pid);
  EXPECT_TRUE(while_retrying->restarting);
  EXPECT_EQ(counts_retrying.specs, 1u);
  EXPECT_EQ(counts_retrying.active, 0u);
  EXPECT_TRUE(terminated);
  EXPECT_EQ(left, 0u);
  EXPECT_GT(attempts_at_terminate, 1);
  EXPECT_EQ(attempts_later, attempts_at_terminate);
}

namespace {

struct Ready {};

/// Tells `observer` it is ready (trapping exits if asked), then waits; with `trap` it leaves on
/// the first exit signal only if `leave` (with that signal's reason), else never.
Task<> waiting_child(Pid observer, bool trap, bool leave) {
  if (trap) trap_exit(true);
  send(observer, Ready{});
  for (;;) {
    Exit e = co_await receive<Exit>();
    if (leave) exit(std::move(e.reason));
  }
}

}  // namespace

// Elixir's DynamicSupervisor stops all its children at once on shutdown, each by its own
// shutdown: exit(shutdown) and wait (brutal_kill: kill at once; a timeout: kill when it runs
// out). 100,000 children of four kinds, and each must end with its reason before stop returns.
TEST(DynamicSupervisor, stopping_a_supervisor_of_100000_children_ends_each_by_its_shutdown) {
  constexpr int n = 100'000;
  std::size_t downs = 0, wrong = 0, alive_after_stop = 0;
  run_test(two_workers, [&]() -> Task<> {
    CapturedLog quiet;
    DynamicSupervisorOptions options;
    auto sup = co_await start_dyn(std::move(options));
    std::unordered_map<Pid, ExitReason> expected;
    expected.reserve(n);
    for (int i = 0; i < n; ++i) {
      // 0: ends with shutdown; 1: brutal_kill; 2: ignores shutdown, killed after
      // its time; 3: traps, ends with shutdown, waited for (infinity).
      int kind = i % 4;
      ChildSpec spec = process_child(Term(), waiting_child, self(), kind >= 2, kind == 3);
      if (kind == 1) spec.shutdown = Shutdown::brutal_kill();
      if (kind == 2) spec.shutdown = Shutdown::timeout(50ms);
      if (kind == 3) spec.shutdown = Shutdown::infinity();
      Pid pid = co_await start_in(sup, std::move(spec));
      expected.emplace(
          pid, kind == 0 || kind == 3 ? ExitReason(atoms::shutdown) : ExitReason(atoms::killed));
    }
    for (int i = 0; i < n; ++i) co_await expect<Ready>();
    for (auto& [pid, reason] : expected) monitor(pid);
    co_await gen_server::stop(sup);
    for (auto& [pid, reason] : expected) alive_after_stop += alive(pid);
    for (int i = 0; i < n; ++i) {
      Down d = co_await expect<Down>();
      ++downs;
      auto it = expected.find(d.pid);
      if (it == expected.end() || it->second != d.reason) ++wrong;
    }
  });
  EXPECT_EQ(alive_after_stop, 0u);
  EXPECT_EQ(downs, static_cast<std::size_t>(n));
  EXPECT_EQ(wrong, 0u);
}

namespace {
/// A child that traps exits and, asked to shut down, ends with foo instead.
Task<> ends_with_foo_on_shutdown(std::string name, Pid observer) {
  trap_exit(true);
  send(observer, Up{name, self()});
  co_await receive<Exit>();
  exit(foo);
}
}  // namespace

// OTP's terminate_dynamic_children and Elixir's DynamicSupervisor report the children that
// did not end as asked, one report per reason with all their pids.
TEST(DynamicSupervisor, children_that_end_otherwise_than_asked_are_reported_once_per_reason) {
  std::vector<CapturedLog::Entry> reports;
  std::vector<Pid> odd;
  run_test([&]() -> Task<> {
    CapturedLog log;
    auto sup = co_await start_dyn({});
    for (std::string name : {"x", "y", "z"}) {
      (void)co_await start_in(
          sup, process_child(id(name.c_str()), ends_with_foo_on_shutdown, name, self()));
      odd.push_back(co_await up(name));  // it traps exits from here on
    }
    (void)co_await start_in(sup, obedient_child("fine", self()));
    co_await up("fine");
    co_await gen_server::stop(sup);
    reports = log.of_kind("supervisor_shutdown_error");
  });
  ASSERT_EQ(reports.size(), 1u);
  for (Pid p : odd) EXPECT_TRUE(contains(reports[0].text, to_string(p))) << reports[0].text;
  EXPECT_TRUE(contains(reports[0].text, "foo"));
}
