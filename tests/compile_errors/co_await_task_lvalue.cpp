// expect: co_await on a Task variable: write co_await std::move\(task\)
#include "ambitious/runtime/task.hpp"

ambitious::Task<int> one() { co_return 1; }

ambitious::Task<> body() {
  ambitious::Task<int> t = one();
  (void)co_await t;
}
