// expect: after\(timeout, f\) must be the last clause
#include <chrono>

#include "ambitious/process/receive.hpp"
#include "ambitious/runtime/task.hpp"

struct Ping {};

ambitious::Task<> body() {
  co_await ambitious::receive(ambitious::after(std::chrono::seconds(1), [] {}), [](Ping) {});
}
