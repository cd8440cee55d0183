// An application stopped from inside. Two applications run as the program: `store`, and `web`,
// which needs it. Web's job finishes its work and calls stop_program(0): the applications stop
// in reverse start order (web, then store), each with its prep_stop, its tree stopped child by
// child, and its stop; then run_application returns 0.

#include <chrono>
#include <cstdio>

#include <ambitious/behaviours/application.hpp>
#include <ambitious/behaviours/gen_server.hpp>
#include <ambitious/behaviours/logger.hpp>
#include <ambitious/behaviours/supervisor.hpp>

using namespace ambitious;
using namespace std::chrono_literals;

struct Shelf : GenServer<Shelf> {
  struct Stock {};
  using calls = Types<Stock>;
  InitResult init() {
    trap_exit(true);  // so that terminate runs when the supervisor stops it
    return ok();
  }
  CallResult<int> handle_call(Stock, const From&) { return reply(12); }
  void terminate(const ExitReason& reason) {
    std::printf("shelf: terminate(%s)\n", reason.to_string().c_str());
  }
};

// [snippet job]
Task<> job() {
  std::optional<Term> greeting = application::get_env(Atom("store"), Atom("greeting"));
  ServerRef<Shelf> shelf(Atom("shelf"));
  int stock = co_await gen_server::call(shelf, Shelf::Stock{});
  std::printf("job: the store says %s and has %d items; done, stopping the program\n",
              greeting->to_string().c_str(), stock);
  stop_program(0);  // returns at once: the applications stop in the application controller
  for (;;) co_await sleep(1h);  // until web's supervisor stops us
}
// [snippet job]

// [snippet start]
Task<std::expected<Pid, ExitReason>> start_store() {
  SupervisorSpec spec{{},
                      {server_child<Shelf>(Atom("shelf"), StartOptions{.name = Atom("shelf")})}};
  auto sup = co_await supervisor::start_link(std::move(spec));
  if (!sup) co_return std::unexpected(sup.error());
  co_return *sup->pid();
}
// [snippet start]

Task<std::expected<Pid, ExitReason>> start_web() {
  SupervisorSpec spec{{}, {process_child(Atom("job"), job)}};
  auto sup = co_await supervisor::start_link(std::move(spec));
  if (!sup) co_return std::unexpected(sup.error());
  co_return *sup->pid();
}

int main() {
  set_logger([](const LogReport& r) { std::printf("report: %s\n", std::string(r.kind).c_str()); });
  // [snippet specs]
  ApplicationSpec store{
      .name = Atom("store"),
      .env = {{Atom("greeting"), Term("hello")}},
      .start = start_store,
      .prep_stop =
          [] {
            std::printf("store: prep_stop\n");
            return Term(Atom("closing"));  // passed to stop
          },
      .stop =
          [](const Term& state) { std::printf("store: stop(%s)\n", state.to_string().c_str()); }};
  ApplicationSpec web{.name = Atom("web"),
                      .applications = {Atom("store")},  // started first, stopped last
                      .start = start_web,
                      .stop = [] { std::printf("web: stop\n"); }};
  int code = run_application({store, web}, Atom("web"));
  // [snippet specs]
  std::printf("run_application returned %d\n", code);
  return code;
}
