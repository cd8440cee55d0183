#include "ambitious/behaviours/supervisor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "children.hpp"
#include "support.hpp"

// Conformance with OTP 25's supervisor (lib/stdlib/test/supervisor_SUITE.erl): start order and
// reverse stop order, the three strategies, restart types, restart intensity and its escalation
// through nested supervisors, the shutdown of a child (timeout then kill, brutal_kill, infinity),
// start failures, and the child management calls with their errors.
//
// "Not restarted" is proven without waiting: a child's exit signal to the supervisor is sent
// before its Down reaches a monitoring test, so a call the test makes after that Down reaches
// the supervisor after the exit, and which_children answers from the state the exit left.

using namespace ambitious;
using namespace ambitious::test;

namespace {

/// A plain child that traps exits and, asked to shut down, tells `observer` and waits for
/// ExitWith before it ends.
Task<> slow_to_stop(std::string name, Pid observer) {
  trap_exit(true);
  send(observer, Up{name, self()});
  co_await receive<Exit>();
  send(observer, Up{name + " stopping", self()});
  ExitWith e = co_await receive<ExitWith>();
  exit(std::move(e.reason));
}

/// Asks a child (`sends_exits`) to send an exit signal.
struct SendExit {
  Pid to;
  ExitReason reason;
};
/// A plain child that, when asked, sends an exit signal (to its supervisor, say) and lives on.
Task<> sends_exits(std::string name, Pid observer) {
  send(observer, Up{name, self()});
  for (;;) {
    SendExit order = co_await receive<SendExit>();
    exit(order.to, order.reason);
    send(observer, Up{name + " sent", self()});
  }
}

/// Starts a supervisor of `spec` linked to the caller; gives up if it does not start.
Task<supervisor::Ref> start_sup(SupervisorSpec spec) {
  auto started = co_await supervisor::start_link(std::move(spec));
  if (!started) give_up();
  co_return *started;
}

/// Starts a supervisor of the one child `child` (which says it is up as `name`), stops the
/// supervisor, and returns the child's exit reason.
Task<ExitReason> end_of_only_child(ChildSpec child, const char* name) {
  SupervisorSpec spec{{}, {std::move(child)}};
  auto sup = co_await start_sup(std::move(spec));
  Ref mref = monitor(co_await up(name));
  co_await gen_server::stop(sup);
  co_return (co_await expect_down(mref)).reason;
}

std::optional<Pid> pid_of(const std::vector<ChildInfo>& children, const char* name) {
  for (auto& c : children)
    if (c.id == id(name)) return c.pid;
  return std::nullopt;
}

bool has(const std::vector<ChildInfo>& children, const char* name) {
  return std::any_of(children.begin(), children.end(), [&](auto& c) { return c.id == id(name); });
}

std::vector<std::string> strings(std::initializer_list<const char*> list) {
  return std::vector<std::string>(list.begin(), list.end());
}

std::vector<std::string> first(const std::vector<std::string>& events, std::size_t n) {
  return std::vector<std::string>(events.begin(), events.begin() + std::min(n, events.size()));
}

}  // namespace

// --- start and stop order -----------------------------------------------------------------------

TEST(Supervisor, children_start_in_order_and_stop_in_reverse_order) {
  Journal journal;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{Strategy::one_for_one, 1, 5s},
                        {worker("a", &journal, self()), worker("b", &journal, self()),
                         worker("c", &journal, self())}};
    auto sup = co_await start_sup(std::move(spec));
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(journal.events(),
            strings({"start a", "start b", "start c", "stop c", "stop b", "stop a"}));
}

TEST(Supervisor, start_link_returns_once_every_child_has_started_and_links_them) {
  Journal journal;
  std::vector<ChildInfo> children;
  std::vector<Pid> sup_links;
  EXPECT_EQ(
      run(one_worker,
          [&]() -> Task<> {
            SupervisorSpec spec{{}, {worker("a", &journal, self()), worker("b", &journal, self())}};
            auto sup = co_await start_sup(std::move(spec));
            children = co_await supervisor::which_children(sup);
            sup_links = (co_await process_info(*sup.pid()))->links;
            co_await gen_server::stop(sup);
          }),
      0);
  EXPECT_EQ(journal.events().size(), 4u);
  ASSERT_EQ(children.size(), 2u);
  for (auto& c : children) {
    ASSERT_TRUE(c.pid);
    EXPECT_NE(std::find(sup_links.begin(), sup_links.end(), *c.pid), sup_links.end());
    EXPECT_EQ(c.type, ChildType::worker);
  }
}

TEST(Supervisor, a_supervisor_whose_parent_exits_stops_its_children_in_reverse_order) {
  Journal journal;
  std::optional<ExitReason> sup_end;
  run_test([&]() -> Task<> {
    Pid test = self();
    Journal* j = &journal;
    Pid parent = spawn([test, j]() -> Task<> {
      SupervisorSpec spec{{}, {worker("a", j, test), worker("b", j, test)}};
      auto sup = co_await start_sup(std::move(spec));
      send(test, Up{"sup", *sup.pid()});
      co_await receive<ExitWith>();
      exit(foo);
    });
    Pid sup = co_await up("sup");
    Ref mref = monitor(sup);
    send(parent, ExitWith{});
    sup_end = (co_await expect_down(mref)).reason;
  });
  ASSERT_TRUE(sup_end);
  EXPECT_EQ(*sup_end, foo);
  EXPECT_EQ(journal.events(), strings({"start a", "start b", "stop b", "stop a"}));
}

// --- strategies ---------------------------------------------------------------------------------

