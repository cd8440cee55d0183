#include "process_table.hpp"

#include <memory>
#include <stdexcept>

#include "ambitious/runtime/scheduler.hpp"
#include "process.hpp"

namespace ambitious::detail {

namespace {
constexpr std::size_t local_free_max = 4096;  // beyond this, half moves to the shared list
}

ProcessTable::ProcessTable(unsigned workers)
    : chunks_(std::make_unique<std::atomic<Slot*>[]>(max_chunks)), free_local_(workers) {}

ProcessTable::~ProcessTable() {
  for (std::uint32_t i = 0; i < max_chunks; ++i) delete[] chunks_[i].load();
}

std::uint32_t ProcessTable::take_id() {
  Worker* w = Worker::current();
  if (w && w->index() < free_local_.size()) {
    auto& local = free_local_[w->index()];
    if (!local.empty()) {
      std::uint32_t id = local.back();
      local.pop_back();
      return id;
    }
  }
  std::lock_guard lock(mutex_);
  if (!free_shared_.empty()) {
    std::uint32_t id = free_shared_.back();
    free_shared_.pop_back();
    return id;
  }
  std::uint32_t id = next_fresh_.load(std::memory_order_relaxed);
  if ((id >> chunk_bits) >= max_chunks)
    throw std::runtime_error("process table full (2^28 processes)");
  auto& chunk = chunks_[id >> chunk_bits];
  if (!chunk.load(std::memory_order_relaxed))
    chunk.store(new Slot[chunk_size], std::memory_order_release);
  next_fresh_.store(id + 1, std::memory_order_release);
  return id;
}

void ProcessTable::give_back_id(std::uint32_t id) noexcept {
  Worker* w = Worker::current();
  if (w && w->index() < free_local_.size()) {
    auto& local = free_local_[w->index()];
    local.push_back(id);
    if (local.size() > local_free_max) {
      std::lock_guard lock(mutex_);
      free_shared_.insert(free_shared_.end(), local.begin() + local_free_max / 2, local.end());
      local.resize(local_free_max / 2);
    }
    return;
  }
  std::lock_guard lock(mutex_);
  free_shared_.push_back(id);
}

Pid ProcessTable::insert(Process* p) {
  std::uint32_t id = take_id();
  Slot& s = slot(id);
  p->pid = Pid(nodes::local, id, s.serial);
  s.process.store(p, std::memory_order_release);
  count_.fetch_add(1, std::memory_order_relaxed);
  return p->pid;
}

Process* ProcessTable::lookup(Pid pid) const noexcept {
  if (!pid.is_local() || pid.id == 0 || pid.id >= next_fresh_.load(std::memory_order_acquire))
    return nullptr;
  Process* p = slot(pid.id).process.load(std::memory_order_acquire);
  // A reused slot holds a process with another serial: the pid asked for is dead.
  return p && p->pid == pid ? p : nullptr;
}

void ProcessTable::remove(Process* p) noexcept {
  Slot& s = slot(p->pid.id);
  s.process.store(nullptr, std::memory_order_release);
  ++s.serial;
  count_.fetch_sub(1, std::memory_order_relaxed);
  give_back_id(p->pid.id);
}

}  // namespace ambitious::detail
