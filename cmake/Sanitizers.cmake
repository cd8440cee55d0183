# Sanitizer builds. g++ 12 coroutines rely on tail calls for symmetric transfer: without
# -foptimize-sibling-calls, long resume chains overflow the stack at -O1 and under ASan.
# -g1: line tables only, which is all a sanitizer's report needs for file:line, at a fraction of
# full debug info's compile and link time. The presets build at -O1 (CMakePresets.json): one
# GenServer test file compiles with ASan+UBSan in 101 s at -O2 and 60 s at -O1, with TSan in
# 25 s and 18 s, and the sanitizer builds are most of CI's time.
if(AMBITIOUS_ENABLE_SANITIZERS)
  add_compile_options(-fsanitize=${AMBITIOUS_SANITIZERS} -fno-omit-frame-pointer
                      -foptimize-sibling-calls -fno-sanitize-recover=all -g1)
  add_link_options(-fsanitize=${AMBITIOUS_SANITIZERS})
  if(AMBITIOUS_SANITIZERS MATCHES "thread")
    add_compile_definitions(AMBITIOUS_TSAN=1)
  endif()
endif()
