#include "ambitious/behaviours/application.hpp"

#include <gtest/gtest.h>

#include <optional>
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

}  // namespace

TEST(Application, ensure_all_started_starts_the_dependencies_first) {
  Journal journal;
  std::vector<Atom> started, running;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
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
                }),
            0);
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
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
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
                }),
            0);
  EXPECT_EQ(started, std::vector<Atom>{b_name});
}

TEST(Application, start_fails_with_not_started_when_a_dependency_does_not_run) {
  Journal journal;
  std::optional<ExitReason> error;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  std::vector<ApplicationSpec> specs;
                  specs.push_back(app("a", {}, &journal, self()));
                  specs.push_back(app("b", {a_name}, &journal, self()));
                  co_await load_all(std::move(specs));
                  auto r = co_await application::start(b_name);
                  if (!r) error = r.error();
                }),
            0);
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, ExitReason(Term::tuple(Atom("not_started"), a_name)));
  EXPECT_TRUE(journal.events().empty());
}

TEST(Application, load_start_and_stop_report_their_errors) {
  Journal journal;
  std::optional<ExitReason> loaded_twice, not_loaded, started_twice, not_started;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
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
                }),
            0);
  EXPECT_EQ(loaded_twice, ExitReason(Term::tuple(Atom("already_loaded"), a_name)));
  EXPECT_EQ(not_loaded, ExitReason(Term::tuple(Atom("not_loaded"), Atom("nowhere"))));
  EXPECT_EQ(started_twice, ExitReason(Term::tuple(Atom("already_started"), a_name)));
  EXPECT_EQ(not_started, ExitReason(Term::tuple(Atom("not_started"), a_name)));
}

TEST(Application, a_failing_start_returns_its_error_and_the_application_does_not_run) {
  std::optional<ExitReason> error;
  std::vector<Atom> running;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  ApplicationSpec spec;
                  spec.name = a_name;
                  spec.start = []() -> Task<std::expected<Pid, ExitReason>> {
                    co_return std::unexpected(ExitReason(foo));
                  };
                  co_await load(std::move(spec));
                  auto r = co_await application::start(a_name);
                  if (!r) error = r.error();
                  running = co_await application::which_applications();
                }),
            0);
  EXPECT_EQ(error, ExitReason(foo));
  EXPECT_TRUE(running.empty());
}

TEST(Application, stop_shuts_the_tree_down_then_runs_the_stop_callback) {
  Journal journal;
  std::vector<Atom> running;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  std::vector<ApplicationSpec> specs;
                  specs.push_back(app("a", {}, &journal, self()));
                  co_await load_all(std::move(specs));
                  co_await application::start(a_name);
                  co_await application::stop(a_name);
                  running = co_await application::which_applications();
                }),
            0);
  EXPECT_EQ(journal.events(), strings({"app start a", "start a", "stop a", "app stop a"}));
  EXPECT_TRUE(running.empty());
}

TEST(Application, the_environment_is_loaded_with_the_application_and_can_be_changed) {
  std::optional<Term> port, missing, changed, other_app;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  ApplicationSpec spec;
                  spec.name = a_name;
                  spec.env = {{Atom("port"), Term(4000)}};
                  co_await load(std::move(spec));
                  port = application::get_env(a_name, Atom("port"));
                  missing = application::get_env(a_name, Atom("host"));
                  application::set_env(a_name, Atom("port"), Term(4001));
                  changed = application::get_env(a_name, Atom("port"));
                  other_app = application::get_env(b_name, Atom("port"));
                }),
            0);
  EXPECT_EQ(port, Term(4000));
  EXPECT_FALSE(missing);
  EXPECT_EQ(changed, Term(4001));
  EXPECT_FALSE(other_app);
}

TEST(Application, the_death_of_a_temporary_application_is_only_reported) {
  Journal journal;
  std::vector<Atom> running;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  CapturedLog quiet;
                  std::vector<ApplicationSpec> specs;
                  specs.push_back(app("a", {}, &journal, self()));
                  specs.push_back(app("b", {}, &journal, self()));
                  co_await load_all(std::move(specs));
                  co_await application::start(a_name);
                  co_await application::start(b_name, AppType::temporary);
                  Pid top = co_await up("top b");
                  exit(top, atoms::kill);
                  co_await wait_end(top);
                  running = co_await application::which_applications();
                  co_await application::stop(a_name);
                }),
            0);
  EXPECT_EQ(running, std::vector<Atom>{a_name});
}

TEST(Application, the_normal_end_of_a_transient_application_is_only_reported) {
  Journal journal;
  std::vector<Atom> running;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  CapturedLog quiet;
                  std::vector<ApplicationSpec> specs;
                  specs.push_back(app("a", {}, &journal, self()));
                  specs.push_back(app("b", {}, &journal, self()));
                  co_await load_all(std::move(specs));
                  co_await application::start(a_name);
                  co_await application::start(b_name, AppType::transient);
                  Pid top = co_await up("top b");
                  co_await gen_server::stop(supervisor::Ref(top));  // ends normal
                  running = co_await application::which_applications();
                  co_await application::stop(a_name);
                }),
            0);
  EXPECT_EQ(running, std::vector<Atom>{a_name});
}

TEST(Application, the_abnormal_end_of_a_transient_application_stops_everything_with_1) {
  Journal journal;
  EXPECT_EQ(run(one_worker,
                [&]() -> Task<> {
                  CapturedLog quiet;
                  std::vector<ApplicationSpec> specs;
                  specs.push_back(app("a", {}, &journal, self()));
                  specs.push_back(app("b", {}, &journal, self()));
                  co_await load_all(std::move(specs));
                  co_await application::start(a_name);
                  co_await application::start(b_name, AppType::transient);
                  Pid top = co_await up("top b");
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
