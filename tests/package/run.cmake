# Builds and runs the consumer in this directory, consuming joinery the way
# JOINERY_CONSUME says: find_package (after installing the joinery build tree
# JOINERY_BUILD_DIR into a temporary prefix), add_subdirectory or
# fetchcontent (of the source tree JOINERY_SOURCE_DIR), or standalone:
# find_package of joinery::joinery_standalone on the standalone Asio tree
# JOINERY_STANDALONE_ASIO, with CMake unable to find Boost (skipped, with a
# message, when there is no such tree); then installs the consumer, whose
# exported targets link joinery.
foreach(var JOINERY_CONSUME JOINERY_WORK_DIR JOINERY_CONSUMER_DIR JOINERY_SOURCE_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

set(prefix ${JOINERY_WORK_DIR}/prefix)
set(build ${JOINERY_WORK_DIR}/consumer-build)
set(consumer_prefix ${JOINERY_WORK_DIR}/consumer-prefix)
file(REMOVE_RECURSE ${prefix} ${build} ${consumer_prefix})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

set(extra)
if(JOINERY_CONSUME STREQUAL "standalone")
  if(NOT EXISTS ${JOINERY_STANDALONE_ASIO}/asio/version.hpp)
    message(STATUS "skipped: no standalone Asio tree at '${JOINERY_STANDALONE_ASIO}' (only a "
                   "maintainer's machine has ../shared/vendor)")
    return()
  endif()
  set(extra -DJOINERY_STANDALONE_ASIO_INCLUDE_DIR=${JOINERY_STANDALONE_ASIO}
            -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON)
endif()
if(JOINERY_CONSUME MATCHES "find_package|standalone")
  run(${CMAKE_COMMAND} --install ${JOINERY_BUILD_DIR} --prefix ${prefix})
  list(APPEND extra -DCMAKE_PREFIX_PATH=${prefix})
  # The licence is installed with the headers, in share/doc/joinery.
  file(SHA256 ${JOINERY_SOURCE_DIR}/LICENSE license)
  if(NOT EXISTS ${prefix}/share/doc/joinery/LICENSE)
    message(FATAL_ERROR "the installed copy has no share/doc/joinery/LICENSE")
  endif()
  file(SHA256 ${prefix}/share/doc/joinery/LICENSE installed_license)
  if(NOT installed_license STREQUAL license)
    message(FATAL_ERROR "the installed LICENSE differs from the repository's")
  endif()
endif()
run(${CMAKE_COMMAND} -S ${JOINERY_CONSUMER_DIR} -B ${build} -DJOINERY_CONSUME=${JOINERY_CONSUME}
    -DJOINERY_SOURCE_DIR=${JOINERY_SOURCE_DIR} ${extra}
    -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${build})
run(${build}/consumer)

# The consumer's own export names joinery's target. Coming from source,
# joinery is not the top-level project: its install rules stay out of the
# consumer's installation (JOINERY_INSTALL is OFF).
run(${CMAKE_COMMAND} --install ${build} --prefix ${consumer_prefix})
file(READ ${consumer_prefix}/share/consumer/cmake/consumerTargets.cmake exported)
if(NOT exported MATCHES "joinery::joinery")
  message(FATAL_ERROR "the consumer's exported targets do not name joinery's target")
endif()
if(JOINERY_CONSUME MATCHES "add_subdirectory|fetchcontent"
   AND EXISTS ${consumer_prefix}/include/joinery.hpp)
  message(FATAL_ERROR "installing the consumer installed joinery's headers (JOINERY_INSTALL OFF)")
endif()
