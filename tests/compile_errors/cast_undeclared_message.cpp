// expect: the message type is not in the server's `using casts = Types<...>`
#include "ambitious/behaviours/gen_server.hpp"

using namespace ambitious;

struct Reset {};
struct Counter : GenServer<Counter> {
  Action handle_cast(Reset) { return noreply(); }
  using casts = Types<>;
};

void body(ServerRef<Counter> counter) { gen_server::cast(counter, Reset{}); }
