#pragma once
// BlockingPool: threads for work that must block a thread, away from the workers.
// Part of the runtime layer's interface to the process layer above; applications do not use it.

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace ambitious::detail {

/// A unit of blocking work. run() happens on a pool thread; it must hand its result back itself.
struct BlockingJob {
  BlockingJob* next_job = nullptr;
  virtual void run() noexcept = 0;

 protected:
  ~BlockingJob() = default;
};

/// Grows a thread whenever a job finds every thread busy, up to `max_threads`; threads live until
/// the pool is destroyed, which waits for the jobs already submitted. submit() from any thread.
class BlockingPool {
 public:
  explicit BlockingPool(std::size_t max_threads) : max_threads_(max_threads) {}
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  void submit(BlockingJob* job);

 private:
  void loop();

  std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  BlockingJob* head_ = nullptr;  // FIFO of waiting jobs, guarded by mutex_
  BlockingJob* tail_ = nullptr;
  std::size_t idle_ = 0;  // threads waiting for a job, guarded by mutex_
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ambitious::detail