TEST(Supervisor, one_for_one_restarts_only_the_child_that_ended) {
  Journal journal;
  std::optional<Pid> a0, b0, c0;
  std::vector<ChildInfo> after;
  Pid b1;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec spec{{Strategy::one_for_one, 3, 5s},
                        {worker("a", &journal, self()), worker("b", &journal, self()),
                         worker("c", &journal, self())}};
    auto sup = co_await start_sup(std::move(spec));
    a0 = co_await up("a");
    b0 = co_await up("b");
    c0 = co_await up("c");
    exit(*b0, atoms::kill);
    b1 = co_await up("b");
    after = co_await supervisor::which_children(sup);
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(pid_of(after, "a"), a0);
  EXPECT_EQ(pid_of(after, "b"), b1);
  EXPECT_NE(b1, *b0);
  EXPECT_EQ(pid_of(after, "c"), c0);
  EXPECT_EQ(first(journal.events(), 4), strings({"start a", "start b", "start c", "start b"}));
}

TEST(Supervisor, one_for_all_stops_the_others_in_reverse_order_and_restarts_all_in_order) {
  Journal journal;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec spec{{Strategy::one_for_all, 3, 5s},
                        {worker("a", &journal, self()), worker("b", &journal, self()),
                         worker("c", &journal, self())}};
    auto sup = co_await start_sup(std::move(spec));
    co_await up("a");
    Pid b = co_await up("b");
    co_await up("c");
    exit(b, atoms::kill);  // no terminate for b: killed
    co_await up("c");
    journal.add("restarted");
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(first(journal.events(), 9),
            strings({"start a", "start b", "start c", "stop c", "stop a", "start a", "start b",
                     "start c", "restarted"}));
}

namespace {
/// Says which child started (its index).
struct Started {
  int index;
};

/// A child that waits for ever (without a word to anyone).
Task<> waits() { co_await receive<ExitWith>(); }
}  // namespace

// All the children of a one_for_all supervisor die at once: the first Exit stops the others
// (dead already, or killed and not yet gone) and starts every one again, in order. Many
// children, so that a stop costing a scan of the piled-up Exits per child would show.
TEST(Supervisor, one_for_all_restarts_all_of_many_children_that_died_at_once_in_order) {
  constexpr int n = 10'000;
  std::vector<int> restart_order;
  std::size_t old_killed = 0, restarted_running = 0, old_pids_left = 0;
  std::size_t terminated_reports = 0;
  run_test([&]() -> Task<> {
    CapturedLog log;
    Pid test = self();
    SupervisorSpec spec{{Strategy::one_for_all, 1, 1h}, {}};
    for (int i = 0; i < n; ++i) {
      ChildSpec child;
      child.id = Term(i);
      child.start = [i, test]() -> Task<StartChildResult> {
        send(test, Started{i});
        co_return spawn_link(waits);
      };
      spec.children.push_back(std::move(child));
    }
    auto sup = co_await start_sup(std::move(spec));
    for (int i = 0; i < n; ++i) co_await expect<Started>();
    std::vector<Pid> old;
    for (auto& c : co_await supervisor::which_children(sup)) old.push_back(*c.pid);
    for (Pid p : old) monitor(p);
    for (Pid p : old) exit(p, atoms::kill);
    // The n Downs and the n new starts, as they come (each the first message).
    for (int i = 0; i < 2 * n; ++i)
      co_await receive([&](Started s) { restart_order.push_back(s.index); },
                       [&](Down d) { old_killed += d.reason == atoms::killed; },
                       after(patience, [] { give_up(); }));
    std::unordered_set<Pid> old_set(old.begin(), old.end());
    for (auto& c : co_await supervisor::which_children(sup)) {
      restarted_running += c.pid.has_value();
      old_pids_left += c.pid && old_set.contains(*c.pid);
    }
    terminated_reports = log.of_kind("supervisor_child_terminated").size();
    co_await gen_server::stop(sup);
  });
  std::vector<int> in_order(n);
  for (int i = 0; i < n; ++i) in_order[i] = i;
  EXPECT_EQ(restart_order, in_order);
  EXPECT_EQ(old_killed, static_cast<std::size_t>(n));
  EXPECT_EQ(restarted_running, static_cast<std::size_t>(n));
  EXPECT_EQ(old_pids_left, 0u);
  EXPECT_EQ(terminated_reports, 1u);  // the one whose Exit made the restart
}

TEST(Supervisor, rest_for_one_restarts_the_child_and_those_started_after_it) {
  Journal journal;
  std::optional<Pid> a0;
  std::vector<ChildInfo> after;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec spec{{Strategy::rest_for_one, 3, 5s},
                        {worker("a", &journal, self()), worker("b", &journal, self()),
                         worker("c", &journal, self())}};
    auto sup = co_await start_sup(std::move(spec));
    a0 = co_await up("a");
    Pid b = co_await up("b");
    co_await up("c");
    exit(b, atoms::kill);
    co_await up("c");
    journal.add("restarted");
    after = co_await supervisor::which_children(sup);
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(pid_of(after, "a"), a0);
  EXPECT_EQ(first(journal.events(), 7), strings({"start a", "start b", "start c", "stop c",
                                                 "start b", "start c", "restarted"}));
}

// --- restart types ------------------------------------------------------------------------------

TEST(Supervisor, a_permanent_child_is_restarted_even_after_a_normal_exit) {
  Pid first_pid, second_pid;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{}, {obedient_child("p", self())}};
    auto sup = co_await start_sup(std::move(spec));
    first_pid = co_await up("p");
    send(first_pid, ExitWith{atoms::normal});
    second_pid = co_await up("p");
    co_await gen_server::stop(sup);
  });
  EXPECT_NE(first_pid, second_pid);
}

TEST(Supervisor, a_transient_child_exiting_normally_is_not_restarted) {
  std::vector<ChildInfo> after;
  ChildCounts counts;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{}, {obedient_child("t", self(), Restart::transient)}};
    auto sup = co_await start_sup(std::move(spec));
    Pid t = co_await up("t");
    send(t, ExitWith{atoms::normal});
    co_await wait_end(t);
    after = co_await supervisor::which_children(sup);
    counts = co_await supervisor::count_children(sup);
    co_await gen_server::stop(sup);
  });
  ASSERT_EQ(after.size(), 1u);
  EXPECT_FALSE(after[0].pid);
  EXPECT_EQ(counts.specs, 1u);
  EXPECT_EQ(counts.active, 0u);
}

