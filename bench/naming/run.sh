#!/usr/bin/env bash
# Builds and runs the Registry/PubSub benchmark and its Elixir twin (Elixir's Registry); prints
# both sets of bench= lines and a side-by-side table (higher is better for every figure).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v elixir >/dev/null 2>&1; then
  apt-get install -y elixir >/dev/null
fi
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target naming_bench >/dev/null
bin=$(find build/release -name naming_bench -type f -perm -u+x | head -n 1)
ours=$("$bin")
theirs=$(elixir bench/naming/registry_bench.exs)
printf '%s\n%s\n' "$ours" "$theirs"
echo
printf '%-20s %14s %14s %-28s %s\n' bench ambitious elixir unit "ambitious/elixir"
join <(echo "$ours" | sed 's/bench=\([^ ]*\) impl=[a-z]* value=\([^ ]*\) unit=\(.*\)/\1 \2 \3/' | sort) \
     <(echo "$theirs" | sed 's/bench=\([^ ]*\) impl=[a-z]* value=\([^ ]*\) unit=\(.*\)/\1 \2 \3/' | sort) |
  awk '{ printf "%-20s %14s %14s %-28s %.1f\n", $1, $2, $4, $3, $2 / $4 }'
