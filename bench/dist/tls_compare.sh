#!/usr/bin/env bash
# TLS distribution beside Erlang's: the dist_* workloads between two ambitious nodes over TLS
# (`ambitious_bench dist_X` with AMBITIOUS_DIST_CARRIERS=tls prints bench=dist_X_tls) and the
# same workloads of ../shared/bench-anchors/erlang/dist_anchors.erl between two Erlang nodes on
# `-proto_dist inet_tls` (the anchors' TCP configuration with TLS added: ERL_FLAGS, which the
# anchor's second node inherits, and an ssl_dist_optfile with certificates from
# scripts/cluster-certs.sh; printed as bench=dist_X_tls impl=erlang), interleaved run by run,
# then the medians and the ratios (above 1: ambitious is better).
#   bench/dist/tls_compare.sh [-n RUNS] [-w "dist_pingpong dist_bulk ..."]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=3
WORKLOADS="dist_pingpong dist_window dist_fanin dist_bulk dist_hol"
while [ $# -gt 0 ]; do
  case "$1" in
    -n) RUNS=$2; shift 2 ;;
    -w) WORKLOADS=$2; shift 2 ;;
    *) echo "usage: tls_compare.sh [-n RUNS] [-w \"WORKLOAD ...\"]" >&2; exit 2 ;;
  esac
done
ANCHORS=${ANCHORS:-../shared/bench-anchors}
BIN=build/release/bench/ambitious_bench
[ -x "$BIN" ] || { echo "tls_compare.sh: build first (make release)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/beam"
erlc -o "$work/beam" "$ANCHORS/erlang/dist_anchors.erl"
# Erlang checks only the host of a peer's certificate: one certificate serves both its nodes.
scripts/cluster-certs.sh "$work/certs" erlang@127.0.0.1
c="$work/certs"
common="{certfile, \"$c/erlang@127.0.0.1.pem\"}, {keyfile, \"$c/erlang@127.0.0.1-key.pem\"},
  {cacertfile, \"$c/ca.pem\"}, {verify, verify_peer}"
printf '[{server, [%s, {fail_if_no_peer_cert, true}]},\n {client, [%s]}].\n' "$common" "$common" \
  >"$work/dist.conf"
results="$work/results"
: >"$results"
for w in $WORKLOADS; do
  for i in $(seq 1 "$RUNS"); do
    echo "# $w run $i/$RUNS" >&2
    ERL_FLAGS="-proto_dist inet_tls -ssl_dist_optfile $work/dist.conf" timeout 300 \
      erl -noshell -name "tls_a_$$@127.0.0.1" -setcookie "tls_anchors_$$" \
      -kernel inet_dist_use_interface '{127,0,0,1}' -pa "$work/beam" \
      -run dist_anchors main "$w" 2>&1 | sed -n "s/^bench=$w impl=erlang /bench=${w}_tls impl=erlang /p" \
      | tee -a "$results" >&2 || true
    AMBITIOUS_DIST_CARRIERS=tls timeout 300 "$BIN" "$w" 2>&1 | grep '^bench=' \
      | tee -a "$results" >&2 || true
  done
done
echo "# TLS distribution: medians of $RUNS runs (above 1: ambitious is better)"
printf '%-18s %-18s %14s %14s %10s\n' bench unit ambitious erlang vs_erlang
awk '
  { split($1, fb, "="); split($2, fi, "="); split($3, fv, "="); split($4, fu, "=")
    k = fb[2] " " fi[2]; vals[k] = vals[k] " " fv[2]; unit[fb[2]] = fu[2]
    if (!(fb[2] in seen)) { seen[fb[2]] = 1; order[++n] = fb[2] } }
  function median(s,   a, m, j, t, x, y) {
    m = split(s, a, " "); if (m == 0) return ""
    for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++) if (a[y] + 0 < a[x] + 0) { t = a[x]; a[x] = a[y]; a[y] = t }
    return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  END {
    for (j = 1; j <= n; j++) {
      name = order[j]; u = unit[name]
      a = median(vals[name " ambitious"]); e = median(vals[name " erlang"])
      r = "-"
      if (a != "" && e != "" && a + 0 > 0 && e + 0 > 0) r = sprintf("%.2f", (u ~ /_per_s$/) ? a / e : e / a)
      printf "%-18s %-18s %14s %14s %10s\n", name, u, (a == "" ? "-" : a), (e == "" ? "-" : e), r
    }
  }' "$results"
