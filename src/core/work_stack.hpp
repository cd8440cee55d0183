#pragma once
// Private: the explicit stack of the core's term walks (compare, hash, print, encode, decode).

#include <cstddef>
#include <cstring>
#include <memory>
#include <type_traits>

namespace ambitious::detail {

/// A LIFO of trivially copyable frames, contiguous: the first N in place (uninitialized, so a
/// walk of a shallow term costs no allocation and no zeroing), then on the heap, doubling.
/// Walking a term with it takes stack space independent of the term's depth. A push may move
/// the frames: it invalidates references to them.
template <typename T, std::size_t N>
class WorkStack {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  WorkStack() noexcept : base_(inline_), top_(inline_), end_(inline_ + N) {}
  WorkStack(const WorkStack&) = delete;
  WorkStack& operator=(const WorkStack&) = delete;

  bool empty() const noexcept { return top_ == base_; }
  std::size_t size() const noexcept { return static_cast<std::size_t>(top_ - base_); }
  T& top() noexcept { return top_[-1]; }
  /// Throws std::bad_alloc when the frames outgrow their room and more cannot be allocated.
  void push(const T& frame) {
    if (top_ == end_) grow();
    *top_++ = frame;
  }
  void pop() noexcept { --top_; }

 private:
  void grow() {
    std::size_t n = size();
    auto bigger = std::make_unique_for_overwrite<T[]>(2 * n);
    std::memcpy(static_cast<void*>(bigger.get()), base_, n * sizeof(T));
    heap_ = std::move(bigger);
    base_ = heap_.get();
    top_ = base_ + n;
    end_ = base_ + 2 * n;
  }

  T* base_;
  T* top_;  // one past the top frame
  T* end_;
  std::unique_ptr<T[]> heap_;
  T inline_[N];  // trivial: left uninitialized until pushed
};

}  // namespace ambitious::detail
