// expect: the server has handle_call but declares no `using calls = Types<...>`
#include "ambitious/behaviours/gen_server.hpp"

using namespace ambitious;

struct Get {};
struct Counter : GenServer<Counter> {
  CallResult<int> handle_call(Get, const From&) { return reply(0); }
};

Task<> body() { (void)co_await Counter::start(); }
