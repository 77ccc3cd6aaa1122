#!/usr/bin/env bash
# joinery's benchmark: the workloads W1-W8 defined in docs/performance.md for
# joinery and for the raw-Asio floors in the same binary (raw, rawsig,
# mapped). Builds Release (-O2, g++) into build/bench, then:
#
#   bench/run.sh            every workload x impl as 5 fresh processes,
#                           interleaved (A B C D A B C D ...); prints medians
#                           (ns/task · bytes/task) and in-run ratios (with
#                           tokio's JoinMap beside them when it can be
#                           built, below), a
#                           scaling table (W1, W2 at N = 1e3..1e6) and the
#                           W1/W2 rows again with --executor concrete
#   bench/run.sh callgrind  instructions per task for W1, every impl, both
#                           executors: (Ir(N=100000) - Ir(N=1)) / 99999
#   bench/run.sh smoke      each workload x impl once at a small N; correctness
#                           only, exits non-zero if any run fails (CI)
#
# Environment: JOINERY_BENCH_ROUNDS (default 5) processes per configuration;
# JOINERY_JOBS (default 1) build jobs; JOINERY_BENCH_TOKIO=0 leaves tokio out.
# Raw result lines are kept in build/bench/results/.
#
# tokio: on a maintainer's machine, ../shared/peers/tokio-joinmap holds a
# Rust program running the same workloads with tokio-util's JoinMap (tokio
# 1.24 and tokio-util 0.7.3, Debian's packaged crates, built offline with
# cargo). The run builds it in build/bench/tokio-joinmap and interleaves its
# processes with joinery's, so that every ratio comes from one run. Where
# the program, cargo or the crates are missing, the tokio column says so and
# the rest of the run is unchanged.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mode=${1:-run}
case $mode in
  run | callgrind | smoke) ;;
  *)
    echo "usage: bench/run.sh [callgrind|smoke]" >&2
    exit 2
    ;;
esac

rounds=${JOINERY_BENCH_ROUNDS:-5}
build=build/bench
bin=$build/bench/joinery-bench
impls=(joinery joinery-await raw rawsig mapped)

if [ "$mode" = callgrind ]; then
  "$root/.ci/install-deps" valgrind
else
  "$root/.ci/install-deps"
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
  -DJOINERY_BUILD_TESTS=OFF -DJOINERY_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target joinery-bench -j "${JOINERY_JOBS:-1}" >/dev/null

mkdir -p "$build/results"
stamp=$(date +%Y%m%d-%H%M%S)

# tokio's JoinMap, when it can be built here (see the file comment).
tokio_bin=""
tokio_why=""
build_tokio() {
  local peer="$root/../shared/peers/tokio-joinmap" scratch="$build/tokio-joinmap"
  if [ "${JOINERY_BENCH_TOKIO:-1}" = 0 ]; then
    tokio_why="JOINERY_BENCH_TOKIO=0"
  elif [ ! -f "$peer/Cargo.toml" ]; then
    tokio_why="no tokio program at $peer (only a maintainer's machine has it)"
  elif ! command -v cargo >/dev/null; then
    tokio_why="cargo is not installed"
  elif ! "$root/.ci/install-deps" librust-tokio-util-dev librust-libc-dev >/dev/null 2>&1; then
    tokio_why="Debian's tokio crates (librust-tokio-util-dev) could not be installed"
  else
    rm -rf "$scratch" && mkdir -p "$scratch" && cp -r "$peer/." "$scratch/"
    if ! (cd "$scratch" && ./prepare.sh >/dev/null && cargo build --release --offline -q) \
      >"$build/tokio-build.log" 2>&1; then
      tokio_why="cargo build failed (see $build/tokio-build.log)"
    else
      tokio_bin="$scratch/target/release/tokio-joinmap-bench"
    fi
  fi
  if [ -n "$tokio_why" ]; then
    echo "bench/run.sh: tokio's JoinMap is left out: $tokio_why" >&2
  fi
}

