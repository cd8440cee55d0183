#pragma once
// Task<T>: the coroutine type of process bodies and of everything they co_await.

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <utility>

namespace ambitious {
namespace detail {

/// Frames come from mimalloc's per-thread heaps: a pooled, lock-free allocation on the hot path,
/// and frees from another worker (after work stealing) go back to the owning heap.
void* allocate_frame(std::size_t size);
void free_frame(void* p, std::size_t size) noexcept;

struct PromiseBase {
  std::coroutine_handle<> continuation;  // who awaits this task; null for a process's root
  std::exception_ptr exception;

  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* p, std::size_t size) noexcept { free_frame(p, size); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      // Symmetric transfer back to the awaiting coroutine; a root returns to its scheduler.
      auto next = h.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

// The value is an optional, not a variant: the same layout and code, and far less for the
// compiler to instantiate for each T (a variant's special members visit their alternatives).
template <class T>
struct Promise : PromiseBase {
  std::optional<T> value;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    if (exception) std::rethrow_exception(exception);
    return std::move(*value);
  }
};

template <>
struct Promise<void> : PromiseBase {
  void return_void() noexcept {}
  void take() {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace detail

/// A lazy, move-only coroutine returning T. It starts when awaited (or when a process it is the
/// body of is first scheduled) and resumes its awaiter by symmetric transfer when it ends.
template <class T = void>
class [[nodiscard]] Task {
 public:
  /// The coroutine's promise (the C++ machinery that makes a function returning Task a
  /// coroutine).
  struct promise_type : detail::Promise<T> {
    /// The Task that owns the new coroutine's frame.
    Task get_return_object() noexcept {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
  };
  /// The handle of the coroutine's frame.
  using Handle = std::coroutine_handle<promise_type>;

  /// A Task with no coroutine.
  Task() noexcept = default;
  /// Takes `other`'s coroutine; `other` holds none after.
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  /// Destroys the coroutine held (if any) and takes `other`'s.
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  ~Task() {
    if (handle_) handle_.destroy();
  }

  /// `co_await std::move(task)` (or on a temporary): runs the coroutine, then gives its
  /// result or rethrows its exception.
  auto operator co_await() && noexcept {
    struct Awaiter {
      Handle h;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h.promise().continuation = awaiting;
        return h;
      }
      T await_resume() { return h.promise().take(); }
    };
    return Awaiter{handle_};
  }
  /// A Task runs once, so awaiting a named one must say that it is used up.
  template <class Self = Task>
  void operator co_await() & {
    static_assert(sizeof(Self) == 0,
                  "co_await on a Task variable: write co_await std::move(task) (a Task runs once)");
  }

  /// True when the task holds a coroutine (false once moved from, or default-constructed).
  explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

  /// Gives up ownership of the frame (the runtime takes it for a process's root).
  Handle release() noexcept { return std::exchange(handle_, {}); }

 private:
  explicit Task(Handle h) noexcept : handle_(h) {}
  Handle handle_;
};

/// Whether T is a Task; `value_type` is what it gives.
template <class T>
struct is_task : std::false_type {};
/// A Task: `value_type` is what it gives.
template <class T>
struct is_task<Task<T>> : std::true_type {
  using value_type = T;  ///< what awaiting the Task gives
};

/// What awaiting an R gives, or R itself when it is not a Task: a handler's result, whether it
/// returns it or a Task of it.
template <class R>
struct unwrap_task {
  using type = R;  ///< R itself
};
/// What awaiting a Task<T> gives: T.
template <class T>
struct unwrap_task<Task<T>> {
  using type = T;  ///< T
};
/// What awaiting an R gives, or R itself when it is not a Task.
template <class R>
using unwrap_task_t = typename unwrap_task<R>::type;

}  // namespace ambitious
