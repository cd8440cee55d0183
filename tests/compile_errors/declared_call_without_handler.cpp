// expect: a type in `calls` has no handle_call\(Req, const From&\)
#include "ambitious/behaviours/gen_server.hpp"

using namespace ambitious;

struct Get {};
struct Forgotten {};
struct Counter : GenServer<Counter> {
  using calls = Types<Get, Forgotten>;
  CallResult<int> handle_call(Get, const From&) { return reply(0); }
};

Task<> body() { (void)co_await Counter::start(); }
