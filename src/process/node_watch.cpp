// Node watch: the runtime's watchers of node life and the nodes connected now.

#include "ambitious/process/detail/node_watch.hpp"

#include <algorithm>
#include <mutex>

#include "ambitious/process/process.hpp"
#include "ambitious/process/send.hpp"
#include "runtime_state.hpp"

namespace ambitious::detail {

std::vector<Atom> watch_nodes() {
  check_in_process("watch_nodes");
  NodeWatch& w = runtime()->node_watch;
  const Pid me = self();
  std::lock_guard lock(w.mutex);
  if (std::find(w.watchers.begin(), w.watchers.end(), me) == w.watchers.end())
    w.watchers.push_back(me);
  return w.up;
}

void node_changed(Atom node, bool up) {
  check_in_process("node_changed");
  NodeWatch& w = runtime()->node_watch;
  std::vector<Pid> to;
  {
    std::lock_guard lock(w.mutex);
    // Watchers that ended are dropped here: there are few, and nodes change seldom.
    std::erase_if(w.watchers, [](Pid p) { return !alive(p); });
    std::erase(w.up, node);
    if (up) w.up.push_back(node);
    to = w.watchers;
  }
  // Sent outside the lock; a watcher that subscribes meanwhile has this change in its list.
  for (Pid p : to) send(p, NodeChange{node, up});
}

void subscribe_nodes(std::uint8_t options) {
  check_in_process("subscribe_nodes");
  NodeWatch& w = runtime()->node_watch;
  std::lock_guard lock(w.mutex);
  w.subscriptions.push_back({self(), options});
}

void unsubscribe_nodes(std::uint8_t options) {
  check_in_process("unsubscribe_nodes");
  NodeWatch& w = runtime()->node_watch;
  const Pid me = self();
  std::lock_guard lock(w.mutex);
  std::erase_if(w.subscriptions,
                [&](const NodeSubscription& s) { return s.who == me && s.options == options; });
}

std::vector<NodeSubscription> node_subscriptions() {
  check_in_process("node_subscriptions");
  NodeWatch& w = runtime()->node_watch;
  std::lock_guard lock(w.mutex);
  // As watchers: ended subscribers are dropped when read (nodes change seldom).
  std::erase_if(w.subscriptions, [](const NodeSubscription& s) { return !alive(s.who); });
  return w.subscriptions;
}

}  // namespace ambitious::detail
