#include "ambitious/behaviours/application.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "children.hpp"
#include "support.hpp"

// run_application: the program's root as an application, stopped by SIGTERM/SIGINT, or ended by
// the death of a permanent application. Its own executable: it takes the process's signals.

using namespace ambitious;
using namespace ambitious::test;

namespace {

const Atom a_name("a"), b_name("b");

/// An application with a top supervisor of one journaling Worker named after it. With
/// `signal`, the worker's start sends that signal to the whole program (as Ctrl-C would).
ApplicationSpec app(const char* name, std::vector<Atom> deps, Journal* journal, int signal = 0) {
  ApplicationSpec spec;
  spec.name = Atom(name);
  spec.applications = std::move(deps);
  std::string n = name;
  spec.start = [n, journal, signal]() -> Task<std::expected<Pid, ExitReason>> {
    SupervisorSpec sup{{}, {worker(n.c_str(), journal, self())}};
    auto started = co_await supervisor::start_link(std::move(sup));
    if (!started) co_return std::unexpected(started.error());
    journal->add("started " + n);
    if (signal) ::kill(::getpid(), signal);
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

}  // namespace

TEST(RunApplication, sigterm_stops_the_applications_in_reverse_order_and_run_returns_0) {
  Journal journal;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("b", {a_name}, &journal, SIGTERM));
  specs.push_back(app("a", {}, &journal));
  int rc = run_application(std::move(specs), b_name, one_worker);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(journal.events(), strings({"start a", "started a", "start b", "started b", "stop b",
                                       "app stop b", "stop a", "app stop a"}));
}

TEST(RunApplication, sigint_stops_the_applications_as_sigterm_does) {
  Journal journal;
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("a", {}, &journal, SIGINT));
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
  specs.push_back(app("a", {}, &journal, SIGTERM));
  sigset_t before, after;
  pthread_sigmask(SIG_BLOCK, nullptr, &before);
  run_application(std::move(specs), a_name, one_worker);
  pthread_sigmask(SIG_BLOCK, nullptr, &after);
  EXPECT_EQ(sigismember(&before, SIGTERM), sigismember(&after, SIGTERM));
  EXPECT_EQ(sigismember(&before, SIGINT), sigismember(&after, SIGINT));
}
