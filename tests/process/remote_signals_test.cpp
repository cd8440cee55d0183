// Signals from processes of other nodes, as the dist layer hands them on: they act as the same
// signals from local processes do (OTP 25's link, exit and monitor semantics), and what they
// owe the peer (UNLINK_ID_ACK, noproc, MONITOR_P_EXIT) goes out through RemoteNodes.
#include "ambitious/process/detail/remote_signals.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "remote_support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

Recorder recorder;  // outlives every run(), as an installed RemoteNodes must

const Atom target_name("remote_target");

/// Traps exits, says Go to `parent`, then forwards each Exit it gets to `parent`.
Task<> trapping_forwarder(Pid parent) {
  trap_exit(true);
  send(parent, Go{});
  for (;;) send(parent, co_await receive<Exit>());
}

/// The links `pid` has, once it handled everything sent to it before.
Task<std::vector<Pid>> links_of(Pid pid) {
  auto info = co_await process_info(pid, InfoItems{InfoItem::links});
  if (!info) give_up("the process is not alive");
  co_return info->links;
}

}  // namespace

TEST(RemoteSignals, a_remote_link_whose_partner_exits_abnormally_ends_the_process) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(1);
    Pid p = spawn(wait_forever);
    Ref ref = monitor(p);
    EXPECT_EQ(detail::remote_link(r, p), Delivery::queued);
    EXPECT_EQ(co_await links_of(p), std::vector<Pid>(1, r));
    detail::remote_exit(r, p, foo);
    co_await expect_down(ref, foo);
  });
}

TEST(RemoteSignals, a_remote_link_exit_normal_removes_the_link_only) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(2);
    Pid p = spawn(wait_forever);
    detail::remote_link(r, p);
    detail::remote_exit(r, p, atoms::normal);
    EXPECT_TRUE((co_await links_of(p)).empty());
    send(p, Done{});
  });
}

TEST(RemoteSignals, nodedown_fires_a_remote_link_with_noconnection) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(3);
    Pid p = spawn(wait_forever);
    Ref ref = monitor(p);
    detail::remote_link(r, p);
    detail::remote_exit(r, p, atoms::noconnection);
    co_await expect_down(ref, atoms::noconnection);
  });
}

TEST(RemoteSignals, a_trapping_process_gets_the_exit_of_a_remote_link_as_a_message) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(4);
    Pid p = spawn(trapping_forwarder, self());
    co_await expect<Go>();
    detail::remote_link(r, p);
    detail::remote_exit(r, p, atoms::noconnection);
    Exit e = co_await expect<Exit>();
    EXPECT_EQ(e.from, r);
    EXPECT_EQ(e.reason, atoms::noconnection);
    exit(p, atoms::kill);
  });
}

TEST(RemoteSignals, a_link_exit_from_a_remote_process_that_is_not_linked_is_ignored) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(5);
    Pid p = spawn(wait_forever);
    detail::remote_exit(r, p, foo);
    EXPECT_TRUE((co_await links_of(p)).empty());  // alive, having handled the exit
    send(p, Done{});
  });
}

TEST(RemoteSignals, exit2_kill_from_a_remote_process_ends_even_a_trapping_one_with_killed) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid p = spawn(trapping_forwarder, self());
    co_await expect<Go>();
    Ref ref = monitor(p);
    detail::remote_exit2(remote_pid(6), p, atoms::kill);
    co_await expect_down(ref, atoms::killed);
  });
}

TEST(RemoteSignals, exit2_from_a_remote_process_ends_a_process_or_reaches_a_trapping_one) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(7);
    Pid p = spawn(wait_forever);
    Ref ref = monitor(p);
    detail::remote_exit2(r, p, atoms::normal);  // ignored by a process that does not trap
    EXPECT_TRUE((co_await links_of(p)).empty());
    detail::remote_exit2(r, p, foo);
    co_await expect_down(ref, foo);

    Pid q = spawn(trapping_forwarder, self());
    co_await expect<Go>();
    detail::remote_exit2(r, q, atoms::normal);
    detail::remote_exit2(r, q, foo);
    Exit e = co_await expect<Exit>();
    EXPECT_EQ(e.from, r);
    EXPECT_EQ(e.reason, atoms::normal);
    e = co_await expect<Exit>();
    EXPECT_EQ(e.reason, foo);
    exit(q, atoms::kill);
  });
}

