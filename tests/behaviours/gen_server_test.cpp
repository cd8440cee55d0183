#include "ambitious/behaviours/gen_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

// Conformance with OTP 25's gen_server (lib/stdlib/test/gen_server_SUITE.erl): start and init
// results, call/cast/info, continue and timeouts, deferred replies, stop, gen:call's failures,
// terminate, and the crash report.

using namespace ambitious;
using namespace ambitious::test;

namespace {

const Atom bye("bye");
const Atom foo("foo");

struct Get {};
struct Add {
  int n;
};
struct Boom {};
struct Quit {};
struct QuitWith {
  int v;
};
struct Stray {};

/// What a server tells its observer.
struct Terminated {
  ExitReason reason;
};
struct Started {
  Pid pid;
};
struct Asked {};
struct TimedOut {};
struct Pinged {};

/// A counter: the server most tests use. Tells `observer` (if any) when terminate runs.
struct Counter : GenServer<Counter> {
  explicit Counter(int start = 0, Pid observer = {}, bool trap = false)
      : n(start), observer(observer), trap(trap) {}

  using calls = Types<Get, Add, Boom, Quit, QuitWith>;
  using casts = Types<Add, Boom>;
  InitResult init() {
    if (trap) trap_exit(true);
    return ok();
  }
  CallResult<int> handle_call(Get, const From&) { return reply(n); }
  CallResult<int> handle_call(Add a, const From&) {
    n += a.n;
    return reply(n);
  }
  CallResult<int> handle_call(Boom, const From&) { throw std::runtime_error("boom"); }
  CallResult<int> handle_call(Quit, const From&) { return stop(bye); }
  CallResult<int> handle_call(QuitWith q, const From&) { return stop(atoms::normal, q.v); }
  Action handle_cast(Add a) {
    n += a.n;
    return noreply();
  }
  Action handle_cast(Boom) { throw std::runtime_error("boom in a cast"); }
  void terminate(const ExitReason& reason) {
    if (!observer.is_null()) send(observer, Terminated{reason});
  }

