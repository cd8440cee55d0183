#!/usr/bin/env bash
# Issue 11's interop echo benchmark: one Erlang node drives sequential echo round trips against
# interop_node (impl=ambitious) and against an Erlang node serving the same echo (impl=erlang),
# in one run; interop_echo.erl says what a round trip is.
#   bench/interop_echo/run.sh [-n RUNS] [-r ROUND_TRIPS] [INTEROP_NODE]
#     RUNS          runs, each measuring both targets, alternating which goes first (1)
#     ROUND_TRIPS   round trips per target and run (100000), after 2000 of warm-up
#     INTEROP_NODE  the binary (build/release/examples/interop_node)
# Everything runs on 127.0.0.1 beside a private epmd on a free port (ERL_EPMD_PORT for every
# node), under fresh names and a fresh cookie; all of it is stopped on exit, also on a failure or
# a signal, and the driver is killed after 60 s per run (plus 60 s) if it has not ended.
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=1
round_trips=100000
while getopts "n:r:h" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    r) round_trips=$OPTARG ;;
    *) sed -n '5,8p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
bin=${1:-build/release/examples/interop_node}
for v in "$runs" "$round_trips"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: '$v' is not a positive integer" >&2; exit 2; }
done
[ -x "$bin" ] || {
  echo "run.sh: $bin not found; build it: cmake --build --preset release --target interop_node" >&2
  exit 2
}
for tool in erl erlc epmd timeout; do
  command -v $tool >/dev/null || { echo "run.sh: $tool not found (apt-get install erlang-base)" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/interop_echo.XXXXXX)
epmd_pid='' node_pid='' driver_pid=''
# Stops what this script started, the newest first: the driver (its peer node halts with it),
# the interop node (SIGTERM, then SIGKILL after 5 s), epmd.
cleanup() {
  local pid
  for pid in $driver_pid $node_pid; do
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$epmd_pid" ]; then kill -TERM "$epmd_pid" 2>/dev/null || true; wait "$epmd_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

erlc -o "$tmp" bench/interop_echo/interop_echo.erl

# A free port for epmd: the kernel's choice for a listening socket just closed. Another program
# can take it in between, so epmd's start is checked and retried on a new port.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  epmd -port "$port" -address 127.0.0.1 >"$tmp/epmd.log" 2>&1 &
  epmd_pid=$!
  for _ in $(seq 50); do
    epmd -port "$port" -names >/dev/null 2>&1 && break
    kill -0 "$epmd_pid" 2>/dev/null || break
    sleep 0.1
  done
  epmd -port "$port" -names >/dev/null 2>&1 && break
  kill "$epmd_pid" 2>/dev/null || true
  wait "$epmd_pid" 2>/dev/null || true
  epmd_pid=''
done
[ -n "$epmd_pid" ] || { echo "run.sh: epmd did not start" >&2; cat "$tmp/epmd.log" >&2; exit 1; }
export ERL_EPMD_PORT=$port

tag="$$_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
cookie="ie_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cpp_node="ie_cpp_$tag@127.0.0.1"

# The interop node prints "ready" once it is registered with epmd.
INTEROP_NODE_NAME=$cpp_node INTEROP_COOKIE=$cookie "$bin" >"$tmp/interop_node.log" 2>&1 &
node_pid=$!
for _ in $(seq 200); do
  grep -q ready "$tmp/interop_node.log" 2>/dev/null && break
  kill -0 "$node_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q ready "$tmp/interop_node.log" || {
  echo "run.sh: interop_node did not become ready:" >&2
  cat "$tmp/interop_node.log" >&2
  exit 1
}
echo "# interop_node=$bin epmd_port=$port $(grep -m1 ready "$tmp/interop_node.log")"

timeout --kill-after=5 $((60 * runs + 60)) \
  erl -noshell -name "ie_drv_$tag@127.0.0.1" -setcookie "$cookie" \
    -kernel inet_dist_use_interface '{127,0,0,1}' -pa "$tmp" \
    -run interop_echo main "$cpp_node" "$runs" "$round_trips" &
driver_pid=$!
status=0
wait "$driver_pid" || status=$?
driver_pid=''
[ "$status" -eq 0 ] || {
  echo "run.sh: the driver failed (status $status); interop_node's log:" >&2
  cat "$tmp/interop_node.log" >&2
}
exit "$status"