TEST(RemoteSignals, a_remote_link_to_a_dead_process_is_answered_with_exit_noproc) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(8);
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await expect_down(ref);
    EXPECT_EQ(detail::remote_link(r, p), Delivery::no_process);
    Call c = co_await expect_call("exit");
    EXPECT_EQ(c.from, p);
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.reason, atoms::noproc);
  });
}

TEST(RemoteSignals, a_process_that_ends_sends_exit_to_the_remote_process_linked_to_it) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(9);
    Pid p = spawn(exit_on_go, ExitReason(foo));
    detail::remote_link(r, p);
    co_await links_of(p);
    send(p, Go{});
    Call c = co_await expect_call("exit");
    EXPECT_EQ(c.from, p);
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.reason, foo);
  });
}

TEST(RemoteSignals, unlink_id_removes_the_link_and_is_acknowledged) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(10);
    Pid p = spawn(wait_forever);
    detail::remote_link(r, p);
    detail::remote_unlink(r, p, 77);
    Call c = co_await expect_call("unlink_ack");
    EXPECT_EQ(c.from, p);
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.id, 77u);
    detail::remote_exit(r, p, foo);  // no link any more: ignored
    EXPECT_TRUE((co_await links_of(p)).empty());
    send(p, Done{});
  });
}

TEST(RemoteSignals, unlink_id_to_a_dead_process_is_acknowledged_too) {
  run_test([]() -> Task<> {
    install(recorder);
    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await expect_down(ref);
    detail::remote_unlink(remote_pid(11), p, 5);
    Call c = co_await expect_call("unlink_ack");
    EXPECT_EQ(c.id, 5u);
  });
}

TEST(RemoteSignals, a_link_that_crosses_our_own_unlink_is_void_until_its_ack) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(12);
    link(r);
    co_await expect_call("link");
    unlink(r);
    std::uint64_t id = (co_await expect_call("unlink")).id;
    // The peer's LINK crossed our UNLINK_ID: ignored (the peer drops its link on our UNLINK_ID).
    detail::remote_link(r, self());
    EXPECT_TRUE((co_await links_of(self())).empty());
    // A stale ack changes nothing; the right one ends the unlinking, and a LINK links again.
    detail::remote_unlink_ack(r, self(), id + 1000);
    detail::remote_link(r, self());
    EXPECT_TRUE((co_await links_of(self())).empty());
    detail::remote_unlink_ack(r, self(), id);
    detail::remote_link(r, self());
    EXPECT_EQ(co_await links_of(self()), std::vector<Pid>(1, r));
    unlink(r);
    co_await expect_call("unlink");
  });
}

TEST(RemoteSignals, a_remote_monitor_gets_monitor_p_exit_when_the_process_ends) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(13);
    Ref ref = remote_ref(1);
    Pid p = spawn(exit_on_go, ExitReason(foo));
    EXPECT_EQ(detail::remote_monitor(r, p, ref), Delivery::queued);
    send(p, Go{});
    Call c = co_await expect_call("down");
    EXPECT_EQ(c.from, p);
    EXPECT_FALSE(c.from_name);
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.ref, ref);
    EXPECT_EQ(c.reason, foo);
  });
}

TEST(RemoteSignals, a_remote_monitor_by_name_gets_monitor_p_exit_naming_the_name) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(14);
    Ref ref = remote_ref(2);
    Pid p = spawn(exit_on_go, ExitReason(foo));
    register_name(target_name, p);
    EXPECT_EQ(detail::remote_monitor(r, target_name, ref), p);
    send(p, Go{});
    Call c = co_await expect_call("down");
    EXPECT_EQ(c.from, p);
    EXPECT_EQ(c.from_name, target_name);
    EXPECT_EQ(c.ref, ref);
    EXPECT_EQ(c.reason, foo);
  });
}

