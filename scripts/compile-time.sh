#!/usr/bin/env bash
# Compile time of the two reference files of issue 10 (scripts/compile-time/*.cpp): the umbrella
# header alone, and one GenServer with a supervisor. Each is compiled to an object file the way
# the release preset compiles (-O3 -DNDEBUG -std=c++23), RUNS times (default 3); the best wall
# time, the best CPU time (user + system: steadier than wall on a shared machine) and the lowest
# peak memory (max RSS) are printed as bench= lines.
#   scripts/compile-time.sh                  g++ (CXX, default c++)
#   CXX=clang++-16 scripts/compile-time.sh   clang, with the __cpp_concepts options of
#                                            cmake/Compilers.cmake
#   scripts/compile-time.sh FILE...          other files, same flags
#   INSTRUCTIONS=1 scripts/compile-time.sh   also the compiler's instruction count under
#                                            callgrind (slow, ~1 min a file, but independent of
#                                            the machine's load: the figure to compare)
#   INCLUDE=dir scripts/compile-time.sh      the headers of another tree (e.g. a git archive of
#                                            an older commit's include/)
# Budget (issue 10): half of what the tree before its compile-time work (commit 10df690) cost.
# g++ 12 instructions then: umbrella 10.47 G, server_and_supervisor 21.57 G; clang 16: 8.35 G and
# 16.51 G. The figures before and after each cut: bench/results/compile-time-*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
cxx=${CXX:-c++}
runs=${RUNS:-3}
flags=(-std=c++23 -O3 -DNDEBUG "-I${INCLUDE:-include}" ${CXXFLAGS:-})
if "$cxx" --version | grep -q clang; then
  flags[0]=-std=c++2b  # clang 16's name for it
  flags+=(-U__cpp_concepts -D__cpp_concepts=202002L)
fi
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(scripts/compile-time/umbrella.cpp scripts/compile-time/server_and_supervisor.cpp)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for file in "${files[@]}"; do
  best_wall="" best_cpu="" best_kb=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$cxx" "${flags[@]}" -c "$file" -o "$out/file.o"
    read -r wall user sys kb <"$out/time"
    cpu=$(awk "BEGIN { print $user + $sys }")
    if [ -z "$best_cpu" ] || awk "BEGIN { exit !($cpu < $best_cpu) }"; then best_cpu=$cpu; fi
    if [ -z "$best_wall" ] || awk "BEGIN { exit !($wall < $best_wall) }"; then best_wall=$wall; fi
    if [ -z "$best_kb" ] || [ "$kb" -lt "$best_kb" ]; then best_kb=$kb; fi
  done
  name=$(basename "${file%.cpp}")
  impl=$(basename "$cxx")
  echo "bench=compile_wall.$name impl=$impl value=$best_wall unit=s"
  echo "bench=compile_cpu.$name impl=$impl value=$best_cpu unit=s"
  echo "bench=compile_memory.$name impl=$impl value=$((best_kb / 1024)) unit=MB"
  if [ -n "${INSTRUCTIONS:-}" ]; then
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$out/cg.%p" \
      "$cxx" "${flags[@]}" -c "$file" -o "$out/file.o" 2>"$out/cg.log"
    ir=$(awk '/Collected :/ { n += $NF } END { printf "%.3f", n / 1e9 }' "$out/cg.log")
    rm -f "$out"/cg.*
    echo "bench=compile_instructions.$name impl=$impl value=$ir unit=G"
  fi
done
