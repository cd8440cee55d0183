// Timers: a message sent later, a timer cancelled before it fires, start_timer's message that
// names its timer, a timer to a registered name, and an exit signal sent after a delay. A timer
// never fires early; one to a pid is cancelled when that process ends.

#include <chrono>
#include <cstdio>

#include <ambitious/process/monitor.hpp>
#include <ambitious/process/names.hpp>
#include <ambitious/process/process.hpp>
#include <ambitious/process/receive.hpp>
#include <ambitious/process/runtime.hpp>
#include <ambitious/process/spawn.hpp>
#include <ambitious/process/timer.hpp>

using namespace ambitious;
using namespace std::chrono_literals;

struct Tick {
  int n;
};
struct Remind {
  const char* what;
};

Task<> idle() { co_await receive<Tick>(); }

int main() {
  return run([]() -> Task<> {
    // [snippet send_after]
    std::uint64_t start = monotonic_time_ms();
    TimerRef t = send_after(50ms, self(), Tick{1});
    std::optional<std::chrono::milliseconds> left = read_timer(t);  // at most 50 ms
    Tick tick = co_await receive<Tick>();
    std::uint64_t waited = monotonic_time_ms() - start;
    std::printf("tick %d after %s50 ms (%lld ms were left when read)\n", tick.n,
                waited >= 50 ? "at least " : "LESS THAN ", static_cast<long long>(left->count()));
    // [snippet send_after]

    // [snippet cancel]
    TimerRef later = send_after(1h, self(), Tick{2});
    if (auto was_left = cancel_timer(later))  // a value: the Tick will never come
      std::printf("cancelled with %d min left\n",
                  static_cast<int>(std::chrono::round<std::chrono::minutes>(*was_left).count()));
    // [snippet cancel]

    // [snippet start_timer]
    TimerRef reminder = start_timer(10ms, self(), Remind{"tea"});
    auto timeout = co_await receive<TimerTimeout<Remind>>();
    std::printf("reminded of %s by %s timer\n", timeout.msg.what,
                timeout.timer == reminder ? "the expected" : "another");
    // [snippet start_timer]

    // [snippet to_name]
    register_name(Atom("alarm"), self());
    send_after(5ms, Atom("alarm"), Tick{3});  // to whoever holds the name when it fires
    std::printf("tick %d by name\n", (co_await receive<Tick>()).n);
    // [snippet to_name]

    // [snippet exit_after]
    auto [sleeper, ref] = spawn_monitor(idle);
    exit_after(10ms, sleeper, Atom("time_is_up"));
    Down down = co_await receive<Down>();
    std::printf("the sleeper ended: %s\n", down.reason.to_string().c_str());
    // [snippet exit_after]
  });
}
