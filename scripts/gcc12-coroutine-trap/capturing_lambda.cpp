// g++ 12 trap, form 2: a lambda that captures by copy, made in a co_await full-expression, has
// its captures destroyed twice (GCC bug 100611). Prints how many captured objects are still
// alive after each form: 0 is right, -1 means one was destroyed twice.
#include <coroutine>
#include <cstdio>
#include <utility>

struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() {}
  };
};

int alive = 0;
struct Counted {
  Counted() { ++alive; }
  Counted(const Counted&) { ++alive; }
  ~Counted() { --alive; }
};

struct Ready {
  bool await_ready() noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) noexcept {}
  void await_resume() noexcept {}
};
template <class F>
Ready run(F) {  // takes a callable by value, as receive_if or blocking do
  return {};
}

Detached in_expression() {
  Counted c;
  co_await run([c] {});
}
Detached named_first() {
  Counted c;
  auto f = [c] {};
  co_await run(std::move(f));
}

int main() {
  in_expression();
  std::printf("%-36s %2d alive\n", "co_await run([c] {})", alive);
  alive = 0;
  named_first();
  std::printf("%-36s %2d alive\n", "auto f = [c] {}; co_await run(f)", alive);
  return 0;
}