TEST(Supervisor, a_transient_child_exiting_with_shutdown_or_a_shutdown_tuple_is_not_restarted) {
  std::vector<ChildInfo> after;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{},
                        {obedient_child("t1", self(), Restart::transient),
                         obedient_child("t2", self(), Restart::transient)}};
    auto sup = co_await start_sup(std::move(spec));
    Pid t1 = co_await up("t1");
    Pid t2 = co_await up("t2");
    send(t1, ExitWith{ExitReason::shutdown(foo)});
    send(t2, ExitWith{atoms::shutdown});
    co_await wait_end(t1);
    co_await wait_end(t2);
    after = co_await supervisor::which_children(sup);
    co_await gen_server::stop(sup);
  });
  ASSERT_EQ(after.size(), 2u);
  EXPECT_FALSE(after[0].pid);
  EXPECT_FALSE(after[1].pid);
}

TEST(Supervisor, a_transient_child_exiting_abnormally_is_restarted) {
  Pid first_pid, second_pid;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec spec{{}, {obedient_child("t", self(), Restart::transient)}};
    auto sup = co_await start_sup(std::move(spec));
    first_pid = co_await up("t");
    send(first_pid, ExitWith{foo});
    second_pid = co_await up("t");
    co_await gen_server::stop(sup);
  });
  EXPECT_NE(first_pid, second_pid);
}

TEST(Supervisor, a_temporary_child_is_never_restarted_and_its_spec_is_dropped) {
  std::vector<ChildInfo> after;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec spec{
        {}, {obedient_child("t", self(), Restart::temporary), obedient_child("keep", self())}};
    auto sup = co_await start_sup(std::move(spec));
    Pid t = co_await up("t");
    co_await up("keep");
    send(t, ExitWith{foo});
    co_await wait_end(t);
    after = co_await supervisor::which_children(sup);
    co_await gen_server::stop(sup);
  });
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, id("keep"));
}

TEST(Supervisor, one_for_all_drops_a_temporary_sibling_instead_of_restarting_it) {
  std::vector<ChildInfo> after;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec spec{
        {Strategy::one_for_all, 3, 5s},
        {obedient_child("p", self()), obedient_child("t", self(), Restart::temporary)}};
    auto sup = co_await start_sup(std::move(spec));
    Pid p = co_await up("p");
    co_await up("t");
    send(p, ExitWith{foo});
    co_await up("p");
    after = co_await supervisor::which_children(sup);
    co_await gen_server::stop(sup);
  });
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, id("p"));
}

// --- restart intensity --------------------------------------------------------------------------

TEST(Supervisor, more_restarts_than_the_intensity_stop_the_children_and_end_with_shutdown) {
  Journal journal;
  std::optional<Exit> sup_exit;
  Pid sup_pid;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    trap_exit(true);
    SupervisorSpec spec{{Strategy::one_for_one, 1, 1h},
                        {worker("a", &journal, self()), obedient_child("p", self())}};
    auto sup = co_await start_sup(std::move(spec));
    sup_pid = *sup.pid();
    co_await up("a");
    Pid p0 = co_await up("p");
    send(p0, ExitWith{foo});
    Pid p1 = co_await up("p");
    send(p1, ExitWith{foo});  // the second restart is one too many
    sup_exit = co_await expect<Exit>();
  });
  ASSERT_TRUE(sup_exit);
  EXPECT_EQ(sup_exit->from, sup_pid);
  EXPECT_EQ(sup_exit->reason, atoms::shutdown);
  EXPECT_EQ(journal.events(), strings({"start a", "stop a"}));
}

TEST(Supervisor, intensity_zero_gives_up_at_the_first_exit_and_reports_it) {
  std::optional<Exit> sup_exit;
  std::size_t reports = 0;
  EXPECT_EQ(
      run(one_worker,
          [&]() -> Task<> {
            CapturedLog log;
            trap_exit(true);
            SupervisorSpec spec{{Strategy::one_for_one, 0, 1h}, {obedient_child("p", self())}};
            auto sup = co_await start_sup(std::move(spec));
            Pid p = co_await up("p");
            send(p, ExitWith{foo});
            sup_exit = co_await expect<Exit>();
            reports = log.of_kind("supervisor_reached_max_restart_intensity").size();
          }),
      0);
  ASSERT_TRUE(sup_exit);
  EXPECT_EQ(sup_exit->reason, atoms::shutdown);
  EXPECT_EQ(reports, 1u);
}

TEST(Supervisor, a_nested_supervisor_that_gives_up_is_restarted_by_its_parent) {
  Journal journal;
  std::optional<Pid> inner0, inner1;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec inner{{Strategy::one_for_one, 0, 1h}, {worker("w", &journal, self(), false)}};
    SupervisorSpec outer{{Strategy::one_for_one, 3, 1h},
                         {supervisor::child_spec(id("inner"), inner)}};
    auto sup = co_await start_sup(std::move(outer));
    Pid w0 = co_await up("w");
    auto before = co_await supervisor::which_children(sup);
    inner0 = pid_of(before, "inner");
    exit(w0, atoms::kill);  // the inner supervisor gives up: shutdown
    co_await up("w");       // the outer one restarted it, and so its worker
    auto after = co_await supervisor::which_children(sup);
    inner1 = pid_of(after, "inner");
    co_await gen_server::stop(sup);
  });
  ASSERT_TRUE(inner0);
  ASSERT_TRUE(inner1);
  EXPECT_NE(*inner0, *inner1);
  EXPECT_EQ(journal.events(), strings({"start w", "start w"}));
}

