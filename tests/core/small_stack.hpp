#pragma once
// Runs a test body on a thread with a small stack, to prove that what it does takes stack space
// independent of the depth of the terms it handles (std::thread gives 8 MB, the main thread
// 8 MB too: recursion a million levels deep needs far more than either, and 256 KiB fits a
// few thousand frames at most).

#include <gtest/gtest.h>
#include <pthread.h>

#include <cstddef>
#include <exception>
#include <functional>

namespace ambitious::test {

inline constexpr std::size_t small_stack = 256 * 1024;

/// Runs `body` to completion on a new thread with a stack of `bytes`; an exception it throws is
/// rethrown here.
inline void on_small_stack(const std::function<void()>& body, std::size_t bytes = small_stack) {
  struct Call {
    const std::function<void()>& body;
    std::exception_ptr error;
  } call{body, nullptr};
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, bytes), 0);
  pthread_t thread;
  auto run = [](void* arg) -> void* {
    auto* c = static_cast<Call*>(arg);
    try {
      c->body();
    } catch (...) {
      c->error = std::current_exception();
    }
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&thread, &attr, run, &call), 0);
  pthread_attr_destroy(&attr);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
  if (call.error) std::rethrow_exception(call.error);
}

}  // namespace ambitious::test
