#include "ambitious/behaviours/application.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <system_error>
#include <thread>

#include "ambitious/behaviours/child_spec.hpp"
#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/behaviours/logger.hpp"
#include "ambitious/runtime/thread_name.hpp"
#include "child_shutdown.hpp"

namespace ambitious {
namespace detail {
namespace {

constexpr Atom controller_name = atoms::application_controller;

// The environment is read by any process without a call, as OTP's (an ETS table there).
struct Environment {
  std::shared_mutex mutex;
  std::map<std::pair<Atom, Atom>, Term> values;
};
Environment& environment() {
  static Environment* e = new Environment;
  return *e;
}

ExitReason error2(Atom what, Atom name) { return ExitReason(Term::tuple(what, name)); }

bool is_already_started(const ExitReason& error, Atom name) {
  return error == error2(atoms::already_started, name);
}

struct Running {
  Atom name;
  AppType type;
  Pid top;
};

/// Sent by stop_program: stop every application in order, then end run() with `code`.
struct StopProgram {
  int code;
};

/// OTP's application_controller and application masters in one server.
class ApplicationController : public GenServer<ApplicationController> {
 public:
  using info = Types<Exit, StopProgram>;
  using VoidReply = std::expected<void, ExitReason>;
  struct Load {
    ApplicationSpec spec;
  };
  struct Start {
    Atom name;
    AppType type;
  };
  struct Stop {
    Atom name;
  };
  struct Which {};
  struct Needs {
    Atom name;
  };
  using calls = Types<Load, Start, Stop, Which, Needs>;

  InitResult init() {
    trap_exit(true);
    return ok();
  }

  CallResult<VoidReply> handle_call(Load req, const From&) {
    Atom name = req.spec.name;
    if (loaded_.contains(name))
      return reply(VoidReply(std::unexpect, error2(atoms::already_loaded, name)));
    {
      auto& env = environment();
      std::unique_lock lock(env.mutex);
      for (auto& [key, value] : req.spec.env) env.values.insert_or_assign({name, key}, value);
    }
    loaded_.emplace(name, std::move(req.spec));
    return reply(VoidReply());
  }

  /// The dependencies of a loaded application (for ensure_all_started, on the client side).
  CallResult<std::expected<std::vector<Atom>, ExitReason>> handle_call(Needs req, const From&) {
    auto it = loaded_.find(req.name);
    if (it == loaded_.end())
      return reply(std::expected<std::vector<Atom>, ExitReason>(
          std::unexpect, error2(atoms::not_loaded, req.name)));
    return reply(std::expected<std::vector<Atom>, ExitReason>(it->second.applications));
  }

  Task<CallResult<VoidReply>> handle_call(Start req, const From&) {
    auto it = loaded_.find(req.name);
    if (it == loaded_.end())
      co_return reply(VoidReply(std::unexpect, error2(atoms::not_loaded, req.name)));
    if (running(req.name))
      co_return reply(VoidReply(std::unexpect, error2(atoms::already_started, req.name)));
    for (Atom dep : it->second.applications)
      if (!running(dep)) co_return reply(VoidReply(std::unexpect, error2(atoms::not_started, dep)));
    if (!it->second.start)
      co_return reply(VoidReply(std::unexpect, error2(atoms::no_start_function, req.name)));
    auto start = it->second.start;  // a copy: it runs while other calls cannot change loaded_
    std::expected<Pid, ExitReason> top = co_await start();
    if (!top) co_return reply(VoidReply(std::unexpect, top.error()));
    link(*top);  // the start linked it already when it used start_link; linking twice is fine
    running_.push_back(Running{req.name, req.type, *top});
    log(LogReport{LogLevel::info, "application_started", *top,
                  "** Application " + std::string(req.name.name()) + " started"});
    co_return reply(VoidReply());
  }

  Task<CallResult<VoidReply>> handle_call(Stop req, const From&) {
    auto it =
        std::find_if(running_.begin(), running_.end(), [&](auto& r) { return r.name == req.name; });
    if (it == running_.end())
      co_return reply(VoidReply(std::unexpect, error2(atoms::not_started, req.name)));
    Running app = *it;
    running_.erase(it);
    co_await stop_app(app);
    co_return reply(VoidReply());
  }

