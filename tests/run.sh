#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing, then builds and runs the tests in three configurations, each in
# its own build directory under build/:
#   normal  g++ -O2, warnings as errors, tests + examples + install test
#   asan    g++ -O1, AddressSanitizer + UndefinedBehaviorSanitizer (+ LSan)
#   tsan    clang-16 -O1, ThreadSanitizer
# Idempotent: reruns rebuild incrementally. Stops at the first failing
# stage; the output ends with that stage's ctest summary.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/.ci/install-deps"

jobs=${JOINERY_JOBS:-2}

stage() {
  local name=$1 exclude=$2
  shift 2
  echo "=== joinery tests: $name ==="
  cmake -S "$root" -B "build/$name" -DJOINERY_WERROR=ON "$@" >/dev/null
  cmake --build "build/$name" -j "$jobs"
  (cd "build/$name" && ctest -j "$jobs" --output-on-failure -LE "$exclude")
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

stage normal soak -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++
stage asan 'soak|package' -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DJOINERY_SANITIZE=address -DJOINERY_TEST_PACKAGE=OFF
stage tsan 'soak|package' -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-16 \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DJOINERY_SANITIZE=thread -DJOINERY_TEST_PACKAGE=OFF