# Runs tokio's program for joinery-bench's arguments (workload, N, options):
# --threads N is tokio's multi-threaded runtime with N workers (W6); options
# that only joinery has (--nothrow: tokio's abort does not throw) are dropped.
run_tokio() {
  local w=$1 n=$2
  shift 2
  local args=("$w" "$n")
  while (($#)); do
    case $1 in
      --threads)
        args+=(--flavor mt --workers "$2")
        shift
        ;;
      --executor) shift ;;  # joinery's option and its value
      *) ;;                 # --nothrow, --strands: joinery only
    esac
    shift
  done
  local out
  if ! out=$("$tokio_bin" "${args[@]}" 2>&1); then
    echo "bench/run.sh: FAILED: tokio-joinmap-bench ${args[*]}" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "$out"
}

# The value following field name $1 in the result line $2.
field() {
  awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$2"
}

# Runs one process; its result line goes to stdout. Exits the script with
# the program's message if the run fails (a failed check included).
run_one() {
  local out
  if ! out=$("$bin" "$@" 2>&1); then
    echo "bench/run.sh: FAILED: joinery-bench $*" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "$out"
}

# --- smoke -----------------------------------------------------------------

if [ "$mode" = smoke ]; then
  n=2000
  failed=0
  configs=("w1" "w2" "w3" "w3 --nothrow" "w4" "w4 --nothrow" "w5" "w5 --nothrow" "w6 --threads 2"
    "w1 --executor concrete" "w2 --executor concrete" "w3 --executor concrete --nothrow"
    "w4 --executor concrete" "w5 --executor concrete")
  for cfg in "${configs[@]}"; do
    read -r -a c <<<"$cfg"
    for impl in "${impls[@]}"; do
      args=("${c[0]}" "$n" "$impl" "${c[@]:1}")
      if out=$("$bin" "${args[@]}" 2>&1); then
        echo "ok   $out"
      else
        echo "FAIL joinery-bench ${args[*]}: $out"
        failed=1
      fi
    done
  done
  for w in w7 w8; do  # joinery's own scheduling workloads
    for impl in joinery joinery-await; do
      if out=$("$bin" "$w" "$n" "$impl" 2>&1); then
        echo "ok   $out"
      else
        echo "FAIL joinery-bench $w $n $impl: $out"
        failed=1
      fi
    done
  done
  if ((failed)); then
    echo "bench/run.sh smoke: some runs FAILED" >&2
    exit 1
  fi
  echo "bench/run.sh smoke: all runs passed"
  exit 0
fi

# --- callgrind -------------------------------------------------------------

