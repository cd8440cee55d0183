#include "ambitious/process/detail/node_watch.hpp"

#include <gtest/gtest.h>

#include "../common.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"

// The process layer's node watch alone: the dist layer's reports (node_changed, made here by
// the test process as net_kernel makes them) reach each watcher, and the list of nodes up
// follows them.

using namespace ambitious;
using namespace ambitious::detail;
using namespace ambitious::test;

namespace {

const Atom x_node("x@127.0.0.1");
const Atom y_node("y@127.0.0.1");

Task<NodeChange> expect_change(Atom node) {
  co_return co_await expect<NodeChange>([node](const NodeChange& c) { return c.node == node; });
}

}  // namespace

TEST(NodeWatch, a_watcher_hears_of_each_node_that_comes_up_or_goes_and_the_list_follows) {
  run_test([]() -> Task<> {
    EXPECT_TRUE(watch_nodes().empty());
    node_changed(x_node, true);
    NodeChange c = co_await expect_change(x_node);
    EXPECT_TRUE(c.up);
    node_changed(y_node, true);
    EXPECT_TRUE((co_await expect_change(y_node)).up);
    EXPECT_EQ(watch_nodes(), (std::vector<Atom>{x_node, y_node}));
    node_changed(x_node, false);
    EXPECT_FALSE((co_await expect_change(x_node)).up);
    EXPECT_EQ(watch_nodes(), std::vector<Atom>{y_node});
  });
}

TEST(NodeWatch, every_watcher_hears_once_and_a_watcher_that_ended_is_dropped) {
  run_test([]() -> Task<> {
    const Pid me = self();
    // A second watcher that forwards what it hears, then ends after one change.
    Pid other = spawn([me]() -> Task<> {
      (void)watch_nodes();
      (void)watch_nodes();  // a second call does not subscribe twice
      send(me, Atom("watching"));
      NodeChange c = co_await receive<NodeChange>();
      send(me, c);
    });
    co_await expect<Atom>([](Atom a) { return a == Atom("watching"); });
    Ref gone = monitor(other);
    (void)watch_nodes();
    node_changed(x_node, true);
    // Ours and the other's, each once.
    EXPECT_TRUE((co_await expect_change(x_node)).up);
    EXPECT_TRUE((co_await expect_change(x_node)).up);
    co_await expect_down(gone);
    node_changed(x_node, false);
    EXPECT_FALSE((co_await expect_change(x_node)).up);
    // Nothing else (every report was sent from this process, before this point).
    auto next = co_await receive_if<NodeChange>([](const NodeChange&) { return true; },
                                                std::chrono::milliseconds(0));
    EXPECT_FALSE(next);
  });
}
