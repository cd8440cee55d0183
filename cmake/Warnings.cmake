# Warnings for the project's own targets.
function(ambitious_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers -Wno-restrict
    -Werror=return-type)
endfunction()
