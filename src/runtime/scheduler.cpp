#include "ambitious/runtime/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "ambitious/runtime/thread_name.hpp"
#include "ambitious/runtime/time_slice.hpp"

namespace ambitious::detail {

constinit thread_local Worker* Worker::current_ = nullptr;
constinit thread_local Scheduler* Scheduler::reader_ = nullptr;

namespace {
constexpr unsigned global_check_interval = 61;  // check the global queue first every N runs
constexpr unsigned housekeeping_interval = 64;  // timers and reclamation every N runs
constexpr unsigned search_rounds = 64;          // steal attempts before a worker parks
// A searcher not heard from for this long is off its CPU (the kernel ran another thread in its
// sched_yield): it stops searching and parks, and wake_one stops counting on it. A round of
// stealing takes a microsecond or two, and a yield to no one less.
constexpr std::int64_t searcher_gone_ns = 50'000;
std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
// See Scheduler::watch. A process woken or spawned behind a busy one waits one to two periods;
// the watchdog costs a wake-up per period, and none while every worker is parked.
constexpr auto watch_period = std::chrono::milliseconds(2);
// Timers the watchdog fires per look at a stuck worker: enough for the few that wait behind a
// busy process, few enough that a stuck process arming and receiving its own timers by the
// thousand does not have the watchdog fight it for them (each rescued fire touches the
// receiver's mailbox from another core, and the entry again when its owner frees it).
constexpr std::size_t rescue_limit = 256;
std::atomic<std::uint32_t> next_scheduler_id{1};
}  // namespace

Worker::Worker(Scheduler& scheduler, unsigned index) : scheduler_(scheduler), index_(index) {}

void Worker::push(Runnable* r) noexcept {
  if (!queue_.push(r)) {
    // Ring full: move its older half and `r` to the global queue in one locked step.
    RunnableList batch = queue_.pop_half();
    batch.push(r);
    scheduler_.global_.push_all(batch);
  }
  scheduler_.wake_one();
}

void Worker::push_next(Runnable* r) noexcept {
  if (Runnable* previous = next_.exchange(r, std::memory_order_acq_rel)) push(previous);
}

void Worker::retire(void* object, void (*free)(void*) noexcept) {
  retired_.push_back(Retired{object, free, scheduler_.quiescence_.current()});
}

void Worker::reclaim(bool all) noexcept {
  if (retired_.empty()) return;
  std::uint64_t safe = all ? Quiescence::offline : scheduler_.quiescence_.safe_before();
  while (!retired_.empty() && retired_.front().epoch < safe) {
    Retired r = retired_.front();
    retired_.pop_front();
    r.free(r.object);
  }
}

void Worker::push_spawned(Runnable* r) noexcept {
  // Only the owner fills the slot (the watchdog only empties it), so a free slot stays free.
  if (next_.load(std::memory_order_relaxed))
    push(r);
  else
    next_.store(r, std::memory_order_release);
}

Runnable* Worker::next_local() noexcept {
  if (next_.load(std::memory_order_relaxed)) {
    if (Runnable* r = next_.exchange(nullptr, std::memory_order_acquire)) {
      if (next_streak_ < next_streak_limit) {
        ++next_streak_;
        return r;
      }
      // The streak is long: give what waits in the ring or the global queue a turn. If nothing
      // does, go on with the conversation (queueing it would only wake another worker for it).
      next_streak_ = 0;
      if (queue_.empty() && scheduler_.global_.empty()) return r;
      push(r);
    }
  }
  next_streak_ = 0;
  if (tick_.load(std::memory_order_relaxed) % global_check_interval == 0 &&
      !scheduler_.global_.empty()) {
    RunnableList batch = scheduler_.global_.pop_batch(1);
    if (Runnable* r = batch.pop()) return r;
  }
  return queue_.pop();
}

Runnable* Worker::search() noexcept {
  auto& s = scheduler_;
  auto from_global = [&]() -> Runnable* {
    if (s.global_.empty()) return nullptr;
    std::size_t n = LocalQueue::capacity / 2;
    RunnableList batch = s.global_.pop_batch(n);
    Runnable* first = batch.pop();
    while (Runnable* r = batch.pop()) queue_.push(r);  // the ring is empty: it fits
    return first;
  };
  if (Runnable* r = from_global()) return r;

  s.search_beat_.store(now_ns(), std::memory_order_relaxed);
  s.searching_.fetch_add(1, std::memory_order_seq_cst);
  Runnable* found = nullptr;
  unsigned n = s.worker_count();
  for (unsigned round = 0; round < search_rounds && !found && !s.stopping(); ++round) {
    s.quiescence_.announce(index_);  // a searching worker holds no shared pointer
    for (unsigned k = 1; k < n && !found; ++k) {
      Worker& victim = *s.workers_[(index_ + k + round) % n];
      found = victim.queue_.steal_into(queue_);
    }
    if (!found) found = from_global();
    if (!found) {
      timers_.advance(now_ms());  // a due timer may make work here
      found = queue_.pop();
      if (!found) found = next_.exchange(nullptr, std::memory_order_acquire);
    }
    if (!found) {
      const std::int64_t before = now_ns();
      s.search_beat_.store(before, std::memory_order_relaxed);
      std::this_thread::yield();
      const std::int64_t after = now_ns();
      s.search_beat_.store(after, std::memory_order_relaxed);
      // The CPUs are busy: searching on means being off them again, while pushes count on this
      // search and wake no one. Parked, this worker is woken for real (and, its slice short,
      // runs at once).
      if (after - before > searcher_gone_ns) break;
    }
  }
  // The last searcher to find work wakes another: there may be more where this came from.
  if (s.searching_.fetch_sub(1, std::memory_order_seq_cst) == 1 && found) s.wake_one();
  return found;
}

void Worker::park() {
  auto& s = scheduler_;
  timers_.advance(now_ms());
  reclaim(false);
  if (!queue_.empty() || next_.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard lock(s.idle_mutex_);
    s.idle_.push_back(this);
    s.idle_count_.fetch_add(1, std::memory_order_seq_cst);
  }
  // Look once more after saying we are idle: a push that missed our idle entry is seen here.
  bool work = !s.global_.empty();
  for (auto& w : s.workers_) work = work || !w->queue_.empty();
  if (!work && !s.stopping()) {
    s.quiescence_.go_offline(index_);
    std::unique_lock lock(park_mutex_);
    auto due = timers_.next_due_in(now_ms());
    auto ready = [&] { return notified_ || s.stopping(); };
    if (due)
      park_cv_.wait_for(lock, std::chrono::milliseconds(*due), ready);
    else
      park_cv_.wait(lock, ready);
    notified_ = false;
    lock.unlock();
    s.quiescence_.go_online(index_);
  }
  {
    std::lock_guard lock(s.idle_mutex_);
    for (auto it = s.idle_.begin(); it != s.idle_.end(); ++it)
      if (*it == this) {
        s.idle_.erase(it);
        s.idle_count_.fetch_sub(1, std::memory_order_seq_cst);
        break;
      }
  }
  // Our idle count is gone (here or in wake_one) before this load: see Scheduler::watch.
  if (s.watchdog_asleep_.load(std::memory_order_seq_cst)) s.wake_watchdog();
}

void Worker::defer(void (*fn)(void*) noexcept, void* arg) {
  std::lock_guard lock(deferred_mutex_);
  deferred_.push_back({fn, arg});
  has_deferred_.store(true, std::memory_order_relaxed);
}

void Worker::run_deferred() noexcept {
  // Taken out first, under the lock: each runs once, on whichever thread took it, and may
  // defer again (for after the next run).
  std::vector<Deferred> due;
  {
    std::lock_guard lock(deferred_mutex_);
    due.swap(deferred_);
    has_deferred_.store(false, std::memory_order_relaxed);
  }
  for (const Deferred& d : due) d.fn(d.arg);
}

void Worker::notify() noexcept {
  std::lock_guard lock(park_mutex_);
  notified_ = true;
  park_cv_.notify_one();
}

void Worker::loop() {
  current_ = this;
  auto& q = scheduler_.quiescence_;
  q.go_online(index_);
  while (!scheduler_.stopping()) {
    Runnable* r = next_local();
    if (!r) r = search();
    if (!r) {
      park();
      continue;
    }
    r->run();
    if (has_deferred_.load(std::memory_order_relaxed)) run_deferred();
    q.announce(index_);
    std::uint64_t tick = tick_.load(std::memory_order_relaxed) + 1;
    tick_.store(tick, std::memory_order_relaxed);
    if (tick % housekeeping_interval == 0) {
      timers_.advance(now_ms());
      reclaim(false);
    }
  }
  q.go_offline(index_);
  current_ = nullptr;
}

Scheduler::Scheduler(unsigned workers, bool watchdog, std::chrono::microseconds worker_slice)
    : id_(next_scheduler_id.fetch_add(1, std::memory_order_relaxed)),
      quiescence_((workers ? workers : 1) + 1),
      watchdog_enabled_(watchdog),
      worker_slice_(worker_slice) {
  if (workers == 0) workers = 1;
  for (unsigned i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
}

Scheduler::~Scheduler() {
  stop();
  join();
  for (auto& w : workers_) {
    w->run_deferred();  // what a run deferred as the workers stopped
    w->reclaim(true);
  }
}

void Scheduler::start() {
  // Process code runs on these threads. A chain of awaited Tasks resumes by symmetric transfer,
  // which takes no stack when the compiler emits tail calls (release builds), but one frame per
  // level where it cannot (ASan, -O0), and destroying a killed process's chain of frames
  // recurses once per level in every build. Workers are few: give each a large stack, of which
  // only the pages touched are ever backed by memory.
  constexpr std::size_t stack_size = std::size_t{64} << 20;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_size);
  for (auto& w : workers_) {
    auto entry = [](void* worker) -> void* {
      auto* self = static_cast<Worker*>(worker);
      name_this_thread("ambitious-w" + std::to_string(self->index()));
      // Short slices: a worker woken while the other threads keep the CPUs busy preempts one of
      // them at once (without, it waited for the tick: dist_hol's p99 was one 4 ms tick).
      const auto slice = self->scheduler_.worker_slice_;
      if (slice.count() > 0) request_time_slice(slice);
      self->loop();
      return nullptr;
    };
    int rc = pthread_create(&w->thread_, &attr, entry, w.get());
    if (rc == 0) {
      w->started_ = true;
    } else {
      pthread_attr_destroy(&attr);
      throw std::system_error(rc, std::generic_category(), "ambitious: starting a worker");
    }
  }
  pthread_attr_destroy(&attr);
  if (watchdog_enabled_)
    watchdog_ = std::thread([this] {
      name_this_thread("ambitious-watch");
      watch();
    });
}

void Scheduler::begin_stepping() {
  if (worker_count() != 1) throw std::logic_error("ambitious: stepping needs exactly one worker");
  Worker::current_ = workers_[0].get();
  quiescence_.go_online(0);
}

void Scheduler::end_stepping() noexcept {
  quiescence_.go_offline(0);
  Worker::current_ = nullptr;
}

void Scheduler::collect(std::deque<Runnable*>& ready) {
  Worker& w = *workers_[0];
  // The global queue first: a full ring moves its older half there.
  for (RunnableList batch = global_.pop_batch(~std::size_t{0}); Runnable* r = batch.pop();)
    ready.push_back(r);
  while (Runnable* r = w.queue_.pop()) ready.push_back(r);
  if (Runnable* r = w.next_.exchange(nullptr, std::memory_order_acquire)) ready.push_front(r);
}

void Scheduler::after_step() noexcept {
  Worker& w = *workers_[0];
  if (w.has_deferred_.load(std::memory_order_relaxed)) w.run_deferred();
  quiescence_.announce(0);
  w.timers_.advance(now_ms());
  w.reclaim(false);
}

void Scheduler::stop() noexcept {
  stopping_.store(true, std::memory_order_release);
  for (auto& w : workers_) w->notify();
  std::lock_guard lock(watch_mutex_);
  watch_cv_.notify_one();
}

void Scheduler::join() {
  for (auto& w : workers_)
    if (std::exchange(w->started_, false)) pthread_join(w->thread_, nullptr);
  if (watchdog_.joinable()) watchdog_.join();
}

void Scheduler::watch() {
  const int n = static_cast<int>(worker_count());
  std::vector<std::uint64_t> seen(workers_.size(), ~std::uint64_t{0});
  std::vector<Worker*> stuck;
  stuck.reserve(workers_.size());
  std::unique_lock lock(watch_mutex_);
  while (!stopping()) {
    // Sleep while every worker is parked. Dekker with park(): we publish "asleep" and then read
    // the idle count; a worker leaving park drops the idle count and then reads "asleep". One of
    // the two sees the other, so a worker never runs unwatched.
    watchdog_asleep_.store(true, std::memory_order_seq_cst);
    if (idle_count_.load(std::memory_order_seq_cst) == n) {
      watch_cv_.wait(lock, [&] { return stopping() || !watchdog_asleep_.load(); });
      std::fill(seen.begin(), seen.end(), ~std::uint64_t{0});
      continue;
    }
    watchdog_asleep_.store(false, std::memory_order_relaxed);
    if (watch_cv_.wait_for(lock, watch_period, [&] { return stopping(); })) break;
    stuck.clear();
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      Worker& w = *workers_[i];
      std::uint64_t tick = w.tick_.load(std::memory_order_relaxed);
      if (tick == seen[i]) {
        // Still in the run it was in a period ago: whatever waits in its slot goes elsewhere.
        Runnable* r = w.next_.load(std::memory_order_relaxed);
        if (r && w.next_.compare_exchange_strong(r, nullptr, std::memory_order_acquire)) {
          global_.push(r);
          wake_one();
        }
        stuck.push_back(&w);
      }
      seen[i] = tick;
    }
    if (!stuck.empty()) {
      // And its due timers fire from here: the worker looks at its wheel only between runs.
      // (A parked worker's tick stands still too: its wheel has nothing due, or it is waking.)
      // Firing delivers to processes, so this thread reads them as a worker would. What its
      // run deferred runs from here too (a blocked process's output goes out).
      lock.unlock();
      run_as_reader([&] {
        std::uint64_t now = now_ms();
        for (Worker* w : stuck) w->timers_.rescue(now, rescue_limit);
      });
      for (Worker* w : stuck)
        if (w->has_deferred_.load(std::memory_order_relaxed)) w->run_deferred();
      lock.lock();
    }
  }
}