  CallResult<std::vector<Atom>> handle_call(Which, const From&) {
    std::vector<Atom> out;
    for (auto it = running_.rbegin(); it != running_.rend(); ++it) out.push_back(it->name);
    return reply(std::move(out));
  }

  Task<Action> handle_info(Exit e) {
    auto it =
        std::find_if(running_.begin(), running_.end(), [&](auto& r) { return r.top == e.from; });
    if (it == running_.end()) co_return noreply();
    Running app = *it;
    running_.erase(it);
    // OTP's application master runs prep_stop here too, though the tree is gone already.
    run_stop_callback(app.name, run_prep_stop(app.name));
    log(LogReport{LogLevel::info, "application_exited", e.from,
                  "** Application " + std::string(app.name.name()) +
                      " exited: " + e.reason.to_string() + ", type: " + type_name(app.type)});
    bool fatal =
        app.type == AppType::permanent || (app.type == AppType::transient && !e.reason.is_normal());
    if (!fatal) co_return noreply();
    // OTP stops the node: every other application, then the runtime.
    co_await stop_all();
    shutdown(1);
    co_return stop(
        ExitReason(Term::tuple(atoms::application_terminated, app.name, e.reason.term())));
  }

  /// OTP's init:stop: the applications stop in reverse start order, then the runtime. A second
  /// request finds none running and only repeats the shutdown, which keeps the first code.
  Task<Action> handle_info(StopProgram s) {
    co_await stop_all();
    shutdown(s.code);
    co_return noreply();
  }

  Task<> terminate(const ExitReason&) { co_await stop_all(); }

 private:
  static std::string type_name(AppType t) {
    return t == AppType::permanent   ? "permanent"
           : t == AppType::transient ? "transient"
                                     : "temporary";
  }
  bool running(Atom name) const {
    return std::any_of(running_.begin(), running_.end(), [&](auto& r) { return r.name == name; });
  }
  /// A callback that throws is reported and the stop goes on, as OTP's application master
  /// catches Mod:prep_stop and Mod:stop.
  static void report_callback_error(Atom name, const char* callback) {
    std::string why = "unknown exception";
    try {
      throw;
    } catch (const ProcessExit& e) {
      why = e.reason.to_string();
    } catch (const std::exception& e) {
      why = e.what();
    } catch (...) {
    }
    log(LogReport{
        LogLevel::error, "application_shutdown_error", self(),
        "** Application " + std::string(name.name()) + ": " + callback + " failed: " + why});
  }
  /// prep_stop's result, or `[]` (OTP's default state) without one or when it throws.
  Term run_prep_stop(Atom name) {
    auto it = loaded_.find(name);
    if (it == loaded_.end() || !it->second.prep_stop) return Term();
    try {
      return it->second.prep_stop();
    } catch (...) {
      report_callback_error(name, "prep_stop");
      return Term();
    }
  }
  void run_stop_callback(Atom name, const Term& state) {
    auto it = loaded_.find(name);
    if (it == loaded_.end() || !it->second.stop) return;
    try {
      it->second.stop(state);
    } catch (...) {
      report_callback_error(name, "stop");
    }
  }
  Task<> stop_app(Running app) {
    Term state = run_prep_stop(app.name);
    co_await shutdown_child({app.top, Shutdown::infinity(), Restart::permanent, Term(app.name)});
    run_stop_callback(app.name, state);
    log(LogReport{LogLevel::info, "application_stopped", app.top,
                  "** Application " + std::string(app.name.name()) + " stopped"});
  }
  Task<> stop_all() {
    while (!running_.empty()) {
      Running app = running_.back();
      running_.pop_back();
      co_await stop_app(app);
    }
  }

