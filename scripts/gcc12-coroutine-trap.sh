#!/usr/bin/env bash
# The g++ 12 coroutine trap of the README, shown: builds each program of
# scripts/gcc12-coroutine-trap/ with g++ 12 and with clang 16 and runs it. The programs use no
# part of ambitious; each prints, per form of its co_await expression, how many objects are
# alive at the end (0 is right; -1: one was destroyed twice).
#   scripts/gcc12-coroutine-trap.sh [compiler...]   default: g++-12 clang++-16
set -uo pipefail
cd "$(dirname "$0")/gcc12-coroutine-trap"
compilers=("$@")
[ ${#compilers[@]} -gt 0 ] || compilers=(g++-12 clang++-16)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for program in braced_temporary capturing_lambda braced_list; do
  for cxx in "${compilers[@]}"; do
    echo "== $program.cpp, $cxx"
    if "$cxx" -std=c++20 -O2 -Wall -Wextra -Wpedantic "$program.cpp" -o "$out/$program" \
        2>"$out/errors"; then
      "$out/$program" || echo "(exit status $?)"
    else
      grep -m1 "error:" "$out/errors" | sed 's/^.*error:/does not compile: error:/'
    fi
  done
done
