# Fails if a test program of a standalone build includes a Boost header:
# with JOINERY_STANDALONE_ASIO, joinery and the tests include standalone Asio
# and no Boost header at all, though Debian's Boost is on the default include
# path. Lists, with the compiler's -M, every header that the test sources
# (tests/*_test.cpp, tests/main.cpp, tests/fuzz/*.cpp, and the examples but
# crawler.cpp) include with the flags
# of the test programs, and looks for Boost among them.
#   cmake -DROOT=<source dir> -DCXX=<compiler> -DINCLUDES=<a|b> -DDEFINES=<a|b>
#         -P no_boost_header.cmake
file(GLOB sources ${ROOT}/tests/*_test.cpp ${ROOT}/tests/main.cpp ${ROOT}/tests/fuzz/*.cpp
     ${ROOT}/examples/*.cpp)
# crawler.cpp uses Boost.Beast: the one example not built on standalone Asio.
list(FILTER sources EXCLUDE REGEX "/examples/crawler\\.cpp$")
set(flags -std=c++20)
string(REPLACE "|" ";" includes "${INCLUDES}")
foreach(dir IN LISTS includes)
  list(APPEND flags -I${dir})
endforeach()
string(REPLACE "|" ";" defines "${DEFINES}")
foreach(define IN LISTS defines)
  list(APPEND flags -D${define})
endforeach()
execute_process(COMMAND ${CXX} ${flags} -M ${sources} RESULT_VARIABLE rc OUTPUT_VARIABLE deps
                ERROR_VARIABLE errors)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${CXX} -M failed (${rc}):\n${errors}")
endif()
list(LENGTH sources count)
# Not vacuous: the sources must have seen standalone Asio.
string(REGEX MATCH "[^ ]*/asio/version\\.hpp" asio "${deps}")
if(NOT asio)
  message(FATAL_ERROR "the ${count} test and example sources include no asio/version.hpp: not standalone")
endif()
string(REGEX MATCHALL "[^ ]*/boost/[^ ]*\\.h(pp)?" boost "${deps}")
if(boost)
  list(REMOVE_DUPLICATES boost)
  list(JOIN boost "\n  " shown)
  message(FATAL_ERROR "Boost headers in a standalone build's test or example sources:\n  ${shown}")
endif()
message(STATUS "${count} test and example sources include standalone Asio (${asio}) and no Boost header")
