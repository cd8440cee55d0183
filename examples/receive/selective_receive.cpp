// Selective receive: the first message a clause takes, guards, a timeout, urgent messages
// first, and the reply to a request found with .since(ref) without scanning older messages.

#include <chrono>
#include <cstdio>
#include <string_view>

#include <ambitious/core/ref.hpp>
#include <ambitious/process/process.hpp>
#include <ambitious/process/receive.hpp>
#include <ambitious/process/runtime.hpp>
#include <ambitious/process/send.hpp>
#include <ambitious/process/spawn.hpp>

using namespace ambitious;
using namespace std::chrono_literals;

struct Job {
  int id;
  bool urgent;
};
struct Stop {};
struct Request {
  Pid from;
  Ref ref;
  int x;
};
struct Reply {
  Ref ref;
  int value;
};

Task<> doubler() {
  for (;;) {
    Request r = co_await receive<Request>();
    send(r.from, Reply{r.ref, 2 * r.x});
  }
}

int main() {
  return run([]() -> Task<> {
    for (int id = 1; id <= 4; ++id) send(self(), Job{id, id % 2 == 0});
    send(self(), 3.5);  // nobody expects a double
    send(self(), Stop{});

    // [snippet urgent_first]
    // Urgent jobs first: a receive with a guard takes the first message it accepts and leaves
    // the others queued, in order. A timeout of 0 only looks at what is already there.
    while (auto job = co_await receive_if<Job>([](const Job& j) { return j.urgent; }, 0ms))
      std::printf("urgent job %d\n", job->id);
    // [snippet urgent_first]

    // [snippet clauses]
    for (bool done = false; !done;)
      co_await receive([](Job j) { std::printf("job %d\n", j.id); },
                       [&](Stop) {
                         std::printf("stop\n");
                         done = true;
                       },
                       match_any([](std::string_view type) {
                         std::printf("dropped a message of type %.*s\n", int(type.size()),
                                     type.data());
                       }),
                       after(1s, [&] { done = true; }));
    // [snippet clauses]

    // [snippet since]
    Pid d = spawn(doubler);
    Ref ref = make_ref();  // also marks the mailbox: what is queued now is older
    send(d, Request{self(), ref, 21});
    auto reply =
        co_await receive_if<Reply>([&](const Reply& r) { return r.ref == ref; }, 1s).since(ref);
    if (reply) std::printf("reply %d\n", reply->value);
    // [snippet since]

    // [snippet match]
    send(self(), 7);
    int n = co_await receive(match<int>([](int x) { return x > 0; }, [](int x) { return x * 10; }),
                             after(100ms, [] { return -1; }));
    std::printf("matched %d\n", n);
    // [snippet match]

    // [snippet timeout]
    std::optional<Job> none = co_await receive<Job>(20ms);  // empty after 20 ms
    if (!none) std::printf("no job within 20 ms\n");
    // [snippet timeout]
  });
}
