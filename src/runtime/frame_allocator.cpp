#include <mimalloc.h>

#include <new>

#include "ambitious/runtime/task.hpp"

namespace ambitious::detail {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Sanitizer builds take frames, messages and process blocks from the allocator the sanitizers
// intercept: from mimalloc's heaps they would see neither a use after free, nor a leak, nor the
// hand-over of recycled memory between threads.
void* allocate_frame(std::size_t size) { return ::operator new(size); }

void free_frame(void* p, std::size_t size) noexcept { ::operator delete(p, size); }
#else
void* allocate_frame(std::size_t size) {
  void* p = mi_malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}

void free_frame(void* p, std::size_t) noexcept { mi_free(p); }
#endif

}  // namespace ambitious::detail
