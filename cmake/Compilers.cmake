# Supported compilers: g++ 12 and later, clang 16 and later (both with libstdc++ 12 or later).
#
# clang before 19 reports __cpp_concepts as 201907L, and libstdc++ offers std::expected (which
# the public API returns) only when __cpp_concepts >= 202002L. Clang 16 implements what
# <expected> needs (P0848, conditionally trivial special members); clang 19 raised the macro
# itself (llvm-project pull request 87998). So for clang 16 to 18 ambitious_compiler_settings()
# gives the target, and through its INTERFACE everything that links it (the installed package's
# consumers too), `-U__cpp_concepts -D__cpp_concepts=202002L`: undefined first, so that clang
# does not warn about a redefined macro. Every translation unit then sees the same value from its
# first line, whatever it includes first; a define in a header could not do that (a <expected>
# included before it would already be empty, its include guard set).
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
  message(FATAL_ERROR "ambitious needs clang 16 or later (clang ${CMAKE_CXX_COMPILER_VERSION} "
                      "lacks conditionally trivial destructors, which std::expected needs)")
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 12)
  message(FATAL_ERROR "ambitious needs g++ 12 or later (for <expected>)")
endif()

# The options of the comment above, as a generator expression evaluated for each consumer's own
# compiler (the library built with g++ and used from clang 16 gets them in the consumer only).
set(AMBITIOUS_CLANG_CONCEPTS_OPTIONS
    "$<$<AND:$<CXX_COMPILER_ID:Clang>,$<VERSION_GREATER_EQUAL:$<CXX_COMPILER_VERSION>,16>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,19>>:-U__cpp_concepts;-D__cpp_concepts=202002L>")

function(ambitious_compiler_settings target)
  target_compile_options(${target} PUBLIC "${AMBITIOUS_CLANG_CONCEPTS_OPTIONS}")
endfunction()
