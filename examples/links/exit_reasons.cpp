// How an exit reason travels. A process that ends `normal` takes no linked process with it; any
// other reason ends its partners, unless they trap exits: then it arrives as an Exit message.
// `kill` cannot be trapped. A C++ exception is the reason {exception, What}. A monitor reports
// the end once, as Down, and says noproc at once for a process that is already gone.

#include <cstdio>
#include <stdexcept>

#include <ambitious/process/link.hpp>
#include <ambitious/process/monitor.hpp>
#include <ambitious/process/process.hpp>
#include <ambitious/process/receive.hpp>
#include <ambitious/process/runtime.hpp>
#include <ambitious/process/send.hpp>
#include <ambitious/process/spawn.hpp>

using namespace ambitious;

struct Go {};
struct Trapped {
  ExitReason reason;
};

Task<> ends_with(ExitReason reason) {
  co_await receive<Go>();
  exit(std::move(reason));
}

// [snippet crashes]
Task<> crashes() {
  co_await receive<Go>();
  throw std::runtime_error("disk full");  // the process ends with {exception, <<"disk full">>}
}
// [snippet crashes]

// [snippet partner]
// Linked to a process that ends with `reason`; does not trap exits. The exit signal comes before
// the Down, so if it is not `normal` this process dies of it before the Down arrives.
Task<> partner(ExitReason reason) {
  Pid child = spawn_link(ends_with, reason);
  Ref ref = monitor(child);
  send(child, Go{});
  co_await receive_if<Down>([&](const Down& d) { return d.ref == ref; });
}
// [snippet partner]

Task<> trapper(Pid observer) {
  trap_exit(true);
  send(observer, Go{});
  for (;;) send(observer, Trapped{(co_await receive<Exit>()).reason});
}

Task<ExitReason> end_of(Ref ref) {
  co_return (co_await receive_if<Down>([&](const Down& d) { return d.ref == ref; })).reason;
}

int main() {
  return run([]() -> Task<> {
    // [snippet propagation]
    const ExitReason reasons[] = {ExitReason(atoms::normal), ExitReason(Atom("boom"))};
    for (const ExitReason& reason : reasons) {
      auto [p, ref] = spawn_monitor(partner, reason);
      ExitReason end = co_await end_of(ref);
      std::printf("a partner of a process ending %s ends %s\n", reason.to_string().c_str(),
                  end.to_string().c_str());
    }
    // [snippet propagation]

    // [snippet trap]
    trap_exit(true);
    Pid c = spawn_link(crashes);
    send(c, Go{});
    Exit e = co_await receive<Exit>();
    std::printf("trapped: %s ended with %s (what: %s)\n", to_string(e.from).c_str(),
                e.reason.to_string().c_str(), std::string(e.reason.exception_what()).c_str());
    // [snippet trap]

    // [snippet kill]
    Pid t = spawn_link(trapper, self());
    co_await receive<Go>();
    exit(t, atoms::shutdown);  // a trapping process gets it as a message, and lives on
    Trapped got = co_await receive<Trapped>();
    exit(t, atoms::kill);  // kill cannot be trapped; the partners see `killed`
    Exit killed = co_await receive<Exit>();
    std::printf("%s trapped %s, then ended %s\n", to_string(t).c_str(),
                got.reason.to_string().c_str(), killed.reason.to_string().c_str());
    // [snippet kill]

    // [snippet noproc]
    Ref late = monitor(c);  // c ended above
    Ref nobody = monitor(Atom("no_such_name"));
    ExitReason of_pid = co_await end_of(late), of_name = co_await end_of(nobody);
    std::printf("monitors of what is gone: %s, %s\n", of_pid.to_string().c_str(),
                of_name.to_string().c_str());
    // [snippet noproc]
  });
}
