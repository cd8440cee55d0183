#pragma once
// SmallVector<T>: a vector that holds its first element in place and goes to the heap from the
// second: most registry keys have one holder with one value, and these take no allocation.
// The few members the registry uses, with std::vector's meaning; small enough to parse in every
// file that includes the umbrella header (Boost's small_vector costs several times more).

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace ambitious::detail {

template <class T>
class SmallVector {
 public:
  SmallVector() noexcept = default;
  SmallVector(SmallVector&& o) noexcept { take(o); }
  SmallVector& operator=(SmallVector&& o) noexcept {
    if (this != &o) {
      clear_and_free();
      take(o);
    }
    return *this;
  }
  SmallVector(const SmallVector&) = delete;
  SmallVector& operator=(const SmallVector&) = delete;
  ~SmallVector() { clear_and_free(); }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + size_; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + size_; }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  T& front() noexcept { return data()[0]; }
  T& back() noexcept { return data()[size_ - 1]; }

  void push_back(T value) {
    if (size_ == capacity()) grow();
    ::new (static_cast<void*>(data() + size_)) T(std::move(value));
    ++size_;
  }
  void pop_back() noexcept { data()[--size_].~T(); }
  /// Removes [first, last), moving the later elements down.
  void erase(T* first, T* last) noexcept {
    T* out = first;
    for (T* in = last; in != end(); ++in, ++out) *out = std::move(*in);
    while (end() != out) pop_back();
  }

 private:
  T* inline_slot() noexcept { return std::launder(reinterpret_cast<T*>(inline_)); }
  const T* inline_slot() const noexcept {
    return std::launder(reinterpret_cast<const T*>(inline_));
  }
  T* data() noexcept { return heap_ ? heap_ : inline_slot(); }
  const T* data() const noexcept { return heap_ ? heap_ : inline_slot(); }
  std::size_t capacity() const noexcept { return heap_ ? heap_capacity_ : 1; }

  void grow() {
    std::size_t cap = capacity() * 2;
    T* bigger = std::allocator<T>().allocate(cap);
    T* old = data();
    for (std::size_t i = 0; i < size_; ++i) {
      ::new (static_cast<void*>(bigger + i)) T(std::move(old[i]));
      old[i].~T();
    }
    if (heap_) std::allocator<T>().deallocate(heap_, heap_capacity_);
    heap_ = bigger;
    heap_capacity_ = cap;
  }
  void clear_and_free() noexcept {
    while (size_) pop_back();
    if (heap_) std::allocator<T>().deallocate(heap_, heap_capacity_);
    heap_ = nullptr;
    heap_capacity_ = 0;
  }
  // Takes o's elements (its heap block as it is, or its one element in place); `o` is left
  // empty. `this` holds nothing when called.
  void take(SmallVector& o) noexcept {
    if (o.heap_) {
      heap_ = std::exchange(o.heap_, nullptr);
      heap_capacity_ = std::exchange(o.heap_capacity_, 0);
      size_ = std::exchange(o.size_, 0);
    } else if (o.size_) {
      ::new (static_cast<void*>(inline_slot())) T(std::move(*o.inline_slot()));
      o.pop_back();
      size_ = 1;
    }
  }

  T* heap_ = nullptr;  // null while the elements (at most one) are in place
  std::size_t heap_capacity_ = 0;
  std::size_t size_ = 0;
  alignas(T) unsigned char inline_[sizeof(T)];
};

}  // namespace ambitious::detail
