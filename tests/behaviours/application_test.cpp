#include "ambitious/behaviours/application.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "children.hpp"
#include "support.hpp"

// Conformance with OTP 25's application controller (kernel's application_SUITE): load and start
// with dependencies, the errors of each call, the environment, stop, and what the death of a
// top supervisor means for a permanent, transient or temporary application.

using namespace ambitious;
using namespace ambitious::test;

namespace {

/// An application whose top supervisor runs one journaling Worker named after it; its start
/// and stop callbacks are journaled too.
ApplicationSpec app(const char* name, std::vector<Atom> deps, Journal* journal, Pid observer) {
  ApplicationSpec spec;
  spec.name = Atom(name);
  spec.applications = std::move(deps);
  std::string n = name;
  spec.start = [n, journal, observer]() -> Task<std::expected<Pid, ExitReason>> {
    journal->add("app start " + n);
    SupervisorSpec sup{{}, {worker(n.c_str(), journal, observer)}};
    auto started = co_await supervisor::start_link(std::move(sup));
    if (!started) co_return std::unexpected(started.error());
    send(observer, Up{"top " + n, *started->pid()});
    co_return *started->pid();
  };
  spec.stop = [n, journal] { journal->add("app stop " + n); };
  return spec;
}

/// Loads `spec`; gives up if it cannot.
Task<> load(ApplicationSpec spec) {
  auto r = co_await application::load(std::move(spec));
  if (!r) give_up();
}

/// Loads every spec, in order. (Specs are built before a co_await, never inside one: g++ 12
/// destroys a braced temporary twice there.)
Task<> load_all(std::vector<ApplicationSpec> specs) {
  for (auto& spec : specs) co_await load(std::move(spec));
}

std::vector<std::string> strings(std::initializer_list<const char*> list) {
  return std::vector<std::string>(list.begin(), list.end());
}

const Atom a_name("a"), b_name("b"), c_name("c");

/// Loads the applications a and b (no dependencies), starts a, then b as `type`; returns b's top
/// supervisor.
Task<Pid> start_a_then_b(Journal& journal, AppType type) {
  std::vector<ApplicationSpec> specs;
  specs.push_back(app("a", {}, &journal, self()));
  specs.push_back(app("b", {}, &journal, self()));
  co_await load_all(std::move(specs));
  co_await application::start(a_name);
  co_await application::start(b_name, type);
  co_return co_await up("top b");
}

}  // namespace

TEST(Application, ensure_all_started_starts_the_dependencies_first) {
  Journal journal;
  std::vector<Atom> started, running;
  run_test([&]() -> Task<> {
    std::vector<ApplicationSpec> specs;
    specs.push_back(app("c", {b_name}, &journal, self()));
    specs.push_back(app("b", {a_name}, &journal, self()));
    specs.push_back(app("a", {}, &journal, self()));
    co_await load_all(std::move(specs));
    auto r = co_await application::ensure_all_started(c_name);
    if (!r) give_up();
    started = *r;
    running = co_await application::which_applications();
    co_await application::stop(c_name);
    co_await application::stop(b_name);
    co_await application::stop(a_name);
  });
  EXPECT_EQ(started, (std::vector<Atom>{a_name, b_name, c_name}));
  EXPECT_EQ(running, (std::vector<Atom>{c_name, b_name, a_name}));
  auto events = journal.events();
  ASSERT_GE(events.size(), 6u);
  EXPECT_EQ(
      std::vector<std::string>(events.begin(), events.begin() + 6),
      strings({"app start a", "start a", "app start b", "start b", "app start c", "start c"}));
}

TEST(Application, ensure_all_started_leaves_out_what_already_runs) {
  Journal journal;
  std::vector<Atom> started;
  run_test([&]() -> Task<> {
    std::vector<ApplicationSpec> specs;
    specs.push_back(app("a", {}, &journal, self()));
    specs.push_back(app("b", {a_name}, &journal, self()));
    co_await load_all(std::move(specs));
    auto first = co_await application::start(a_name);
    if (!first) give_up();
    auto r = co_await application::ensure_all_started(b_name);
    if (!r) give_up();
    started = *r;
    co_await application::stop(b_name);
    co_await application::stop(a_name);
  });
  EXPECT_EQ(started, std::vector<Atom>{b_name});
}