TEST(Supervisor, restart_intensity_exceeded_escalates_through_nested_supervisors) {
  Journal journal;
  std::optional<Exit> top_exit;
  Pid top;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    trap_exit(true);
    SupervisorSpec inner{{Strategy::one_for_one, 0, 1h}, {worker("w", &journal, self(), false)}};
    SupervisorSpec outer{
        {Strategy::one_for_one, 0, 1h},
        {worker("sibling", &journal, self()), supervisor::child_spec(id("inner"), inner)}};
    auto sup = co_await start_sup(std::move(outer));
    top = *sup.pid();
    co_await up("sibling");
    Pid w = co_await up("w");
    exit(w, atoms::kill);
    top_exit = co_await expect<Exit>();
  });
  ASSERT_TRUE(top_exit);
  EXPECT_EQ(top_exit->from, top);
  EXPECT_EQ(top_exit->reason, atoms::shutdown);
  EXPECT_EQ(journal.events(), strings({"start sibling", "start w", "stop sibling"}));
}

// --- shutdown -----------------------------------------------------------------------------------

TEST(Supervisor, a_child_that_ignores_shutdown_is_killed_after_its_shutdown_time) {
  std::optional<ExitReason> child_end;
  std::size_t reports = 0;
  run_test([&]() -> Task<> {
    CapturedLog log;
    ChildSpec child = process_child(id("s"), ignores_shutdown, std::string("s"), self());
    child.shutdown = Shutdown::timeout(20ms);
    child_end = co_await end_of_only_child(std::move(child), "s");
    reports = log.of_kind("supervisor_shutdown_error").size();
  });
  ASSERT_TRUE(child_end);
  EXPECT_EQ(*child_end, atoms::killed);
  EXPECT_EQ(reports, 1u);
}

TEST(Supervisor, brutal_kill_kills_a_child_without_running_its_terminate) {
  Journal journal;
  std::optional<ExitReason> child_end;
  run_test([&]() -> Task<> {
    ChildSpec child = worker("a", &journal, self());
    child.shutdown = Shutdown::brutal_kill();
    child_end = co_await end_of_only_child(std::move(child), "a");
  });
  ASSERT_TRUE(child_end);
  EXPECT_EQ(*child_end, atoms::killed);
  EXPECT_EQ(journal.events(), strings({"start a"}));
}

TEST(Supervisor, shutdown_infinity_waits_for_the_child_however_long_it_takes) {
  std::optional<ExitReason> child_end;
  bool stopped = false;
  run_test([&]() -> Task<> {
    ChildSpec child = process_child(id("s"), slow_to_stop, std::string("s"), self());
    child.shutdown = Shutdown::infinity();
    SupervisorSpec spec{{}, {std::move(child)}};
    auto sup = co_await start_sup(std::move(spec));
    Pid s = co_await up("s");
    Ref mref = monitor(s);
    Pid test = self();
    spawn([sup, test, &stopped]() -> Task<> {
      stopped = (co_await gen_server::stop(sup)).has_value();
      send(test, Up{"stopped", self()});
    });
    co_await up("s stopping");
    send(s, ExitWith{atoms::shutdown});
    co_await up("stopped");
    child_end = (co_await expect_down(mref)).reason;
  });
  EXPECT_TRUE(stopped);
  ASSERT_TRUE(child_end);
  EXPECT_EQ(*child_end, atoms::shutdown);
}

// OTP's shutdown/1 monitors the child and sends it exit(shutdown) whatever its mailbox says: an
// Exit from a child that is still alive (it sent its supervisor an exit signal) does not mean it
// ended, and the supervisor must not leave it running when it stops.
TEST(Supervisor, a_child_that_sent_its_supervisor_an_exit_signal_is_still_stopped_with_the_rest) {
  std::optional<ExitReason> c_end;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{},
                        {process_child(id("c"), sends_exits, std::string("c"), self()),
                         process_child(id("s"), slow_to_stop, std::string("s"), self())}};
    auto sup = co_await start_sup(std::move(spec));
    Pid c = co_await up("c");
    Pid s = co_await up("s");
    Ref c_watch = monitor(c);
    Pid test = self();
    spawn([sup, test]() -> Task<> {
      (void)co_await gen_server::stop(sup);
      send(test, Up{"stopped", self()});
    });
    co_await up("s stopping");  // the supervisor is stopping its children, s first
    send(c, SendExit{*sup.pid(), foo});
    co_await up("c sent");  // c's Exit is in the supervisor's mailbox; c lives on
    send(s, ExitWith{atoms::shutdown});
    co_await up("stopped");
    c_end = (co_await expect_down(c_watch)).reason;
  });
  ASSERT_TRUE(c_end);
  EXPECT_EQ(*c_end, atoms::shutdown);
}

TEST(Supervisor, a_child_that_traps_exits_runs_terminate_on_shutdown) {
  Journal journal;
  std::optional<ExitReason> child_end;
  run_test([&]() -> Task<> {
    child_end = co_await end_of_only_child(worker("a", &journal, self()), "a");
  });
  ASSERT_TRUE(child_end);
  EXPECT_EQ(*child_end, atoms::shutdown);
  EXPECT_EQ(journal.events(), strings({"start a", "stop a"}));
}

// --- start failures -----------------------------------------------------------------------------

TEST(Supervisor, start_link_fails_with_failed_to_start_child_and_stops_the_started_ones) {
  Journal journal;
  std::optional<ExitReason> error;
  EXPECT_EQ(
      run(one_worker,
          [&]() -> Task<> {
            CapturedLog quiet;
            trap_exit(true);
            ChildSpec bad = server_child<FailingInit>(id("bad"));
            SupervisorSpec spec{
                {}, {worker("a", &journal, self()), std::move(bad), worker("c", &journal, self())}};
            auto sup = co_await supervisor::start_link(std::move(spec));
            if (!sup) error = sup.error();
          }),
      0);
  ASSERT_TRUE(error);
  EXPECT_EQ(*error,
            ExitReason::shutdown(Term::tuple(Atom("failed_to_start_child"), id("bad"), foo)));
  EXPECT_EQ(journal.events(), strings({"start a", "stop a"}));
}