  int n;
  Pid observer;
  bool trap;
};

using CounterRef = ServerRef<Counter>;

/// Starts a Counter (not linked) and returns its ref; gives up if it does not start.
Task<CounterRef> start_counter(int n = 0, Pid observer = {}, bool trap = false) {
  auto s = co_await Counter::start(n, observer, trap);
  if (!s) give_up();
  co_return *s;
}

/// init() says what the test asked for.
struct InitSays : GenServer<InitSays> {
  enum What { ignore_it, stop_it, throw_it, exit_it };
  explicit InitSays(What w) : what(w) {}
  InitResult init() {
    switch (what) {
      case ignore_it:
        return ignore();
      case stop_it:
        return stop(foo);
      case throw_it:
        throw std::runtime_error("init failed");
      case exit_it:
        exit(foo);
    }
    return ok();
  }
  What what;
};

/// init() never finishes; a watcher it spawns reports the server's end to `observer`.
struct SlowInit : GenServer<SlowInit> {
  explicit SlowInit(Pid observer) : observer(observer) {}
  Task<InitResult> init() {
    Pid server = self(), to = observer;
    spawn([server, to]() -> Task<> {
      Ref mref = monitor(server);
      Down d = co_await receive_if<Down>([mref](const Down& x) { return x.ref == mref; });
      send(to, Terminated{d.reason});
    });
    co_await receive<Quit>();  // never sent
    co_return ok();
  }
  Pid observer;
};

/// Answers Asks later, when a cast says with what (a deferred reply).
struct Deferred : GenServer<Deferred> {
  struct Ask {};
  struct Answer {
    int v;
  };
  using calls = Types<Ask, Get>;
  using casts = Types<Answer>;
  explicit Deferred(Pid observer) : observer(observer) {}
  CallResult<int> handle_call(Ask, const From& from) {
    waiting = from;
    send(observer, Asked{});
    return noreply();
  }
  CallResult<int> handle_call(Get, const From&) { return reply(-1); }
  Action handle_cast(Answer a) {
    if (waiting) reply(*waiting, a.v);
    waiting.reset();
    return noreply();
  }
  Pid observer;
  std::optional<From> waiting;
};

/// Answers a call for a std::string later, with a string literal or, by mistake, an int.
struct Namer : GenServer<Namer> {
  struct AskName {};
  struct AnswerWithLiteral {};
  struct AnswerWithInt {};
  using calls = Types<AskName>;
  using casts = Types<AnswerWithLiteral, AnswerWithInt>;
  explicit Namer(Pid observer) : observer(observer) {}
  CallResult<std::string> handle_call(AskName, const From& from) {
    waiting = from;
    send(observer, Asked{});
    return noreply();
  }
  Action handle_cast(AnswerWithLiteral) {
    reply(*waiting, "a literal");
    return noreply();
  }
  Action handle_cast(AnswerWithInt) {
    reply(*waiting, 42);
    return noreply();
  }
  Pid observer;
  std::optional<From> waiting;
};

/// Records the order of its callbacks: continues, calls, timeouts.
struct Sequencer : GenServer<Sequencer> {
  struct Step {
    int n;
  };
  struct Arm {
    Timeout t;
  };
  struct ArmAndContinue {};
  using calls = Types<Get, ArmAndContinue, Arm>;
  explicit Sequencer(Pid observer) : observer(observer) {}
  InitResult init() {
    events.push_back("init");
    return ok().then(Step{1});
  }
  Action handle_continue(Step s) {
    events.push_back("continue " + std::to_string(s.n));
    if (s.n == 2) return noreply().then(Step{3});  // a continue may continue
    return noreply();
  }
  CallResult<std::vector<std::string>> handle_call(Get, const From&) {
    events.push_back("get");
    return reply(events);
  }
  CallResult<int> handle_call(ArmAndContinue, const From&) {
    events.push_back("arm and continue");
    return reply(0).then(Step{2});
  }
  CallResult<int> handle_call(Arm a, const From&) {
    events.push_back("arm");
    return reply(0).after(a.t);
  }
  Action handle_timeout() {
    events.push_back("timeout");
    send(observer, TimedOut{});
    return noreply();
  }
  Pid observer;
  std::vector<std::string> events;
};

/// Takes Pings as info messages; nothing else.
struct Pinger : GenServer<Pinger> {
  struct Ping {};
  using calls = Types<Get>;
  using info = Types<Ping>;
  explicit Pinger(Pid observer) : observer(observer) {}
  Action handle_info(Ping) {
    send(observer, Pinged{});
    return noreply();
  }
  CallResult<int> handle_call(Get, const From&) { return reply(0); }
  Pid observer;
};

/// Every callback is a coroutine; a call asks another server before it replies.
struct Async : GenServer<Async> {
  using calls = Types<Get>;
  using casts = Types<Add>;
  using info = Types<Add>;
  Async(CounterRef other, Pid observer) : other(other), observer(observer) {}
  Task<InitResult> init() {
    co_await yield();
    base = co_await gen_server::call(other, Get{});
    co_return ok();
  }
  Task<CallResult<int>> handle_call(Get, const From&) {
    int v = co_await gen_server::call(other, Get{});
    co_return reply(base * 100 + v + mine);
  }
  Task<Action> handle_cast(Add a) {
    co_await yield();
    mine += a.n;
    co_return noreply();
  }
  Task<Action> handle_info(Add a) {
    co_await yield();
    mine += 10 * a.n;
    co_return noreply();
  }
  Task<> terminate(const ExitReason& reason) {
    co_await yield();
    send(observer, Terminated{reason});
  }
  CounterRef other;
  Pid observer;
  int base = 0;
  int mine = 0;
};

/// Records terminate and the reply order of stop(reason, reply) into a journal.
struct Journaled : GenServer<Journaled> {
  using calls = Types<QuitWith>;
  explicit Journaled(Journal* journal) : journal(journal) {}
  CallResult<int> handle_call(QuitWith q, const From&) {
    journal->add("handle_call");
    return stop(atoms::normal, q.v);
  }
  Task<> terminate(const ExitReason&) {
    co_await yield();  // the caller runs meanwhile, if it already has its reply
    journal->add("terminate");
  }
  Journal* journal;
};

/// A terminate that throws: the server still ends with the reason it stopped with.
struct BadTerminate : GenServer<BadTerminate> {
  using calls = Types<Quit>;
  CallResult<int> handle_call(Quit, const From&) { return stop(bye); }
  void terminate(const ExitReason&) { throw std::runtime_error("terminate failed"); }
};

/// Traps exits and takes them in handle_info.
struct ExitTaker : GenServer<ExitTaker> {
  using info = Types<Exit>;
  explicit ExitTaker(Pid observer) : observer(observer) {}
  InitResult init() {
    trap_exit(true);
    return ok();
  }
  struct LinkCaller {};
  using calls = Types<LinkCaller, Get>;
  CallResult<int> handle_call(LinkCaller, const From& from) {
    link(from.pid);
    return reply(0);
  }
  CallResult<Pid> handle_call(Get, const From&) {
    return reply(spawn_link([]() -> Task<> {
      co_await receive<Quit>();
      exit(foo);
    }));
  }
  Action handle_info(Exit e) {
    send(observer, std::move(e));
    return noreply();
  }
  Pid observer;
};

}  // namespace

// --- start / init -------------------------------------------------------------------------------

TEST(GenServerStart, start_returns_once_init_has_run_and_the_server_answers_calls) {
  int got = 0;
  bool linked = true;
  run_test([&]() -> Task<> {
    auto s = co_await start_counter(41);
    got = co_await gen_server::call(s, Add{1});
    auto info = co_await process_info(self());
    linked = !info->links.empty();
    co_await gen_server::stop(s);
  });
  EXPECT_EQ(got, 42);
  EXPECT_FALSE(linked);
}

TEST(GenServerStart, start_link_links_the_server_to_the_caller) {
  bool linked = false;
  run_test([&]() -> Task<> {
    auto s = co_await Counter::start_link(0, Pid{}, false);
    if (!s) give_up();
    auto info = co_await process_info(self());
    linked = info->links.size() == 1 && info->links[0] == *s->pid();
    co_await gen_server::stop(*s);
  });
  EXPECT_TRUE(linked);
}

