#pragma once
// exception_cast: the object inside a std::exception_ptr, without rethrowing it.
// Part of the runtime layer's interface to the process layer above; applications do not use it.

#include <exception>
#include <typeinfo>

namespace ambitious::detail {

/// The exception held by `e` as a `const T*` when it is a T (or derives from one), else null.
/// Rethrowing to find out costs a second unwind, which would double the price of every process
/// that ends by exit(reason). This is C++26's std::exception_ptr_cast, written for libstdc++ (the
/// only standard library we build with): an exception_ptr holds the address of the thrown object,
/// and the type_info matching that `catch` uses adjusts it to the base T.
template <class T>
const T* exception_cast(const std::exception_ptr& e) noexcept {
#if defined(__GLIBCXX__)
  static_assert(sizeof(std::exception_ptr) == sizeof(void*));
  if (!e) return nullptr;
  void* object = *reinterpret_cast<void* const*>(&e);
  const std::type_info* thrown = e.__cxa_exception_type();
  if (thrown && typeid(T).__do_catch(thrown, &object, 1)) return static_cast<const T*>(object);
  return nullptr;
#else
  try {
    if (e) std::rethrow_exception(e);
  } catch (const T& t) {
    return &t;
  } catch (...) {
  }
  return nullptr;
#endif
}

}  // namespace ambitious::detail