TEST(Supervisor, duplicate_child_ids_are_rejected_before_any_child_starts) {
  Journal journal;
  std::optional<ExitReason> error;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    trap_exit(true);
    SupervisorSpec spec{{},
                        {worker("a", &journal, self()), worker("b", &journal, self()),
                         worker("a", &journal, self())}};
    auto sup = co_await supervisor::start_link(std::move(spec));
    if (!sup) error = sup.error();
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, ExitReason(Term::tuple(Atom("start_spec"),
                                           Term::tuple(Atom("duplicate_child_name"), id("a")))));
  EXPECT_TRUE(journal.events().empty());
}

namespace {
/// A spec with an id and no start.
ChildSpec no_start(const char* name) {
  ChildSpec spec;
  spec.id = id(name);
  return spec;
}
}  // namespace

// OTP 25: supervisor:start_link(M, [#{id => a}]) -> {error, {start_spec, missing_start}}; with
// [#{id => a, start => ...}, #{id => a}] the same (each spec is checked before its id).
TEST(Supervisor, a_child_without_a_start_is_refused_with_missing_start_before_any_child_starts) {
  Journal journal;
  std::optional<ExitReason> error, error_before_duplicate;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    trap_exit(true);
    SupervisorSpec spec{{}, {worker("a", &journal, self()), no_start("b")}};
    auto sup = co_await supervisor::start_link(std::move(spec));
    if (!sup) error = sup.error();
    SupervisorSpec dup{{}, {worker("a", &journal, self()), no_start("a")}};
    auto sup2 = co_await supervisor::start_link(std::move(dup));
    if (!sup2) error_before_duplicate = sup2.error();
  });
  ExitReason missing(Term::tuple(atoms::start_spec, atoms::missing_start));
  EXPECT_EQ(error, missing);
  EXPECT_EQ(error_before_duplicate, missing);
  EXPECT_TRUE(journal.events().empty());
}

// OTP 25: supervisor:start_child(Sup, #{id => a}) -> {error, missing_start}, even when a runs.
TEST(Supervisor, start_child_refuses_a_spec_without_a_start_with_missing_start) {
  std::optional<ExitReason> error, error_taken_id;
  std::size_t specs = 99;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{}, {obedient_child("a", self())}};
    auto sup = co_await start_sup(std::move(spec));
    auto r = co_await supervisor::start_child(sup, no_start("b"));
    if (!r) error = r.error();
    auto r2 = co_await supervisor::start_child(sup, no_start("a"));
    if (!r2) error_taken_id = r2.error();
    specs = (co_await supervisor::count_children(sup)).specs;
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(error, ExitReason(atoms::missing_start));
  EXPECT_EQ(error_taken_id, ExitReason(atoms::missing_start));
  EXPECT_EQ(specs, 1u);
}

TEST(Supervisor, a_child_start_returning_ignore_keeps_the_spec_without_a_pid) {
  std::vector<ChildInfo> children;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{},
                        {ignoring_child("i"), ignoring_child("gone", Restart::temporary),
                         obedient_child("p", self())}};
    auto sup = co_await start_sup(std::move(spec));
    co_await up("p");
    children = co_await supervisor::which_children(sup);
    co_await gen_server::stop(sup);
  });
  ASSERT_EQ(children.size(), 2u);
  EXPECT_TRUE(has(children, "i"));
  EXPECT_FALSE(pid_of(children, "i"));
  EXPECT_FALSE(has(children, "gone"));
  EXPECT_TRUE(pid_of(children, "p"));
}

// --- an init function, and init returning ignore -----------------------------------------------

namespace {
/// An init that says `ignore`, journaling the process it runs in.
SupervisorInit ignoring_init(Journal* journal) {
  return [journal]() -> Task<std::expected<SupervisorSpec, ExitReason>> {
    journal->add("init in " + to_string(self()));
    co_return std::unexpected(ExitReason(atoms::ignore));
  };
}
}  // namespace

// OTP 25 (supervisor_SUITE sup_start_ignore_init): with init/1 returning ignore,
// supervisor:start_link returns ignore and the trapping caller gets {'EXIT', Pid, normal}.
TEST(Supervisor,
     init_returning_ignore_makes_start_link_return_ignore_and_the_supervisor_end_normal) {
  Journal journal;
  std::optional<ExitReason> error, end;
  std::optional<Pid> ended;
  run_test([&]() -> Task<> {
    trap_exit(true);
    auto sup = co_await supervisor::start_link(ignoring_init(&journal));
    if (!sup) error = sup.error();
    Exit e = co_await expect<Exit>();
    ended = e.from;
    end = e.reason;
  });
  EXPECT_EQ(error, ExitReason(atoms::ignore));
  EXPECT_EQ(end, ExitReason(atoms::normal));
  ASSERT_TRUE(ended);
  EXPECT_EQ(journal.events(), std::vector<std::string>{"init in " + to_string(*ended)});
}

// OTP 25: supervisor:start_link(M, crash) with init/1 exiting foo returns {error, foo}.
TEST(Supervisor,
     an_init_function_gives_the_spec_in_the_supervisor_or_the_error_start_link_returns) {
  Journal journal;
  std::optional<Pid> init_ran_in, sup_pid;
  std::optional<ExitReason> error;
  std::vector<ChildInfo> children;
  run_test([&]() -> Task<> {
    trap_exit(true);
    Pid test = self();
    Journal* j = &journal;
    SupervisorInit init = [&, test, j]() -> Task<std::expected<SupervisorSpec, ExitReason>> {
      init_ran_in = self();
      co_return SupervisorSpec{{}, {worker("a", j, test)}};
    };
    auto sup = co_await supervisor::start_link(std::move(init));
    if (!sup) give_up();
    sup_pid = *sup->pid();
    children = co_await supervisor::which_children(*sup);
    co_await gen_server::stop(*sup);
    SupervisorInit failing = []() -> Task<std::expected<SupervisorSpec, ExitReason>> {
      co_return std::unexpected(ExitReason(foo));
    };
    auto bad = co_await supervisor::start_link(std::move(failing));
    if (!bad) error = bad.error();
  });
  EXPECT_EQ(init_ran_in, sup_pid);
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].id, id("a"));
  EXPECT_EQ(journal.events(), strings({"start a", "stop a"}));
  EXPECT_EQ(error, ExitReason(foo));
}

