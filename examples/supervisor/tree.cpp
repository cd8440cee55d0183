// A supervision tree of the library's own processes, with no start function written: a
// Registry, a DynamicSupervisor of workers and a nested supervisor are children of one
// supervisor. Workers started on demand take via names in the registry; one that crashes is
// restarted by the dynamic supervisor and takes its name again.

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <ambitious/behaviours/dynamic_supervisor.hpp>
#include <ambitious/behaviours/gen_server.hpp>
#include <ambitious/behaviours/supervisor.hpp>
#include <ambitious/naming/registry.hpp>
#include <ambitious/naming/via.hpp>
#include <ambitious/process/runtime.hpp>

using namespace ambitious;
using namespace std::chrono_literals;

using Names = Registry<std::string, Term>;

struct Greeter : GenServer<Greeter> {
  struct Hello {};
  struct Crash {};
  using calls = Types<Hello>;
  using casts = Types<Crash>;
  std::string name;
  explicit Greeter(std::string name) : name(std::move(name)) {}
  CallResult<std::string> handle_call(Hello, const From&) {
    return reply("hello from " + name + " " + to_string(self()));
  }
  Action handle_cast(Crash) { throw std::runtime_error(name + " tripped"); }
};

Task<> janitor() {
  for (;;) co_await sleep(1h);
}

int main() {
  return run([]() -> Task<> {
    // [snippet tree]
    DynamicSupervisorOptions pool;
    pool.max_children = 100;
    SupervisorSpec services{{}, {process_child(Atom("janitor"), janitor)}};
    // rest_for_one: if the registry restarts, so does the pool, whose names it held.
    SupervisorSpec spec{
        {Strategy::rest_for_one, 3, 5s},
        {Names::child_spec(Atom("names"), Keys::unique),
         dynamic_supervisor::child_spec(Atom("pool"), pool, StartOptions{.name = Atom("pool")}),
         supervisor::child_spec(Atom("services"), services)}};
    auto top = co_await supervisor::start_link(std::move(spec));
    if (!top) exit(top.error());
    // [snippet tree]
    for (const ChildInfo& child : co_await supervisor::which_children(*top))
      std::printf("%s (%s)\n", child.id.to_string().c_str(),
                  child.type == ChildType::supervisor ? "supervisor" : "worker");

    // [snippet start_child]
    Names names = *Names::whereis(Atom("names"));
    dynamic_supervisor::Ref workers(Atom("pool"));
    for (std::string name : {"ann", "bob"}) {
      StartOptions options{.name = via(names, name)};
      auto started = co_await dynamic_supervisor::start_child(
          workers, server_child<Greeter>(Term(), options, name));
      if (!started) exit(started.error());
    }
    ServerRef<Greeter> ann(via(names, "ann"));
    std::printf("%s\n", (co_await gen_server::call(ann, Greeter::Hello{})).c_str());
    // [snippet start_child]

    // [snippet restart]
    Pid before = *names.whereis("ann");
    Ref mref = monitor(before);
    gen_server::cast(ann, Greeter::Crash{});
    co_await receive_if<Down>([&](const Down& d) { return d.ref == mref; });
    (void)co_await dynamic_supervisor::count_children(workers);  // answered after the restart
    std::string hello = co_await gen_server::call(ann, Greeter::Hello{});
    std::printf("after the crash, a new process: %s\n",
                *names.whereis("ann") != before ? hello.c_str() : "no");
    // [snippet restart]

    co_await gen_server::stop(*top);
  });
}
