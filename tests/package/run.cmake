# Installs the joinery build tree into a temporary prefix, then configures,
# builds and runs the consumer in this directory against it.
foreach(var JOINERY_BUILD_DIR JOINERY_WORK_DIR JOINERY_CONSUMER_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

set(prefix ${JOINERY_WORK_DIR}/prefix)
set(build ${JOINERY_WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${prefix} ${build})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install ${JOINERY_BUILD_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${JOINERY_CONSUMER_DIR} -B ${build} -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${build})
run(${build}/consumer)
