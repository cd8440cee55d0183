#!/usr/bin/env bash
# Builds and runs the ETF benchmark and its Erlang twin; prints both sets of bench= lines and a
# side-by-side table (ours / Erlang; lower is better for ns_per_msg, higher for MB_per_s).
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake --preset release >/dev/null
if cmake --build --preset release --target etf_bench >/dev/null 2>&1; then
  bin=$(find build/release -name etf_bench -type f -perm -u+x | head -n 1)
else
  # bench/etf is not yet part of the top-level build: compile it against the core library.
  cmake --build --preset release --target ambitious_core >/dev/null
  mkdir -p build/release/bench/etf
  bin=build/release/bench/etf/etf_bench
  g++ -std=c++23 -O2 -Iinclude bench/etf/etf_bench.cpp build/release/src/core/libambitious_core.a \
    -lz -o "$bin"
fi
ours=$("$bin")
theirs=$(escript bench/etf/etf_bench.erl)
printf '%s\n%s\n' "$ours" "$theirs"
echo
printf '%-34s %14s %14s %-10s %s\n' bench ambitious erlang unit "ambitious/erlang"
join <(echo "$ours" | sed 's/bench=\([^ ]*\) impl=[a-z]* value=\([^ ]*\) unit=\(.*\)/\1 \2 \3/' | sort) \
     <(echo "$theirs" | sed 's/bench=\([^ ]*\) impl=[a-z]* value=\([^ ]*\) unit=\(.*\)/\1 \2 \3/' | sort) |
  awk '{ printf "%-34s %14s %14s %-10s %.2f\n", $1, $2, $4, $3, $2 / $4 }'
