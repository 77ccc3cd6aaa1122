#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing, then builds and tests joinery in every configuration of the
# matrix (CMakePresets.json), each in its own build directory under build/:
#   normal    g++ -O2: tests, examples, the consumers (find_package,
#             add_subdirectory, FetchContent; joinery::joinery_standalone
#             without Boost) and the pkg-config test, the benchmark's smoke
#             run; then valgrind memcheck on a reduced stress run
#   gasan-O0  g++ -O0, AddressSanitizer + UndefinedBehaviorSanitizer (+ LSan),
#             against Boost.Asio 1.38.0 (Boost 1.90, the latest) when its
#             header tree is present in ../shared/vendor/ (a maintainer's
#             machine), else the system's
#   (gasan-O2, g++ -O2 with the same sanitizers, is a preset to run by hand)
#   casan     clang-16 -O1, the same sanitizers; then the libFuzzer targets:
#             the differential fuzzer for >= 200,000 executions and the
#             multi-threaded one for >= 20,000, failing on any finding
#   tsan      clang-16 -O1, ThreadSanitizer (a canary race must be reported);
#             then the concurrency tests again, until-fail:20
#   asio-1.28 g++ -O2 against Boost.Asio 1.28.2 (Boost 1.83, Debian 13 and
#             Ubuntu 24.04), when its header tree is present in
#             ../shared/vendor/; skipped with a message otherwise
#   standalone-1.28, standalone-1.38
#             g++ -O2 against standalone Asio 1.28.2 and 1.38.2, without
#             Boost (JOINERY_BOOST_ASIO=OFF: the test programs link
#             joinery::joinery_standalone and include no Boost header; on
#             1.38.2 the examples too, but crawler), when those header trees
#             are present in ../shared/vendor/; skipped with a message
#             otherwise
# Every build also replays the committed fuzz corpora. Idempotent: reruns
# rebuild incrementally. Stops at the first failure; the output ends with
# ctest's summary.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/.ci/install-deps" valgrind

jobs=${JOINERY_JOBS:-2}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

configure_and_build() {
  local name=$1
  shift
  echo "=== joinery tests: $name (at ${SECONDS} s) ==="
  cmake --preset "$name" "$@" >/dev/null
  cmake --build "build/$name" -j "$jobs"
}

run_ctest() {
  local name=$1
  shift
  (cd "build/$name" && ctest -j "$jobs" --output-on-failure "$@")
}

configure_and_build normal
run_ctest normal -LE 'soak|concurrency'
echo "=== valgrind memcheck: reduced stress run (at ${SECONDS} s) ==="
valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --fair-sched=yes \
  build/normal/tests/joinery-tests "[valgrind]"

# Other Boost.Asio versions: only Asio's headers are replaced (the rest of
# Boost stays the system's 1.81). The trees are not part of the repository.
vendor="$root/../shared/vendor"
asio_tree() { echo "$vendor/boost-asio-$1/include"; }
have_asio() { [ -f "$(asio_tree "$1")/boost/asio/version.hpp" ]; }

# The g++ sanitizer build doubles as the build against the latest Asio, so
# that it costs no build of its own. (An -O2 g++ sanitizer build beside it,
# gasan-O2, cost 12 minutes of CI for what casan's clang -O1 build and this
# one cover: it is a preset to run by hand.)
if have_asio 1.38.0; then
  configure_and_build gasan-O0 -DJOINERY_ASIO_INCLUDE_DIR="$(asio_tree 1.38.0)"
else
  echo "=== gasan-O0: no Boost.Asio 1.38.0 tree at $(asio_tree 1.38.0): built against the" \
    "system's Asio (only a maintainer's machine has ../shared/vendor) ==="
  configure_and_build gasan-O0 -DJOINERY_ASIO_INCLUDE_DIR=
fi
run_ctest gasan-O0 -LE 'soak|concurrency'

configure_and_build casan
run_ctest casan -LE 'soak|concurrency'
fuzz() {
  local target=$1 runs=$2 corpus=$3
  local found="build/casan/fuzz-$target"
  rm -rf "$found" && mkdir -p "$found"
  echo "=== fuzzing: $target, $runs executions (at ${SECONDS} s) ==="
  # New inputs go to a scratch directory; the committed corpus is only read.
  "build/casan/tests/$target" -runs="$runs" -max_len=4096 -timeout=10 -detect_leaks=1 \
    -print_final_stats=1 "$found" "tests/fuzz/$corpus" 2>&1 | tee "build/casan/$target.log" |
    grep -E "^#[0-9]+ +(INITED|DONE)|^Done [0-9]+ runs|ERROR|divergence|broken"
  grep -q "^Done $runs runs" "build/casan/$target.log"
}
fuzz joinery-fuzz 200000 corpus
fuzz joinery-fuzz-threads 20000 corpus_threads

configure_and_build tsan
run_ctest tsan -LE 'soak|concurrency'
echo "=== concurrency tests under ThreadSanitizer, until-fail:20 (at ${SECONDS} s) ==="
run_ctest tsan -L concurrency --repeat until-fail:20

if have_asio 1.28.2; then
  configure_and_build asio-1.28 -DJOINERY_ASIO_INCLUDE_DIR="$(asio_tree 1.28.2)"
  run_ctest asio-1.28 -LE 'soak|concurrency'
else
  echo "=== joinery tests: asio-1.28 skipped: no Boost.Asio 1.28.2 tree at $(asio_tree 1.28.2)" \
    "(only a maintainer's machine has ../shared/vendor; the other builds ran) ==="
fi

# Standalone Asio, without Boost: the oldest supported and the latest. The
# test programs that are about Boost (snippets, header/warnings check,
# compile-fail checks, consumers) stay in the builds above.
standalone_tree() { echo "$vendor/asio-$1/include"; }
for version in 1.28.2 1.38.2; do
  preset=standalone-${version%.*}
  if [ -f "$(standalone_tree "$version")/asio/version.hpp" ]; then
    configure_and_build "$preset" -DJOINERY_STANDALONE_ASIO_INCLUDE_DIR="$(standalone_tree "$version")"
    run_ctest "$preset" -LE 'soak|concurrency'
  else
    echo "=== joinery tests: $preset skipped: no standalone Asio $version tree at" \
      "$(standalone_tree "$version") (only a maintainer's machine has ../shared/vendor;" \
      "the other builds ran) ==="
  fi
done
echo "=== all builds passed in ${SECONDS} s ==="