// OTP 25 (sup_start_ignore_child): a child supervisor whose init says ignore stays a spec
// without a pid in its parent, as any child whose start returns ignore.
TEST(Supervisor, a_child_supervisor_whose_init_ignores_is_kept_without_a_pid) {
  Journal journal;
  std::vector<ChildInfo> children;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{}, {supervisor::child_spec(id("s"), ignoring_init(&journal))}};
    auto sup = co_await start_sup(std::move(spec));
    children = co_await supervisor::which_children(sup);
    co_await gen_server::stop(sup);
  });
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].id, id("s"));
  EXPECT_FALSE(children[0].pid);
  EXPECT_EQ(journal.events().size(), 1u);
}

// --- ready-made child specs --------------------------------------------------------------------

TEST(Supervisor, child_spec_makes_a_nested_supervisor_a_child_under_the_name_of_its_start_options) {
  Journal journal;
  std::vector<ChildInfo> outer_children, inner_children;
  std::optional<Pid> named;
  run_test([&]() -> Task<> {
    SupervisorSpec inner{{}, {worker("w", &journal, self())}};
    StartOptions options{.name = Atom("inner_sup")};
    SupervisorSpec outer{{}, {supervisor::child_spec(id("inner"), inner, options)}};
    auto sup = co_await start_sup(std::move(outer));
    co_await up("w");
    outer_children = co_await supervisor::which_children(sup);
    named = whereis(Atom("inner_sup"));
    inner_children = co_await supervisor::which_children(Atom("inner_sup"));
    co_await gen_server::stop(sup);
  });
  ASSERT_EQ(outer_children.size(), 1u);
  EXPECT_EQ(outer_children[0].id, id("inner"));
  EXPECT_EQ(outer_children[0].type, ChildType::supervisor);
  EXPECT_EQ(outer_children[0].pid, named);
  ASSERT_EQ(inner_children.size(), 1u);
  EXPECT_EQ(inner_children[0].id, id("w"));
  EXPECT_EQ(journal.events(), strings({"start w", "stop w"}));
}

TEST(Supervisor, a_server_child_with_start_options_takes_its_name_again_when_restarted) {
  Journal journal;
  std::optional<Pid> first, second, named_first, named_second;
  std::string answer;
  run_test([&]() -> Task<> {
    StartOptions options{.name = Atom("named_worker")};
    SupervisorSpec spec{
        {}, {server_child<Worker>(id("w"), options, std::string("w"), &journal, self(), false)}};
    auto sup = co_await start_sup(std::move(spec));
    first = co_await up("w");
    named_first = whereis(Atom("named_worker"));
    ServerRef<Worker> by_name(Atom("named_worker"));
    answer = co_await gen_server::call(by_name, Get{});
    exit(*first, atoms::kill);
    second = co_await up("w");
    named_second = whereis(Atom("named_worker"));
    co_await gen_server::stop(sup);
  });
  ASSERT_TRUE(first && second);
  EXPECT_EQ(named_first, first);
  EXPECT_EQ(answer, "w");
  EXPECT_NE(*second, *first);
  EXPECT_EQ(named_second, second);
}

/// A server type with a start_link of its own, which counts its calls: server_child must start
/// it through that one, not through GenServer's.
struct OwnStart : GenServer<OwnStart> {
  struct Starts {};
  using calls = Types<Starts>;
  static inline int own_starts = 0;  // the runtime has one worker
  static Task<StartResult<OwnStart>> start_link(std::string name) {
    ++own_starts;
    return GenServer<OwnStart>::start_link(StartOptions{.name = Atom(name)});
  }
  CallResult<int> handle_call(Starts, const From&) { return reply(own_starts); }
};

TEST(Supervisor, a_server_child_whose_type_declares_start_link_is_started_by_it) {
  int starts = 0;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{}, {server_child<OwnStart>(id("own"), std::string("own_start"))}};
    auto sup = co_await start_sup(std::move(spec));
    ServerRef<OwnStart> server(Atom("own_start"));
    starts = co_await gen_server::call(server, OwnStart::Starts{});
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(starts, 1);
}

// --- child management ---------------------------------------------------------------------------

TEST(Supervisor, which_children_lists_the_last_started_first_as_otp_does) {
  std::vector<Term> ids;
  EXPECT_EQ(
      run(one_worker,
          [&]() -> Task<> {
            SupervisorSpec spec{{}, {obedient_child("a", self()), obedient_child("b", self())}};
            auto sup = co_await start_sup(std::move(spec));
            ChildSpec c = obedient_child("c", self());
            co_await supervisor::start_child(sup, std::move(c));
            auto children = co_await supervisor::which_children(sup);
            for (auto& child : children) ids.push_back(child.id);
            co_await gen_server::stop(sup);
          }),
      0);
  EXPECT_EQ(ids, (std::vector<Term>{id("c"), id("b"), id("a")}));
}

