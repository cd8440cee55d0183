#include "ambitious/process/link.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

/// Links to `partner`, reports "linked" to `report`, then waits forever.
Task<> link_and_wait(Pid partner, Pid report) {
  link(partner);
  send(report, Go{});
  co_await receive<Done>();
}

bool links_to(const std::optional<ProcessInfo>& info, Pid pid) {
  return info && std::ranges::find(info->links, pid) != info->links.end();
}

}  // namespace

TEST(Link, a_trapping_process_receives_a_normal_exit_as_a_message) {
  std::optional<Exit> got;
  Pid child;
  run_test([&]() -> Task<> {
    trap_exit(true);
    child = spawn_link([]() -> Task<> { co_return; });
    got = co_await receive<Exit>(patience);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, child);
  EXPECT_TRUE(got->reason.is_normal());
}

TEST(Link, a_process_that_does_not_trap_ignores_a_linked_partners_normal_exit) {
  bool survived = false, link_gone = false;
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    Pid root = self();
    auto [m, ref] = spawn_monitor([root, &link_gone]() -> Task<> {
      Pid c = spawn_link(exit_on_go, ExitReason());
      monitor(c);
      send(c, Go{});
      co_await receive<Down>();  // comes after c's exit signal
      link_gone = !links_to(co_await process_info(self()), c);
      send(root, Go{});
      co_await receive<Done>();
    });
    survived = (co_await receive<Go>(patience)).has_value();
    send(m, Done{});
    down = co_await receive<Down>(patience);
  });
  EXPECT_TRUE(survived);
  EXPECT_TRUE(link_gone);
  ASSERT_TRUE(down);
  EXPECT_TRUE(down->reason.is_normal());
}

TEST(Link, an_abnormal_exit_ends_a_linked_process_that_does_not_trap_with_the_same_reason) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    spawn_monitor([]() -> Task<> {
      Pid c = spawn_link(exit_on_go, ExitReason(foo));
      send(c, Go{});
      co_await receive<Done>();
    });
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, foo);
}

TEST(Link, a_trapping_process_receives_an_abnormal_exit_as_a_message_and_lives_on) {
  std::optional<Exit> got;
  Pid child;
  run_test([&]() -> Task<> {
    trap_exit(true);
    child = spawn_link(exit_on_go, ExitReason(foo));
    send(child, Go{});
    got = co_await receive<Exit>(patience);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, child);
  EXPECT_EQ(got->reason, foo);
}

TEST(Link, kill_is_untrappable_and_partners_see_killed) {
  std::optional<Exit> exit_msg;
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    trap_exit(true);
    Pid victim = spawn_link([]() -> Task<> {
      trap_exit(true);
      for (;;) co_await receive<Exit>();  // traps everything it can
    });
    Ref ref = monitor(victim);
    exit(victim, atoms::kill);
    exit_msg = co_await receive<Exit>(patience);
    down = co_await receive_if<Down>([&](const Down& d) { return d.ref == ref; }, patience);
  });
  ASSERT_TRUE(exit_msg);
  EXPECT_EQ(exit_msg->reason, atoms::killed);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, atoms::killed);
}