TEST(Application, start_fails_with_not_started_when_a_dependency_does_not_run) {
  Journal journal;
  std::optional<ExitReason> error;
  run_test([&]() -> Task<> {
    std::vector<ApplicationSpec> specs;
    specs.push_back(app("a", {}, &journal, self()));
    specs.push_back(app("b", {a_name}, &journal, self()));
    co_await load_all(std::move(specs));
    auto r = co_await application::start(b_name);
    if (!r) error = r.error();
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, ExitReason(Term::tuple(Atom("not_started"), a_name)));
  EXPECT_TRUE(journal.events().empty());
}

TEST(Application, load_start_and_stop_report_their_errors) {
  Journal journal;
  std::optional<ExitReason> loaded_twice, not_loaded, started_twice, not_started;
  run_test([&]() -> Task<> {
    std::vector<ApplicationSpec> specs;
    specs.push_back(app("a", {}, &journal, self()));
    co_await load_all(std::move(specs));
    ApplicationSpec again = app("a", {}, &journal, self());
    auto l = co_await application::load(std::move(again));
    if (!l) loaded_twice = l.error();
    auto s = co_await application::start(Atom("nowhere"));
    if (!s) not_loaded = s.error();
    co_await application::start(a_name);
    auto s2 = co_await application::start(a_name);
    if (!s2) started_twice = s2.error();
    co_await application::stop(a_name);
    auto st = co_await application::stop(a_name);
    if (!st) not_started = st.error();
  });
  EXPECT_EQ(loaded_twice, ExitReason(Term::tuple(Atom("already_loaded"), a_name)));
  EXPECT_EQ(not_loaded, ExitReason(Term::tuple(Atom("not_loaded"), Atom("nowhere"))));
  EXPECT_EQ(started_twice, ExitReason(Term::tuple(Atom("already_started"), a_name)));
  EXPECT_EQ(not_started, ExitReason(Term::tuple(Atom("not_started"), a_name)));
}

TEST(Application, a_failing_start_returns_its_error_and_the_application_does_not_run) {
  std::optional<ExitReason> error;
  std::vector<Atom> running;
  run_test([&]() -> Task<> {
    ApplicationSpec spec;
    spec.name = a_name;
    spec.start = []() -> Task<std::expected<Pid, ExitReason>> {
      co_return std::unexpected(ExitReason(foo));
    };
    co_await load(std::move(spec));
    auto r = co_await application::start(a_name);
    if (!r) error = r.error();
    running = co_await application::which_applications();
  });
  EXPECT_EQ(error, ExitReason(foo));
  EXPECT_TRUE(running.empty());
}

TEST(Application, stop_shuts_the_tree_down_then_runs_the_stop_callback) {
  Journal journal;
  std::vector<Atom> running;
  run_test([&]() -> Task<> {
    std::vector<ApplicationSpec> specs;
    specs.push_back(app("a", {}, &journal, self()));
    co_await load_all(std::move(specs));
    co_await application::start(a_name);
    co_await application::stop(a_name);
    running = co_await application::which_applications();
  });
  EXPECT_EQ(journal.events(), strings({"app start a", "start a", "stop a", "app stop a"}));
  EXPECT_TRUE(running.empty());
}

TEST(Application, the_environment_is_loaded_with_the_application_and_can_be_changed) {
  std::optional<Term> port, missing, changed, other_app;
  run_test([&]() -> Task<> {
    ApplicationSpec spec;
    spec.name = a_name;
    spec.env = {{Atom("port"), Term(4000)}};
    co_await load(std::move(spec));
    port = application::get_env(a_name, Atom("port"));
    missing = application::get_env(a_name, Atom("host"));
    application::set_env(a_name, Atom("port"), Term(4001));
    changed = application::get_env(a_name, Atom("port"));
    other_app = application::get_env(b_name, Atom("port"));
  });
  EXPECT_EQ(port, Term(4000));
  EXPECT_FALSE(missing);
  EXPECT_EQ(changed, Term(4001));
  EXPECT_FALSE(other_app);
}

TEST(Application, the_death_of_a_temporary_application_is_only_reported) {
  Journal journal;
  std::vector<Atom> running;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    Pid top = co_await start_a_then_b(journal, AppType::temporary);
    exit(top, atoms::kill);
    co_await wait_end(top);
    running = co_await application::which_applications();
    co_await application::stop(a_name);
  });
  EXPECT_EQ(running, std::vector<Atom>{a_name});
}

