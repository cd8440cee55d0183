#!/usr/bin/env bash
# Checks that docs/logger-reports.md lists every kind of report the library logs, with its
# level, and no other: the kinds are the string literals of the `log(LogReport{LogLevel::x,
# "kind", ...})` calls in src/ and include/; the page lists them as table rows
# "| `kind` | level | ...".
set -euo pipefail
cd "$(dirname "$0")/.."

page=docs/logger-reports.md
code=$(grep -rhoE 'LogLevel::[a-z]+, "[a-z_]+"' src include |
         sed -E 's/LogLevel::([a-z]+), "([a-z_]+)"/\2 \1/' | sort -u)
doc=$(sed -nE 's/^\| `([a-z_]+)` \| ([a-z]+) \|.*/\1 \2/p' "$page" | sort -u)
if [[ -z $code ]]; then
  echo "check-log-kinds: found no log(LogReport{...}) call; has the call's form changed?" >&2
  exit 1
fi
if [[ $code != "$doc" ]]; then
  echo "check-log-kinds: $page and the code disagree (< in the code only, > on the page only):" >&2
  diff <(echo "$code") <(echo "$doc") | grep '^[<>]' >&2 || true
  exit 1
fi
echo "check-log-kinds: $page lists the $(wc -l <<<"$code") kinds of report the code logs"