TEST(Link, a_linked_partners_exit_reason_kill_is_an_ordinary_trappable_reason) {
  // OTP 25: a process ending with exit(kill) sends its links `kill`, which a trapping process
  // receives as {'EXIT', P, kill} and a non-trapping one dies of (with reason kill, not killed).
  std::optional<Exit> trapped;
  std::optional<Down> middle_down;
  std::optional<Exit> from_middle;
  run_test([&]() -> Task<> {
    trap_exit(true);
    Pid a = spawn_link(exit_on_go, ExitReason(atoms::kill));
    send(a, Go{});
    trapped = co_await receive<Exit>(patience);

    // root (trapping) <- link -> middle (not trapping) <- link -> b: exit(kill)
    Pid root = self();
    Pid middle = spawn_link([root]() -> Task<> {
      Pid b = spawn_link(exit_on_go, ExitReason(atoms::kill));
      send(root, b);
      co_await receive<Done>();
    });
    Ref ref = monitor(middle);
    auto b = co_await receive<Pid>(patience);
    if (b) send(*b, Go{});
    from_middle = co_await receive<Exit>(patience);
    middle_down = co_await receive_if<Down>([&](const Down& d) { return d.ref == ref; }, patience);
  });
  ASSERT_TRUE(trapped);
  EXPECT_EQ(trapped->reason, atoms::kill);
  ASSERT_TRUE(middle_down);
  EXPECT_EQ(middle_down->reason, atoms::kill);
  ASSERT_TRUE(from_middle);
  EXPECT_EQ(from_middle->reason, atoms::kill);
}

TEST(Link, shutdown_and_shutdown_with_detail_end_linked_processes_that_do_not_trap) {
  std::vector<ExitReason> reasons;
  run_test([&]() -> Task<> {
    for (ExitReason r : {ExitReason(atoms::shutdown), ExitReason::shutdown(Term(Atom("why")))}) {
      spawn_monitor(
          [](ExitReason r) -> Task<> {
            Pid c = spawn_link(exit_on_go, r);
            send(c, Go{});
            co_await receive<Done>();
          },
          r);
      if (auto d = co_await receive<Down>(patience)) reasons.push_back(d->reason);
    }
  });
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons[0], atoms::shutdown);
  EXPECT_TRUE(reasons[0].is_shutdown());
  EXPECT_EQ(reasons[1], ExitReason::shutdown(Term(Atom("why"))));
  EXPECT_TRUE(reasons[1].is_shutdown());
}

