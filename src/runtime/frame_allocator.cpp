#include <mimalloc.h>

#include <new>

#include "ambitious/runtime/task.hpp"

namespace ambitious::detail {

void* allocate_frame(std::size_t size) {
  void* p = mi_malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}

void free_frame(void* p, std::size_t) noexcept { mi_free(p); }

}  // namespace ambitious::detail
