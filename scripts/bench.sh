#!/usr/bin/env bash
# `make bench`: our benchmarks beside Erlang/OTP 25 and CAF 0.17.6 in one run (compare.sh from
# ../shared/bench-anchors, which prints the ratio table), then the ETF codec beside Erlang's.
#   RUNS=5 WORKLOADS="skynet pingpong" make bench
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
# Every anchor workload we implement (later stages add theirs here).
WORKLOADS=${WORKLOADS:-"skynet pingpong ring spawn_idle call fanin restart"}
# The distribution workloads: two nodes on 127.0.0.1 (compare.sh runs them only when named).
DIST_WORKLOADS=${DIST_WORKLOADS:-"dist_pingpong dist_window dist_fanin dist_bulk dist_hol"}
ANCHORS=${ANCHORS:-../shared/bench-anchors}
BIN=build/release/bench/ambitious_bench
[ -x "$BIN" ] || { echo "bench.sh: build first (make release)" >&2; exit 1; }
if [ -x "$ANCHORS/compare.sh" ] || [ -f "$ANCHORS/compare.sh" ]; then
  bash "$ANCHORS/compare.sh" -n "$RUNS" -w "$WORKLOADS" -- "$PWD/$BIN"
  if [ -n "$DIST_WORKLOADS" ]; then
    echo
    echo "# Distribution: two nodes on 127.0.0.1 beside two Erlang nodes"
    bash "$ANCHORS/compare.sh" -n "$RUNS" -w "$DIST_WORKLOADS" -- "$PWD/$BIN"
  fi
else
  echo "bench.sh: $ANCHORS/compare.sh not found; running ours alone" >&2
  for w in $WORKLOADS $DIST_WORKLOADS; do "$BIN" "$w"; done
fi
if [ -n "$DIST_WORKLOADS" ] && [ -f "$ANCHORS/erlang/dist_anchors.erl" ]; then
  echo
  echo "# TLS distribution beside Erlang's inet_tls distribution"
  bash bench/dist/tls_compare.sh -n "$RUNS" -w "$DIST_WORKLOADS"
fi
if [ -f bench/etf/run.sh ]; then
  echo
  echo "# ETF codec beside Erlang's term_to_binary/binary_to_term"
  bash bench/etf/run.sh
fi
if [ -f bench/naming/run.sh ]; then
  echo
  echo "# Registry, PubSub beside Elixir's Registry"
  bash bench/naming/run.sh
fi
if [ -f bench/cluster/run.sh ]; then
  echo
  echo "# Three nodes: PubSub broadcasts and global names beside Erlang's pg and global"
  bash bench/cluster/run.sh
fi
