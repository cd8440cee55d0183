// The flagship: a job queue built from OTP behaviours.
//
//   application `jobs`
//   └── supervisor (rest_for_one)
//       ├── queue      GenServer `job_queue`: pending jobs, jobs in flight, the tally
//       └── workers    DynamicSupervisor `job_workers`: WORKERS workers, restarted when they crash
//
// Workers ask the queue for a job (a call the queue answers later, when it has one: a deferred
// reply). Some jobs are poisoned: they crash their worker the first time. The queue monitors
// every worker holding a job and puts the job back if the worker dies, so the final tally shows
// that no job was lost. Then the program stops itself the way Ctrl-C stops it: SIGTERM, and the
// application shuts its tree down in order. `flagship --forever` waits for your Ctrl-C instead.

#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <string>

#include <ambitious/behaviours/application.hpp>
#include <ambitious/behaviours/dynamic_supervisor.hpp>
#include <ambitious/behaviours/gen_server.hpp>
#include <ambitious/behaviours/logger.hpp>
#include <ambitious/behaviours/supervisor.hpp>
#include <ambitious/process/monitor.hpp>
#include <ambitious/process/process.hpp>

using namespace ambitious;
using namespace std::chrono_literals;

constexpr int jobs_total = 40;
constexpr int workers_total = 4;
bool run_forever = false;

struct Job {
  int id;
  int attempt;
};

class JobQueue : public GenServer<JobQueue> {
 public:
  using info = Types<Down>;
  struct Submit {
    int id;
  };
  struct Fetch {};
  struct Finished {
    int id;
    Pid worker;
  };
  using calls = Types<Fetch>;
  using casts = Types<Submit, Finished>;

  InitResult init() {
    trap_exit(true);  // so that terminate runs when the supervisor stops us
    return ok();
  }

  Action handle_cast(Submit s) {
    pending_.push_back(Job{s.id, 0});
    hand_out();
    return noreply();
  }

  // A worker asks for work; it gets it now, or later when some arrives (deferred reply).
  CallResult<Job> handle_call(Fetch, const From& from) {
    idle_.push_back(from);
    hand_out();
    return noreply();
  }

  Action handle_cast(Finished f) {
    auto it = in_flight_.find(f.worker);
    if (it != in_flight_.end()) {
      demonitor(it->second.monitor, Flush::yes);
      in_flight_.erase(it);
    }
    ++done_;
    if (done_ == jobs_total) {
      std::printf("queue: all %d jobs done (%d retried after a crash); stopping as on Ctrl-C\n",
                  done_, retried_);
      std::fflush(stdout);
      // [snippet sigterm]
      if (!run_forever) kill(getpid(), SIGTERM);  // to the process, as Ctrl-C would
      // [snippet sigterm]
    }
    return noreply();
  }

  // A worker died holding a job: the job goes back to the front of the queue.
  Action handle_info(Down d) {
    auto it = in_flight_.find(d.pid);
    if (it == in_flight_.end()) return noreply();
    Job job = it->second.job;
    in_flight_.erase(it);
    ++retried_;
    std::printf("queue: worker %s died with job %d (%s); job %d goes back in the queue\n",
                to_string(d.pid).c_str(), job.id, d.reason.to_string().c_str(), job.id);
    pending_.push_front(job);
    hand_out();
    return noreply();
  }

  void terminate(const ExitReason& reason) {
    std::printf("queue: terminate(%s): %d done, %zu pending\n", reason.to_string().c_str(), done_,
                pending_.size());
  }

 private:
  struct InFlight {
    Job job;
    Ref monitor;
  };
  void hand_out() {
    while (!pending_.empty() && !idle_.empty()) {
      Job job = pending_.front();
      pending_.pop_front();
      ++job.attempt;
      From worker = idle_.front();
      idle_.pop_front();
      in_flight_[worker.pid] = InFlight{job, monitor(worker.pid)};
      reply(worker, job);
    }
  }

  std::deque<Job> pending_;
  std::deque<From> idle_;
  std::map<Pid, InFlight> in_flight_;
  int done_ = 0;
  int retried_ = 0;
};

const Atom queue_name("job_queue");
const Atom workers_name("job_workers");

Task<> worker() {
  ServerRef<JobQueue> queue(queue_name);
  for (;;) {
    Job job = co_await gen_server::call(queue, JobQueue::Fetch{}, infinity);
    if (job.id % 7 == 3 && job.attempt == 1)
      throw std::runtime_error("job " + std::to_string(job.id) + " is poisoned");
    co_await sleep(std::chrono::milliseconds(2 + job.id % 5));  // the work
    std::printf("worker %s: job %d done (attempt %d)\n", to_string(self()).c_str(), job.id,
                job.attempt);
    gen_server::cast(queue, JobQueue::Finished{job.id, self()});
  }
}

Task<std::expected<Pid, ExitReason>> start_jobs() {
  ChildSpec queue = server_child<JobQueue>(Atom("queue"), StartOptions{.name = queue_name});
  // The workers' dynamic supervisor starts with its workers: a start function of our own.
  ChildSpec workers;
  workers.id = Atom("workers");
  workers.type = ChildType::supervisor;
  workers.start = []() -> Task<StartChildResult> {
    DynamicSupervisorOptions options;
    options.max_restarts = 20;
    StartOptions named{workers_name, infinity};
    auto sup = co_await dynamic_supervisor::start_link(options, named);
    if (!sup) co_return std::unexpected(sup.error());
    for (int i = 0; i < workers_total; ++i)
      co_await dynamic_supervisor::start_child(*sup, process_child(Term(), worker));
    co_return *sup->pid();
  };
  SupervisorSpec spec{{Strategy::rest_for_one, 3, 5s}, {queue, workers}};
  auto top = co_await supervisor::start_link(spec);
  if (!top) co_return std::unexpected(top.error());
  for (int id = 1; id <= jobs_total; ++id)
    gen_server::cast(ServerRef<JobQueue>(queue_name), JobQueue::Submit{id});
  co_return *top->pid();
}

int main(int argc, char** argv) {
  run_forever = argc > 1 && std::strcmp(argv[1], "--forever") == 0;
  set_logger([](const LogReport& r) {
    if (r.kind == std::string_view("supervisor_child_terminated"))
      std::printf("supervisor %s: a worker crashed and is restarted:\n  %s\n",
                  to_string(r.who).c_str(), r.text.substr(r.text.find("terminated:") + 12).c_str());
    else if (r.kind.starts_with("application"))
      std::printf("application: %s\n", r.text.substr(3).c_str());
  });
  // [snippet run_application]
  ApplicationSpec jobs;
  jobs.name = Atom("jobs");
  jobs.start = start_jobs;
  jobs.stop = [] { std::printf("application jobs: stopped; bye\n"); };
  return run_application({jobs}, Atom("jobs"));  // until SIGINT or SIGTERM
  // [snippet run_application]
}