TEST(GenServerStart, init_returning_ignore_fails_the_start_with_ignore_and_the_server_ends_normal) {
  std::optional<ExitReason> error;
  std::optional<Exit> exit_message;
  run_test([&]() -> Task<> {
    trap_exit(true);
    auto s = co_await InitSays::start_link(InitSays::ignore_it);
    if (!s) error = s.error();
    exit_message = co_await expect<Exit>();
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, Atom("ignore"));
  ASSERT_TRUE(exit_message);
  EXPECT_TRUE(exit_message->reason.is_normal());
}

TEST(GenServerStart, init_returning_stop_fails_the_start_with_the_reason) {
  std::optional<ExitReason> error;
  run_test([&]() -> Task<> {
    auto s = co_await InitSays::start(InitSays::stop_it);
    if (!s) error = s.error();
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, foo);
}

TEST(GenServerStart, init_stop_with_start_link_ends_a_caller_that_does_not_trap_exits) {
  std::optional<ExitReason> caller_end;
  std::optional<ExitReason> error;
  run_test([&]() -> Task<> {
    Pid caller = spawn([&]() -> Task<> {
      auto s = co_await InitSays::start_link(InitSays::stop_it);
      if (!s) error = s.error();
      co_await receive<Quit>();  // the link's exit signal ends it meanwhile
    });
    caller_end = co_await wait_end(caller);
  });
  ASSERT_TRUE(caller_end);
  EXPECT_EQ(*caller_end, foo);
}

TEST(GenServerStart, init_stop_with_start_link_sends_a_trapping_caller_an_exit_message) {
  std::optional<ExitReason> error;
  std::optional<Exit> exit_message;
  run_test([&]() -> Task<> {
    trap_exit(true);
    auto s = co_await InitSays::start_link(InitSays::stop_it);
    if (!s) error = s.error();
    exit_message = co_await expect<Exit>();
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, foo);
  ASSERT_TRUE(exit_message);
  EXPECT_EQ(exit_message->reason, foo);
}

TEST(GenServerStart, an_exception_escaping_init_fails_the_start_with_exception_what) {
  std::optional<ExitReason> error;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    auto s = co_await InitSays::start(InitSays::throw_it);
    if (!s) error = s.error();
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, ExitReason::exception("init failed"));
}

TEST(GenServerStart, exit_called_in_init_fails_the_start_with_its_reason) {
  std::optional<ExitReason> error;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    auto s = co_await InitSays::start(InitSays::exit_it);
    if (!s) error = s.error();
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, foo);
}

TEST(GenServerStart, a_named_server_is_registered_and_answers_calls_by_name) {
  std::optional<Pid> where;
  Pid pid;
  int got = 0;
  run_test([&]() -> Task<> {
    StartOptions options{.name = Atom("gs_named")};
    auto s = co_await Counter::start(std::move(options), 7, Pid{}, false);
    if (!s) give_up();
    pid = *s->pid();
    where = whereis(Atom("gs_named"));
    got = co_await gen_server::call(CounterRef(Atom("gs_named")), Get{});
    co_await gen_server::stop(CounterRef(Atom("gs_named")));
  });
  EXPECT_EQ(where, pid);
  EXPECT_EQ(got, 7);
}

TEST(GenServerStart, starting_a_second_server_under_a_taken_name_fails_with_already_started) {
  std::optional<ExitReason> error;
  Pid first;
  run_test([&]() -> Task<> {
    StartOptions options{.name = Atom("gs_taken")};
    auto s = co_await Counter::start(options, 0, Pid{}, false);
    if (!s) give_up();
    first = *s->pid();
    auto again = co_await Counter::start(options, 0, Pid{}, false);
    if (!again) error = again.error();
    co_await gen_server::stop(*s);
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, ExitReason(Term::tuple(Atom("already_started"), first)));
}

TEST(GenServerStart, a_linked_starter_survives_a_taken_name_as_in_otp_init_it) {
  // OTP's init_it answers {error, {already_started, Pid}} and ends the new server `normal`, so
  // a non-trapping caller of start_link lives on.
  std::optional<ExitReason> error;
  bool survived = false;
  run_test([&]() -> Task<> {
    StartOptions options{.name = Atom("gs_taken_linked")};
    auto s = co_await Counter::start(options, 0, Pid{}, false);
    if (!s) give_up();
    auto again = co_await Counter::start_link(options, 0, Pid{}, false);
    if (!again) error = again.error();
    // With one worker the new server's end (and a link exit, if it sent one) came
    // before its ack was read: this receive drains it, so dying would end us here.
    auto ping = co_await gen_server::try_call(*s, Get{});
    survived = ping.has_value();
    co_await gen_server::stop(*s);
  });
  ASSERT_TRUE(error);
  EXPECT_TRUE(error->term().is_tuple());
  EXPECT_TRUE(survived);
}

TEST(GenServerStart, a_start_whose_init_takes_too_long_fails_with_timeout_and_kills_the_server) {
  std::optional<ExitReason> error;
  std::optional<Terminated> end;
  run_test([&]() -> Task<> {
    StartOptions options{.timeout = 20ms};
    auto s = co_await SlowInit::start(std::move(options), self());
    if (!s) error = s.error();
    end = co_await expect<Terminated>();
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, atoms::timeout);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->reason, atoms::killed);
}

// --- call / cast / info / continue / timeout
// ------------------------------------------------------

TEST(GenServerCall, call_returns_the_reply_of_the_handle_call_for_the_request_type) {
  int a = 0, b = 0;
  run_test([&]() -> Task<> {
    auto s = co_await start_counter(1);
    a = co_await gen_server::call(s, Add{2});
    b = co_await gen_server::call(s, Get{});
    co_await gen_server::stop(s);
  });
  EXPECT_EQ(a, 3);
  EXPECT_EQ(b, 3);
}

namespace {
/// Counts the live copies of itself: a request member with a destructor.
struct Counted {
  static inline std::atomic<int> live{0};
  std::string text;
  explicit Counted(std::string t) : text(std::move(t)) { ++live; }
  Counted(const Counted& o) : text(o.text) { ++live; }
  Counted(Counted&& o) noexcept : text(std::move(o.text)) { ++live; }
  ~Counted() { --live; }
};
struct Named {
  Counted name;
  int times;
};
struct Append {
  Counted suffix;
};
/// Keeps a name; `Named` sets it (a call), `Append` extends it (a cast).
struct NameKeeper : GenServer<NameKeeper> {
  using calls = Types<Named, Get>;
  using casts = Types<Append>;
  CallResult<std::string> handle_call(Named n, const From&) {
    name.clear();
    for (int i = 0; i < n.times; ++i) name += n.name.text;
    return reply(name);
  }
  CallResult<std::string> handle_call(Get, const From&) { return reply(name); }
  Action handle_cast(Append a) {
    name += a.suffix.text;
    return noreply();
  }
  std::string name;
};
}  // namespace

TEST(GenServerCall, requests_built_in_place_by_call_and_cast_reach_their_handlers_once) {
  std::string set, after_cast, tried;
  run_test([&]() -> Task<> {
    auto s = co_await NameKeeper::start();
    if (!s) give_up();
    set = co_await gen_server::call<Named>(*s, Counted(std::string("ab")), 2);
    gen_server::cast<Append>(*s, Counted(std::string("!")));
    after_cast = co_await gen_server::call<Get>(*s);
    auto r = co_await gen_server::try_call<Named>(*s, Counted(std::string("x")), 1);
    if (r) tried = *r;
    co_await gen_server::stop(*s);
  });
  EXPECT_EQ(set, "abab");
  EXPECT_EQ(after_cast, "abab!");
  EXPECT_EQ(tried, "x");
  EXPECT_EQ(Counted::live.load(), 0);  // every request destroyed exactly once
}

namespace {
template <int N>
struct Ask {};
/// Twelve call types and two cast types: each request reaches the handler of its own type.
struct Wide : GenServer<Wide> {
  using calls = Types<Ask<0>, Ask<1>, Ask<2>, Ask<3>, Ask<4>, Ask<5>, Ask<6>, Ask<7>, Ask<8>,
                      Ask<9>, Ask<10>, Ask<11>>;
  using casts = Types<Ask<0>, Ask<7>>;
  template <int N>
  CallResult<int> handle_call(Ask<N>, const From&) {
    return reply(N * 10 + casts_seen);
  }
  template <int N>
  Action handle_cast(Ask<N>) {
    casts_seen += N + 1;
    return noreply();
  }
  int casts_seen = 0;
};
}  // namespace

TEST(GenServerCall, each_declared_request_type_is_dispatched_to_its_own_handler) {
  std::vector<int> replies;
  run_test([&]() -> Task<> {
    auto s = co_await Wide::start();
    if (!s) give_up();
    replies.push_back(co_await gen_server::call(*s, Ask<11>{}));
    replies.push_back(co_await gen_server::call(*s, Ask<0>{}));
    gen_server::cast(*s, Ask<7>{});  // casts_seen = 8
    replies.push_back(co_await gen_server::call(*s, Ask<5>{}));
    gen_server::cast(*s, Ask<0>{});  // casts_seen = 9
    replies.push_back(co_await gen_server::call(*s, Ask<9>{}));
    co_await gen_server::stop(*s);
  });
  EXPECT_EQ(replies, (std::vector<int>{110, 0, 58, 99}));
}

TEST(GenServerCall, casts_are_handled_in_order_before_a_later_call) {
  int got = 0;
  run_test([&]() -> Task<> {
    auto s = co_await start_counter(0);
    for (int i = 1; i <= 10; ++i) gen_server::cast(s, Add{i});
    got = co_await gen_server::call(s, Get{});
    co_await gen_server::stop(s);
  });
  EXPECT_EQ(got, 55);
}

TEST(GenServerCall, a_cast_to_a_server_that_does_not_exist_is_ignored) {
  run_test([&]() -> Task<> {
    gen_server::cast(CounterRef(Atom("gs_nobody")), Add{1});
    co_return;
  });
}

TEST(GenServerCall, a_message_of_a_declared_info_type_reaches_handle_info) {
  bool pinged = false;
  run_test([&]() -> Task<> {
    auto s = co_await Pinger::start(self());
    if (!s) give_up();
    send(*s->pid(), Pinger::Ping{});
    co_await expect<Pinged>();
    pinged = true;
    co_await gen_server::stop(*s);
  });
  EXPECT_TRUE(pinged);
}

TEST(GenServerCall, messages_of_undeclared_types_are_dropped_and_reported_not_accumulated) {
  std::size_t queued = 99;
  std::size_t reports = 0;
  run_test([&]() -> Task<> {
    CapturedLog log;
    auto s = co_await Pinger::start(self());
    if (!s) give_up();
    for (int i = 0; i < 3; ++i) send(*s->pid(), Stray{});
    send(*s->pid(), 42);
    co_await gen_server::call(*s, Get{});  // after the strays, in order
    queued = (co_await process_info(*s->pid()))->message_queue_len;
    reports = log.of_kind("gen_server_unexpected_message").size();
    co_await gen_server::stop(*s);
  });
  EXPECT_EQ(queued, 0u);
  EXPECT_EQ(reports, 4u);
}

TEST(GenServerCall, handle_continue_runs_after_init_and_after_a_result_before_the_next_message) {
  std::vector<std::string> events;
  run_test([&]() -> Task<> {
    auto s = co_await Sequencer::start(self());
    if (!s) give_up();
    co_await gen_server::call(*s, Sequencer::ArmAndContinue{});
    events = co_await gen_server::call(*s, Get{});
    co_await gen_server::stop(*s);
  });
  EXPECT_EQ(events, (std::vector<std::string>{"init", "continue 1", "arm and continue",
                                              "continue 2", "continue 3", "get"}));
}

TEST(GenServerCall, a_result_timeout_calls_handle_timeout_when_no_message_comes) {
  std::vector<std::string> events;
  run_test([&]() -> Task<> {
    auto s = co_await Sequencer::start(self());
    if (!s) give_up();
    Sequencer::Arm arm{Timeout(1ms)};
    co_await gen_server::call(*s, arm);
    co_await expect<TimedOut>();
    events = co_await gen_server::call(*s, Get{});
    co_await gen_server::stop(*s);
  });
  EXPECT_EQ(events, (std::vector<std::string>{"init", "continue 1", "arm", "timeout", "get"}));
}

TEST(GenServerCall, a_message_that_comes_first_cancels_the_result_timeout) {
  std::vector<std::string> events;
  run_test([&]() -> Task<> {
    auto s = co_await Sequencer::start(self());
    if (!s) give_up();
    Sequencer::Arm arm{Timeout(std::chrono::hours(1))};
    co_await gen_server::call(*s, arm);
    events = co_await gen_server::call(*s, Get{});
    Sequencer::Arm again{Timeout(1ms)};  // the next message has no timeout
    co_await gen_server::call(*s, again);
    co_await expect<TimedOut>();
    co_await gen_server::stop(*s);
  });
  EXPECT_EQ(events, (std::vector<std::string>{"init", "continue 1", "arm", "get"}));
}

TEST(GenServerCall, a_deferred_reply_with_reply_from_reaches_the_waiting_caller) {
  std::optional<int> got;
  run_test([&]() -> Task<> {
    auto s = co_await Deferred::start(self());
    if (!s) give_up();
    Pid test = self();
    Pid client = spawn([&got, s, test]() -> Task<> {
      got = co_await gen_server::call(*s, Deferred::Ask{});
      send(test, Pinged{});
    });
    co_await expect<Asked>();
    gen_server::cast(*s, Deferred::Answer{7});
    co_await expect<Pinged>();
    co_await wait_end(client);
    co_await gen_server::stop(*s);
  });
  EXPECT_EQ(got, 7);
}

TEST(GenServerCall, a_deferred_reply_of_a_string_literal_reaches_a_caller_waiting_for_a_string) {
  std::optional<std::string> got;
  run_test([&]() -> Task<> {
    auto s = co_await Namer::start(self());
    if (!s) give_up();
    Pid test = self();
    Pid client = spawn([&got, s, test]() -> Task<> {
      got = co_await gen_server::call(*s, Namer::AskName{});
      send(test, Pinged{});
    });
    co_await expect<Asked>();
    gen_server::cast(*s, Namer::AnswerWithLiteral{});
    co_await expect<Pinged>();
    co_await wait_end(client);
    co_await gen_server::stop(*s);
  });
  EXPECT_EQ(got, "a literal");
}

TEST(GenServerCall, a_deferred_reply_of_the_wrong_type_fails_loudly_instead_of_being_lost) {
  std::optional<ExitReason> error;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    auto s = co_await Namer::start(self());
    if (!s) give_up();
    Pid test = self();
    Pid client = spawn([&error, s, test]() -> Task<> {
      auto r = co_await gen_server::try_call(*s, Namer::AskName{});
      if (!r) error = r.error();
      send(test, Pinged{});
    });
    co_await expect<Asked>();
    gen_server::cast(*s, Namer::AnswerWithInt{});
    co_await expect<Pinged>();
    co_await wait_end(client);
  });
  ASSERT_TRUE(error);
  EXPECT_TRUE(contains(error->exception_what(), "waits for")) << *error;
}

