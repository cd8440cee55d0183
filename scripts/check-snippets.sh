#!/usr/bin/env bash
# Checks that the code in the documentation is code that is built: every fenced block that
# follows a marker
#
#   <!-- snippet examples/gen_server/counter.cpp counter -->
#   ```cpp
#   ...
#   ```
#
# must equal the region `counter` of examples/gen_server/counter.cpp: the lines between two
# marker lines `// [snippet counter]` (`# [snippet counter]` in CMake and shell files; the same
# markers Doxygen's \snippet reads), without the markers of other regions inside it, and
# without the indentation its lines share. In docs/*.md a C++ block without a marker is an error
# too, so a snippet that is not compiled (the examples are built and run by CTest) cannot be
# written. README.md's marked blocks are checked; its other blocks are free.
#
#   scripts/check-snippets.sh              check docs/*.md and README.md
#   scripts/check-snippets.sh --update     rewrite the marked blocks from their regions
#   scripts/check-snippets.sh FILE...      the same, for these files only
set -euo pipefail
cd "$(dirname "$0")/.."

mode=check
if [[ ${1:-} == --update ]]; then
  mode=update
  shift
fi
shopt -s nullglob
if (($# == 0)); then
  set -- docs/*.md README.md
fi

# One pass over a Markdown file. In update mode it prints the file with its marked blocks
# rewritten; in check mode it prints nothing. Problems go to stderr as file:line: message.
prog=$(cat <<'AWK'
function fail(line, message) {
  printf "%s:%d: %s\n", FILENAME, line, message > "/dev/stderr"
  errors++
}
function marker_name(line,    s) {
  if (line !~ /^[ \t]*(\/\/|#) \[snippet [A-Za-z0-9_.-]+\][ \t]*$/) return ""
  s = line
  sub(/^[ \t]*(\/\/|#) \[snippet /, "", s)
  sub(/\][ \t]*$/, "", s)
  return s
}
# Loads region `name` of `src` into R[1..RN], dedented; returns "" or why it cannot.
function load_region(src, name,    line, state, m, rc, i, lead, min) {
  RN = 0
  state = 0  # 0 before the region, 1 inside, 2 after
  while ((rc = (getline line < src)) > 0) {
    m = marker_name(line)
    if (m == name) {
      if (state == 2) { close(src); return "region " name " of " src " is opened twice" }
      state++
      continue
    }
    if (m != "") continue
    if (state == 1) R[++RN] = line
  }
  close(src)
  if (rc < 0) return "no file " src
  if (state == 0) return "no region " name " in " src " (its lines: // [snippet " name "])"
  if (state == 1) return "region " name " of " src " is not closed"
  min = -1
  for (i = 1; i <= RN; i++) {
    if (R[i] ~ /^[ \t]*$/) continue
    match(R[i], /^ */)
    if (min < 0 || RLENGTH < min) min = RLENGTH
  }
  for (i = 1; i <= RN; i++) {
    if (R[i] ~ /^[ \t]*$/) R[i] = ""
    else R[i] = substr(R[i], min + 1)
  }
  return ""
}
function out(line) { if (mode == "update") print line }
function end_block(    problem, i) {
  if (!marked) return
  problem = load_region(src, name)
  if (problem != "") {
    fail(block_line, problem)
    for (i = 1; i <= BN; i++) out(B[i])
    return
  }
  if (mode == "update") {
    for (i = 1; i <= RN; i++) print R[i]
    return
  }
  for (i = 1; i <= BN || i <= RN; i++) {
    if (i > BN || i > RN || B[i] != R[i]) {
      fail(block_line + i, "the block differs from region " name " of " src " at its line " i \
           ":\n  here: " (i > BN ? "(the block ends)" : B[i]) \
           "\n  code: " (i > RN ? "(the region ends)" : R[i]) \
           "\n  (scripts/check-snippets.sh --update rewrites the marked blocks)")
      return
    }
  }
}
BEGIN { errors = 0; in_block = 0; pending = 0 }
{
  if (in_block) {
    if ($0 ~ /^```[ \t]*$/) {
      end_block()
      in_block = 0
      out($0)
    } else {
      B[++BN] = $0
      if (!marked) out($0)
    }
    next
  }
  if ($0 ~ /^<!-- snippet [^ ]+ [A-Za-z0-9_.-]+ -->[ \t]*$/) {
    if (pending) fail(pending_line, "a snippet marker not followed by a fenced block")
    split($0, f, " ")
    pending_src = f[3]
    pending_name = f[4]
    pending = 1
    pending_line = NR
    out($0)
    next
  }
  if ($0 ~ /^```/) {
    lang = $0
    sub(/^```[ \t]*/, "", lang)
    sub(/[ \t].*$/, "", lang)
    in_block = 1
    BN = 0
    block_line = NR
    marked = pending
    src = pending_src
    name = pending_name
    pending = 0
    if (!marked && strict && (lang == "cpp" || lang == "c++" || lang == "cxx" || lang == "hpp"))
      fail(NR, "a C++ block without a snippet marker: take it from an example " \
               "(<!-- snippet examples/<topic>/<name>.cpp <region> --> on the line before)")
    out($0)
    next
  }
  if (pending) {
    fail(pending_line, "a snippet marker not followed by a fenced block")
    pending = 0
  }
  out($0)
}
END {
  if (in_block) fail(block_line, "a fenced block that is not closed")
  if (pending) fail(pending_line, "a snippet marker not followed by a fenced block")
  exit errors > 0
}
AWK
)

status=0
checked=0
for file in "$@"; do
  strict=0
  [[ $file == docs/* ]] && strict=1
  if [[ $mode == update ]]; then
    tmp=$(mktemp)
    if awk -v mode=update -v strict="$strict" "$prog" "$file" >"$tmp"; then
      if ! cmp -s "$tmp" "$file"; then
        cat "$tmp" >"$file"
        echo "check-snippets: updated $file"
      fi
    else
      status=1
    fi
    rm -f "$tmp"
  else
    awk -v mode=check -v strict="$strict" "$prog" "$file" || status=1
  fi
  checked=$((checked + 1))
done
if ((status)); then
  echo "check-snippets: the documentation shows code that is not the examples' code" >&2
  exit 1
fi
echo "check-snippets: $checked files checked; their code blocks are the examples' code"
