# Fails if a test awaits inside a Catch2 assertion. Catch2 v2's macros hand
# the expression to __builtin_constant_p, and g++ 12 evaluates a co_await
# there: `CHECK_FALSE(co_await f())` runs f three times, so an extra join can
# swallow a leftover result and let a bug pass. Await into a local first.
#   cmake -DROOT=<source dir> -P no_co_await_in_assertions.cmake
file(GLOB_RECURSE sources ${ROOT}/tests/*.cpp ${ROOT}/tests/*.hpp ${ROOT}/examples/*.cpp)
set(found "")
foreach(source IN LISTS sources)
  file(STRINGS ${source} lines REGEX "(REQUIRE|CHECK)[A-Z_]*\\(.*co_await")
  foreach(line IN LISTS lines)
    string(APPEND found "\n  ${source}: ${line}")
  endforeach()
endforeach()
if(found)
  message(FATAL_ERROR "co_await inside a Catch2 assertion (await into a local first):${found}")
endif()
message(STATUS "no co_await inside an assertion")
