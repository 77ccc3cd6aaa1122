#!/usr/bin/env bash
# Compile cost of joinery for a user's translation unit: the same small
# program written with plain Asio (bench/compile/plain_asio.cpp), with
# join_map (join_map.cpp) and with join_set (join_set.cpp), each compiled
# three times with g++ in two modes (-fsyntax-only; -O2 -c), medians of
# user CPU time and ratios to plain Asio printed as a table. Also lists the abseil headers
# each TU includes (join_set.cpp must include none).
#
#   bench/compile_cost.sh [extra compiler flags...]
#   CXX=clang++-16 bench/compile_cost.sh
#   bench/compile_cost.sh --headers   where a join_map TU's extra time goes
#
# --headers: -fsyntax-only user time (the least of JOINERY_COMPILE_ROUNDS runs:
# the least is the steadiest figure on a noisy machine) of plain_asio.cpp's
# #includes alone, then with each header that join_map.hpp brings in on top
# of them, then with join_map.hpp itself.
#
# Targets (docs/performance.md): join_map.cpp <= 1.5x plain_asio.cpp in
# both modes; join_set.cpp includes no abseil header.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cxx=${CXX:-g++}
rounds=${JOINERY_COMPILE_ROUNDS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
headers=0
if [ "${1:-}" = --headers ]; then
  headers=1
  shift
fi
flags=(-std=c++20 -I"$root/include" "$@")

# User CPU seconds of one compilation of "$@".
user_time() { { /usr/bin/time -f %U "$@" >/dev/null; } 2>&1 | tail -1; }

# The median of the numbers on stdin, and their least.
median() { sort -g | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }'; }
least() { sort -g | head -1; }

# Every measurement is of user CPU time, and the rounds are interleaved (each
# round compiles every file once): this virtual machine's speed drifts by a
# third over minutes, which a file measured in a block of its own would
# take for its cost.
if [ "$headers" = 1 ]; then
  base="$out/plain_includes.hpp"
  grep '^#include' "$root/bench/compile/plain_asio.cpp" >"$base"
  labels=("(nothing)")
  printf '#include "%s"\n' "$base" >"$out/probe0.cpp"
  n=1
  for h in absl/hash/hash.h boost/system/result.hpp ranges boost/asio/deferred.hpp \
    boost/asio/compose.hpp boost/asio/thread_pool.hpp joinery/join_set.hpp joinery/join_map.hpp; do
    labels+=("<$h>")
    printf '#include "%s"\n#include <%s>\n' "$base" "$h" >"$out/probe$n.cpp"
    n=$((n + 1))
  done
  for ((r = 0; r < rounds; r++)); do
    for ((i = 0; i < n; i++)); do
      user_time "$cxx" "${flags[@]}" -fsyntax-only "$out/probe$i.cpp" >>"$out/t$i"
    done
  done
  echo "compiler: $("$cxx" --version | head -1); load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| plain_asio.cpp's includes, plus | least user s of $rounds | added |"
  echo "|---|---:|---:|"
  t0=$(least <"$out/t0")
  for ((i = 0; i < n; i++)); do
    t=$(least <"$out/t$i")
    printf '| %s | %s | %s |\n' "${labels[$i]}" "$t" "$(awk -v a="$t" -v b="$t0" 'BEGIN { printf "%+.2f", a - b }')"
  done
  exit 0
fi

files=(plain_asio join_map join_set)
declare -A syn opt absl
for ((r = 0; r < rounds; r++)); do
  for f in "${files[@]}"; do
    src="$root/bench/compile/$f.cpp"
    user_time "$cxx" "${flags[@]}" -fsyntax-only "$src" >>"$out/$f.syn"
    user_time "$cxx" "${flags[@]}" -O2 -c "$src" -o "$out/$f.o" >>"$out/$f.opt"
  done
done
for f in "${files[@]}"; do
  syn[$f]=$(median <"$out/$f.syn")
  opt[$f]=$(median <"$out/$f.opt")
  absl[$f]=$("$cxx" "${flags[@]}" -M "$root/bench/compile/$f.cpp" | tr ' \\' '\n\n' | grep -c '/absl/' || true)
done

echo "compiler: $("$cxx" --version | head -1); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| TU | -fsyntax-only user s | ratio | -O2 -c user s | ratio | abseil headers |"
echo "|---|---:|---:|---:|---:|---:|"
for f in "${files[@]}"; do
  rs=$(awk -v a="${syn[$f]}" -v b="${syn[plain_asio]}" 'BEGIN { print a / b }')
  ro=$(awk -v a="${opt[$f]}" -v b="${opt[plain_asio]}" 'BEGIN { print a / b }')
  printf '| %s.cpp | %s | %.2f | %s | %.2f | %s |\n' "$f" "${syn[$f]}" "$rs" "${opt[$f]}" "$ro" "${absl[$f]}"
done
