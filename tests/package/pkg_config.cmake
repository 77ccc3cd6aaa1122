# The pkg-config test: installs the joinery build tree JOINERY_BUILD_DIR into
# a temporary prefix and builds consumer.cpp the way a build without CMake
# does, with exactly
#   g++ -std=c++20 app.cpp $(pkg-config --cflags --libs joinery)
# (g++ being CMAKE_CXX_COMPILER), and runs it; then the same with
# joinery-standalone.pc and the standalone Asio tree JOINERY_STANDALONE_ASIO
# added with -I (not tested, with a message, when there is no such tree).
foreach(var JOINERY_BUILD_DIR JOINERY_WORK_DIR JOINERY_CONSUMER_DIR CMAKE_CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()
find_program(pkg_config pkg-config)
if(NOT pkg_config)
  message(FATAL_ERROR "no pkg-config (Debian 12: pkgconf; .ci/install-deps installs it)")
endif()

set(prefix ${JOINERY_WORK_DIR}/prefix)
file(REMOVE_RECURSE ${JOINERY_WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${JOINERY_BUILD_DIR} --prefix ${prefix}
                OUTPUT_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "installing ${JOINERY_BUILD_DIR} failed (${rc})")
endif()

# Builds app.cpp in a directory of its own with `<flags> app.cpp
# $(pkg-config --cflags --libs <module>)` and runs the a.out it makes.
function(build_and_run module flags)
  set(dir ${JOINERY_WORK_DIR}/${module})
  file(MAKE_DIRECTORY ${dir})
  configure_file(${JOINERY_CONSUMER_DIR}/consumer.cpp ${dir}/app.cpp COPYONLY)
  set(command "${CMAKE_CXX_COMPILER} ${flags} app.cpp $(pkg-config --cflags --libs ${module})")
  message(STATUS "${module}: ${command}")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${prefix}/share/pkgconfig
                          sh -c "${command}"
                  WORKING_DIRECTORY ${dir} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${module}: the build failed (${rc})")
  endif()
  execute_process(COMMAND ${dir}/a.out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${module}: the program failed (${rc})")
  endif()
endfunction()

build_and_run(joinery "-std=c++20")
if(EXISTS ${JOINERY_STANDALONE_ASIO}/asio/version.hpp)
  build_and_run(joinery-standalone "-std=c++20 -I${JOINERY_STANDALONE_ASIO}")
else()
  message(STATUS "joinery-standalone.pc not tested: no standalone Asio tree at "
                 "'${JOINERY_STANDALONE_ASIO}' (only a maintainer's machine has ../shared/vendor)")
endif()