TEST(Application, the_normal_end_of_a_transient_application_is_only_reported) {
  Journal journal;
  std::vector<Atom> running;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    Pid top = co_await start_a_then_b(journal, AppType::transient);
    co_await gen_server::stop(supervisor::Ref(top));  // ends normal
    running = co_await application::which_applications();
    co_await application::stop(a_name);
  });
  EXPECT_EQ(running, std::vector<Atom>{a_name});
}

TEST(Application, the_abnormal_end_of_a_transient_application_stops_everything_with_1) {
  Journal journal;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  CapturedLog quiet;
                  Pid top = co_await start_a_then_b(journal, AppType::transient);
                  exit(top, atoms::kill);
                  co_await receive<ExitWith>();  // never comes: run() ends first
                }),
            1);
  auto events = journal.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "app stop a");
}

TEST(Application, the_death_of_a_permanent_application_stops_the_others_and_run_returns_1) {
  Journal journal;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  CapturedLog quiet;
                  std::vector<ApplicationSpec> specs;
                  specs.push_back(app("a", {}, &journal, self()));
                  specs.push_back(app("b", {}, &journal, self()));
                  specs.push_back(app("c", {}, &journal, self()));
                  co_await load_all(std::move(specs));
                  co_await application::start(a_name);
                  co_await application::start(b_name);
                  co_await application::start(c_name, AppType::permanent);
                  Pid top = co_await up("top c");
                  exit(top, atoms::kill);
                  co_await receive<ExitWith>();  // never comes: run() ends first
                }),
            1);
  auto events = journal.events();
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(events.end() - 4, events.end()),
            strings({"stop b", "app stop b", "stop a", "app stop a"}));
}

// OTP 25: application:ensure_started(App) is ok, and ok again once App runs, where
// application:start(App) gives {error, {already_started, App}}.
TEST(Application, ensure_started_starts_an_application_and_is_ok_when_it_already_runs) {
  Journal journal;
  std::optional<ExitReason> start_again, not_loaded, dependency;
  bool first = false, again = false;
  run_test([&]() -> Task<> {
    std::vector<ApplicationSpec> specs;
    specs.push_back(app("a", {}, &journal, self()));
    specs.push_back(app("b", {c_name}, &journal, self()));
    specs.push_back(app("c", {}, &journal, self()));
    co_await load_all(std::move(specs));
    first = (co_await application::ensure_started(a_name)).has_value();
    again = (co_await application::ensure_started(a_name)).has_value();
    auto s = co_await application::start(a_name);
    if (!s) start_again = s.error();
    auto n = co_await application::ensure_started(Atom("nowhere"));
    if (!n) not_loaded = n.error();
    auto d = co_await application::ensure_started(b_name);
    if (!d) dependency = d.error();
    co_await application::stop(a_name);
  });
  EXPECT_TRUE(first);
  EXPECT_TRUE(again);
  EXPECT_EQ(start_again, ExitReason(Term::tuple(atoms::already_started, a_name)));
  EXPECT_EQ(not_loaded, ExitReason(Term::tuple(atoms::not_loaded, Atom("nowhere"))));
  EXPECT_EQ(dependency, ExitReason(Term::tuple(atoms::not_started, c_name)));
  EXPECT_EQ(journal.events(), strings({"app start a", "start a", "stop a", "app stop a"}));
}

