// The first example: two processes, a ping and its pong, with a receive timeout.

#include <cstdio>

#include "ambitious/ambitious.hpp"

struct Ping {
  ambitious::Pid from;
  int n;
};
struct Pong {
  int n;
};

ambitious::Task<> ponger() {
  for (;;) {
    Ping p = co_await ambitious::receive<Ping>();
    ambitious::send(p.from, Pong{p.n});
  }
}

int main() {
  return ambitious::run([]() -> ambitious::Task<> {
    auto p = ambitious::spawn(ponger);
    ambitious::send(p, Ping{ambitious::self(), 1});
    auto r = co_await ambitious::receive<Pong>(std::chrono::seconds(1));  // empty on timeout
    std::printf("%s\n", r && r->n == 1 ? "pong 1" : "no pong");
    if (!r) ambitious::exit(ambitious::atoms::timeout);
  });
}
