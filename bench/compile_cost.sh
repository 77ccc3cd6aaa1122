#!/usr/bin/env bash
# Compile cost of joinery for a user's translation unit: the same small
# program written with plain Asio (bench/compile/plain_asio.cpp), with
# join_map (join_map.cpp) and with join_set (join_set.cpp), each compiled
# three times with g++ in two modes (-fsyntax-only; -O2 -c), medians and
# ratios to plain Asio printed as a table. Also lists the abseil headers
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
flags=(-std=c++20 -I"$root/include" "$@")

# Median wall seconds of $rounds compilations of "$@".
median_time() {
  local times=()
  for ((r = 0; r < rounds; r++)); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }'
}

if [ "${1:-}" = --headers ]; then
  shift
  base="$out/plain_includes.hpp"
  grep '^#include' "$root/bench/compile/plain_asio.cpp" >"$base"
  least_user() {
    local best=""
    for ((r = 0; r < rounds; r++)); do
      local t
      t=$({ /usr/bin/time -f %U "$cxx" "${flags[@]}" -fsyntax-only "$1" >/dev/null; } 2>&1 | tail -1)
      best=$(awk -v a="$t" -v b="${best:-1e9}" 'BEGIN { print (a < b) ? a : b }')
    done
    echo "$best"
  }
  probe() {  # probe <label> <include line or empty>
    printf '#include "%s"\n%s\n' "$base" "$2" >"$out/probe.cpp"
    local t
    t=$(least_user "$out/probe.cpp")
    printf '| %s | %s | %s |\n' "$1" "$t" "$(awk -v a="$t" -v b="${t0:-$t}" 'BEGIN { printf "%+.2f", a - b }')"
  }
  echo "compiler: $("$cxx" --version | head -1); load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| plain_asio.cpp's includes, plus | user s | vs none |"
  echo "|---|---:|---:|"
  printf '#include "%s"\n' "$base" >"$out/probe.cpp"
  t0=$(least_user "$out/probe.cpp")
  printf '| (nothing) | %s | +0.00 |\n' "$t0"
  for h in absl/hash/hash.h boost/system/result.hpp ranges boost/asio/deferred.hpp \
    boost/asio/compose.hpp boost/asio/thread_pool.hpp joinery/join_set.hpp joinery/join_map.hpp; do
    probe "<$h>" "#include <$h>"
  done
  exit 0
fi

files=(plain_asio join_map join_set)
declare -A syn opt absl
for f in "${files[@]}"; do
  src="$root/bench/compile/$f.cpp"
  syn[$f]=$(median_time "$cxx" "${flags[@]}" -fsyntax-only "$src")
  opt[$f]=$(median_time "$cxx" "${flags[@]}" -O2 -c "$src" -o "$out/$f.o")
  absl[$f]=$("$cxx" "${flags[@]}" -M "$src" | tr ' \\' '\n\n' | grep -c '/absl/' || true)
done

echo "compiler: $("$cxx" --version | head -1); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| TU | -fsyntax-only s | ratio | -O2 -c s | ratio | abseil headers |"
echo "|---|---:|---:|---:|---:|---:|"
for f in "${files[@]}"; do
  rs=$(awk -v a="${syn[$f]}" -v b="${syn[plain_asio]}" 'BEGIN { print a / b }')
  ro=$(awk -v a="${opt[$f]}" -v b="${opt[plain_asio]}" 'BEGIN { print a / b }')
  printf '| %s.cpp | %s | %.2f | %s | %.2f | %s |\n' "$f" "${syn[$f]}" "$rs" "${opt[$f]}" "$ro" "${absl[$f]}"
done
