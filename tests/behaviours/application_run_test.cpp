#include "ambitious/behaviours/application.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ambitious/process/deterministic_runtime.hpp"
#include "children.hpp"
#include "support.hpp"

// run_application: the program's root as an application, stopped by SIGTERM/SIGINT, or ended by
// the death of a permanent application. Its own executable: it takes the process's signals.

using namespace ambitious;
using namespace ambitious::test;

namespace {

const Atom a_name("a"), b_name("b");

/// An application with a top supervisor of one journaling Worker named after it. Its start
/// runs `then` last, inside the application controller (a process).
ApplicationSpec app(const char* name, std::vector<Atom> deps, Journal* journal,
                    std::function<void()> then = {}) {
  ApplicationSpec spec;
  spec.name = Atom(name);
  spec.applications = std::move(deps);
  std::string n = name;
  spec.start = [n, journal, then]() -> Task<std::expected<Pid, ExitReason>> {
    SupervisorSpec sup{{}, {worker(n.c_str(), journal, self())}};
    auto started = co_await supervisor::start_link(std::move(sup));
    if (!started) co_return std::unexpected(started.error());
    journal->add("started " + n);
    if (then) then();
    co_return *started->pid();
  };
  spec.stop = [n, journal] { journal->add("app stop " + n); };
  return spec;
}

/// A top supervisor whose worker ends at once with `foo`, so the supervisor gives up.
ApplicationSpec dying_app(const char* name) {
  ApplicationSpec spec;
  spec.name = Atom(name);
  spec.start = []() -> Task<std::expected<Pid, ExitReason>> {
    ChildSpec child = process_child(id("w"), []() -> Task<> {
      co_await yield();
      exit(foo);
    });
    SupervisorSpec sup{{Strategy::one_for_one, 0, 1h}, {std::move(child)}};
    auto started = co_await supervisor::start_link(std::move(sup));
    if (!started) co_return std::unexpected(started.error());
    co_return *started->pid();
  };
  return spec;
}

std::vector<std::string> strings(std::initializer_list<const char*> list) {
  return std::vector<std::string>(list.begin(), list.end());
}

/// Sends `signal` to the whole program (as Ctrl-C or `kill` would).
std::function<void()> program_signal(int signal) {
  return [signal] { ::kill(::getpid(), signal); };
}

}  // namespace

TEST(RunApplication, sigterm_stops_the_applications_in_reverse_order_and_run_returns_0) {
  Journal journal;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("b", {a_name}, &journal, program_signal(SIGTERM)));
  specs.push_back(app("a", {}, &journal));
  int rc = run_application(std::move(specs), b_name, one_worker);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(journal.events(), strings({"start a", "started a", "start b", "started b", "stop b",
                                       "app stop b", "stop a", "app stop a"}));
}

TEST(RunApplication, sigint_stops_the_applications_as_sigterm_does) {
  Journal journal;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("a", {}, &journal, program_signal(SIGINT)));
  int rc = run_application(std::move(specs), a_name, one_worker);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(journal.events(), strings({"start a", "started a", "stop a", "app stop a"}));
}

TEST(RunApplication, the_death_of_the_permanent_main_application_makes_run_return_1) {
  Journal journal;
  CapturedLog quiet;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("a", {}, &journal));
  specs.push_back(dying_app("b"));
  std::vector<Atom> deps{a_name};
  specs.back().applications = deps;
  int rc = run_application(std::move(specs), b_name, one_worker);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(journal.events(), strings({"start a", "started a", "stop a", "app stop a"}));
}

TEST(RunApplication, an_application_that_cannot_start_makes_run_return_1) {
  CapturedLog quiet;
  std::vector<ApplicationSpec> specs;
  ApplicationSpec broken;
  broken.name = a_name;
  broken.start = []() -> Task<std::expected<Pid, ExitReason>> {
    co_return std::unexpected(ExitReason(foo));
  };
  specs.push_back(std::move(broken));
  EXPECT_EQ(run_application(std::move(specs), a_name, one_worker), 1);
}

TEST(RunApplication, signals_are_unblocked_again_after_run_returns) {
  Journal journal;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("a", {}, &journal, program_signal(SIGTERM)));
  sigset_t before, after;
  pthread_sigmask(SIG_BLOCK, nullptr, &before);
  run_application(std::move(specs), a_name, one_worker);
  pthread_sigmask(SIG_BLOCK, nullptr, &after);
  EXPECT_EQ(sigismember(&before, SIGTERM), sigismember(&after, SIGTERM));
  EXPECT_EQ(sigismember(&before, SIGINT), sigismember(&after, SIGINT));
}

TEST(RunApplication, the_signal_handlers_are_restored_after_run_returns) {
  Journal journal;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("a", {}, &journal, program_signal(SIGTERM)));
  struct sigaction int_before = {}, term_before = {}, int_after = {}, term_after = {};
  sigaction(SIGINT, nullptr, &int_before);
  sigaction(SIGTERM, nullptr, &term_before);
  run_application(std::move(specs), a_name, one_worker);
  sigaction(SIGINT, nullptr, &int_after);
  sigaction(SIGTERM, nullptr, &term_after);
  EXPECT_EQ(int_before.sa_handler, int_after.sa_handler);
  EXPECT_EQ(term_before.sa_handler, term_after.sa_handler);
}

