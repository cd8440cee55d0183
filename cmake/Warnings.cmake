# Warnings for the project's own targets. -Wno-restrict is g++'s only (clang has no such warning
# and would warn about the unknown option).
function(ambitious_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers
    $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict> -Werror=return-type)
endfunction()
