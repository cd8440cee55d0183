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
    -lz -lmimalloc -o "$bin"
fi
ours=$("$bin")
theirs=$(escript bench/etf/etf_bench.erl)
printf '%s\n%s\n' "$ours" "$theirs"
echo
# One row per line of ours with an Erlang line of the same name; a zero-copy line (_iovec,
# _shared) also gets a row against the copying call of the same shape (term_to_binary,
# binary_to_term): "etf_decode_binary_1mb_shared vs etf_decode_binary_1mb".
printf '%-58s %14s %14s %-10s %s\n' bench ambitious erlang unit "ambitious/erlang"
printf '%s\n%s\n' "$ours" "$theirs" |
  sed -n 's/^bench=\([^ ]*\) impl=\([a-z]*\) value=\([^ ]*\) unit=\(.*\)/\1 \2 \3 \4/p' |
  awk '$2 == "erlang" { erl[$1] = $3 } $2 == "ambitious" { ours[$1] = $3; unit[$1] = $4 }
       END {
         for (n in ours) {
           if (n in erl) printf "%-58s %14s %14s %-10s %.2f\n", n, ours[n], erl[n], unit[n], ours[n] / erl[n]
           base = n; sub(/_iovec|_shared/, "", base)
           if (base != n && (base in erl))
             printf "%-58s %14s %14s %-10s %.2f\n", n " vs " base, ours[n], erl[base], unit[n], ours[n] / erl[base]
         }
       }' | sort
