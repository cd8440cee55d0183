// g++ 12 trap, form 3: a braced init list in a co_await full-expression does not compile
// ("array used as initializer", GCC bug 103871): the list's backing array is copied into the
// coroutine frame as if it were a value.
#include <coroutine>
#include <cstdio>
#include <vector>

struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() {}
  };
};

struct Ready {
  bool await_ready() noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) noexcept {}
  void await_resume() noexcept {}
};
std::size_t size = 0;
Ready call(std::vector<int> v) {
  size = v.size();
  return {};
}

Detached braced_list() { co_await call(std::vector<int>{1, 2}); }

int main() {
  braced_list();
  std::printf("%-36s size %zu\n", "co_await call(std::vector<int>{1, 2})", size);
  return 0;
}
