# Sanitizer builds. g++ 12 coroutines rely on tail calls for symmetric transfer: without
# -foptimize-sibling-calls, long resume chains overflow the stack at -O1 and under ASan.
# -g1 (after the build type's -g, so it wins): line tables only, which is all a sanitizer's
# report needs for file:line, at a fraction of full debug info's compile and link time (the two
# sanitizer builds are most of CI's time).
if(AMBITIOUS_ENABLE_SANITIZERS)
  add_compile_options(-fsanitize=${AMBITIOUS_SANITIZERS} -fno-omit-frame-pointer
                      -foptimize-sibling-calls -fno-sanitize-recover=all -g1)
  add_link_options(-fsanitize=${AMBITIOUS_SANITIZERS})
  if(AMBITIOUS_SANITIZERS MATCHES "thread")
    add_compile_definitions(AMBITIOUS_TSAN=1)
  endif()
endif()
