#include <new>

#if AMBITIOUS_MIMALLOC
#include <mimalloc.h>
#endif

#include "ambitious/runtime/task.hpp"

namespace ambitious::detail {

#if !AMBITIOUS_MIMALLOC || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Without mimalloc (AMBITIOUS_MIMALLOC=OFF), frames come from the program's operator new. So do
// they in sanitizer builds: from mimalloc's heaps the sanitizers would see neither a use after
// free, nor a leak, nor the hand-over of recycled memory between threads.
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
