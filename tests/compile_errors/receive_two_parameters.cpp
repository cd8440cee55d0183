// expect: a clause takes exactly one parameter, the message
#include "ambitious/process/receive.hpp"
#include "ambitious/runtime/task.hpp"

struct Ping {};

ambitious::Task<> body() {
  co_await ambitious::receive([](Ping, int) {});
}
