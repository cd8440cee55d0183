// DeterministicRuntime: a one-worker runtime whose worker is the test's own thread.

#include "ambitious/process/deterministic_runtime.hpp"

#include <algorithm>
#include <deque>

#include "process.hpp"
#include "runtime_state.hpp"

namespace ambitious {

struct DeterministicRuntime::State {
  std::unique_ptr<detail::RuntimeState> rt;
  std::deque<detail::Runnable*> ready;  // in the order step() takes them

  detail::Scheduler& scheduler() { return rt->scheduler; }
  /// Brings `ready` up to date: due timers, and whatever became runnable since the last look.
  void refresh() {
    scheduler().after_step();
    scheduler().collect(ready);
  }
  void run(detail::Runnable* r) {
    r->run();
    refresh();
  }
};

namespace {
detail::Process& as_process(detail::Runnable* r) { return *static_cast<detail::Process*>(r); }
}  // namespace

DeterministicRuntime::DeterministicRuntime(unsigned blocking_threads)
    : state_(std::make_unique<State>()) {
  state_->rt = std::make_unique<detail::RuntimeState>(1, blocking_threads);
  detail::publish_runtime(state_->rt.get());  // throws if another one runs: nothing to undo
  state_->scheduler().begin_stepping();
}

DeterministicRuntime::~DeterministicRuntime() {
  state_->scheduler().end_stepping();
  state_->ready.clear();  // their processes are still in the table: end_runtime destroys them
  detail::end_runtime(std::move(state_->rt));
}

Pid DeterministicRuntime::spawn_task(Task<> body) {
  auto process = std::make_unique<detail::Process>(body.release());
  Pid pid = state_->rt->table.insert(process.get());
  state_->ready.push_back(process.release());
  return pid;
}

bool DeterministicRuntime::step() {
  state_->refresh();
  if (state_->ready.empty()) return false;
  detail::Runnable* r = state_->ready.front();
  state_->ready.pop_front();
  state_->run(r);
  return true;
}

bool DeterministicRuntime::step(Pid pid) {
  state_->refresh();
  auto& ready = state_->ready;
  auto it = std::find_if(ready.begin(), ready.end(),
                         [&](detail::Runnable* r) { return as_process(r).pid == pid; });
  if (it == ready.end()) return false;
  detail::Runnable* r = *it;
  ready.erase(it);
  state_->run(r);
  return true;
}

std::size_t DeterministicRuntime::run_until_idle(std::size_t max_steps) {
  std::size_t steps = 0;
  while (steps < max_steps && step()) ++steps;
  return steps;
}

std::vector<Pid> DeterministicRuntime::runnable() {
  state_->refresh();
  std::vector<Pid> out;
  for (detail::Runnable* r : state_->ready) out.push_back(as_process(r).pid);
  return out;
}

bool DeterministicRuntime::alive(Pid pid) { return state_->rt->table.lookup(pid) != nullptr; }

std::size_t DeterministicRuntime::queued(Pid pid) {
  detail::Process* p = state_->rt->table.lookup(pid);
  if (!p) return 0;
  return p->mailbox.size() + p->mailbox.pushed_messages().size();
}

const detail::Message* DeterministicRuntime::waiting(Pid pid, std::size_t i) {
  detail::Process* p = state_->rt->table.lookup(pid);
  if (!p) return nullptr;
  if (i < p->mailbox.size()) {
    const detail::Message* found = nullptr;
    std::size_t k = 0;
    p->mailbox.for_each([&](const detail::Message& m) {
      if (k++ == i) found = &m;
    });
    return found;
  }
  auto pushed = p->mailbox.pushed_messages();
  i -= p->mailbox.size();
  return i < pushed.size() ? pushed[i] : nullptr;
}

}  // namespace ambitious
