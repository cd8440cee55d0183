#!/usr/bin/env bash
# Builds and runs the global names benchmark and its Erlang twin (Erlang's global) in one run;
# prints both sets of bench= lines and the ratios (higher is better for every figure).
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target global_bench >/dev/null
bin=$(find build/release -name global_bench -type f -perm -u+x | head -n 1)
beam=$(mktemp -d)
trap 'rm -rf "$beam"' EXIT
erlc -o "$beam" bench/naming/global_bench.erl
ours=$("$bin")
theirs=$(erl -noshell -pa "$beam" -eval 'global_bench:main()')
printf '%s\n%s\n' "$ours" "$theirs"
echo
printf '%-20s %14s %14s %-14s %s\n' bench ambitious erlang unit "ambitious/erlang"
join <(echo "$ours" | sed -n 's/bench=\([^ ]*\) impl=[a-z]* value=\([^ ]*\) unit=\(.*\)/\1 \2 \3/p' | sort) \
     <(echo "$theirs" | sed -n 's/bench=\([^ ]*\) impl=[a-z]* value=\([^ ]*\) unit=\(.*\)/\1 \2 \3/p' | sort) |
  awk '{ printf "%-20s %14s %14s %-14s %.1f\n", $1, $2, $4, $3, $2 / $4 }'
