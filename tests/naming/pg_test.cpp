#include "ambitious/naming/pg.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "ambitious/behaviours/supervisor.hpp"
#include "ambitious/process/names.hpp"
#include "naming_support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

const Term group_a(Atom("a"));
const Term group_b(Atom("b"));

std::vector<Pid> sorted(std::vector<Pid> v) {
  std::sort(v.begin(), v.end());
  return v;
}

template <class F>
int with_scope(F body) {
  return run(one_worker, [&]() -> Task<> {
    auto scope = co_await pg::start_link();
    EXPECT_TRUE(scope.has_value());
    if (scope) co_await body();
  });
}

Task<pg::Notification> next_notification(const Ref& ref) {
  auto n = co_await receive_if<pg::Notification>(
      [&](const pg::Notification& x) { return x.ref == ref; }, patience);
  EXPECT_TRUE(n);
  co_return n ? std::move(*n) : pg::Notification{};
}

}  // namespace

TEST(Pg, a_joined_process_is_a_member_as_many_times_as_it_joined) {
  EXPECT_EQ(with_scope([]() -> Task<> {
              Pid other = spawn(wait_for_done);
              co_await pg::join(group_a, self());
              std::vector<Pid> both{self(), other};
              co_await pg::join(group_a, both);
              std::vector<Pid> expected = sorted(std::vector<Pid>{self(), self(), other});
              EXPECT_EQ(sorted(pg::get_members(group_a)), expected);
              EXPECT_EQ(sorted(pg::get_local_members(group_a)), expected);
              EXPECT_EQ(pg::which_groups(), std::vector<Term>{group_a});
              EXPECT_EQ(pg::which_local_groups(), std::vector<Term>{group_a});
              EXPECT_TRUE(pg::get_members(group_b).empty());
              send(other, Done{});
            }),
            0);
}

TEST(Pg, leave_removes_one_membership_and_a_group_without_members_is_gone) {
  EXPECT_EQ(with_scope([]() -> Task<> {
              co_await pg::join(group_a, self());
              co_await pg::join(group_a, self());
              auto r1 = co_await pg::leave(group_a, self());
              EXPECT_EQ(r1, pg::Left::ok);
              EXPECT_EQ(pg::get_members(group_a), std::vector<Pid>{self()});
              auto r2 = co_await pg::leave(group_a, self());
              EXPECT_EQ(r2, pg::Left::ok);
              EXPECT_TRUE(pg::get_members(group_a).empty());
              EXPECT_TRUE(pg::which_groups().empty());
              auto r3 = co_await pg::leave(group_a, self());
              EXPECT_EQ(r3, pg::Left::not_joined);
            }),
            0);
}

TEST(Pg, a_member_that_ends_leaves_all_its_groups_and_monitors_see_each_leave) {
  EXPECT_EQ(with_scope([]() -> Task<> {
              auto watch = co_await pg::monitor_scope();
              EXPECT_TRUE(watch.groups.empty());
              Pid member = spawn(wait_for_done);
              co_await pg::join(group_a, member);
              co_await pg::join(group_a, member);
              co_await pg::join(group_b, member);
              for (int i = 0; i < 3; ++i) {
                auto n = co_await next_notification(watch.ref);
                EXPECT_EQ(n.event, pg::Notification::join);
                EXPECT_EQ(n.pids, std::vector<Pid>{member});
              }
              exit(member, atoms::kill);
              // One leave per membership; the last proves the scope has handled the exit.
              std::vector<Term> left;
              for (int i = 0; i < 3; ++i) {
                auto n = co_await next_notification(watch.ref);
                EXPECT_EQ(n.event, pg::Notification::leave);
                EXPECT_EQ(n.pids, std::vector<Pid>{member});
                left.push_back(n.group);
              }
              std::sort(left.begin(), left.end());
              EXPECT_EQ(left, (std::vector<Term>{group_a, group_a, group_b}));
              EXPECT_TRUE(pg::get_members(group_a).empty());
              EXPECT_TRUE(pg::get_members(group_b).empty());
              EXPECT_TRUE(pg::which_groups().empty());
            }),
            0);
}

