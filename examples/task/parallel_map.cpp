// Tasks: a parallel map (one task per element, awaited in order), several tasks awaited
// together with a deadline, and a task that crashes under a task supervisor without taking its
// caller with it.

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include <ambitious/behaviours/dynamic_supervisor.hpp>
#include <ambitious/behaviours/task.hpp>
#include <ambitious/process/runtime.hpp>

using namespace ambitious;
using namespace std::chrono_literals;

// [snippet parallel_map]
// f(x) for each x, each in its own process (on every core), the results in order.
template <class T, class F>
Task<std::vector<std::invoke_result_t<F&, const T&>>> parallel_map(std::vector<T> in, F f) {
  using R = std::invoke_result_t<F&, const T&>;
  std::vector<AsyncTask<R>> tasks;
  for (const T& x : in) tasks.push_back(task::async([f, x] { return f(x); }));
  std::vector<R> out;
  for (auto& t : tasks) out.push_back(co_await task::await(t));  // a crash ends the caller
  co_return out;
}
// [snippet parallel_map]

long collatz_steps(long n) {
  long steps = 0;
  for (; n != 1; ++steps) n = n % 2 ? 3 * n + 1 : n / 2;
  return steps;
}

int main() {
  return run([]() -> Task<> {
    // [snippet use]
    std::vector<long> starts{27, 97, 871, 6171};
    std::vector<long> steps = co_await parallel_map(starts, collatz_steps);
    for (std::size_t i = 0; i < starts.size(); ++i)
      std::printf("%ld takes %ld steps\n", starts[i], steps[i]);
    // [snippet use]

    // [snippet yield_many]
    std::vector<AsyncTask<int>> tasks;
    tasks.push_back(task::async([] { return 1; }));
    tasks.push_back(task::async([]() -> Task<int> {
      co_await sleep(1h);  // too slow
      co_return 2;
    }));
    auto outcomes = co_await task::yield_many(tasks, 100ms);
    std::printf("after 100 ms: the first gave %d, the second %s\n", **outcomes[0],
                outcomes[1] ? "finished" : "is still running");
    co_await task::shutdown(tasks[1]);  // stops it
    // [snippet yield_many]

    // [snippet async_nolink]
    auto sup = co_await dynamic_supervisor::start_link();  // a task supervisor
    if (!sup) exit(sup.error());
    auto risky =
        co_await task::async_nolink(*sup, []() -> int { throw std::runtime_error("no luck"); });
    if (!risky) exit(risky.error());
    auto outcome = co_await task::yield(*risky, 1s);  // not linked: the crash is a value
    std::printf("the unlinked task crashed: %s\n", outcome->error().to_string().c_str());
    // [snippet async_nolink]
  });
}