  std::map<Atom, ApplicationSpec> loaded_;
  std::vector<Running> running_;  // in start order
};

using ControllerRef = ServerRef<ApplicationController>;

/// The controller, started on first use (not linked: it outlives whoever started it).
Task<ControllerRef> controller() {
  if (auto pid = whereis(controller_name)) co_return ControllerRef(*pid);
  {
    auto& env = environment();
    std::unique_lock lock(env.mutex);
    env.values.clear();  // a new runtime's controller starts from a clean environment
  }
  StartOptions options{controller_name, infinity};  // g++ 12: no braced temporaries here
  auto started = co_await ApplicationController::start(std::move(options));
  if (started) co_return *started;
  // Another process started it meanwhile: {already_started, Pid}.
  if (auto pid = whereis(controller_name)) co_return ControllerRef(*pid);
  exit(started.error());
}

struct StopRequested {
  int signal;
};

}  // namespace
}  // namespace detail

namespace application {

using detail::ApplicationController;

Task<std::expected<void, ExitReason>> load(ApplicationSpec spec) {
  auto c = co_await detail::controller();
  ApplicationController::Load req{std::move(spec)};
  co_return co_await gen_server::call(c, std::move(req), infinity);
}

Task<std::expected<void, ExitReason>> start(Atom name, AppType type) {
  auto c = co_await detail::controller();
  ApplicationController::Start req{name, type};
  co_return co_await gen_server::call(c, req, infinity);
}

Task<std::expected<void, ExitReason>> ensure_started(Atom name, AppType type) {
  auto r = co_await start(name, type);
  if (!r && detail::is_already_started(r.error(), name))
    co_return std::expected<void, ExitReason>();
  co_return r;
}

Task<std::expected<std::vector<Atom>, ExitReason>> ensure_all_started(Atom name, AppType type) {
  auto c = co_await detail::controller();
  std::vector<Atom> started;
  ApplicationController::Needs needs{name};
  auto deps = co_await gen_server::call(c, needs, infinity);
  if (!deps) co_return std::unexpected(deps.error());
  for (Atom dep : *deps) {
    auto more = co_await ensure_all_started(dep, type);
    if (!more) co_return std::unexpected(more.error());
    started.insert(started.end(), more->begin(), more->end());
  }
  ApplicationController::Start req{name, type};
  auto r = co_await gen_server::call(c, req, infinity);
  if (r)
    started.push_back(name);
  else if (!detail::is_already_started(r.error(), name))
    co_return std::unexpected(r.error());
  co_return started;
}

Task<std::expected<void, ExitReason>> stop(Atom name) {
  auto c = co_await detail::controller();
  ApplicationController::Stop req{name};
  co_return co_await gen_server::call(c, req, infinity);
}

Task<std::vector<Atom>> which_applications() {
  auto c = co_await detail::controller();
  co_return co_await gen_server::call(c, ApplicationController::Which{}, infinity);
}

std::optional<Term> get_env(Atom app, Atom key) {
  auto& env = detail::environment();
  std::shared_lock lock(env.mutex);
  auto it = env.values.find({app, key});
  if (it == env.values.end()) return std::nullopt;
  return it->second;
}

void set_env(Atom app, Atom key, Term value) {
  auto& env = detail::environment();
  std::unique_lock lock(env.mutex);
  env.values.insert_or_assign({app, key}, std::move(value));
}

}  // namespace application

void stop_program(int code) {
  if (auto controller = whereis(detail::controller_name))
    send(*controller, detail::StopProgram{code});
  else
    shutdown(code);  // no application runs: nothing to stop first
}

namespace {

struct SignalWatch {
  std::mutex mutex;
  Pid root;         // guarded by mutex
  int pending = 0;  // a signal that came before the root was known; guarded by mutex
};

// SIGINT and SIGTERM are caught by a handler in whichever thread they reach, and the handler
// writes the signal's number to this pipe, read by the watcher thread. Blocking them and taking
// them with sigwait instead misses a signal sent to one thread only: std::raise in a process
// directs it at that worker thread, where it would stay pending for ever. The pipe is made once
// and never closed: a handler may still be writing on another thread while run_application
// restores the old handlers, and a closed descriptor could by then name another file.
int signal_pipe[2] = {-1, -1};
constexpr unsigned char wake_watcher = 0;  // not a signal: the watcher's cue to end

extern "C" void on_stop_signal(int signal) {
  int saved = errno;  // a handler must leave errno as it found it
  unsigned char byte = static_cast<unsigned char>(signal);
  // Non-blocking: when the pipe is full this byte is lost, but stop requests wait there already.
  [[maybe_unused]] ssize_t n = ::write(signal_pipe[1], &byte, 1);
  errno = saved;
}

/// Installs on_stop_signal for `signal`, unless the program ignores it (as a shell makes a
/// background job ignore SIGINT); `old` gets the disposition to restore.
void catch_stop_signal(int signal, struct sigaction& old) {
  sigaction(signal, nullptr, &old);
  if (old.sa_handler == SIG_IGN) return;
  struct sigaction on_stop = {};
  on_stop.sa_handler = on_stop_signal;
  sigemptyset(&on_stop.sa_mask);
  on_stop.sa_flags = SA_RESTART;
  sigaction(signal, &on_stop, nullptr);
}

void make_signal_pipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::system_error(errno, std::generic_category(), "run_application: pipe2");
  });
  // Bytes left by an earlier run (a signal after its watcher had ended) are stale.
  unsigned char stale[64];
  while (::read(signal_pipe[0], stale, sizeof stale) > 0) {
  }
}

