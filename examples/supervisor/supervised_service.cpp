// A supervised service: a key-value store that crashes on a bad request is restarted by its
// supervisor, under the same name and with a fresh state, while its sibling keeps running; then
// the sibling is stopped and started again by hand.

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include <ambitious/behaviours/gen_server.hpp>
#include <ambitious/behaviours/logger.hpp>
#include <ambitious/behaviours/supervisor.hpp>
#include <ambitious/process/runtime.hpp>

using namespace ambitious;
using namespace std::chrono_literals;

struct Store : GenServer<Store> {
  struct Put {
    std::string key;
    int value;
  };
  struct Get {
    std::string key;
  };
  struct Size {};
  using calls = Types<Get, Size>;
  using casts = Types<Put>;
  std::map<std::string, int> data;

  InitResult init() {
    std::printf("store %s: started\n", to_string(self()).c_str());
    return ok();
  }
  Action handle_cast(Put p) {
    data[p.key] = p.value;
    return noreply();
  }
  // A missing key throws std::out_of_range: the store crashes, and its supervisor restarts it.
  CallResult<int> handle_call(Get g, const From&) { return reply(data.at(g.key)); }
  CallResult<std::size_t> handle_call(Size, const From&) { return reply(data.size()); }
};

Task<> heartbeat() {
  for (;;) co_await sleep(1h);
}

int main() {
  // [snippet logger]
  set_logger([](const LogReport& r) { std::printf("report: %s\n", std::string(r.kind).c_str()); });
  // [snippet logger]
  return run([]() -> Task<> {
    // [snippet spec]
    SupervisorSpec spec{{Strategy::one_for_one, 3, 5s},  // at most 3 restarts in 5 s
                        {server_child<Store>(Atom("store"), StartOptions{.name = Atom("store")}),
                         process_child(Atom("heartbeat"), heartbeat)}};
    auto sup = co_await supervisor::start_link(std::move(spec));
    if (!sup) exit(sup.error());
    // [snippet spec]

    // [snippet crash]
    ServerRef<Store> store(Atom("store"));
    gen_server::cast<Store::Put>(store, std::string("apples"), 3);
    int apples = co_await gen_server::call<Store::Get>(store, std::string("apples"));
    auto pears = co_await gen_server::try_call<Store::Get>(store, std::string("pears"));
    std::printf("apples: %d; pears: %s\n", apples, pears.error().to_string().c_str());
    // The store's exit reached the supervisor before its Down ended our call, so the
    // supervisor has restarted it by the time it answers this call.
    for (const ChildInfo& child : co_await supervisor::which_children(*sup))
      std::printf("child %s: %s\n", child.id.to_string().c_str(), to_string(*child.pid).c_str());
    std::size_t keys = co_await gen_server::call(store, Store::Size{});
    std::printf("the restarted store has %zu keys\n", keys);
    // [snippet crash]

    // [snippet manage]
    Term beat = Atom("heartbeat");
    (void)co_await supervisor::terminate_child(*sup, beat);  // stopped; its spec stays
    ChildCounts counts = co_await supervisor::count_children(*sup);
    (void)co_await supervisor::restart_child(*sup, beat);
    ChildCounts again = co_await supervisor::count_children(*sup);
    std::printf("%zu specs, %zu running; after restart_child %zu running\n", counts.specs,
                counts.active, again.active);
    // [snippet manage]

    co_await gen_server::stop(*sup);
  });
}
