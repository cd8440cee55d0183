// run(): sets up a runtime, runs the root process, tears everything down.

#include <atomic>
#include <stdexcept>
#include <thread>

#include "ambitious/process/detail/remote_nodes.hpp"
#include "ambitious/process/runtime.hpp"
#include "process.hpp"
#include "runtime_state.hpp"

namespace ambitious {
namespace detail {
namespace {
std::atomic<RuntimeState*> current_runtime{nullptr};
}  // namespace

RuntimeState* runtime() noexcept { return current_runtime.load(std::memory_order_acquire); }

unsigned hardware_concurrency() noexcept { return std::thread::hardware_concurrency(); }

std::mutex& foreign_gate() noexcept {
  static std::mutex gate;
  return gate;
}

void publish_runtime(RuntimeState* rt) {
  RuntimeState* expected = nullptr;
  if (!current_runtime.compare_exchange_strong(expected, rt))
    throw std::logic_error("ambitious: another runtime is already running");
}

void end_runtime(std::unique_ptr<RuntimeState> rt) noexcept {
  rt->scheduler.stop();
  rt->scheduler.join();
  rt->scheduler.wait_for_readers();  // a post() from a foreign thread finishes, or sees stopping
  // Jobs on the blocking pool finish first: they still refer to their processes.
  rt->pool.reset();
  // Every process still alive is destroyed; destructors in its frames still see it as self().
  // A destructor may spawn (a process that never runs): repeat until none is left.
  for (std::vector<Process*> alive; rt->table.count() > 0; alive.clear()) {
    rt->table.for_each([&](Process* q) { alive.push_back(q); });
    for (Process* q : alive) {
      rt->table.remove(q);
      Process::destroy_at_teardown(q);
    }
  }
  {
    // A foreign thread that read the pointer before this uses it under the gate: once we hold
    // the gate and unpublish it, none can still reach what we free next.
    std::lock_guard gate(foreign_gate());
    current_runtime.store(nullptr, std::memory_order_release);
  }
  rt.reset();  // timers, then retired processes, are freed with the scheduler
}

namespace {
// The root of a runtime started while a node of the dist layer runs: the node's own processes
// start first (RemoteNodes::runtime_started), inside the root process.
Task<> after_remote_start(RemoteNodes* nodes, Task<> root) {
  nodes->runtime_started();
  co_await std::move(root);
}
}  // namespace

int run_root(Task<> root, const RuntimeOptions& options, ExitReason* root_reason) {
  auto rt = std::make_unique<RuntimeState>(options.workers, options.blocking_threads,
                                           options.worker_slice);
  publish_runtime(rt.get());
  if (RemoteNodes* nodes = remote_nodes()) root = after_remote_start(nodes, std::move(root));

  auto* p = new Process(root.release());
  rt->root = rt->table.insert(p);
  rt->scheduler.schedule(p);
  rt->scheduler.start();
  {
    std::unique_lock lock(rt->done_mutex);
    rt->done_cv.wait(lock, [&] { return rt->done; });
  }
  // Read before the runtime goes: end_runtime frees it.
  int code = rt->exit_code;
  std::optional<ExitReason> reason = rt->root_reason;
  end_runtime(std::move(rt));
  if (root_reason && reason) *root_reason = std::move(*reason);
  return code;
}

}  // namespace detail

void shutdown(int code) noexcept {
  detail::RuntimeState* rt = detail::runtime();
  if (!rt) return;
  std::lock_guard lock(rt->done_mutex);
  if (!rt->done) {
    rt->done = true;
    rt->exit_code = code;
  }
  rt->done_cv.notify_all();
}

}  // namespace ambitious
