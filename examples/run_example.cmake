# Runs one example as a CTest test: it passes when the program exits with 0 and its output
# (stdout and stderr together) matches EXPECT. (PASS_REGULAR_EXPRESSION alone would ignore the
# exit code, so an example that crashed after printing its last line would pass.)
#   cmake -DEXAMPLE=<program> -DEXPECT=<regex> -P run_example.cmake
execute_process(COMMAND "${EXAMPLE}" OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
message("${out}")
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "${EXAMPLE} exited with ${rc}")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "the output of ${EXAMPLE} does not match: ${EXPECT}")
endif()