TEST(Link, an_exception_escaping_a_body_reaches_links_as_an_exception_reason) {
  std::optional<Exit> got;
  run_test([&]() -> Task<> {
    trap_exit(true);
    spawn_link([]() -> Task<> {
      throw std::runtime_error("boom");
      co_return;
    });
    got = co_await receive<Exit>(patience);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->reason.exception_what(), "boom");
  EXPECT_EQ(got->reason, ExitReason::exception("boom"));
}

TEST(Link, exit_reasons_propagate_through_a_chain_of_links) {
  // root (trapping) - p1 - p2 - ... - p10, none of which traps; p10 ends with foo.
  constexpr int length = 10;
  std::optional<Exit> got;
  std::vector<ExitReason> downs;
  run_test(four_workers, [&]() -> Task<> {
    trap_exit(true);
    struct Chain {
      static Task<> link_next(Pid root, int left) {
        if (left == 0) {
          send(root, self());
          co_await receive<Go>();
          exit(foo);
        }
        Pid next = spawn_link(link_next, root, left - 1);
        send(root, next);
        co_await receive<Done>();
      }
    };
    Pid first = spawn_link(Chain::link_next, self(), length - 1);
    monitor(first);
    Pid last;
    for (int i = 0; i < length; ++i)
      if (auto p = co_await receive<Pid>(patience)) {
        monitor(*p);
        last = *p;
      }
    send(last, Go{});
    got = co_await receive<Exit>(patience);
    for (int i = 0; i < length + 1; ++i)
      if (auto d = co_await receive<Down>(patience)) downs.push_back(d->reason);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->reason, foo);
  ASSERT_EQ(downs.size(), std::size_t(length + 1));
  for (auto& r : downs) EXPECT_EQ(r, foo);
}

TEST(Link, a_link_made_by_either_side_works_both_ways) {
  std::optional<Down> down;
  run_test([&]() -> Task<> {
    Pid root = self();
    // a links to b; then b ends abnormally: a, which made the link, dies too.
    Pid b = spawn(exit_on_go, ExitReason(foo));
    spawn_monitor(link_and_wait, b, root);
    co_await receive<Go>(patience);
    send(b, Go{});
    down = co_await receive<Down>(patience);
    // and the reverse: the linked-to side dies when the linker does.
    Pid c = spawn(wait_forever);
    Ref cref = monitor(c);
    Pid d = spawn(
        [](Pid c, Pid root) -> Task<> {
          link(c);
          send(root, Go{});
          co_await receive<Go>();
          exit(foo);
        },
        c, root);
    co_await receive<Go>(patience);
    send(d, Go{});
    auto cdown = co_await receive_if<Down>([&](const Down& x) { return x.ref == cref; }, patience);
    EXPECT_TRUE(cdown && cdown->reason == foo);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, foo);
}

TEST(Link, unlink_stops_propagation) {
  bool survived = false;
  std::optional<Down> cdown;
  run_test([&]() -> Task<> {
    Pid root = self();
    Pid c = spawn(exit_on_go, ExitReason(foo));
    Ref cref = monitor(c);
    auto [m, mref] = spawn_monitor(
        [](Pid c, Pid root) -> Task<> {
          link(c);
          unlink(c);
          send(root, Go{});
          co_await receive<Done>();
          send(root, Done{});
        },
        c, root);
    co_await receive<Go>(patience);
    send(c, Go{});
    cdown = co_await receive_if<Down>([&](const Down& d) { return d.ref == cref; }, patience);
    send(m, Done{});
    survived = (co_await receive<Done>(patience)).has_value();
    auto mdown = co_await receive<Down>(patience);
    EXPECT_TRUE(mdown && mdown->reason.is_normal());
  });
  ASSERT_TRUE(cdown);
  EXPECT_EQ(cdown->reason, foo);
  EXPECT_TRUE(survived);
}

TEST(Link, unlink_ignores_an_exit_signal_already_in_flight) {
  // m links to c, then runs without suspending while c dies: c's exit signal waits unhandled in
  // m's mailbox when m unlinks. Once unlink returns the link has no effect (OTP's unlink/1).
  // Two workers: m spins on one while c and the root run on the other.
  std::atomic<bool> linked{false}, c_dead{false};
  bool survived = false;
  std::optional<Down> cdown;
  EXPECT_EQ(
      run(RuntimeOptions{.workers = 2},
          [&]() -> Task<> {
            Pid root = self();
            Pid c = spawn(exit_on_go, ExitReason(foo));
            Ref cref = monitor(c);
            auto [m, mref] = spawn_monitor(
                [](Pid c, Pid root, std::atomic<bool>& linked,
                   std::atomic<bool>& c_dead) -> Task<> {
                  link(c);
                  co_await yield();  // c, woken by the link, runs before we spin
                  linked = true;
                  while (!c_dead) std::this_thread::yield();
                  unlink(c);
                  co_await yield();  // handles the signal in flight: it must be ignored
                  send(root, Done{});
                  co_await receive<Done>();
                },
                c, root, std::ref(linked), std::ref(c_dead));
            while (!linked) co_await yield();
            send(c, Go{});
            cdown =
                co_await receive_if<Down>([&](const Down& d) { return d.ref == cref; }, patience);
            c_dead = true;  // c's exit signal to m went out before this Down
            co_await receive([&](Done) { survived = true; },
                             match<Down>([&](const Down& d) { return d.ref == mref; }, [](Down) {}),
                             after(patience, [] {}));
            send(m, Done{});
          }),
      0);
  ASSERT_TRUE(cdown);
  EXPECT_EQ(cdown->reason, foo);
  EXPECT_TRUE(survived);
}

TEST(Link, linking_to_a_dead_pid_when_trapping_returns_and_gives_an_exit_noproc_message) {
  std::optional<Exit> got;
  Pid dead;
  bool returned = false;
  run_test([&]() -> Task<> {
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    dead = p;
    co_await receive<Down>();
    trap_exit(true);
    link(dead);
    returned = true;
    got = co_await receive<Exit>(patience);
    auto info = co_await process_info(self());
    EXPECT_FALSE(links_to(info, dead));
  });
  EXPECT_TRUE(returned);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, dead);
  EXPECT_EQ(got->reason, atoms::noproc);
}

TEST(Link, linking_to_a_dead_pid_when_not_trapping_raises_noproc) {
  // OTP 25 (checked with erl): link/1 to a process that does not exist fails with noproc when
  // the caller does not trap exits; caught, the caller lives on; uncaught, it ends the caller.
  bool caught = false, linked_anyway = true;
  std::optional<Down> uncaught;
  run_test([&]() -> Task<> {
    auto [dead, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await receive<Down>();
    try {
      link(dead);
    } catch (const NoProc& e) {
      caught = std::string(e.what()).find("noproc") != std::string::npos;
    }
    auto info = co_await process_info(self());
    linked_anyway = links_to(info, dead);
    spawn_monitor(
        [](Pid dead) -> Task<> {
          link(dead);
          co_await receive<Done>();
        },
        dead);
    uncaught = co_await receive<Down>(patience);
    EXPECT_FALSE(co_await receive<Exit>(0ms));
  });
  EXPECT_TRUE(caught);
  EXPECT_FALSE(linked_anyway);
  ASSERT_TRUE(uncaught);
  EXPECT_NE(uncaught->reason.exception_what().find("noproc"), std::string_view::npos)
      << uncaught->reason;
}

TEST(Link, a_partner_that_dies_while_the_link_is_made_sends_noproc_or_its_reason) {
  // The link signal races the partner's end: either the partner handled it (its exit signal
  // carries its reason) or found it closed (noproc). Either way the caller hears of it.
  int heard = 0;
  run_test(four_workers, [&]() -> Task<> {
    trap_exit(true);
    for (int i = 0; i < 1000; ++i) {
      Pid p = spawn([]() -> Task<> {
        exit(foo);
        co_return;
      });
      link(p);
      auto e = co_await receive<Exit>(patience);
      if (e && e->from == p && (e->reason == foo || e->reason == atoms::noproc)) ++heard;
    }
  });
  EXPECT_EQ(heard, 1000);
}

TEST(Link, linking_to_self_does_nothing) {
  std::size_t links = 1;
  run_test([&]() -> Task<> {
    link(self());
    auto info = co_await process_info(self());
    links = info ? info->links.size() : 99;
  });
  EXPECT_EQ(links, 0u);
}

TEST(Link, linking_twice_makes_one_link_that_one_unlink_removes) {
  std::size_t after_two_links = 0, after_unlink = 9, partner_links = 9;
  run_test([&]() -> Task<> {
    Pid p = spawn(wait_forever);
    link(p);
    link(p);
    auto a = co_await process_info(self());
    after_two_links = a ? a->links.size() : 0;
    unlink(p);
    auto b = co_await process_info(self());
    after_unlink = b ? b->links.size() : 9;
    auto c = co_await process_info(p);  // after our link, link, unlink signals
    partner_links = c ? c->links.size() : 9;
    send(p, Done{});
  });
  EXPECT_EQ(after_two_links, 1u);
  EXPECT_EQ(after_unlink, 0u);
  EXPECT_EQ(partner_links, 0u);
}

TEST(Link, a_spawn_linked_child_that_fails_at_once_takes_its_parent_with_it) {
  std::optional<Down> down;
  run_test(four_workers, [&]() -> Task<> {
    spawn_monitor([]() -> Task<> {
      spawn_link([]() -> Task<> {
        exit(foo);
        co_return;
      });
      co_await receive<Done>();
    });
    down = co_await receive<Down>(patience);
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, foo);
}

TEST(Link, link_and_unlink_outside_a_process_throw_not_in_process) {
  EXPECT_THROW(link(Pid()), NotInProcess);
  EXPECT_THROW(unlink(Pid()), NotInProcess);
}