TEST(GenServerCall, handlers_may_be_coroutines_and_the_server_waits_for_them) {
  int got = 0;
  std::optional<ExitReason> terminated;
  run_test(two_workers, [&]() -> Task<> {
    auto other = co_await start_counter(3);
    auto s = co_await Async::start(other, self());
    if (!s) give_up();
    gen_server::cast(*s, Add{1});
    send(*s->pid(), Add{2});
    co_await gen_server::call(other, Add{1});
    got = co_await gen_server::call(*s, Get{});
    co_await gen_server::stop(*s, foo);
    terminated = (co_await expect<Terminated>()).reason;
    co_await gen_server::stop(other);
  });
  EXPECT_EQ(got, 300 + 4 + 21);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(*terminated, foo);
}

// --- stop ---------------------------------------------------------------------------------------

TEST(GenServerStop, stop_runs_terminate_with_the_reason_and_waits_for_the_end) {
  std::optional<ExitReason> terminated;
  bool stopped = false;
  bool alive_after = true;
  run_test([&]() -> Task<> {
    auto s = co_await start_counter(0, self());
    auto r = co_await gen_server::stop(s, ExitReason::shutdown(foo));
    stopped = r.has_value();
    alive_after = alive(*s.pid());
    terminated = (co_await expect<Terminated>()).reason;
  });
  EXPECT_TRUE(stopped);
  EXPECT_FALSE(alive_after);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(*terminated, ExitReason::shutdown(foo));
}

