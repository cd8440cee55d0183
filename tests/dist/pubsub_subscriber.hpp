#pragma once
// The subscriber of the PubSub tests across nodes, run by the test's node and by pubsub_node's:
// subscribed to `topic` of `ps`, it says {subscribed, Self} to the process registered as
// `collector` on `report_to`, then, round by round, counts the broadcasts "1", "2", ... it gets
// until "end" and reports {report, Self, Count, InOrder}: InOrder is true when the k-th message
// of the round was "k" (none missing, none twice, none out of order).

#include <charconv>
#include <cstdint>
#include <string>

#include "ambitious/naming/pubsub.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/runtime/task.hpp"

namespace ambitious::test {

inline const Atom collector_name("collector");
inline const char* const pubsub_topic = "t";

inline Task<> pubsub_subscriber(PubSub ps, Atom report_to) {
  const RegisteredName collector{collector_name, report_to};
  ps.subscribe(pubsub_topic);
  send(collector, Term::tuple(Atom("subscribed"), self()));
  for (;;) {
    std::int64_t count = 0;
    bool in_order = true;
    for (;;) {
      std::string m = co_await receive<std::string>();
      if (m == "end") break;
      ++count;
      std::int64_t k = 0;
      auto [p, ec] = std::from_chars(m.data(), m.data() + m.size(), k);
      in_order = in_order && ec == std::errc() && p == m.data() + m.size() && k == count;
    }
    send(collector, Term::tuple(Atom("report"), self(), count, in_order));
  }
}

}  // namespace ambitious::test
