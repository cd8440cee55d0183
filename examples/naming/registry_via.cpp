// A Registry: unique keys that name GenServers (via names), lookups by key and by process, a
// duplicate-key registry whose entries a dispatch visits, and entries that go with their process.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <ambitious/behaviours/gen_server.hpp>
#include <ambitious/naming/registry.hpp>
#include <ambitious/naming/via.hpp>
#include <ambitious/process/monitor.hpp>
#include <ambitious/process/process.hpp>
#include <ambitious/process/receive.hpp>
#include <ambitious/process/runtime.hpp>
#include <ambitious/process/send.hpp>
#include <ambitious/process/spawn.hpp>

using namespace ambitious;

// [snippet room]
using Rooms = Registry<std::string, Term>;  // unique keys: a room's name names its server

struct Room : GenServer<Room> {
  struct Join {
    std::string who;
  };
  using calls = Types<Join>;
  std::vector<std::string> members;
  CallResult<std::size_t> handle_call(Join j, const From&) {
    members.push_back(std::move(j.who));
    return reply(members.size());
  }
};
// [snippet room]

using Topics = Registry<std::string, int>;  // duplicate keys: a topic, its listeners' priorities
struct Go {};

Task<> listener(Topics topics, int priority, Pid parent) {
  (void)topics.register_key("news", priority);  // duplicate keys never refuse
  send(parent, Go{});
  co_await receive<Go>();  // until told to end
}

int main() {
  return run([]() -> Task<> {
    // [snippet via]
    auto rooms = co_await Rooms::start_link(Atom("rooms"), Keys::unique);
    if (!rooms) exit(rooms.error());
    StartOptions lobby{.name = via(*rooms, "lobby")};  // registers the server before its init
    auto started = co_await Room::start_link(lobby);
    if (!started) exit(started.error());
    ServerRef<Room> room(via(*rooms, "lobby"));
    co_await gen_server::call<Room::Join>(room, std::string("ann"));
    std::size_t n = co_await gen_server::call<Room::Join>(room, std::string("bob"));
    auto again = co_await Room::start_link(lobby);  // the name is taken
    std::printf("lobby: %zu members; a second lobby: %s\n", n, again.error().to_string().c_str());
    // [snippet via]

    // [snippet lookup]
    Pid lobby_pid = *rooms->whereis("lobby");
    std::vector<std::string> keys = rooms->keys(lobby_pid);
    std::printf("%s holds %zu key: %s\n", to_string(lobby_pid).c_str(), keys.size(),
                keys[0].c_str());
    // [snippet lookup]

    // [snippet dispatch]
    auto topics = co_await Topics::start_link(Atom("topics"), Keys::duplicate, 2);
    if (!topics) exit(topics.error());
    std::vector<Pid> listeners;
    for (int priority : {3, 1, 2}) listeners.push_back(spawn(listener, *topics, priority, self()));
    for (std::size_t i = 0; i < listeners.size(); ++i) co_await receive<Go>();
    topics->dispatch("news", [](std::span<const Topics::Entry> entries) {
      std::vector<int> priorities;
      for (const auto& e : entries) priorities.push_back(e.value);
      std::sort(priorities.begin(), priorities.end());
      std::printf("news has %zu listeners, priorities %d %d %d\n", entries.size(), priorities[0],
                  priorities[1], priorities[2]);
    });
    // [snippet dispatch]

    // [snippet cleanup]
    Ref mref = monitor(listeners[0]);
    send(listeners[0], Go{});
    co_await receive_if<Down>([&](const Down& d) { return d.ref == mref; });
    co_await topics->sync();  // the partitions have removed what the ended process held
    std::printf("after one listener ended: %zu entries\n", topics->count());
    // [snippet cleanup]

    for (std::size_t i = 1; i < listeners.size(); ++i) send(listeners[i], Go{});
  });
}
