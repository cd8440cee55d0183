// A GenServer's life: init and a continue, a registered name, a call answered later (a deferred
// reply) from handle_info, an idle timeout, terminate, and a call to a server that is gone.

#include <chrono>
#include <cstdio>
#include <deque>
#include <string>

#include <ambitious/behaviours/gen_server.hpp>
#include <ambitious/process/monitor.hpp>
#include <ambitious/process/runtime.hpp>
#include <ambitious/process/timer.hpp>

using namespace ambitious;
using namespace std::chrono_literals;

// [snippet declare]
struct Inbox : GenServer<Inbox> {
  struct Take {};   // call: the oldest letter, or wait for the next one
  struct Count {};  // call: how many letters wait
  struct Post {     // cast: a letter
    std::string text;
  };
  struct Delivery {  // a plain message: the post office's round
    std::string text;
  };
  struct Load {};  // the continue that init asks for
  using calls = Types<Take, Count>;
  using casts = Types<Post>;
  using info = Types<Delivery>;
  // [snippet declare]

  // [snippet init]
  InitResult init() { return ok().then(Load{}); }  // start_link returns before Load runs

  Action handle_continue(Load) {  // runs before the first message
    letters.push_back("welcome");
    send_after(30ms, self(), Delivery{"hello"});
    return noreply().after(idle);
  }
  // [snippet init]

  // [snippet deferred]
  CallResult<std::string> handle_call(Take, const From& from) {
    if (letters.empty()) {
      waiting.push_back(from);  // no reply now: it comes with the next letter
      return noreply().after(idle);
    }
    std::string letter = std::move(letters.front());
    letters.pop_front();
    return reply(std::move(letter)).after(idle);
  }

  Action handle_info(Delivery d) { return add(std::move(d.text)); }
  Action handle_cast(Post p) { return add(std::move(p.text)); }

  Action add(std::string letter) {
    if (waiting.empty()) {
      letters.push_back(std::move(letter));
    } else {
      reply(waiting.front(), std::move(letter));  // the deferred reply
      waiting.pop_front();
    }
    return noreply().after(idle);
  }
  // [snippet deferred]

  CallResult<std::size_t> handle_call(Count, const From&) {
    return reply(letters.size()).after(idle);
  }

  // [snippet timeout]
  Action handle_timeout() { return stop(atoms::normal); }  // nothing came for `idle`

  void terminate(const ExitReason& reason) {
    std::printf("inbox: terminate(%s) with %zu letters left\n", reason.to_string().c_str(),
                letters.size());
  }
  // [snippet timeout]

  static constexpr auto idle = 200ms;
  std::deque<std::string> letters;
  std::deque<From> waiting;  // the calls to answer when a letter comes
};

int main() {
  return run([]() -> Task<> {
    // [snippet start]
    StartOptions options{.name = Atom("inbox")};  // a variable: no braced temporary in co_await
    auto started = co_await Inbox::start_link(options);
    if (!started) exit(started.error());
    ServerRef<Inbox> inbox(Atom("inbox"));
    Ref mref = monitor(*started->pid());
    // [snippet start]

    // [snippet calls]
    std::string first = co_await gen_server::call(inbox, Inbox::Take{});   // "welcome"
    std::string second = co_await gen_server::call(inbox, Inbox::Take{});  // waits for "hello"
    gen_server::cast<Inbox::Post>(inbox, std::string("bye"));
    std::size_t count = co_await gen_server::call(inbox, Inbox::Count{});
    std::printf("took %s, then %s; %zu letter waits\n", first.c_str(), second.c_str(), count);
    // [snippet calls]

    Down down = co_await receive_if<Down>([&](const Down& d) { return d.ref == mref; });
    std::printf("inbox ended %s\n", down.reason.to_string().c_str());

    // [snippet try_call]
    auto gone = co_await gen_server::try_call(inbox, Inbox::Count{}, 100ms);
    if (!gone) std::printf("a call now fails with %s\n", gone.error().to_string().c_str());
    // [snippet try_call]
  });
}
