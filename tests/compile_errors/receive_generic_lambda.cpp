// expect: a clause must name the one message type it takes
#include "ambitious/process/receive.hpp"
#include "ambitious/runtime/task.hpp"

ambitious::Task<> body() {
  co_await ambitious::receive([](auto message) { (void)message; });
}
