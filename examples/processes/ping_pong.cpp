// Two processes, a ping and its pong, with a receive timeout: the README's first example.

#include <chrono>
#include <cstdio>

// [snippet ping_pong]
#include <ambitious/process/process.hpp>  // self
#include <ambitious/process/receive.hpp>  // receive
#include <ambitious/process/runtime.hpp>  // run
#include <ambitious/process/send.hpp>     // send
#include <ambitious/process/spawn.hpp>    // spawn
using namespace ambitious;

struct Ping {
  Pid from;
  int n;
};
struct Pong {
  int n;
};

Task<> ponger() {
  for (;;) {
    Ping p = co_await receive<Ping>();
    send(p.from, Pong{p.n});
  }
}

int main() {
  return run([]() -> Task<> {
    Pid p = spawn(ponger);
    send(p, Ping{self(), 1});
    auto r = co_await receive<Pong>(std::chrono::seconds(1));  // empty on timeout
    std::printf("%s\n", r ? "pong 1" : "no pong");
  });
}
// [snippet ping_pong]