TEST(GenServerStop, stop_of_a_server_that_does_not_exist_fails_with_noproc) {
  std::optional<ExitReason> by_pid, by_name;
  run_test([&]() -> Task<> {
    auto s = co_await start_counter();
    co_await gen_server::stop(s);
    auto r = co_await gen_server::stop(s);
    if (!r) by_pid = r.error();
    auto n = co_await gen_server::stop(CounterRef(Atom("gs_nobody")));
    if (!n) by_name = n.error();
  });
  ASSERT_TRUE(by_pid);
  EXPECT_EQ(*by_pid, atoms::noproc);
  ASSERT_TRUE(by_name);
  EXPECT_EQ(*by_name, atoms::noproc);
}

TEST(GenServerStop, a_stop_result_with_a_reply_replies_and_ends_the_server_with_the_reason) {
  std::optional<int> got;
  std::optional<ExitReason> end;
  run_test([&]() -> Task<> {
    auto s = co_await start_counter();
    Ref mref = monitor(*s.pid());
    auto r = co_await gen_server::try_call(s, QuitWith{5});
    if (r) got = *r;
    end = (co_await expect_down(mref)).reason;
  });
  EXPECT_EQ(got, 5);
  ASSERT_TRUE(end);
  EXPECT_TRUE(end->is_normal());
}