TEST(Supervisor, count_children_counts_specs_running_children_and_types) {
  ChildCounts counts;
  run_test([&]() -> Task<> {
    SupervisorSpec inner{{}, {}};
    SupervisorSpec spec{
        {},
        {obedient_child("a", self()), ignoring_child("i"), supervisor::child_spec(id("s"), inner)}};
    auto sup = co_await start_sup(std::move(spec));
    counts = co_await supervisor::count_children(sup);
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(counts.specs, 3u);
  EXPECT_EQ(counts.active, 2u);
  EXPECT_EQ(counts.supervisors, 1u);
  EXPECT_EQ(counts.workers, 2u);
}

TEST(Supervisor, start_child_starts_and_links_a_new_child_and_rejects_a_taken_id) {
  std::optional<Pid> started;
  std::optional<ExitReason> again, present;
  bool linked = false;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{}, {}};
    auto sup = co_await start_sup(std::move(spec));
    ChildSpec n1 = obedient_child("n", self()), n2 = n1, n3 = n1;
    auto r = co_await supervisor::start_child(sup, std::move(n1));
    if (r) started = *r;
    Pid n = co_await up("n");
    auto links = (co_await process_info(n))->links;
    linked = links.size() == 1 && links[0] == *sup.pid();
    auto r2 = co_await supervisor::start_child(sup, std::move(n2));
    if (!r2) again = r2.error();
    co_await supervisor::terminate_child(sup, id("n"));
    auto r3 = co_await supervisor::start_child(sup, std::move(n3));
    if (!r3) present = r3.error();
    co_await gen_server::stop(sup);
  });
  ASSERT_TRUE(started);
  EXPECT_TRUE(linked);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, ExitReason(Term::tuple(Atom("already_started"), *started)));
  ASSERT_TRUE(present);
  EXPECT_EQ(*present, Atom("already_present"));
}

TEST(Supervisor, start_child_returns_the_error_of_a_failing_start_and_keeps_no_spec) {
  std::optional<ExitReason> error;
  std::size_t specs = 99;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec spec{{}, {}};
    auto sup = co_await start_sup(std::move(spec));
    ChildSpec f = server_child<FailingInit>(id("f"));
    auto r = co_await supervisor::start_child(sup, std::move(f));
    if (!r) error = r.error();
    specs = (co_await supervisor::count_children(sup)).specs;
    co_await gen_server::stop(sup);
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, foo);
  EXPECT_EQ(specs, 0u);
}

TEST(Supervisor, terminate_restart_and_delete_child_follow_otp_and_report_their_errors) {
  Journal journal;
  std::optional<ExitReason> restart_running, delete_running, terminate_unknown, restart_unknown,
      delete_unknown;
  std::optional<ChildInfo> stopped;
  std::optional<Pid> restarted;
  bool deleted = false, terminated = false;
  std::vector<ChildInfo> at_end;
  EXPECT_EQ(
      run(one_worker,
          [&]() -> Task<> {
            SupervisorSpec spec{{}, {worker("a", &journal, self()), worker("b", &journal, self())}};
            auto sup = co_await start_sup(std::move(spec));
            co_await up("a");
            co_await up("b");
            auto e1 = co_await supervisor::restart_child(sup, id("a"));
            if (!e1) restart_running = e1.error();
            auto e2 = co_await supervisor::delete_child(sup, id("a"));
            if (!e2) delete_running = e2.error();
            terminated = (co_await supervisor::terminate_child(sup, id("a"))).has_value();
            auto children = co_await supervisor::which_children(sup);
            for (auto& c : children)
              if (c.id == id("a")) stopped = c;
            auto r = co_await supervisor::restart_child(sup, id("a"));
            if (r && *r) restarted = **r;
            co_await up("a");
            co_await supervisor::terminate_child(sup, id("a"));
            deleted = (co_await supervisor::delete_child(sup, id("a"))).has_value();
            auto e3 = co_await supervisor::terminate_child(sup, id("zz"));
            if (!e3) terminate_unknown = e3.error();
            auto e4 = co_await supervisor::restart_child(sup, id("zz"));
            if (!e4) restart_unknown = e4.error();
            auto e5 = co_await supervisor::delete_child(sup, id("a"));
            if (!e5) delete_unknown = e5.error();
            at_end = co_await supervisor::which_children(sup);
            co_await gen_server::stop(sup);
          }),
      0);
  EXPECT_EQ(restart_running, ExitReason(Atom("running")));
  EXPECT_EQ(delete_running, ExitReason(Atom("running")));
  EXPECT_TRUE(terminated);
  ASSERT_TRUE(stopped);
  EXPECT_FALSE(stopped->pid);
  EXPECT_TRUE(restarted);
  EXPECT_TRUE(deleted);
  EXPECT_EQ(terminate_unknown, ExitReason(Atom("not_found")));
  EXPECT_EQ(restart_unknown, ExitReason(Atom("not_found")));
  EXPECT_EQ(delete_unknown, ExitReason(Atom("not_found")));
  ASSERT_EQ(at_end.size(), 1u);
  EXPECT_EQ(at_end[0].id, id("b"));
  EXPECT_EQ(journal.events(),
            strings({"start a", "start b", "stop a", "start a", "stop a", "stop b"}));
}

TEST(Supervisor, terminate_child_of_a_temporary_child_drops_its_spec) {
  std::size_t specs = 99;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{}, {obedient_child("t", self(), Restart::temporary)}};
    auto sup = co_await start_sup(std::move(spec));
    co_await up("t");
    co_await supervisor::terminate_child(sup, id("t"));
    specs = (co_await supervisor::count_children(sup)).specs;
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(specs, 0u);
}

TEST(Supervisor, a_terminated_child_is_not_restarted_when_it_ends) {
  std::vector<ChildInfo> children;
  run_test([&]() -> Task<> {
    SupervisorSpec spec{{}, {obedient_child("p", self())}};
    auto sup = co_await start_sup(std::move(spec));
    Pid p = co_await up("p");
    Ref mref = monitor(p);
    co_await supervisor::terminate_child(sup, id("p"));
    co_await expect_down(mref);
    children = co_await supervisor::which_children(sup);
    co_await gen_server::stop(sup);
  });
  ASSERT_EQ(children.size(), 1u);
  EXPECT_FALSE(children[0].pid);
}

