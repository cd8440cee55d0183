// expect: return types that have no common type
#include <string>

#include "ambitious/process/receive.hpp"
#include "ambitious/runtime/task.hpp"

struct Ping {};
struct Pong {};

ambitious::Task<> body() {
  co_await ambitious::receive([](Ping) { return 1; }, [](Pong) { return std::string("x"); });
}
