#!/usr/bin/env bash
# The examples, from a fresh Debian 12 machine: installs what is missing,
# builds them (Release, in build/examples) and runs each one in turn (the
# echo server in --demo mode, against real clients on real sockets).
# Idempotent: reruns rebuild incrementally.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/.ci/install-deps" --examples

cmake -S "$root" -B build/examples -DCMAKE_BUILD_TYPE=Release -DJOINERY_BUILD_TESTS=OFF \
  -DJOINERY_BUILD_EXAMPLES=ON -DJOINERY_BUILD_BENCH=OFF >/dev/null
cmake --build build/examples -j "${JOINERY_JOBS:-2}"

run() {
  echo "=== example: $* ==="
  "build/examples/examples/$@"
}
run echo_server --demo
run keyed_cancel
run deadline
run crawler
run fan_out
run blocking
echo "=== all examples ran ==="
