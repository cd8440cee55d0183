// Processes, links, monitors, exit signals, names and timers, narrated.
//
// A "desk" process (registered as `desk`) hands jobs to workers it starts linked to itself,
// trapping exits so that a crashing worker becomes a message, not the desk's death. An observer
// monitors the desk. One job crashes its worker on purpose; one worker is killed from outside;
// a timer ends the day. Every event is printed as it happens.

#include <cstdio>
#include <string>
#include <vector>

#include <ambitious/process/link.hpp>
#include <ambitious/process/monitor.hpp>
#include <ambitious/process/names.hpp>
#include <ambitious/process/process.hpp>
#include <ambitious/process/process_info.hpp>
#include <ambitious/process/receive.hpp>
#include <ambitious/process/runtime.hpp>
#include <ambitious/process/send.hpp>
#include <ambitious/process/spawn.hpp>
#include <ambitious/process/timer.hpp>

using namespace ambitious;
using namespace std::chrono_literals;

struct Job {
  int id;
  bool crash;
};
struct Result {
  Pid worker;
  int id;
  int value;
};
struct Assign {
  Pid desk;
  Job job;
};
struct ClosingTime {};
struct Staff {
  std::vector<Pid> workers;
};
struct Watching {};

// [snippet worker]
Task<> worker() {
  for (;;) {
    Assign a = co_await receive<Assign>();
    if (a.job.crash) throw std::runtime_error("job " + std::to_string(a.job.id) + " is poisoned");
    send(a.desk, Result{self(), a.job.id, a.job.id * a.job.id});
  }
}
// [snippet worker]

Task<> desk(Pid boss, int jobs) {
  // [snippet trap]
  trap_exit(true);  // exit signals from the linked workers become Exit messages
  register_name(Atom("desk"), self());
  std::printf("desk %s: open, trapping exits, registered as 'desk'\n", to_string(self()).c_str());
  Pid a = spawn_link(worker), b = spawn_link(worker);
  // [snippet trap]
  std::vector<Pid> staff{a, b};
  std::printf("desk: started workers %s and %s, linked\n", to_string(a).c_str(),
              to_string(b).c_str());
  send_after(200ms, self(), ClosingTime{});

  int done = 0, next = 1;
  auto hand_out = [&](Pid w) {
    if (next <= jobs) send(w, Assign{self(), Job{next, next == 3}}), ++next;
  };
  hand_out(a);
  hand_out(b);
  for (bool open = true; open;) {
    co_await receive(
        [&](Result r) {
          std::printf("desk: job %d done by %s: %d\n", r.id, to_string(r.worker).c_str(), r.value);
          ++done;
          hand_out(r.worker);
        },
        // [snippet exit_clause]
        [&](Exit e) {
          std::printf("desk: worker %s exited: %s; starting a new one\n", to_string(e.from).c_str(),
                      e.reason.to_string().c_str());
          std::erase(staff, e.from);
          Pid fresh = spawn_link(worker);
          staff.push_back(fresh);
          hand_out(fresh);
        },
        // [snippet exit_clause]
        [&](ClosingTime) {
          std::printf("desk: closing time after %d jobs\n", done);
          open = false;
        });
  }
  send(boss, Staff{staff});
  co_await receive<Watching>();
  // [snippet exit_reason]
  exit(ExitReason::shutdown(Term::atom("closing_time")));  // {shutdown, closing_time}
  // [snippet exit_reason]
}

int main() {
  return run([]() -> Task<> {
    std::printf("root %s: starting the desk\n", to_string(self()).c_str());
    // [snippet spawn_monitor]
    auto [d, ref] = spawn_monitor(desk, self(), 8);
    // [snippet spawn_monitor]
    co_await sleep(20ms);  // let some jobs run before the sabotage
    auto info = co_await process_info(d);
    if (info)
      std::printf("root: desk has %zu links, trap_exit=%s, name '%s'\n", info->links.size(),
                  info->trap_exit ? "true" : "false",
                  info->registered_name ? std::string(info->registered_name->name()).c_str() : "");
    if (info && !info->links.empty()) {
      Pid victim = info->links.front();
      std::printf("root: killing worker %s from outside\n", to_string(victim).c_str());
      // [snippet kill]
      exit(victim, atoms::kill);  // untrappable: the desk gets Exit{victim, killed}
      // [snippet kill]
    }
    // At closing time the desk tells us its workers and waits until we watch them; its exit
    // signal then reaches them through their links, and they end with the desk's reason.
    Staff staff = co_await receive<Staff>();
    // [snippet down]
    for (Pid w : staff.workers) monitor(w);
    send(d, Watching{});
    for (std::size_t i = 0; i <= staff.workers.size(); ++i) {
      Down down = co_await receive<Down>();
      std::printf("root: %s %s is down: %s\n", down.pid == d ? "the desk" : "worker",
                  to_string(down.pid).c_str(), down.reason.to_string().c_str());
    }
    // [snippet down]
    std::printf("root: 'desk' is %s registered; %zu process left (me)\n",
                whereis(Atom("desk")) ? "still" : "no longer", process_count());
  });
}
