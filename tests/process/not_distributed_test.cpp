// A node that is not distributed (no RemoteNodes installed) treats pids of other nodes as OTP 25
// does on a node started without -name (checked with erl): sends are dropped, a link gets the
// exit signal noconnection, a monitor gets Down noconnection, a monitor of {Name, Node} on
// another node is a badarg, unlink and exit/2 do nothing.
#include "ambitious/process/detail/remote_nodes.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "remote_support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

struct NoCodec {
  int n;
};

}  // namespace

TEST(NotDistributed, a_send_to_a_remote_pid_or_name_is_dropped_silently) {
  run_test([]() -> Task<> {
    EXPECT_EQ(detail::remote_nodes(), nullptr);
    send(remote_pid(1), std::int64_t{1});
    send(RegisteredName{Atom("foo"), other_node}, std::int64_t{2});
    send(self(), Done{});
    co_await receive<Done>();  // still running, nothing else arrived
    EXPECT_FALSE(co_await receive<std::int64_t>(0ms));
  });
}

TEST(NotDistributed, a_send_of_a_type_without_a_codec_to_a_remote_pid_is_still_a_badarg) {
  run_test([]() -> Task<> {
    EXPECT_THROW(send(remote_pid(1), NoCodec{1}), BadArg);
    co_return;
  });
}

TEST(NotDistributed, a_link_to_a_remote_pid_ends_the_caller_with_noconnection) {
  run_test([]() -> Task<> {
    Pid r = remote_pid(2);
    auto [p, ref] = spawn_monitor([r]() -> Task<> {
      link(r);  // returns, as OTP's link/1 returns true
      co_await receive<Done>();
    });
    co_await expect_down(ref, atoms::noconnection);
  });
}

TEST(NotDistributed, a_trapping_process_linking_to_a_remote_pid_gets_exit_noconnection) {
  run_test([]() -> Task<> {
    trap_exit(true);
    Pid r = remote_pid(3);
    link(r);
    Exit e = co_await expect<Exit>();
    EXPECT_EQ(e.from, r);
    EXPECT_EQ(e.reason, atoms::noconnection);
    EXPECT_FALSE(linked(r));  // OTP: process_info(self(), links) is [] then
    trap_exit(false);
  });
}

TEST(NotDistributed, a_monitor_of_a_remote_pid_gives_down_noconnection_at_once) {
  run_test([]() -> Task<> {
    Pid r = remote_pid(4);
    Down d = co_await expect_down(monitor(r), atoms::noconnection);
    EXPECT_EQ(d.pid, r);
  });
}

TEST(NotDistributed, a_monitor_of_a_name_on_another_node_is_a_badarg) {
  run_test([]() -> Task<> {
    EXPECT_THROW(monitor(RegisteredName{Atom("foo"), other_node}), BadArg);
    co_return;
  });
}

TEST(NotDistributed, a_monitor_of_a_name_nobody_holds_on_this_node_gives_down_noproc_naming_it) {
  run_test([]() -> Task<> {
    RegisteredName here{Atom("foo"), atoms::nonode_nohost};
    Down d = co_await expect_down(monitor(here), atoms::noproc);
    EXPECT_EQ(d.name, here);
  });
}

TEST(NotDistributed, unlink_and_exit_to_a_remote_pid_do_nothing) {
  run_test([]() -> Task<> {
    Pid r = remote_pid(5);
    unlink(r);
    exit(r, foo);
    exit(r, atoms::kill);
    send(self(), Done{});
    co_await receive<Done>();
  });
}
