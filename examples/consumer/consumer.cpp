// The smallest program on ambitious, built as a consumer of the installed package
// (examples/consumer/CMakeLists.txt): a GenServer started, called, and stopped.

#include <cstdio>

// [snippet consumer]
#include <ambitious/behaviours/gen_server.hpp>
#include <ambitious/process/runtime.hpp>

using namespace ambitious;

struct Greeter : GenServer<Greeter> {
  struct Greet {};
  using calls = Types<Greet>;
  CallResult<const char*> handle_call(Greet, const From&) { return reply("hello from ambitious"); }
};

int main() {
  return run([]() -> Task<> {
    auto greeter = co_await Greeter::start_link();
    if (!greeter) exit(greeter.error());
    std::printf("%s\n", co_await gen_server::call(*greeter, Greeter::Greet{}));
    co_await gen_server::stop(*greeter);
  });
}
// [snippet consumer]