/// Reads the pipe until `wake_watcher`, turning each signal into a request to the root.
void watch_signals(SignalWatch& watch) {
  for (;;) {
    pollfd p{signal_pipe[0], POLLIN, 0};
    if (::poll(&p, 1, -1) < 0) continue;  // EINTR: a signal ran its handler on this thread
    unsigned char bytes[64];
    ssize_t n = ::read(signal_pipe[0], bytes, sizeof bytes);
    for (ssize_t i = 0; i < n; ++i) {
      if (bytes[i] == wake_watcher) return;
      std::lock_guard lock(watch.mutex);
      if (watch.root.is_null())
        watch.pending = bytes[i];
      else
        post(watch.root, detail::StopRequested{bytes[i]});
    }
  }
}

Task<> application_root(std::vector<ApplicationSpec> apps, Atom main, SignalWatch* watch) {
  {
    std::lock_guard lock(watch->mutex);
    watch->root = self();
    if (watch->pending) post(self(), detail::StopRequested{watch->pending});
  }
  for (auto& spec : apps) {
    auto loaded = co_await application::load(std::move(spec));
    if (!loaded) exit(loaded.error());
  }
  auto started = co_await application::ensure_all_started(main, AppType::permanent);
  if (!started) exit(started.error());
  auto c = co_await detail::controller();
  Ref mref = monitor(*c.pid());
  // Until run() ends: by stop_program (a signal's, or any process's), shutdown(), or the death
  // of a permanent application (the controller stops the others and shuts down with 1).
  for (;;)
    co_await receive(
        [](detail::StopRequested s) {
          log(LogReport{LogLevel::info, "application_stop_requested", self(),
                        "** Signal " + std::to_string(s.signal) + ": stopping the applications"});
          stop_program(0);
        },
        match<Down>([mref](const Down& d) { return d.ref == mref; },
                    [](Down d) { exit(d.reason); }));
}

}  // namespace

int run_application(std::vector<ApplicationSpec> applications, Atom main, RuntimeOptions options) {
  make_signal_pipe();
  // For the run: the handler in place, the signals unblocked in the thread that calls run (so in
  // every thread the runtime starts: they inherit the mask), and the watcher thread. All three
  // are undone when the run ends, also when run() throws (a runtime already running).
  class SignalScope {
   public:
    explicit SignalScope(SignalWatch& watch) {
      catch_stop_signal(SIGINT, old_int_);
      catch_stop_signal(SIGTERM, old_term_);
      sigset_t signals;
      sigemptyset(&signals);
      sigaddset(&signals, SIGINT);
      sigaddset(&signals, SIGTERM);
      pthread_sigmask(SIG_UNBLOCK, &signals, &old_mask_);
      watcher_ = std::thread([&watch] {
        detail::name_this_thread("ambitious-signal");
        watch_signals(watch);
      });
    }
    SignalScope(const SignalScope&) = delete;
    SignalScope& operator=(const SignalScope&) = delete;
    ~SignalScope() {
      sigaction(SIGINT, &old_int_, nullptr);
      sigaction(SIGTERM, &old_term_, nullptr);
      pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
      // The pipe is non-blocking: should it be full, the watcher still has bytes to read, and
      // reads until this one comes.
      while (::write(signal_pipe[1], &wake_watcher, 1) != 1) std::this_thread::yield();
      watcher_.join();
    }

   private:
    struct sigaction old_int_ = {}, old_term_ = {};
    sigset_t old_mask_;
    std::thread watcher_;
  };
  SignalWatch watch;
  SignalScope scope(watch);
  return run(options, application_root, std::move(applications), main, &watch);
}

}  // namespace ambitious
