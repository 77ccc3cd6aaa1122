#!/usr/bin/env bash
# Compile cost of joinery for a user's translation unit: the same small
# program written with plain Asio (bench/compile/plain_asio.cpp), with
# join_map (join_map.cpp) and with join_set (join_set.cpp), each compiled
# JOINERY_COMPILE_ROUNDS times (default 5, interleaved) with g++ in two modes
# (-fsyntax-only; -O2 -c); medians of user CPU time and ratios to plain
# Asio printed as a table. Also lists the abseil headers each TU includes
# (join_set.cpp must include none).
#
#   bench/compile_cost.sh [extra compiler flags...]
#   CXX=clang++-16 bench/compile_cost.sh
#   bench/compile_cost.sh --standalone DIR [flags...]
#                         the same programs on standalone Asio (DIR: the
#                         directory holding asio.hpp): <boost/asio/...> and
#                         boost::asio become <asio/...> and asio, and
#                         JOINERY_STANDALONE_ASIO is defined
#   bench/compile_cost.sh --instructions [...]
#                         instructions executed by the compiler proper
#                         (valgrind's cachegrind on cc1plus, one round: the
#                         count is the same every run) instead of user
#                         time, which on a loaded machine moves by +-10 %
#   bench/compile_cost.sh --headers   where a join_map TU's extra time goes
#                         (Boost.Asio only; with --instructions, one round)
#
# --headers: -fsyntax-only user time (the least of JOINERY_COMPILE_ROUNDS runs:
# the least is the steadiest figure on a noisy machine) of plain_asio.cpp's
# #includes alone, then with each header that join_map.hpp brings in on top
# of them, then with join_map.hpp itself.
#
# Target (docs/performance.md): join_map.cpp <= 1.6x plain_asio.cpp in
# both modes, both Asio flavours; join_set.cpp includes no abseil header.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cxx=${CXX:-g++}
rounds=${JOINERY_COMPILE_ROUNDS:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
headers=0
standalone=""
measure=time
while (($#)); do
  case $1 in
    --headers) headers=1 ;;
    --instructions) measure=instructions ;;
    --standalone)
      standalone=$2
      shift
      ;;
    *) break ;;
  esac
  shift
done
flags=(-std=c++20 -I"$root/include" "$@")
srcdir=$root/bench/compile
if [ -n "$standalone" ]; then
  if [ ! -f "$standalone/asio.hpp" ]; then
    echo "bench/compile_cost.sh: no asio.hpp in $standalone" >&2
    exit 2
  fi
  flags=(-std=c++20 -DJOINERY_STANDALONE_ASIO -I"$root/include" -I"$standalone" "$@")
  srcdir=$out/src
  mkdir -p "$srcdir"
  for f in "$root"/bench/compile/*.cpp; do
    sed -e 's#<boost/asio/#<asio/#' -e 's#boost::asio#asio#g' "$f" >"$srcdir/$(basename "$f")"
  done
fi
if [ "$measure" = instructions ]; then
  "$root/.ci/install-deps" valgrind
  rounds=1
fi

# User CPU seconds of one compilation of "$@" (--instructions: billions of
# instructions of the compiler proper, cc1plus, under cachegrind).
user_time() {
  if [ "$measure" = instructions ]; then
    valgrind --tool=cachegrind --cache-sim=no --trace-children=yes --cachegrind-out-file=/dev/null \
      "$@" 2>&1 >/dev/null | awk '/I[ ]+refs/ { gsub(",", "", $4); if ($4 + 0 > m) m = $4 + 0 } END { printf "%.2f\n", m / 1e9 }'
  else
    { /usr/bin/time -f %U "$@" >/dev/null; } 2>&1 | tail -1
  fi
}

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
  for h in absl/hash/hash.h absl/container/flat_hash_set.h boost/system/result.hpp \
    boost/asio/deferred.hpp boost/asio/compose.hpp boost/asio/thread_pool.hpp \
    joinery/join_set.hpp joinery/join_map.hpp; do
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
    src="$srcdir/$f.cpp"
    user_time "$cxx" "${flags[@]}" -fsyntax-only "$src" >>"$out/$f.syn"
    user_time "$cxx" "${flags[@]}" -O2 -c "$src" -o "$out/$f.o" >>"$out/$f.opt"
  done
done
for f in "${files[@]}"; do
  syn[$f]=$(median <"$out/$f.syn")
  opt[$f]=$(median <"$out/$f.opt")
  absl[$f]=$("$cxx" "${flags[@]}" -M "$srcdir/$f.cpp" | tr ' \\' '\n\n' | grep -c '/absl/' || true)
done

unit="user s (median of $rounds)"
[ "$measure" = instructions ] && unit="G instructions"
echo "compiler: $("$cxx" --version | head -1); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Asio: ${standalone:-Boost.Asio}"
echo
echo "| TU | -fsyntax-only $unit | ratio | -O2 -c $unit | ratio | abseil headers |"
echo "|---|---:|---:|---:|---:|---:|"
for f in "${files[@]}"; do
  rs=$(awk -v a="${syn[$f]}" -v b="${syn[plain_asio]}" 'BEGIN { print a / b }')
  ro=$(awk -v a="${opt[$f]}" -v b="${opt[plain_asio]}" 'BEGIN { print a / b }')
  printf '| %s.cpp | %s | %.2f | %s | %.2f | %s |\n' "$f" "${syn[$f]}" "$rs" "${opt[$f]}" "$ro" "${absl[$f]}"
done
