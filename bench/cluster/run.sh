#!/usr/bin/env bash
# The cluster benchmarks: three ambitious nodes (cluster_bench) and three Erlang nodes
# (cluster_bench.erl) in one run, on 127.0.0.1; prints both sets of bench= lines and the ratios.
#   bash bench/cluster/run.sh [-n RUNS]     (each run prints its lines; the ratios are per run)
# cluster_broadcast_last is a time (lower is better): its ratio is erlang/ambitious, so that a
# ratio above 1 means ours is better for every figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=1
[ "${1:-}" = "-n" ] && runs=$2
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target cluster_bench >/dev/null
bin=build/release/bench/cluster_bench
beam=$(mktemp -d)
# The Erlang nodes' epmd: a private port, killed at the end (ours embeds its own).
export ERL_EPMD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap 'epmd -kill >/dev/null 2>&1 || true; rm -rf "$beam"' EXIT
erlc -o "$beam" bench/cluster/cluster_bench.erl
fields() { sed -n 's/bench=\([^ ]*\) impl=[a-z]* value=\([^ ]*\) unit=\(.*\)/\1 \2 \3/p' | sort; }
for ((run = 1; run <= runs; run++)); do
  ours=$(timeout 600 "$bin")
  cookie=$(python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_uppercase) for _ in range(20)))')
  theirs=$(cd "$beam" && timeout 600 erl -name bench_c@127.0.0.1 -setcookie "$cookie" -noshell \
    -pa "$beam" -eval 'cluster_bench:main()')
  printf '%s\n%s\n\n' "$ours" "$theirs"
  printf '%-24s %14s %14s %-14s %s\n' bench ambitious erlang unit "better by"
  join <(echo "$ours" | fields) <(echo "$theirs" | fields) |
    awk '{ r = ($3 == "us") ? $4 / $2 : $2 / $4; printf "%-24s %14s %14s %-14s %.1fx\n", $1, $2, $4, $3, r }'
done
