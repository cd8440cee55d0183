// A consumer of the ambitious package: a supervised counter, called, then stopped in order.
#include <ambitious/ambitious.hpp>

#include <cstdio>

using namespace ambitious;

struct Counter : GenServer<Counter> {
  struct Add {
    long n;
  };
  struct Get {};
  using calls = Types<Add, Get>;
  long count = 0;
  InitResult init() {
    register_name(Atom("counter"), self());
    return ok();
  }
  CallResult<long> handle_call(Add a, const From&) { return reply(count += a.n); }
  CallResult<long> handle_call(Get, const From&) { return reply(count); }
};

int main() {
  return run([]() -> Task<> {
    SupervisorSpec spec;
    spec.children.push_back(server_child<Counter>(Term(Atom("counter"))));
    auto sup = co_await supervisor::start_link(std::move(spec));
    if (!sup) exit(sup.error());
    ServerRef<Counter> counter(Atom("counter"));
    co_await gen_server::call<Counter::Add>(counter, 40L);
    long n = co_await gen_server::call(counter, Counter::Add{2});
    std::printf("consumer: the counter says %ld\n", n);
    co_await gen_server::stop(*sup);
  });
}