if [ "$mode" = callgrind ]; then
  dir=$build/callgrind
  mkdir -p "$dir"
  # Total instructions of one run.
  ir_of() {
    local out=$dir/$1.out
    shift
    if ! valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$@" >"$out.log" 2>&1; then
      echo "bench/run.sh: FAILED under callgrind: joinery-bench $*" >&2
      cat "$out.log" >&2
      exit 1
    fi
    awk '/^summary:/ { s = $2 } /^totals:/ { t = $2 } END { print (s != "" ? s : t) }' "$out"
  }
  declare -A per_task
  for ex in any concrete; do
    for impl in "${impls[@]}"; do
      echo "callgrind: w1 $impl --executor $ex" >&2
      big=$(ir_of "w1-$impl-$ex-100000" w1 100000 "$impl" --executor "$ex")
      one=$(ir_of "w1-$impl-$ex-1" w1 1 "$impl" --executor "$ex")
      per_task[$impl,$ex]=$(awk -v a="$big" -v b="$one" 'BEGIN { printf "%.0f", (a - b) / 99999 }')
    done
  done
  echo
  echo "### W1 instructions per task (callgrind: (Ir(N=100000) - Ir(N=1)) / 99999)"
  echo
  echo "| impl | any_io_executor | io_context::executor_type | joinery / impl (any) | joinery / impl (concrete) |"
  echo "|---|---:|---:|---:|---:|"
  for impl in "${impls[@]}"; do
    awk -v i="$impl" -v a="${per_task[$impl,any]}" -v c="${per_task[$impl,concrete]}" \
      -v ja="${per_task[joinery,any]}" -v jc="${per_task[joinery,concrete]}" \
      'BEGIN { printf "| %s | %d | %d | %.2f | %.2f |\n", i, a, c, ja / a, jc / c }'
  done
  echo
  for w in w7 w8; do
    echo "callgrind: $w joinery" >&2
    big=$(ir_of "$w-joinery-any-100000" "$w" 100000 joinery)
    one=$(ir_of "$w-joinery-any-1" "$w" 1 joinery)
    per_task[$w]=$(awk -v a="$big" -v b="$one" 'BEGIN { printf "%.0f", (a - b) / 99999 }')
  done
  echo "Scheduling, joinery (any): W7 (limit 64) ${per_task[w7]} instructions per task" \
    "($(awk -v a="${per_task[w7]}" -v b="${per_task[joinery,any]}" 'BEGIN { printf "%.2f", a / b }')x W1)," \
    "W8 (a deadline each) ${per_task[w8]}" \
    "($(awk -v a="${per_task[w8]}" -v b="${per_task[joinery,any]}" 'BEGIN { printf "%.2f", a / b }')x W1)"
  echo
  echo "Profiles: $dir/w1-<impl>-<executor>-<N>.out (callgrind_annotate --inclusive=no <file>)"
  echo
  echo "### Top of callgrind_annotate --inclusive=no, W1 joinery (any), N=100000"
  echo
  echo '```'
  callgrind_annotate --inclusive=no "$dir/w1-joinery-any-100000.out" 2>/dev/null |
    awk '/file:function/ { go = 1; getline; next } go && n < 25 { print; n++ }'
  echo '```'
  exit 0
fi

# --- run -------------------------------------------------------------------

tsv=$build/results/run-$stamp.tsv
raw=$build/results/run-$stamp.txt
: >"$tsv"
: >"$raw"

# measure LABEL WORKLOAD N IMPLS OPTIONS...: $rounds processes per impl,
# interleaved; records "label impl ns bytes" lines.
measure() {
  local label=$1 w=$2 n=$3 impl_list=$4
  shift 4
  local r impl line
  for ((r = 0; r < rounds; r++)); do
    for impl in $impl_list; do
      if [ "$impl" = tokio ]; then
        line=$(run_tokio "$w" "$n" "$@")
      else
        line=$(run_one "$w" "$n" "$impl" "$@")
      fi
      echo "$line" >>"$raw"
      printf '%s\t%s\t%s\t%s\n' "$label" "$impl" "$(field ns_per_task "$line")" \
        "$(field bytes_per_task "$line")" >>"$tsv"
    done
  done
  echo "measured: $label ($impl_list)" >&2
}

