// Process groups (OTP's pg): workers join a group, a sender reaches every member, a monitor of
// the group hears each join and leave, and a member that ends leaves by itself.

#include <cstdio>
#include <vector>

#include <ambitious/naming/pg.hpp>
#include <ambitious/process/process.hpp>
#include <ambitious/process/receive.hpp>
#include <ambitious/process/runtime.hpp>
#include <ambitious/process/send.hpp>
#include <ambitious/process/spawn.hpp>

using namespace ambitious;

struct Job {
  Pid from;
  int n;
};
struct Done {
  int result;
};

// [snippet worker]
Task<> worker(Term group) {
  co_await pg::join(group, self());  // in the default scope, `pg`
  for (;;) {
    Job j = co_await receive<Job>();
    send(j.from, Done{j.n * j.n});
  }
}
// [snippet worker]

int main() {
  return run([]() -> Task<> {
    // [snippet monitor]
    auto scope = co_await pg::start_link();  // the scope `pg`, as OTP's kernel starts it
    if (!scope) exit(scope.error());
    const Term group = Atom("squarers");
    pg::GroupMonitor watch = co_await pg::monitor(group);  // members now, then notifications
    std::vector<Pid> workers;
    for (int i = 0; i < 3; ++i) workers.push_back(spawn(worker, group));
    for (int i = 0; i < 3; ++i) {
      auto n = co_await receive_if<pg::Notification>(
          [&](const pg::Notification& x) { return x.ref == watch.ref; });
      std::printf("%s: %zu pid\n", n.event == pg::Notification::join ? "join" : "leave",
                  n.pids.size());
    }
    // [snippet monitor]

    // [snippet send]
    int sum = 0;
    std::vector<Pid> members = pg::get_members(group);
    for (Pid m : members) send(m, Job{self(), 3});
    for (std::size_t i = 0; i < members.size(); ++i) sum += (co_await receive<Done>()).result;
    std::printf("%zu members answered, sum %d\n", members.size(), sum);
    // [snippet send]

    // [snippet leave]
    exit(workers[0], atoms::kill);
    auto left = co_await receive_if<pg::Notification>(
        [&](const pg::Notification& x) { return x.ref == watch.ref; });
    std::printf("%s of %s; %zu members left\n",
                left.event == pg::Notification::leave ? "leave" : "join",
                to_string(left.pids[0]).c_str(), pg::get_members(group).size());
    // [snippet leave]
  });
}