TEST(Pg, a_group_monitor_sees_its_group_only_and_demonitor_flushes_and_stops_it) {
  EXPECT_EQ(with_scope([]() -> Task<> {
              co_await pg::join(group_a, self());
              auto watch = co_await pg::monitor(group_a);
              EXPECT_EQ(watch.members, std::vector<Pid>{self()});
              Pid other = spawn(wait_for_done);
              co_await pg::join(group_b, other);
              co_await pg::join(group_a, other);
              auto n = co_await next_notification(watch.ref);
              EXPECT_EQ(n.event, pg::Notification::join);
              EXPECT_EQ(n.group, group_a);
              EXPECT_EQ(n.pids, std::vector<Pid>{other});
              auto r4 = co_await pg::leave(group_a, other);  // its notification: flushed
              EXPECT_EQ(r4, pg::Left::ok);
              auto r5 = co_await pg::demonitor(watch.ref);
              EXPECT_TRUE(r5);
              auto r6 = co_await receive<pg::Notification>(0ms);
              EXPECT_FALSE(r6);
              co_await pg::join(group_a, other);
              auto r7 = co_await receive<pg::Notification>(0ms);
              EXPECT_FALSE(r7);
              auto r8 = co_await pg::demonitor(watch.ref);
              EXPECT_FALSE(r8);
              send(other, Done{});
            }),
            0);
}

TEST(Pg, scopes_are_independent) {
  EXPECT_EQ(with_scope([]() -> Task<> {
              auto other_scope = co_await pg::start_link(Atom("other_scope"));
              EXPECT_TRUE(other_scope.has_value());
              co_await pg::join(Atom("other_scope"), group_a, self());
              EXPECT_EQ(pg::get_members(Atom("other_scope"), group_a), std::vector<Pid>{self()});
              EXPECT_TRUE(pg::get_members(group_a).empty());
              EXPECT_TRUE(pg::which_groups().empty());
              EXPECT_EQ(pg::which_groups(Atom("other_scope")), std::vector<Term>{group_a});
            }),
            0);
}

TEST(Pg, joining_a_scope_that_is_not_running_ends_the_caller_with_noproc) {
  std::optional<Down> down;
  EXPECT_EQ(
      run(one_worker,
          [&]() -> Task<> {
            spawn_monitor([]() -> Task<> { co_await pg::join(Atom("no_scope"), group_a, self()); });
            down = co_await receive<Down>(patience);
            EXPECT_TRUE(pg::get_members(Atom("no_scope"), group_a).empty());
          }),
      0);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason.term()[0], Term(atoms::noproc));
}

TEST(Pg, only_local_processes_may_join) {
  EXPECT_EQ(with_scope([]() -> Task<> {
              Pid remote(1, 42, 0);
              bool threw = false;
              try {
                co_await pg::join(group_a, remote);
              } catch (const BadArg&) {
                threw = true;
              }
              EXPECT_TRUE(threw);
              EXPECT_TRUE(pg::get_members(group_a).empty());
            }),
            0);
}

TEST(Pg, child_spec_starts_a_scope_under_a_supervisor_as_a_worker_named_by_the_scope) {
  std::vector<ChildInfo> children;
  std::optional<Pid> scope, default_scope;
  std::vector<Pid> members;
  Pid me;
  run_test([&]() -> Task<> {
    me = self();
    SupervisorSpec spec{{}, {pg::child_spec(), pg::child_spec(Atom("other_scope"))}};
    auto sup = co_await supervisor::start_link(std::move(spec));
    if (!sup) give_up("the supervisor did not start");
    children = co_await supervisor::which_children(*sup);
    scope = whereis(Atom("other_scope"));
    default_scope = whereis(pg::default_scope());
    co_await pg::join(Atom("other_scope"), group_a, self());
    members = pg::get_members(Atom("other_scope"), group_a);
    co_await gen_server::stop(*sup);
  });
  ASSERT_EQ(children.size(), 2u);  // the last started first
  EXPECT_EQ(children[0].id, Term(Atom("other_scope")));
  EXPECT_EQ(children[0].pid, scope);
  EXPECT_EQ(children[1].id, Term(pg::default_scope()));
  EXPECT_EQ(children[1].pid, default_scope);
  EXPECT_EQ(children[0].type, ChildType::worker);
  EXPECT_EQ(members, std::vector<Pid>{me});
}