namespace {
/// app(), with a prep_stop that journals itself and returns `state`, and a stop that journals
/// the state it gets.
ApplicationSpec app_with_prep_stop(const char* name, Journal* journal, Pid observer, Term state) {
  ApplicationSpec spec = app(name, {}, journal, observer);
  std::string n = name;
  spec.prep_stop = [n, journal, state] {
    journal->add("prep_stop " + n);
    return state;
  };
  spec.stop = [n, journal](const Term& s) { journal->add("app stop " + n + " " + s.to_string()); };
  return spec;
}
}  // namespace

// OTP 25 (application_master): stop runs prep_stop(State), shuts the tree down, then runs
// stop(NewState): a prep_stop returning state1 is followed by "worker stops: shutdown", then
// stop(state1).
TEST(Application, prep_stop_runs_before_the_tree_stops_and_its_result_is_passed_to_stop) {
  Journal journal;
  run_test([&]() -> Task<> {
    std::vector<ApplicationSpec> specs;
    specs.push_back(app_with_prep_stop("a", &journal, self(), Term(Atom("state1"))));
    co_await load_all(std::move(specs));
    co_await application::start(a_name);
    co_await application::stop(a_name);
  });
  EXPECT_EQ(journal.events(),
            strings({"app start a", "start a", "prep_stop a", "stop a", "app stop a state1"}));
}

// OTP 25: when the top supervisor of a temporary application dies, its master still runs
// prep_stop(State) and then stop(NewState) (checked with erl: prep_stop(state0), stop(state1)).
TEST(Application, prep_stop_and_stop_run_when_the_top_supervisor_ends_on_its_own) {
  Journal journal;
  run_test([&]() -> Task<> {
    CapturedLog quiet;
    std::vector<ApplicationSpec> specs;
    specs.push_back(app_with_prep_stop("a", &journal, self(), Term(Atom("state1"))));
    co_await load_all(std::move(specs));
    co_await application::start(a_name, AppType::temporary);
    Pid top = co_await up("top a");
    exit(top, atoms::kill);
    co_await wait_end(top);
    co_await application::which_applications();  // after the controller saw the end
  });
  auto events = journal.events();
  auto prep = std::find(events.begin(), events.end(), "prep_stop a");
  auto stop = std::find(events.begin(), events.end(), "app stop a state1");
  EXPECT_NE(prep, events.end());
  EXPECT_NE(stop, events.end());
  EXPECT_LT(prep, stop);
}

// OTP 25: a start returning {ok, Pid} leaves the state [], which Mod:stop/1 then gets.
TEST(Application, without_prep_stop_stop_gets_the_empty_list_as_otp_s_default_state) {
  Journal journal;
  run_test([&]() -> Task<> {
    std::vector<ApplicationSpec> specs;
    specs.push_back(app("a", {}, &journal, self()));
    specs.back().stop = [&journal](const Term& s) { journal.add("app stop a " + s.to_string()); };
    co_await load_all(std::move(specs));
    co_await application::start(a_name);
    co_await application::stop(a_name);
  });
  EXPECT_EQ(journal.events(), strings({"app start a", "start a", "stop a", "app stop a []"}));
}

// OTP's application master catches a failing prep_stop (reported as a shutdown_error; the old
// state goes to stop) and a failing stop.
TEST(Application, a_prep_stop_or_stop_that_throws_is_reported_and_the_stop_goes_on) {
  Journal journal;
  std::size_t reports = 0;
  bool stopped = false;
  std::vector<Atom> running;
  run_test([&]() -> Task<> {
    CapturedLog log;
    std::vector<ApplicationSpec> specs;
    specs.push_back(app("a", {}, &journal, self()));
    specs.back().prep_stop = []() -> Term { throw std::runtime_error("prep"); };
    specs.back().stop = [&journal](const Term& s) {
      journal.add("app stop a " + s.to_string());
      throw std::runtime_error("stop");
    };
    co_await load_all(std::move(specs));
    co_await application::start(a_name);
    stopped = (co_await application::stop(a_name)).has_value();
    running = co_await application::which_applications();
    reports = log.of_kind("application_shutdown_error").size();
  });
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(running.empty());
  EXPECT_EQ(reports, 2u);
  EXPECT_EQ(journal.events(), strings({"app start a", "start a", "stop a", "app stop a []"}));
}