# median LABEL IMPL COLUMN (3: ns, 4: bytes)
median() {
  awk -F'\t' -v l="$1" -v i="$2" -v c="$3" '$1 == l && $2 == i { print $c }' "$tsv" | sort -g |
    awk '{ a[NR] = $1 } END {
      if (NR == 0) { print "nan"; exit }
      if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

cell() { awk -v ns="$1" -v b="$2" 'BEGIN { printf "%.0f · %.0f", ns, b }'; }
ratio() {
  awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN { printf "%.2f · %.2f", a / b, c / d }'
}

# The main table's rows: label, workload, N, options.
rows=(
  "W1|w1|100000|"
  "W1|w1|1000000|"
  "W2|w2|100000|"
  "W2|w2|1000000|"
  "W3|w3|100000|"
  "W3 nothrow|w3|100000|--nothrow"
  "W4|w4|100000|"
  "W4 nothrow|w4|100000|--nothrow"
  "W5|w5|1000000|"
  "W6 (2 threads)|w6|100000|--threads 2"
)
strand_rows=(
  "W1 default hint|w1|100000|--strands"
  "W2 default hint|w2|100000|--strands"
)
concrete_rows=(
  "W1 concrete|w1|100000|--executor concrete"
  "W1 concrete|w1|1000000|--executor concrete"
  "W2 concrete|w2|100000|--executor concrete"
  "W2 concrete|w2|1000000|--executor concrete"
)
scaling_ns=(1000 10000 100000 1000000)

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
build_tokio
echo "bench/run.sh: $rounds fresh processes per configuration; results in $raw" >&2
for row in "${rows[@]}"; do
  IFS='|' read -r name w n opts <<<"$row"
  # shellcheck disable=SC2086 # opts is a word list
  measure "$name $n" "$w" "$n" "${impls[*]}${tokio_bin:+ tokio}" $opts
done
for row in "${strand_rows[@]}" "${concrete_rows[@]}"; do
  IFS='|' read -r name w n opts <<<"$row"
  # shellcheck disable=SC2086 # opts is a word list
  measure "$name $n" "$w" "$n" "${impls[*]}" $opts
done
for n in "${scaling_ns[@]}"; do
  for w in w1 w2; do
    measure "scaling $w $n" "$w" "$n" "joinery joinery-await rawsig"
  done
done
# Scheduling: W1, W7 (W1 under set_concurrency_limit(64)) and W8 (W1 with a
# deadline on every task), interleaved process by process.
for ((r = 0; r < rounds; r++)); do
  for w in w1 w7 w8; do
    line=$(run_one "$w" 100000 joinery)
    echo "$line" >>"$raw"
    printf '%s\t%s\t%s\t%s\n' "sched $w" joinery "$(field ns_per_task "$line")" \
      "$(field bytes_per_task "$line")" >>"$tsv"
  done
done
echo "measured: scheduling (W1, W7, W8)" >&2

# Fills the caller's associative arrays ns and by with the medians (ns/task,
# bytes/task) of LABEL for each IMPL.
collect_medians() {
  local label=$1 impl
  shift
  for impl in "$@"; do
    ns[$impl]=$(median "$label" "$impl" 3)
    by[$impl]=$(median "$label" "$impl" 4)
  done
}

table() {
  echo "| workload | N | joinery | joinery-await | raw | rawsig | mapped | joinery/raw | joinery/rawsig | joinery/mapped | await/mapped |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  local row name w n opts label
  for row in "$@"; do
    IFS='|' read -r name w n opts <<<"$row"
    label="$name $n"
    declare -A ns=() by=()
    collect_medians "$label" "${impls[@]}"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$n" \
      "$(cell "${ns[joinery]}" "${by[joinery]}")" \
      "$(cell "${ns[joinery-await]}" "${by[joinery-await]}")" "$(cell "${ns[raw]}" "${by[raw]}")" \
      "$(cell "${ns[rawsig]}" "${by[rawsig]}")" "$(cell "${ns[mapped]}" "${by[mapped]}")" \
      "$(ratio "${ns[joinery]}" "${ns[raw]}" "${by[joinery]}" "${by[raw]}")" \
      "$(ratio "${ns[joinery]}" "${ns[rawsig]}" "${by[joinery]}" "${by[rawsig]}")" \
      "$(ratio "${ns[joinery]}" "${ns[mapped]}" "${by[joinery]}" "${by[mapped]}")" \
      "$(ratio "${ns[joinery-await]}" "${ns[mapped]}" "${by[joinery-await]}" "${by[mapped]}")"
  done
}

# The main rows again with tokio beside joinery and the floors.
tokio_table() {
  echo "| workload | N | joinery | rawsig | mapped | tokio | joinery/tokio | joinery/rawsig | joinery/mapped |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  local row name w n opts label
  for row in "$@"; do
    IFS='|' read -r name w n opts <<<"$row"
    label="$name $n"
    declare -A ns=() by=()
    collect_medians "$label" joinery rawsig mapped tokio
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$n" \
      "$(cell "${ns[joinery]}" "${by[joinery]}")" "$(cell "${ns[rawsig]}" "${by[rawsig]}")" \
      "$(cell "${ns[mapped]}" "${by[mapped]}")" "$(cell "${ns[tokio]}" "${by[tokio]}")" \
      "$(ratio "${ns[joinery]}" "${ns[tokio]}" "${by[joinery]}" "${by[tokio]}")" \
      "$(ratio "${ns[joinery]}" "${ns[rawsig]}" "${by[joinery]}" "${by[rawsig]}")" \
      "$(ratio "${ns[joinery]}" "${ns[mapped]}" "${by[joinery]}" "${by[mapped]}")"
  done
}

sched_table() {
  echo "| workload | N | joinery | ratio to W1 |"
  echo "|---|---:|---:|---:|"
  local w1ns w1by ns by w
  w1ns=$(median "sched w1" joinery 3)
  w1by=$(median "sched w1" joinery 4)
  for w in w1 w7 w8; do
    ns=$(median "sched $w" joinery 3)
    by=$(median "sched $w" joinery 4)
    printf '| %s | 100000 | %s | %s |\n' "${w^^}" "$(cell "$ns" "$by")" \
      "$(ratio "$ns" "$w1ns" "$by" "$w1by")"
  done
}

echo
echo "machine: $(nproc) cores; load average before the run: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "### Medians of $rounds fresh processes (ns/task · bytes/task; ratios: ns · bytes)"
echo
table "${rows[@]}"
echo
echo "### Scheduling: W7 = W1 with set_concurrency_limit(64), W8 = W1 with a deadline on every task"
echo
sched_table
echo
if [ -n "$tokio_bin" ]; then
  echo "### Side by side with tokio's JoinMap (same run, interleaved; tokio: current_thread runtime, W6 multi_thread with 2 workers; W3/W4 --nothrow rows run tokio's same workload)"
  echo
  tokio_table "${rows[@]}"
else
  echo "### Side by side with tokio's JoinMap: left out ($tokio_why)"
fi
echo
echo "### Scaling (medians, ns/task · bytes/task; any_io_executor)"
echo
echo "| N | W1 joinery | W1 rawsig | W1 joinery/rawsig | W2 joinery | W2 rawsig | W2 joinery/rawsig |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for n in "${scaling_ns[@]}"; do
  line="| $n"
  for w in w1 w2; do
    jn=$(median "scaling $w $n" joinery 3)
    jb=$(median "scaling $w $n" joinery 4)
    sn=$(median "scaling $w $n" rawsig 3)
    sb=$(median "scaling $w $n" rawsig 4)
    line+=" | $(cell "$jn" "$jb") | $(cell "$sn" "$sb") | $(ratio "$jn" "$sn" "$jb" "$sb")"
  done
  echo "$line |"
done
echo
echo "ns/task at N=1e6 over N=1e4 (target for joinery: <= 1.3):"
for w in w1 w2; do
  for impl in joinery joinery-await rawsig; do
    awk -v w="$w" -v i="$impl" -v a="$(median "scaling $w 1000000" "$impl" 3)" \
      -v b="$(median "scaling $w 10000" "$impl" 3)" 'BEGIN { printf "  %s %s: %.2f\n", w, i, a / b }'
  done
done
echo
echo "### W1/W2 on an io_context with the default concurrency hint (--strands)"
echo "(joinery cannot tell it is single-threaded and serializes each task with its run lock, a thin"
echo "executor wrapper; every impl pays Asio's own locking; compare the W1/W2 rows above, hint 1)"
echo
table "${strand_rows[@]}"
echo
echo "Default hint over hint 1, ns/task (target for joinery: <= 1.1):"
for w in W1 W2; do
  for impl in joinery rawsig; do
    awk -v w="$w" -v i="$impl" -v a="$(median "$w default hint 100000" "$impl" 3)" \
      -v b="$(median "$w 100000" "$impl" 3)" 'BEGIN { printf "  %s %s: %.2f\n", w, i, a / b }'
  done
done
echo
echo "### W1/W2 with tasks typed on io_context::executor_type (--executor concrete)"
echo
table "${concrete_rows[@]}"
echo
echo "Result lines: $raw"
