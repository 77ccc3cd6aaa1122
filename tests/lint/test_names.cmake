# Fails if a test case's name cannot be a ctest test of its own: a `;` in
# the name is a list separator to catch_discover_tests, which then makes
# two ctest tests whose filters match nothing (and, without `-w NoTests`,
# pass). Lists the names the test program reports.
#   cmake -DEXE=<test program> -P test_names.cmake
# (Catch2 v2 exits with the number of test cases listed, not 0.)
execute_process(COMMAND ${EXE} --list-test-names-only OUTPUT_VARIABLE names)
if(names STREQUAL "")
  message(FATAL_ERROR "${EXE} --list-test-names-only listed no test case")
endif()
string(FIND "${names}" ";" at)
if(NOT at EQUAL -1)
  string(REPLACE ";" "<;>" shown "${names}")
  message(FATAL_ERROR "a test case name contains `;` (use `:` or `,`):\n${shown}")
endif()
message(STATUS "every test case name is one ctest test")
