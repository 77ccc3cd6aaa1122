#!/usr/bin/env bash
# Integration test of the echo_server example: runs the real binary and talks
# to it over real sockets (bash's /dev/tcp): an echo, --max-connections 1
# holding a second client back until the first is kicked through the admin
# port, the kicked client seeing its connection closed, the admin port's
# "stats" (each session's task_info, then the map's counters) before and after
# the kick, and SIGINT ending the server with exit status 0 after its shutdown.
# usage: echo_server_test.sh <path to echo_server>
set -uo pipefail

bin=$1
log=$(mktemp)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT
fail() {
  echo "echo_server_test: FAILED: $*"
  echo "--- server output ---"
  cat "$log"
  exit 1
}

"$bin" --port 0 --admin-port 0 --max-connections 1 --idle-timeout-ms 10000 >"$log" 2>&1 &
pid=$!
for _ in $(seq 200); do
  grep -q "listening on" "$log" && break
  sleep 0.05
done
read -r port admin < <(sed -n 's/^listening on 127.0.0.1:\([0-9]*\), admin on 127.0.0.1:\([0-9]*\)$/\1 \2/p' "$log")
[ -n "${port:-}" ] && [ -n "${admin:-}" ] || fail "no listening line"

exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect"
echo "hello" >&3
read -r -t 5 line <&3 || fail "no echo"
[ "$line" = "hello" ] || fail "echoed '$line'"

# The map is full: a second client connects but is not served yet.
exec 4<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect a second client"
echo "second" >&4
if read -r -t 0.5 line <&4; then fail "second client served while full ('$line')"; fi

exec 5<>"/dev/tcp/127.0.0.1/$admin" || fail "cannot connect to the admin port"
echo "list" >&5
read -r -t 5 reply <&5 || fail "no reply to list"
[ "$reply" = "sessions: 1" ] || fail "list said '$reply'"

# stats: one line per session (its key, then its task_info: id, state, age),
# then the counters, whose line starts with "spawned ".
session_line='^([0-9]+): task #[0-9]+ running for [0-9][0-9.]* (us|ms|s|min [0-9]+ s)$'
stats() {
  echo "stats" >&5
  stats_sessions=
  for _ in $(seq 10); do
    read -r -t 5 reply <&5 || fail "stats: no counters line (sessions so far:$stats_sessions)"
    case $reply in
      "spawned "*) stats_counters=$reply; return ;;
    esac
    [[ $reply =~ $session_line ]] || fail "stats: unexpected session line '$reply'"
    stats_sessions="$stats_sessions ${BASH_REMATCH[1]}"
  done
  fail "stats: more lines than sessions"
}
stats
[ "$stats_sessions" = " 1" ] || fail "stats listed sessions '$stats_sessions', expected 1"
[ "$stats_counters" = "spawned 1, succeeded 0, failed 0, cancelled 0, timed out 0, detached 0, peak size 1, peak queued 0" ] ||
  fail "stats counters before the kick: '$stats_counters'"
echo "kick 1" >&5
read -r -t 5 reply <&5 || fail "no reply to kick"
[ "$reply" = "kicked 1" ] || fail "kick said '$reply'"

# The kicked client sees its connection closed (EOF, not a timeout).
read -r -t 5 line <&3
rc=$?
[ "$rc" -eq 1 ] || fail "kicked client: read returned $rc, expected EOF"

# Room again: the second client is served, its waiting line echoed.
read -r -t 5 line <&4 || fail "second client not served after the kick"
[ "$line" = "second" ] || fail "second client got '$line'"

# The kicked session is counted cancelled; the second one runs.
stats
[ "$stats_sessions" = " 2" ] || fail "stats listed sessions '$stats_sessions', expected 2"
[ "$stats_counters" = "spawned 2, succeeded 0, failed 0, cancelled 1, timed out 0, detached 0, peak size 1, peak queued 0" ] ||
  fail "stats counters after the kick: '$stats_counters'"

echo "kick 99" >&5
read -r -t 5 reply <&5 || fail "no reply to kick 99"
[ "$reply" = "no session 99" ] || fail "kick 99 said '$reply'"

kill -INT "$pid"
wait "$pid"
status=$?
pid=
[ "$status" -eq 0 ] || fail "exit status $status after SIGINT"
grep -q "session 1 ended: task #[0-9]* was cancelled" "$log" || fail "kick not logged"
grep -q "shutdown complete" "$log" || fail "no shutdown"
echo "echo_server_test: ok"