TEST(GenServerStop, a_stop_result_with_a_reply_runs_terminate_before_the_caller_gets_the_reply) {
  Journal journal;
  run_test([&]() -> Task<> {
    auto s = co_await Journaled::start(&journal);
    if (!s) give_up();
    co_await gen_server::call(*s, QuitWith{1});
    journal.add("reply");
  });
  EXPECT_EQ(journal.events(), (std::vector<std::string>{"handle_call", "terminate", "reply"}));
}

TEST(GenServerStop, a_stop_result_without_a_reply_fails_the_call_with_the_reason) {
  std::optional<ExitReason> error;
  std::optional<ExitReason> terminated;
  run_test([&]() -> Task<> {
    auto s = co_await start_counter(0, self());
    auto r = co_await gen_server::try_call(s, Quit{});
    if (!r) error = r.error();
    terminated = (co_await expect<Terminated>()).reason;
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, bye);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(*terminated, bye);
}

TEST(GenServerStop, an_exception_escaping_terminate_becomes_the_exit_reason_and_is_reported) {
  std::optional<ExitReason> end;
  std::size_t reports = 0;
  run_test([&]() -> Task<> {
    CapturedLog log;
    auto s = co_await BadTerminate::start();
    if (!s) give_up();
    Ref mref = monitor(*s->pid());
    co_await gen_server::try_call(*s, Quit{});
    end = (co_await expect_down(mref)).reason;
    reports = log.of_kind("gen_server_terminate_failed").size();
  });
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, ExitReason::exception("terminate failed"));
  EXPECT_EQ(reports, 1u);
}

// --- gen:call failures --------------------------------------------------------------------------

TEST(GenServerCallErrors, a_call_to_a_dead_server_fails_at_once_with_noproc) {
  std::optional<ExitReason> by_pid, by_name;
  run_test([&]() -> Task<> {
    auto s = co_await start_counter();
    co_await gen_server::stop(s);
    auto r = co_await gen_server::try_call(s, Get{});
    if (!r) by_pid = r.error();
    auto n = co_await gen_server::try_call(CounterRef(Atom("gs_nobody")), Get{});
    if (!n) by_name = n.error();
  });
  ASSERT_TRUE(by_pid);
  EXPECT_EQ(*by_pid, atoms::noproc);
  ASSERT_TRUE(by_name);
  EXPECT_EQ(*by_name, atoms::noproc);
}

