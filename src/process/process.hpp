#pragma once
// Process: a process control block, and the loop that runs it on a worker.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>

#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/process/detail/receive_core.hpp"
#include "ambitious/process/exit_reason.hpp"
#include "ambitious/process/registered_name.hpp"
#include "ambitious/runtime/runnable.hpp"
#include "ambitious/runtime/timer_wheel.hpp"
#include "flat_table.hpp"
#include "incoming_timers.hpp"
#include "mailbox.hpp"
#include "signals.hpp"

namespace ambitious::detail {

struct BlockingCall;

/// Links and monitors: owner-only, allocated on first use (most processes have none).
struct Relations {
  FlatSet<Pid> links;
  /// Remote partners this process sent UNLINK_ID to, not yet acknowledged -> the unlink id (OTP
  /// 23's link protocol: meanwhile a LINK from the partner is ignored).
  FlatMap<Pid, std::uint64_t> unlinking;
  FlatMap<Ref, Pid> monitors;  // refs this process holds -> the monitored pid (null: by a name
                               // nobody held, or by name on another node)
  FlatMap<Ref, RegisteredName> monitor_names;  // those made by name -> {Name, Node} (the Down's)
  FlatMap<Ref, Pid> monitored_by;              // refs on this process -> the watcher
  FlatMap<Ref, Atom> monitored_by_names;       // those a remote watcher made by name -> the name
};

/// A process: its mailbox, its signals, links and monitors, the exit it is heading to, and the
/// coroutine it runs. `pid`, `mailbox.push()` and the name state may be used from any thread;
/// everything else belongs to the worker running the process, one at a time (hand-over goes
/// through the run queues).
class Process final : public Runnable {
 public:
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* p, std::size_t size) noexcept { free_frame(p, size); }

  /// Where the process stands when a worker picks it up.
  enum class Suspend : std::uint8_t { resume, receive, yield, blocking };

  explicit Process(std::coroutine_handle<> root) noexcept : root_(root), resume_at_(root) {}
  ~Process();

  void run() noexcept override;

  /// Frees a process that never ended, when its runtime stops (workers already stopped).
  static void destroy_at_teardown(Process* p) noexcept;

  /// The process running on this thread, or null.
  static Process* current() noexcept { return current_; }

  // Any thread.
  Pid pid;
  Atom name;  // guarded by the name table's lock
  /// 0: no name; 1: named (under the name table's lock); 2: ended (no name may be added).
  std::atomic<std::uint8_t> name_state{0};
  bool trap_exit = false;  // owner only (declared here, it fills the padding after name_state)
  /// push(): any thread; the rest: owner only.
  Mailbox mailbox;
  /// The timers that deliver to this process, cancelled when it ends.
  IncomingTimers incoming_timers;

  // Owner only.
  bool receive_ready(ReceiveRequest& r);
  void receive_suspend(ReceiveRequest& r, std::coroutine_handle<> h) noexcept;
  void yield_suspend(std::coroutine_handle<> h) noexcept;
  void blocking_suspend(BlockingCall& call, std::coroutine_handle<> h) noexcept;
  Relations& relations();
  bool has_relations() const noexcept { return relations_ != nullptr; }
  /// Handles every signal and queues every message pushed so far.
  void drain();
  /// Set by a signal (or exit/1): the process ends at its next suspension.
  void request_exit(ExitReason reason) noexcept {
    if (!pending_exit_) pending_exit_.emplace(std::move(reason));
  }
  bool is_waiting_in_receive() const noexcept { return suspend_ == Suspend::receive; }

 private:
  static constinit thread_local Process* current_;  // constinit: see Worker::current_

  // A signal is handled whole or the program ends: the only failure is running out of memory
  // (for a Down, an Exit, a link), which ends the program, as it ends the BEAM.
  void handle_signal(Signal& s) noexcept;
  void handle_exit_signal(Signal& s) noexcept;
  /// A signal that changes links or monitors only: in run, and at the end for late ones.
  void handle_relation_signal(Signal& s) noexcept;
  /// Scans for the pending receive; true when it is over (matched or timed out).
  bool poll_receive();
  void end_receive() noexcept;
  void terminate(ExitReason reason) noexcept;
  ExitReason root_result() noexcept;
  void answer_info_request(const Signal& s) noexcept;

  std::coroutine_handle<> root_;
  std::coroutine_handle<> resume_at_;
  Suspend suspend_ = Suspend::resume;
  bool timed_out_ = false;
  bool receive_yield_ = false;  // the pending receive yields before it scans
  ReceiveRequest* receive_ = nullptr;
  std::uint64_t receive_seq_ = 0;
  TimerHandle receive_timer_;
  BlockingCall* blocking_ = nullptr;
  std::optional<ExitReason> pending_exit_;
  std::unique_ptr<Relations> relations_;
};

}  // namespace ambitious::detail
