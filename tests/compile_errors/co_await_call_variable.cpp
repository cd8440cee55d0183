// expect: co_await on a gen_server call variable: write co_await std::move\(call\)
#include "ambitious/behaviours/gen_server.hpp"

using namespace ambitious;

struct Get {};
struct Counter : GenServer<Counter> {
  using calls = Types<Get>;
  CallResult<int> handle_call(Get, const From&) { return reply(0); }
};

Task<> body(ServerRef<Counter> counter) {
  auto call = gen_server::call(counter, Get{});
  (void)co_await call;
}