TEST(GenServerCallErrors, a_server_calling_itself_fails_with_calling_self) {
  std::optional<ExitReason> error;
  run_test([&]() -> Task<> {
    auto r = co_await gen_server::try_call(CounterRef(self()), Get{});
    if (!r) error = r.error();
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, atoms::calling_self);
}

TEST(GenServerCallErrors, call_ends_the_caller_with_reason_and_gen_server_call_server) {
  std::optional<ExitReason> caller_end;
  Pid dead;
  run_test([&]() -> Task<> {
    auto s = co_await start_counter();
    co_await gen_server::stop(s);
    dead = *s.pid();
    Pid caller = spawn([s]() -> Task<> { co_await gen_server::call(s, Get{}); });
    caller_end = co_await wait_end(caller);
  });
  ASSERT_TRUE(caller_end);
  EXPECT_EQ(*caller_end,
            ExitReason(Term::tuple(
                atoms::noproc, Term::tuple(Atom("gen_server"), Atom("call"), Term::list(dead)))));
}

TEST(GenServerCallErrors, a_call_timeout_fails_with_timeout_and_the_late_reply_never_arrives) {
  std::optional<ExitReason> error;
  std::optional<std::size_t> queued;
  run_test([&]() -> Task<> {
    auto s = co_await Deferred::start(self());
    if (!s) give_up();
    auto r = co_await gen_server::try_call(*s, Deferred::Ask{}, 10ms);
    if (!r) error = r.error();
    co_await expect<Asked>();
    gen_server::cast(*s, Deferred::Answer{7});  // the late reply
    co_await gen_server::call(*s, Get{});       // comes after it
    queued = (co_await process_info(self()))->message_queue_len;
    co_await gen_server::stop(*s);
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, atoms::timeout);
  EXPECT_EQ(queued, 0u);
}

TEST(GenServerCallErrors, a_server_crashing_during_a_call_fails_the_call_with_the_crash_reason) {
  std::optional<ExitReason> error;
  std::optional<ExitReason> terminated;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    auto s = co_await start_counter(0, self());
    auto r = co_await gen_server::try_call(s, Boom{});
    if (!r) error = r.error();
    terminated = (co_await expect<Terminated>()).reason;
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, ExitReason::exception("boom"));
  ASSERT_TRUE(terminated);
  EXPECT_EQ(*terminated, ExitReason::exception("boom"));
}

TEST(GenServerCallErrors, a_server_killed_while_a_call_waits_fails_the_call_with_killed) {
  std::optional<ExitReason> error;
  run_test([&]() -> Task<> {
    auto s = co_await Deferred::start(self());
    if (!s) give_up();
    Pid test = self();
    Pid client = spawn([&error, s, test]() -> Task<> {
      auto r = co_await gen_server::try_call(*s, Deferred::Ask{});
      if (!r) error = r.error();
      send(test, Pinged{});
    });
    co_await expect<Asked>();
    exit(*s->pid(), atoms::kill);
    co_await expect<Pinged>();
    co_await wait_end(client);
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, atoms::killed);
}

// --- terminate ----------------------------------------------------------------------------------

TEST(GenServerTerminate, terminate_runs_when_a_handler_throws) {
  std::optional<ExitReason> terminated, end;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    auto s = co_await start_counter(0, self());
    Ref mref = monitor(*s.pid());
    gen_server::cast(s, Boom{});
    terminated = (co_await expect<Terminated>()).reason;
    end = (co_await expect_down(mref)).reason;
  });
  ASSERT_TRUE(terminated);
  EXPECT_EQ(*terminated, ExitReason::exception("boom in a cast"));
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, ExitReason::exception("boom in a cast"));
}

namespace {
struct ThrowsAnInt {};
/// A continue that throws something that is no std::exception.
struct ContinueThrows : GenServer<ContinueThrows> {
  explicit ContinueThrows(Pid observer) : observer(observer) {}
  InitResult init() { return ok().then(ThrowsAnInt{}); }
  Action handle_continue(ThrowsAnInt) { throw 42; }
  void terminate(const ExitReason& reason) { send(observer, Terminated{reason}); }
  Pid observer;
};
}  // namespace

TEST(GenServerTerminate, a_non_std_exception_in_handle_continue_runs_terminate_and_is_the_reason) {
  std::optional<ExitReason> terminated, end;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    trap_exit(true);  // the link brings the end (it may come before a monitor)
    auto s = co_await ContinueThrows::start_link(self());
    if (!s) give_up();
    terminated = (co_await expect<Terminated>()).reason;
    end = (co_await expect<Exit>()).reason;
  });
  ASSERT_TRUE(terminated);
  EXPECT_EQ(*terminated, ExitReason::exception("unknown exception"));
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, ExitReason::exception("unknown exception"));
}

namespace {
/// Starts a Counter linked to itself (trapping exits or not), tells `test` its pid, and ends
/// with `foo` when told Quit.
Task<> parent_of_counter(Pid test, bool trap) {
  auto s = co_await Counter::start_link(0, test, trap);
  if (!s) give_up();
  send(test, Started{*s->pid()});
  co_await receive<Quit>();
  exit(foo);
}
}  // namespace

TEST(GenServerTerminate, a_trapping_server_runs_terminate_when_its_parent_exits) {
  std::optional<ExitReason> terminated, end;
  run_test([&]() -> Task<> {
    Pid test = self();
    Pid parent = spawn(parent_of_counter, test, true);
    Pid server = (co_await expect<Started>()).pid;
    Ref mref = monitor(server);
    send(parent, Quit{});
    terminated = (co_await expect<Terminated>()).reason;
    end = (co_await expect_down(mref)).reason;
  });
  ASSERT_TRUE(terminated);
  EXPECT_EQ(*terminated, foo);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, foo);
}

TEST(GenServerTerminate, a_server_that_does_not_trap_dies_with_its_parent_without_terminate) {
  std::optional<ExitReason> end;
  std::optional<Terminated> terminated;
  run_test([&]() -> Task<> {
    Pid test = self();
    Pid parent = spawn(parent_of_counter, test, false);
    Pid server = (co_await expect<Started>()).pid;
    Ref mref = monitor(server);
    send(parent, Quit{});
    end = (co_await expect_down(mref)).reason;
    // terminate would have sent its message before the server's Down.
    terminated = co_await receive<Terminated>(0ms);
  });
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, foo);
  EXPECT_FALSE(terminated);
}

TEST(GenServerTerminate, a_kill_ends_even_a_trapping_server_without_terminate) {
  std::optional<ExitReason> end;
  std::optional<Terminated> terminated;
  run_test([&]() -> Task<> {
    auto s = co_await start_counter(0, self(), true);
    Ref mref = monitor(*s.pid());
    exit(*s.pid(), atoms::kill);
    end = (co_await expect_down(mref)).reason;
    terminated = co_await receive<Terminated>(0ms);
  });
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, atoms::killed);
  EXPECT_FALSE(terminated);
}