TEST(RunApplication, a_run_that_cannot_start_throws_and_leaves_the_signal_handlers_as_they_were) {
  struct sigaction int_before = {}, term_before = {}, int_after = {}, term_after = {};
  sigaction(SIGINT, nullptr, &int_before);
  sigaction(SIGTERM, nullptr, &term_before);
  bool threw = false;
  {
    DeterministicRuntime other;  // a runtime is running: run() refuses to start a second one
    try {
      run_application({}, a_name, one_worker);
    } catch (const std::logic_error&) {
      threw = true;
    }
  }
  sigaction(SIGINT, nullptr, &int_after);
  sigaction(SIGTERM, nullptr, &term_after);
  EXPECT_TRUE(threw);
  EXPECT_EQ(int_before.sa_handler, int_after.sa_handler);
  EXPECT_EQ(term_before.sa_handler, term_after.sa_handler);
}

// std::raise sends the signal to the calling thread only: here a worker of the runtime. It must
// stop the program as a signal to the whole program does (it stayed pending, blocked on that
// worker, and the program never stopped).
TEST(RunApplication, sigint_or_sigterm_raised_inside_a_process_stops_the_applications_in_order) {
  for (int signal : {SIGINT, SIGTERM}) {
    Journal journal;
    std::vector<ApplicationSpec> specs;
    specs.push_back(app("a", {}, &journal, [signal] { std::raise(signal); }));
    int rc = run_application(std::move(specs), a_name, two_workers);
    EXPECT_EQ(rc, 0) << "signal " << signal;
    EXPECT_EQ(journal.events(), strings({"start a", "started a", "stop a", "app stop a"}))
        << "signal " << signal;
  }
}

// OTP 25: init:stop() from a process stops the applications in reverse start order (their stop
// callbacks run, each stop is reported), and erl exits with 0.
TEST(RunApplication, stop_program_stops_every_application_in_reverse_start_order_and_returns_0) {
  Journal journal;
  CapturedLog log;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("c", {b_name}, &journal, [] {
    // From a process of its own, as a worker of an application would call it.
    spawn([]() -> Task<> {
      stop_program();
      co_return;
    });
  }));
  specs.push_back(app("b", {a_name}, &journal));
  specs.push_back(app("a", {}, &journal));
  int rc = run_application(std::move(specs), Atom("c"), one_worker);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(journal.events(),
            strings({"start a", "started a", "start b", "started b", "start c", "started c",
                     "stop c", "app stop c", "stop b", "app stop b", "stop a", "app stop a"}));
  std::vector<std::string> stopped;
  for (auto& e : log.of_kind("application_stopped")) stopped.push_back(e.text);
  EXPECT_EQ(stopped, strings({"** Application c stopped", "** Application b stopped",
                              "** Application a stopped"}));
}

// init:stop(Status): erl exits with Status once the applications have stopped.
TEST(RunApplication, stop_program_with_a_code_makes_run_application_return_it) {
  Journal journal;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("a", {}, &journal, [] { stop_program(3); }));
  int rc = run_application(std::move(specs), a_name, one_worker);
  EXPECT_EQ(rc, 3);
  EXPECT_EQ(journal.events(), strings({"start a", "started a", "stop a", "app stop a"}));
}

TEST(RunApplication, stop_program_without_any_application_ends_run_with_its_code) {
  EXPECT_EQ(run(one_worker,
                []() -> Task<> {
                  stop_program(4);
                  co_await receive<ExitWith>();  // never comes: run() ends first
                }),
            4);
}

// shutdown(code) is erlang:halt(Code): the program ends at once, no application stops in order.
TEST(RunApplication, shutdown_halts_at_once_and_no_stop_callback_or_terminate_runs) {
  Journal journal;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("a", {}, &journal, [] { shutdown(0); }));
  int rc = run_application(std::move(specs), a_name, one_worker);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(journal.events(), strings({"start a", "started a"}));
}

// A program started with SIGINT ignored (as a shell starts a background job) keeps ignoring it.
TEST(RunApplication, a_signal_the_program_ignores_stays_ignored_during_the_run) {
  Journal journal;
  struct sigaction ignore = {}, before = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &before);
  bool ignored_during_run = false;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("a", {}, &journal, [&ignored_during_run] {
    struct sigaction now = {};
    sigaction(SIGINT, nullptr, &now);
    ignored_during_run = now.sa_handler == SIG_IGN;
    stop_program();
  }));
  int rc = run_application(std::move(specs), a_name, one_worker);
  struct sigaction after = {};
  sigaction(SIGINT, &before, &after);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(ignored_during_run);
  EXPECT_EQ(after.sa_handler, SIG_IGN);
}
