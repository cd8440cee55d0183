// expect: the request type is not in the server's `using calls = Types<...>`
#include "ambitious/behaviours/gen_server.hpp"

using namespace ambitious;

struct Get {};
struct Reset {};
struct Counter : GenServer<Counter> {
  using calls = Types<Get>;
  CallResult<int> handle_call(Get, const From&) { return reply(0); }
  CallResult<int> handle_call(Reset, const From&) { return reply(0); }
};

Task<> body(ServerRef<Counter> counter) { (void)co_await gen_server::call(counter, Reset{}); }
