// The process layer's calls to RemoteNodes, the dist layer's interface: what reaches it, with
// which arguments, when, for sends, links, exits and monitors aimed at processes of other nodes.
#include "ambitious/process/detail/remote_nodes.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>

#include "ambitious/core/codec.hpp"
#include "ambitious/process/detail/alias.hpp"
#include "ambitious/process/detail/remote_signals.hpp"
#include "remote_support.hpp"

using namespace ambitious;
using namespace ambitious::test;

namespace {

struct NoCodec {
  int n;
};

Recorder recorder;  // outlives every run(), as an installed RemoteNodes must

const Atom target_name("target");

}  // namespace

TEST(RemoteNodes, a_send_to_a_remote_pid_reaches_the_distribution_as_the_term_of_its_codec) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(1);
    send(r, std::int64_t{42});
    send(r, std::string("hello"));
    Call c = co_await expect_call("send");
    EXPECT_EQ(c.from, self());
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.message, Term(42));
    c = co_await expect_call("send");
    EXPECT_EQ(c.message, Term::binary("hello"));
  });
}

TEST(RemoteNodes, a_send_of_a_type_without_a_codec_to_a_remote_pid_is_a_badarg) {
  run_test([]() -> Task<> {
    install(recorder);
    EXPECT_THROW(send(remote_pid(1), NoCodec{1}), BadArg);
    EXPECT_THROW(send(RegisteredName{target_name, other_node}, NoCodec{1}), BadArg);
    EXPECT_TRUE(co_await no_call());
    // The same message to a local process is fine: it never leaves the node.
    send(self(), NoCodec{2});
    EXPECT_EQ((co_await receive<NoCodec>()).n, 2);
  });
}

TEST(RemoteNodes, a_send_to_a_name_on_another_node_is_a_reg_send) {
  run_test([]() -> Task<> {
    install(recorder);
    send(RegisteredName{target_name, other_node}, Atom("ping"));
    Call c = co_await expect_call("send_named");
    EXPECT_EQ(c.from, self());
    EXPECT_EQ(c.to_name, (RegisteredName{target_name, other_node}));
    EXPECT_EQ(c.message, Term(Atom("ping")));
  });
}

TEST(RemoteNodes, a_send_to_a_name_on_this_node_is_local_and_dropped_when_nobody_holds_it) {
  run_test([]() -> Task<> {
    install(recorder);
    Atom here = nodes::get(nodes::local).name;
    send(RegisteredName{target_name, here}, 1);  // nobody holds it: dropped, as in OTP
    register_name(target_name, self());
    send(RegisteredName{target_name, here}, 2);
    EXPECT_EQ(co_await receive<int>(), 2);
    EXPECT_TRUE(co_await no_call());
    unregister(target_name);
  });
}

TEST(RemoteNodes, a_reply_to_a_remote_alias_is_an_alias_send) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(3);
    Ref alias = remote_ref(9);
    detail::send_to_alias(r, alias, detail::make_message<Term>(Term::tuple(Atom("reply"), 1)));
    Call c = co_await expect_call("send_alias");
    EXPECT_EQ(c.from, self());
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.ref, alias);
    EXPECT_EQ(c.message, Term::tuple(Atom("reply"), 1));
  });
}

TEST(RemoteNodes, link_and_unlink_of_a_remote_pid_are_link_and_unlink_id) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(4);
    link(r);
    EXPECT_TRUE(linked(r));
    Call c = co_await expect_call("link");
    EXPECT_EQ(c.from, self());
    EXPECT_EQ(c.to, r);
    link(r);  // again: nothing to send
    unlink(r);
    EXPECT_FALSE(linked(r));
    c = co_await expect_call("unlink");
    EXPECT_EQ(c.from, self());
    EXPECT_EQ(c.to, r);
    EXPECT_NE(c.id, 0u);
    unlink(r);  // not linked: nothing to send
    EXPECT_TRUE(co_await no_call());
  });
}

TEST(RemoteNodes, exit_to_a_remote_pid_is_exit2) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(5);
    exit(r, foo);
    exit(r, atoms::kill);
    Call c = co_await expect_call("exit2");
    EXPECT_EQ(c.from, self());
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.reason, foo);
    c = co_await expect_call("exit2");
    EXPECT_EQ(c.reason, atoms::kill);  // the receiving node makes it killed
  });
}

TEST(RemoteNodes, a_process_that_ends_sends_exit_to_its_remote_links_and_demonitors) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(6);
    Pid p = spawn([r]() -> Task<> {
      link(r);
      monitor(r);
      co_await receive<Go>();
      exit(foo);
    });
    Call c = co_await expect_call("link");
    c = co_await expect_call("monitor");
    Ref ref = c.ref;
    send(p, Go{});
    // Its links first, then the monitors it held.
    c = co_await expect_call("exit");
    EXPECT_EQ(c.from, p);
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.reason, foo);
    c = co_await expect_call("demonitor");
    EXPECT_EQ(c.from, p);
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.ref, ref);
  });
}

TEST(RemoteNodes, monitor_and_demonitor_of_a_remote_pid_are_monitor_p_and_demonitor_p) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(7);
    Ref ref = monitor(r);
    Call c = co_await expect_call("monitor");
    EXPECT_EQ(c.from, self());
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.ref, ref);
    demonitor(ref);
    c = co_await expect_call("demonitor");
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.ref, ref);
    demonitor(ref);  // gone: nothing to send
    EXPECT_TRUE(co_await no_call());
  });
}

TEST(RemoteNodes, a_monitor_by_name_on_another_node_is_monitor_p_by_name) {
  run_test([]() -> Task<> {
    install(recorder);
    RegisteredName there{target_name, other_node};
    Ref ref = monitor(there);
    Call c = co_await expect_call("monitor_named");
    EXPECT_EQ(c.from, self());
    EXPECT_EQ(c.to_name, there);
    EXPECT_EQ(c.ref, ref);
    demonitor(ref);
    c = co_await expect_call("demonitor_named");
    EXPECT_EQ(c.to_name, there);
    EXPECT_EQ(c.ref, ref);
  });
}

TEST(RemoteNodes, a_monitor_by_name_on_this_node_is_a_local_monitor) {
  run_test([]() -> Task<> {
    install(recorder);
    Atom here = nodes::get(nodes::local).name;
    Down d = co_await expect_down(monitor(RegisteredName{target_name, here}), atoms::noproc);
    EXPECT_EQ(d.name, (RegisteredName{target_name, here}));
    EXPECT_TRUE(co_await no_call());
  });
}

TEST(RemoteNodes, a_timer_and_a_foreign_thread_send_to_a_remote_pid_without_a_sender) {
  run_test([]() -> Task<> {
    install(recorder);
    Pid r = remote_pid(8);
    send_after(0ms, r, 1);
    Call c = co_await expect_call("send");
    EXPECT_TRUE(c.from.is_null());
    EXPECT_EQ(c.to, r);
    EXPECT_EQ(c.message, Term(1));
    std::thread([r] { post(r, 2); }).join();
    c = co_await expect_call("send");
    EXPECT_TRUE(c.from.is_null());
    EXPECT_EQ(c.message, Term(2));
  });
}
