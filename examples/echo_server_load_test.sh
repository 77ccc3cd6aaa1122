#!/usr/bin/env bash
# Load test of echo_server's loop: real TCP clients, `wave` of them in flight
# at any time (echo_load), each sending three lines and checking every echo;
# then SIGINT. Passes when
# every client got all its echoes and the server reports exactly as many
# sessions ended as it opened, and as many as clients connected.
# The server runs its loops on a strand, its sessions on `threads` threads.
# usage: echo_server_load_test.sh <echo_server> <echo_load> [clients] [wave] [threads]
set -uo pipefail

server=$1 load=$2 clients=${3:-2000} wave=${4:-100} threads=${5:-1}
log=$(mktemp)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT
fail() {
  echo "echo_server_load_test: FAILED: $*"
  echo "--- last server output ---"
  tail -20 "$log"
  exit 1
}

# Room for every client in flight: the server never has to hold one back.
"$server" --port 0 --admin-port 0 --max-connections $((2 * wave)) --idle-timeout-ms 20000 \
  --threads "$threads" >"$log" 2>&1 &
pid=$!
for _ in $(seq 200); do
  grep -q "listening on" "$log" && break
  sleep 0.05
done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\), admin.*$/\1/p' "$log")
[ -n "$port" ] || fail "no listening line"

"$load" "$port" "$clients" "$wave" || fail "clients lost echoes (see above)"

# Every client has left; wait (bounded) until the server has joined them all.
for _ in $(seq 400); do
  [ "$(grep -c ' ended: ' "$log")" -ge "$clients" ] && break
  sleep 0.05
done
kill -INT "$pid"
wait "$pid"
status=$?
pid=
[ "$status" -eq 0 ] || fail "exit status $status after SIGINT"
summary=$(grep '^sessions: ' "$log")
echo "echo_server_load_test: $summary"
[ "$summary" = "sessions: $clients opened, $clients ended ($clients joined, 0 at shutdown)" ] ||
  fail "expected $clients sessions opened, joined and ended"
echo "echo_server_load_test: ok ($clients clients, $wave in flight, $threads server thread(s))"
