// expect: the server has handle_info but declares no `using info = Types<...>`
#include "ambitious/behaviours/gen_server.hpp"

using namespace ambitious;

struct Tick {};
struct Clock : GenServer<Clock> {
  Action handle_info(Tick) { return noreply(); }
};

Task<> body() { (void)co_await Clock::start(); }