TEST(RemoteSignals, a_remote_monitor_of_an_unknown_name_or_a_dead_pid_is_answered_noproc_at_once) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(15);
    EXPECT_TRUE(detail::remote_monitor(r, Atom("nobody_has_it"), remote_ref(3)).is_null());
    Call c = co_await expect_call("down");
    EXPECT_EQ(c.from_name, Atom("nobody_has_it"));
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.ref, remote_ref(3));
    EXPECT_EQ(c.reason, atoms::noproc);

    auto [p, ref] = spawn_monitor([]() -> Task<> { co_return; });
    co_await expect_down(ref);
    EXPECT_EQ(detail::remote_monitor(r, p, remote_ref(4)), Delivery::no_process);
    c = co_await expect_call("down");
    EXPECT_EQ(c.from, p);
    EXPECT_FALSE(c.from_name);
    EXPECT_EQ(c.ref, remote_ref(4));
    EXPECT_EQ(c.reason, atoms::noproc);
  });
}

TEST(RemoteSignals, a_remote_demonitor_removes_the_monitor) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(16);
    Pid p = spawn(exit_on_go, ExitReason(foo));
    Ref mine = monitor(p);
    detail::remote_monitor(r, p, remote_ref(5));
    detail::remote_demonitor(r, p, remote_ref(5));
    send(p, Go{});
    co_await expect_down(mine, foo);
    // One worker: p ended whole before this process ran again, and sent nothing to r.
    EXPECT_TRUE(co_await no_call());
  });
}

TEST(RemoteSignals, the_down_of_a_remote_process_is_the_down_a_local_monitor_gives) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(17);
    Ref ref = monitor(r);
    co_await expect_call("monitor");
    EXPECT_EQ(detail::remote_down(r, self(), ref, foo), Delivery::queued);
    Down d = co_await expect_down(ref, foo);
    EXPECT_EQ(d.pid, r);
    EXPECT_FALSE(d.name);

    Ref lost = monitor(r);
    detail::remote_down(r, self(), lost, atoms::noconnection);  // nodedown
    co_await expect_down(lost, atoms::noconnection);
  });
}

TEST(RemoteSignals, the_down_of_a_remote_monitor_by_name_names_the_name_and_node) {
  run_test([]() -> Task<> {
    install(recorder);
    RegisteredName there{target_name, other_node};
    Ref ref = monitor(there);
    co_await expect_call("monitor_named");
    detail::remote_down(Pid(), self(), ref, atoms::noproc);
    Down d = co_await expect_down(ref, atoms::noproc);
    EXPECT_TRUE(d.pid.is_null());
    EXPECT_EQ(d.name, there);
  });
}

TEST(RemoteSignals, a_down_for_a_monitor_already_removed_is_dropped) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(18);
    Ref ref = monitor(r);
    demonitor(ref);
    detail::remote_down(r, self(), ref, foo);
    EXPECT_FALSE(co_await receive<Down>(0ms));
  });
}

TEST(RemoteSignals, an_alias_send_is_queued_while_the_alias_is_active_only) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(19);
    Ref alias = monitor(r);
    EXPECT_EQ(detail::remote_alias_send(r, self(), alias, Term(1)), Delivery::queued);
    EXPECT_EQ(co_await receive<Term>(), Term(1));
    demonitor(alias);
    detail::remote_alias_send(r, self(), alias, Term(2));  // a late reply: dropped
    EXPECT_FALSE(co_await receive<Term>(0ms));
  });
}

TEST(RemoteSignals, signals_from_a_thread_of_the_dist_layer_keep_their_order) {
  run_test(two_workers, []() -> Task<> {
    install(recorder);
    Pid r = remote_pid(20);
    Pid p = spawn(wait_forever);
    Ref ref = monitor(p);
    std::thread reader([r, p] {
      detail::remote_link(r, p);
      deliver_term(p, Term(1));
      detail::remote_exit(r, p, foo);
    });
    reader.join();
    co_await expect_down(ref, foo);
  });
}
