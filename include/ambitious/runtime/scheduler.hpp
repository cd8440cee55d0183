#pragma once
// Scheduler and Worker: one worker thread per core, local run queues, work stealing, parking.
// Part of the runtime layer's interface to the process layer above; applications do not use it.

#include <pthread.h>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ambitious/core/chrono.hpp"
#include "ambitious/core/functional.hpp"
#include "ambitious/runtime/quiescence.hpp"
#include "ambitious/runtime/run_queue.hpp"
#include "ambitious/runtime/timer_wheel.hpp"

namespace ambitious::detail {

class Scheduler;

/// Memory freed only once no worker can still be reading it (see Quiescence).
struct Retired {
  void* object;
  void (*free)(void*) noexcept;
  std::uint64_t epoch;
};

/// One worker thread: its ring, its LIFO slot, its timers. Members marked "owner" are called only
/// on the worker's own thread.
class Worker {
 public:
  /// Runs in a row from the LIFO slot before what waits in the ring or the global queue gets a
  /// turn (if something does).
  static constexpr unsigned next_streak_limit = 64;

  Worker(Scheduler& scheduler, unsigned index);

  /// The worker running on this thread, or null on any other thread.
  static Worker* current() noexcept { return current_; }

  /// Owner: queue `r` to run after what is queued here.
  void push(Runnable* r) noexcept;
  /// Owner: run `r` next (a process woken by the one running now: keeps a
  /// conversation on one core and in its cache, and wakes no other worker). The previous occupant
  /// of the slot moves to the ring. Other workers never take the slot; the scheduler's watchdog
  /// moves it to the global queue if the running process keeps the worker too long.
  void push_next(Runnable* r) noexcept;
  /// Owner: run `r` next if the LIFO slot is free, else queue it as push() does: a process just
  /// spawned runs on this core without waking another worker, and several spawned in a row still
  /// start in the order they were spawned.
  void push_spawned(Runnable* r) noexcept;
  /// Owner: the timing wheel of this worker.
  TimerWheel& timers() noexcept { return timers_; }
  /// Owner: frees `object` once no worker can hold it.
  void retire(void* object, void (*free)(void*) noexcept);
  unsigned index() const noexcept { return index_; }
  Scheduler& scheduler() noexcept { return scheduler_; }
  /// Owner: runs `fn(arg)` once, when the current run ends, before the next one (in the order
  /// deferred): the output a run produced goes out in one piece after it, as BEAM runs a port's
  /// output task after the process that filled the port's queue. A run that keeps the worker
  /// long (a process blocked in a call) does not hold it back: the watchdog runs it from its
  /// own thread then, so `fn` must be safe on any thread.
  void defer(void (*fn)(void*) noexcept, void* arg);
  /// Any thread: runs what was deferred and has not run yet (before the owner blocks, say).
  void run_deferred() noexcept;

 private:
  friend class Scheduler;
  void loop();
  Runnable* next_local() noexcept;
  Runnable* search() noexcept;  // steal from others, or take from the global queue
  void park();
  void reclaim(bool all) noexcept;
  void notify() noexcept;

  // constinit: other translation units then read it directly, with no call to a TLS init
  // function (g++ 12 with -fsanitize=null also miscompiles the null check of that path).
  static constinit thread_local Worker* current_;

  Scheduler& scheduler_;
  unsigned index_;
  LocalQueue queue_;
  std::atomic<Runnable*> next_{nullptr};  // the LIFO slot: set by the owner, taken by the owner
                                          // or the watchdog
  unsigned next_streak_ = 0;            // runs in a row from the LIFO slot (bounded, for fairness)
  std::atomic<std::uint64_t> tick_{0};  // runs so far; written by the owner, read by the watchdog
  TimerWheel timers_;
  std::deque<Retired> retired_;  // in epoch order
  struct Deferred {
    void (*fn)(void*) noexcept;
    void* arg;
  };
  std::mutex deferred_mutex_;       // the owner and the watchdog run deferred_
  std::vector<Deferred> deferred_;  // under deferred_mutex_
  std::atomic<bool> has_deferred_{false};
  std::mutex park_mutex_;
  std::condition_variable park_cv_;
  bool notified_ = false;  // guarded by park_mutex_
  pthread_t thread_{};     // started with a large stack, see Scheduler::start
  bool started_ = false;
};

/// The set of workers. Threads: schedule() from any thread; start()/stop()/join() and the
/// stepping mode by the owner of the runtime.
class Scheduler {
 public:
  /// `watchdog`: false for a scheduler whose runs are never moved off a busy worker (tests of
  /// the exact run order). `worker_slice`: the time slice each worker asks the kernel for as
  /// it starts (request_time_slice); zero asks for none.
  explicit Scheduler(unsigned workers, bool watchdog = true,
                     std::chrono::microseconds worker_slice = {});
  ~Scheduler();

