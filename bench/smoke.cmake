# The bench.smoke test: runs each workload once for joinery and for the
# mapped floor at N=1000 and fails if any run fails (a wrong sum or count
# makes joinery-bench exit non-zero).
#
#   cmake -DBENCH=/path/to/joinery-bench -P smoke.cmake

if(NOT BENCH)
  message(FATAL_ERROR "smoke.cmake: pass -DBENCH=<path to joinery-bench>")
endif()

set(_runs
    "w1 1000 joinery" "w1 1000 joinery-await" "w1 1000 mapped"
    "w2 1000 joinery" "w2 1000 mapped"
    "w3 1000 joinery" "w3 1000 mapped"
    "w4 1000 joinery" "w4 1000 mapped"
    "w5 1000 joinery" "w5 1000 mapped"
    "w6 1000 joinery --threads 2" "w6 1000 mapped --threads 2")

foreach(_run IN LISTS _runs)
  separate_arguments(_args UNIX_COMMAND "${_run}")
  execute_process(
    COMMAND ${BENCH} ${_args}
    RESULT_VARIABLE _rc
    OUTPUT_VARIABLE _out
    ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "joinery-bench ${_run}: exit ${_rc}\n${_out}${_err}")
  endif()
  if(NOT _out MATCHES "^workload W[1-6] impl [a-z-]+ n 1000 rep 0 ns_per_task [0-9.]+ ")
    message(FATAL_ERROR "joinery-bench ${_run}: unexpected output: ${_out}")
  endif()
  string(STRIP "${_out}" _out)
  message(STATUS "${_out}")
endforeach()
