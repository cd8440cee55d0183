// The README's counter, as a GenServer: its members are its state, it lists the requests it
// takes, each request type has its own handle_call, and call returns that handler's reply type.

#include <cstdio>

#include <ambitious/behaviours/gen_server.hpp>
#include <ambitious/process/runtime.hpp>

using namespace ambitious;

// [snippet counter]
struct Counter : GenServer<Counter> {
  struct Get {};
  struct Increment {};
  struct Reset {};
  using calls = Types<Get, Increment>;
  using casts = Types<Reset>;
  long count;
  explicit Counter(long initial) : count(initial) {}
  CallResult<long> handle_call(Get, const From&) { return reply(count); }
  CallResult<long> handle_call(Increment, const From&) { return reply(++count); }
  Action handle_cast(Reset) {
    count = 0;
    return noreply();
  }
};
// [snippet counter]

int main() {
  return run([]() -> Task<> {
    // [snippet counter_use]
    // start_link gives a std::expected<ServerRef<Counter>, ExitReason>
    auto counter = co_await Counter::start_link(5);
    long n = co_await gen_server::call(*counter, Counter::Increment{});  // 6
    gen_server::cast(*counter, Counter::Reset{});
    // [snippet counter_use]
    long after_reset = co_await gen_server::call(*counter, Counter::Get{});
    std::printf("incremented: %ld, after reset: %ld\n", n, after_reset);
    co_await gen_server::stop(*counter);
  });
}