void Scheduler::wake_watchdog() noexcept {
  std::lock_guard lock(watch_mutex_);
  watchdog_asleep_.store(false, std::memory_order_seq_cst);
  watch_cv_.notify_one();
}

void Scheduler::schedule(Runnable* r) noexcept {
  if (Worker* w = Worker::current(); w && &w->scheduler_ == this) {
    w->push(r);
  } else if (!stopping()) {
    global_.push(r);
    wake_one();
  }
  // Stopping: nothing runs again and run() frees every process itself. A queue entry would
  // dangle, and the next push would write through it (a destructor run at teardown that wakes
  // a process, a blocking call that returns during the shutdown).
}

void Scheduler::wake_one() noexcept {
  // Pairs with the idle registration in park(): either we see the idle worker, or it sees the
  // work we queued before this fence.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (idle_count_.load(std::memory_order_relaxed) == 0) return;
  // A searcher will find the work, unless it is off its CPU: then a parked worker takes it.
  if (searching_.load(std::memory_order_relaxed) > 0 &&
      now_ns() - search_beat_.load(std::memory_order_relaxed) < searcher_gone_ns)
    return;
  Worker* w = nullptr;
  {
    std::lock_guard lock(idle_mutex_);
    if (idle_.empty()) return;
    w = idle_.back();
    idle_.pop_back();
    idle_count_.fetch_sub(1, std::memory_order_relaxed);
  }
  w->notify();
}

}  // namespace ambitious::detail
