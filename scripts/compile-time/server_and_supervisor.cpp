// Compile-time reference 2 (issue 10): what a user's first file looks like — one GenServer and
// a supervisor that runs it, through the umbrella header.
#include <chrono>
#include <cstdio>
#include <string>

#include "ambitious/ambitious.hpp"

using namespace ambitious;

struct Counter : GenServer<Counter> {
  struct Get {};
  struct Add {
    long n;
  };
  struct Rename {
    std::string name;
  };
  struct Reset {};
  using calls = Types<Get, Add, Rename>;
  using casts = Types<Reset>;
  using info = Types<Down>;

  long count;
  std::string name = "counter";
  explicit Counter(long initial) : count(initial) {}

  struct Loaded {};
  InitResult init() { return ok().then(Loaded{}); }
  Action handle_continue(Loaded) { return noreply().after(std::chrono::seconds(30)); }
  Action handle_timeout() { return noreply(); }
  CallResult<long> handle_call(Get, const From&) { return reply(count); }
  CallResult<long> handle_call(Add a, const From&) { return reply(count += a.n); }
  CallResult<std::string> handle_call(Rename r, const From&) {
    std::swap(name, r.name);
    return reply(std::move(r.name));
  }
  Action handle_cast(Reset) {
    count = 0;
    return noreply();
  }
  Action handle_info(const Down&) { return noreply(); }
  void terminate(const ExitReason&) {}
};

int main() {
  return run([]() -> Task<> {
    const Atom name("counter");
    SupervisorSpec spec{{Strategy::one_for_one, 3, std::chrono::seconds(5)},
                        {server_child<Counter>(Atom("counter"), StartOptions{name, infinity}, 5L)}};
    auto sup = co_await supervisor::start_link(spec);
    if (!sup) co_return;
    ServerRef<Counter> counter(name);
    long n = co_await gen_server::call<Counter::Add>(counter, 2L);
    std::string old = co_await gen_server::call<Counter::Rename>(counter, std::string("c"));
    gen_server::cast<Counter::Reset>(counter);
    auto now = co_await gen_server::try_call(counter, Counter::Get{}, std::chrono::seconds(1));
    std::printf("%ld %s %ld\n", n, old.c_str(), now ? *now : -1L);
    co_await gen_server::stop(*sup);
    shutdown(0);
  });
}
