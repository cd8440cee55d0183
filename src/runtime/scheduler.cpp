#include "runtime/scheduler.hpp"

#include <system_error>
#include <utility>

namespace ambitious::detail {

thread_local Worker* Worker::current_ = nullptr;

namespace {
constexpr unsigned next_streak_limit = 64;  // LIFO-slot runs in a row before the ring gets a turn
constexpr unsigned global_check_interval = 61;  // check the global queue first every N runs
constexpr unsigned housekeeping_interval = 64;  // timers and reclamation every N runs
constexpr unsigned search_rounds = 64;          // steal attempts before a worker parks
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
  if (Runnable* previous = next_) push(previous);
  next_ = r;
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

Runnable* Worker::next_local() noexcept {
  if (next_) {
    if (next_streak_ < next_streak_limit) {
      ++next_streak_;
      return std::exchange(next_, nullptr);
    }
    push(std::exchange(next_, nullptr));
  }
  next_streak_ = 0;
  if (tick_ % global_check_interval == 0 && !scheduler_.global_.empty()) {
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
      if (!found && next_) found = std::exchange(next_, nullptr);
    }
    if (!found) std::this_thread::yield();
  }
  // The last searcher to find work wakes another: there may be more where this came from.
  if (s.searching_.fetch_sub(1, std::memory_order_seq_cst) == 1 && found) s.wake_one();
  return found;
}

void Worker::park() {
  auto& s = scheduler_;
  timers_.advance(now_ms());
  reclaim(false);
  if (!queue_.empty() || next_) return;
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
  std::lock_guard lock(s.idle_mutex_);
  for (auto it = s.idle_.begin(); it != s.idle_.end(); ++it)
    if (*it == this) {
      s.idle_.erase(it);
      s.idle_count_.fetch_sub(1, std::memory_order_seq_cst);
      break;
    }
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
    q.announce(index_);
    if (++tick_ % housekeeping_interval == 0) {
      timers_.advance(now_ms());
      reclaim(false);
    }
  }
  q.go_offline(index_);
  current_ = nullptr;
}

Scheduler::Scheduler(unsigned workers) : quiescence_((workers ? workers : 1) + 1) {
  if (workers == 0) workers = 1;
  for (unsigned i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
}

Scheduler::~Scheduler() {
  stop();
  join();
  for (auto& w : workers_) w->reclaim(true);
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
      static_cast<Worker*>(worker)->loop();
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
}

void Scheduler::stop() noexcept {
  stopping_.store(true, std::memory_order_release);
  for (auto& w : workers_) w->notify();
}

void Scheduler::join() {
  for (auto& w : workers_)
    if (std::exchange(w->started_, false)) pthread_join(w->thread_, nullptr);
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
  if (searching_.load(std::memory_order_relaxed) > 0) return;
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
