// g++ 12 trap, form 1: a braced temporary whose type has a destructor, in a co_await
// full-expression, has its members destroyed twice (GCC bug 101976). Prints how many objects
// are still alive after each form: 0 is right, -1 means one was destroyed twice. (With a
// std::string member in place of Counted, the same program aborts: "free(): double free".)
#include <coroutine>
#include <cstdio>
#include <utility>

struct Detached {  // a coroutine that starts at once and frees itself at the end
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
struct SetName {  // a request with a member that has a destructor
  Counted name;
  int n;
};

struct Ready {  // an awaiter that does not suspend
  bool await_ready() noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) noexcept {}
  void await_resume() noexcept {}
};
Ready call(SetName) { return {}; }  // takes the request by value, as gen_server::call does
template <class Req, class... A>
Ready call_built(A&&... args) {  // builds the request itself, as gen_server::call<Req> does
  return call(Req{std::forward<A>(args)...});
}

Detached braced() { co_await call(SetName{Counted(), 1}); }
Detached named() {
  SetName request{Counted(), 1};
  co_await call(std::move(request));
}
Detached built() { co_await call_built<SetName>(Counted(), 1); }

int main() {
  braced();
  std::printf("%-36s %2d alive\n", "co_await call(SetName{...})", alive);
  alive = 0;
  named();
  std::printf("%-36s %2d alive\n", "named, then co_await call(move)", alive);
  alive = 0;
  built();
  std::printf("%-36s %2d alive\n", "co_await call_built<SetName>(...)", alive);
  return 0;
}
