#include "ambitious/runtime/thread_name.hpp"

#include <pthread.h>

#include <algorithm>
#include <array>

namespace ambitious::detail {

void name_this_thread(std::string_view name) noexcept {
#if defined(__linux__)
  // The kernel keeps 16 bytes with the terminating zero; a longer name fails with ERANGE.
  std::array<char, 16> cut{};
  const std::size_t n = std::min(name.size(), cut.size() - 1);
  std::copy_n(name.data(), n, cut.data());
  pthread_setname_np(pthread_self(), cut.data());
#else
  (void)name;
#endif
}

}  // namespace ambitious::detail