TEST(GenServerTerminate, a_trapping_server_that_declares_exit_gets_other_exits_in_handle_info) {
  std::optional<Exit> got;
  Pid child;
  run_test([&]() -> Task<> {
    auto s = co_await ExitTaker::start(self());
    if (!s) give_up();
    child = co_await gen_server::call(*s, Get{});
    send(child, Quit{});
    got = co_await expect<Exit>();
    co_await gen_server::stop(*s);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, child);
  EXPECT_EQ(got->reason, foo);
}

TEST(GenServerTerminate, an_unlinked_server_takes_the_exit_of_its_starter_as_a_message) {
  std::optional<Exit> got;
  Pid starter;
  bool stopped = false;
  run_test([&]() -> Task<> {
    Pid test = self();
    starter = spawn([test]() -> Task<> {
      auto s = co_await ExitTaker::start(test);
      if (!s) give_up();
      co_await gen_server::call(*s, ExitTaker::LinkCaller{});
      send(test, Started{*s->pid()});
      exit(foo);
    });
    Pid server = (co_await expect<Started>()).pid;
    got = co_await expect<Exit>();
    stopped = (co_await gen_server::stop(ServerRef<ExitTaker>(server))).has_value();
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, starter);
  EXPECT_EQ(got->reason, foo);
  EXPECT_TRUE(stopped);
}

// --- the crash report ---------------------------------------------------------------------------

TEST(GenServerReport, a_crash_report_reaches_a_replaced_logger_with_who_why_and_the_last_message) {
  std::vector<CapturedLog::Entry> reports;
  Pid server;
  run_test([&]() -> Task<> {
    CapturedLog log;
    auto s = co_await start_counter();
    server = *s.pid();
    gen_server::cast(s, Boom{});
    co_await wait_end(server);
    reports = log.of_kind("gen_server_terminated");
  });
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].level, LogLevel::error);
  EXPECT_EQ(reports[0].who, server);
  EXPECT_TRUE(contains(reports[0].text, "boom in a cast")) << reports[0].text;
  EXPECT_TRUE(contains(reports[0].text, "Boom")) << reports[0].text;
  EXPECT_TRUE(contains(reports[0].text, "Counter")) << reports[0].text;
}

TEST(GenServerReport, a_stop_result_with_an_abnormal_reason_is_reported) {
  std::vector<CapturedLog::Entry> reports;
  run_test([&]() -> Task<> {
    CapturedLog log;
    auto s = co_await start_counter();
    co_await gen_server::try_call(s, Quit{});
    co_await wait_end(*s.pid());
    reports = log.of_kind("gen_server_terminated");
  });
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(contains(reports[0].text, "bye")) << reports[0].text;
  EXPECT_TRUE(contains(reports[0].text, "Quit")) << reports[0].text;
}

TEST(GenServerReport, a_normal_or_shutdown_stop_is_not_reported) {
  std::size_t reports = 99;
  run_test([&]() -> Task<> {
    CapturedLog log;
    auto a = co_await start_counter();
    co_await gen_server::stop(a);
    auto b = co_await start_counter();
    co_await gen_server::stop(b, atoms::shutdown);
    auto c = co_await start_counter();
    co_await gen_server::stop(c, ExitReason::shutdown(foo));
    reports = log.of_kind("gen_server_terminated").size();
  });
  EXPECT_EQ(reports, 0u);
}

TEST(GenServerReport, log_level_none_silences_the_crash_report) {
  std::size_t reports = 99;
  run_test([&]() -> Task<> {
    CapturedLog log;
    set_log_level(LogLevel::none);
    auto s = co_await start_counter();
    gen_server::cast(s, Boom{});
    co_await wait_end(*s.pid());
    reports = log.size();
  });
  EXPECT_EQ(reports, 0u);
}

// --- several workers ----------------------------------------------------------------------------

TEST(GenServerConcurrency, many_clients_calling_at_once_each_get_their_own_replies) {
  constexpr int clients = 8, calls = 200;
  std::atomic<int> in_order{0};
  int total = 0;
  run_test(two_workers, [&]() -> Task<> {
    auto s = co_await start_counter();
    Pid test = self();
    for (int c = 0; c < clients; ++c)
      spawn([s, test, &in_order]() -> Task<> {
        int last = 0;
        bool ok = true;
        for (int i = 0; i < calls; ++i) {
          int now = co_await gen_server::call(s, Add{1});
          ok = ok && now > last;
          last = now;
        }
        if (ok) in_order.fetch_add(1);
        send(test, Pinged{});
      });
    for (int c = 0; c < clients; ++c) co_await expect<Pinged>();
    total = co_await gen_server::call(s, Get{});
    co_await gen_server::stop(s);
  });
  EXPECT_EQ(total, clients * calls);
  EXPECT_EQ(in_order.load(), clients);
}

TEST(GenServerConcurrency, timed_out_calls_leave_nothing_in_the_callers_mailbox) {
  std::optional<std::size_t> queued;
  int timeouts = 0;
  run_test(two_workers, [&]() -> Task<> {
    auto s = co_await Deferred::start(self());
    if (!s) give_up();
    for (int i = 0; i < 20; ++i) {
      auto r = co_await gen_server::try_call(*s, Deferred::Ask{}, 1ms);
      if (!r && r.error() == atoms::timeout) ++timeouts;
      co_await expect<Asked>();
      gen_server::cast(*s, Deferred::Answer{i});
    }
    co_await gen_server::call(*s, Get{});
    queued = (co_await process_info(self()))->message_queue_len;
    co_await gen_server::stop(*s);
  });
  EXPECT_EQ(timeouts, 20);
  EXPECT_EQ(queued, 0u);
}
