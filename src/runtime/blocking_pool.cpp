#include "ambitious/runtime/blocking_pool.hpp"

#include "ambitious/runtime/thread_name.hpp"

namespace ambitious::detail {

BlockingPool::~BlockingPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void BlockingPool::submit(BlockingJob* job) {
  std::lock_guard lock(mutex_);
  job->next_job = nullptr;
  if (tail_)
    tail_->next_job = job;
  else
    head_ = job;
  tail_ = job;
  if (idle_ > 0)
    cv_.notify_one();
  else if (threads_.size() < max_threads_)
    threads_.emplace_back([this] {
      name_this_thread("ambitious-block");
      loop();
    });
}

void BlockingPool::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    while (!head_ && !stopping_) {
      ++idle_;
      cv_.wait(lock);
      --idle_;
    }
    if (!head_) return;  // stopping, and every job submitted has run
    BlockingJob* job = head_;
    head_ = job->next_job;
    if (!head_) tail_ = nullptr;
    lock.unlock();
    job->run();
    lock.lock();
  }
}

}  // namespace ambitious::detail