TEST(Supervisor, a_child_that_keeps_crashing_is_restarted_each_time_on_several_workers) {
  constexpr int crashes = 30;
  std::vector<Pid> seen;
  std::size_t active = 0;
  run_test(two_workers, [&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec spec{{Strategy::one_for_all, crashes, 1h},
                        {obedient_child("p", self()), obedient_child("q", self())}};
    auto sup = co_await start_sup(std::move(spec));
    co_await up("q");
    for (int i = 0; i < crashes; ++i) {
      Pid p = co_await up("p");
      seen.push_back(p);
      send(p, ExitWith{foo});
      co_await up("q");
    }
    seen.push_back(co_await up("p"));
    active = (co_await supervisor::count_children(sup)).active;
    co_await gen_server::stop(sup);
  });
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(crashes + 1));
  EXPECT_EQ(active, 2u);
}

// --- a restart that fails: OTP's try_again_restart ---------------------------------------------

TEST(Supervisor, a_failed_restart_is_tried_again_until_the_child_starts_each_try_a_restart) {
  FlakyStart flaky;
  std::size_t start_errors = 0;
  std::vector<ChildInfo> children;
  run_test([&]() -> Task<> {
    CapturedLog log;
    SupervisorSpec spec{{Strategy::one_for_one, 10, 1h}, {flaky_child("f", self(), &flaky)}};
    auto sup = co_await start_sup(std::move(spec));
    Pid first = co_await up("f");
    flaky.failures_left = 2;
    send(first, ExitWith{foo});
    co_await up("f");
    start_errors = log.of_kind("supervisor_start_error").size();
    children = co_await supervisor::which_children(sup);
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(flaky.attempts.load(), 4);  // the first start, two failures, the one that worked
  EXPECT_EQ(start_errors, 2u);
  ASSERT_EQ(children.size(), 1u);
  EXPECT_TRUE(children[0].pid);
  EXPECT_FALSE(children[0].restarting);
}

TEST(Supervisor, failed_restarts_count_toward_the_intensity) {
  // OTP adds a restart before each attempt: with intensity 3 the supervisor makes three attempts
  // and gives up at the fourth.
  FlakyStart flaky;
  std::optional<Exit> sup_exit;
  EXPECT_EQ(
      run(one_worker,
          [&]() -> Task<> {
            CapturedLog quiet;
            trap_exit(true);
            SupervisorSpec spec{{Strategy::one_for_one, 3, 1h}, {flaky_child("f", self(), &flaky)}};
            auto sup = co_await start_sup(std::move(spec));
            Pid first = co_await up("f");
            flaky.failures_left = 1'000'000;
            send(first, ExitWith{foo});
            sup_exit = co_await expect<Exit>([&](const Exit& e) { return e.from == *sup.pid(); });
          }),
      0);
  ASSERT_TRUE(sup_exit);
  EXPECT_EQ(sup_exit->reason, atoms::shutdown);
  EXPECT_EQ(flaky.attempts.load(), 1 + 3);
}

TEST(Supervisor, between_tries_the_supervisor_answers_calls_and_terminate_child_ends_the_tries) {
  FlakyStart flaky;
  std::optional<ChildInfo> while_retrying, after_terminate;
  std::optional<ExitReason> restart_error, delete_error;
  int attempts_at_terminate = -1, attempts_later = -2;
  std::optional<Pid> restarted;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec spec{{Strategy::one_for_one, 100'000'000, 1h},
                        {flaky_child("f", self(), &flaky)}};
    auto sup = co_await start_sup(std::move(spec));
    Pid first = co_await up("f");
    flaky.failures_left = 1'000'000'000;
    Ref mref = monitor(first);
    send(first, ExitWith{foo});
    co_await expect_down(mref);
    // The exit reached the supervisor before the Down reached us: it is retrying now.
    while_retrying = (co_await supervisor::which_children(sup)).at(0);
    auto r = co_await supervisor::restart_child(sup, id("f"));
    if (!r) restart_error = r.error();
    auto d = co_await supervisor::delete_child(sup, id("f"));
    if (!d) delete_error = d.error();
    co_await supervisor::terminate_child(sup, id("f"));
    attempts_at_terminate = flaky.attempts.load();
    // A try queued before terminate_child is handled (and ignored) before this call.
    after_terminate = (co_await supervisor::which_children(sup)).at(0);
    attempts_later = flaky.attempts.load();
    flaky.failures_left = 0;
    auto again = co_await supervisor::restart_child(sup, id("f"));
    if (again && *again) restarted = **again;
    co_await gen_server::stop(sup);
  });
  ASSERT_TRUE(while_retrying);
  EXPECT_FALSE(while_retrying->pid);
  EXPECT_TRUE(while_retrying->restarting);
  EXPECT_EQ(restart_error, ExitReason(Atom("restarting")));
  EXPECT_EQ(delete_error, ExitReason(Atom("restarting")));
  ASSERT_TRUE(after_terminate);
  EXPECT_FALSE(after_terminate->restarting);
  EXPECT_GT(attempts_at_terminate, 1);
  EXPECT_EQ(attempts_later, attempts_at_terminate);
  EXPECT_TRUE(restarted);
}

TEST(Supervisor, rest_for_one_tries_again_from_the_child_that_failed_to_start) {
  // a, b, c under rest_for_one; b exits and its restart fails once. The retry restarts b and
  // stops/starts those after it again, as OTP's restart(rest_for_one, ...) does.
  Journal journal;
  FlakyStart flaky;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    SupervisorSpec spec{{Strategy::rest_for_one, 10, 1h},
                        {worker("a", &journal, self()), flaky_child("b", self(), &flaky),
                         worker("c", &journal, self())}};
    auto sup = co_await start_sup(std::move(spec));
    co_await up("a");
    Pid b = co_await up("b");
    co_await up("c");
    flaky.failures_left = 1;
    send(b, ExitWith{foo});
    co_await up("b");
    co_await up("c");
    co_await gen_server::stop(sup);
  });
  EXPECT_EQ(flaky.attempts.load(), 3);
  EXPECT_EQ(journal.events(),
            strings({"start a", "start c", "stop c", "start c", "stop c", "stop a"}));
}