  /// Starts the worker threads and the watchdog.
  void start();
  /// Asks every worker to stop after the runnable it is running; any thread.
  void stop() noexcept;
  /// Waits for the workers to stop.
  void join();

  /// Any thread: queue `r` (on this worker if called by one, else on the global queue). Once
  /// stopping, a call from another thread drops `r`: its owner frees it.
  void schedule(Runnable* r) noexcept;
  /// Wakes a sleeping worker if none is looking for work already.
  void wake_one() noexcept;

  // Stepping mode (DeterministicRuntime), instead of start(): no thread is started; the calling
  // thread becomes worker 0 (the scheduler must have one worker) and runs what it picks.
  /// Makes the calling thread worker 0.
  void begin_stepping();
  /// The calling thread is no longer worker 0.
  void end_stepping() noexcept;
  /// Moves what was queued since the last call into `ready`, in the order worker 0 would run
  /// it: the global queue (overflow and other threads) then its ring at the back, its LIFO slot
  /// at the front.
  void collect(std::deque<Runnable*>& ready);
  /// What worker 0 does between two runs: a quiescent state, due timers, reclamation.
  void after_step() noexcept;

  /// Runs `f` on a thread that is not a worker as if it were one, for the quiescent-state
  /// reclamation: shared pointers read inside `f` stay valid until it returns. One such thread
  /// at a time (they take turns on a mutex): the slow path for foreign threads. False, without
  /// running `f`, once the scheduler is stopping (its processes are about to be freed). Called
  /// again from inside `f` on the same thread (a message that `f` drops may post from its
  /// destructor), it runs the inner `f` at once: the thread is a reader already.
  template <class F>
  bool run_as_reader(F&& f) {
    if (reader_ == this) {
      f();
      return true;
    }
    std::lock_guard lock(external_mutex_);
    if (stopping()) return false;
    struct Reading {
      Scheduler& s;
      explicit Reading(Scheduler& sc) noexcept : s(sc) {
        s.quiescence_.go_online(s.external_slot());
        reader_ = &s;
      }
      ~Reading() {
        reader_ = nullptr;
        s.quiescence_.go_offline(s.external_slot());
      }
    } reading(*this);
    f();
    return true;
  }
  /// The scheduler whose run_as_reader the calling thread is inside, or null.
  static Scheduler* reading() noexcept { return reader_; }
  /// Returns once no foreign thread is inside run_as_reader (call after stop()).
  void wait_for_readers() { std::lock_guard lock(external_mutex_); }

  unsigned worker_count() const noexcept { return static_cast<unsigned>(workers_.size()); }
  /// Any thread: how many workers are parked or about to park (a snapshot).
  unsigned idle_workers() const noexcept {
    return static_cast<unsigned>(idle_count_.load(std::memory_order_relaxed));
  }
  /// Unique among the schedulers this program made (counted in 32 bits: a program would have
  /// to start four billion runtimes to see one again): tells a timer of this run from one of an
  /// earlier run, whose wheels are gone.
  std::uint32_t id() const noexcept { return id_; }
  Quiescence& quiescence() noexcept { return quiescence_; }
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }

 private:
  friend class Worker;
  unsigned external_slot() const noexcept { return worker_count(); }
  void watch();
  void wake_watchdog() noexcept;

  const std::uint32_t id_;
  std::vector<std::unique_ptr<Worker>> workers_;
  GlobalQueue global_;
  std::mutex external_mutex_;  // one foreign thread at a time in the external reader slot
  static constinit thread_local Scheduler* reader_;  // set while this thread is in run_as_reader
  Quiescence quiescence_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> searching_{0};
  // When a searcher last went into or came out of a sched_yield (steady clock, ns): a searcher
  // not heard from lately is off its CPU, and wake_one wakes a parked worker instead.
  std::atomic<std::int64_t> search_beat_{0};
  std::mutex idle_mutex_;
  std::vector<Worker*> idle_;  // guarded by idle_mutex_
  std::atomic<int> idle_count_{0};
  bool watchdog_enabled_;
  std::chrono::microseconds worker_slice_;

  // The watchdog: a thread that, while any worker is awake, looks every `watch_period` for a
  // worker still running the process it ran at the last look, moves that worker's LIFO slot to
  // the global queue so an idle worker runs it, and fires that worker's due timers (there is no
  // preemption; this bounds how long a process woken by a busy one, or by a timer armed on its
  // worker, waits). Asleep while every worker is parked.
  std::thread watchdog_;
  std::mutex watch_mutex_;
  std::condition_variable watch_cv_;
  std::atomic<bool> watchdog_asleep_{false};
};

}  // namespace ambitious::detail
