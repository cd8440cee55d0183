#!/usr/bin/env bash
# Uses ambitious as a project that depends on it would, and fails if that does not work:
#  1. installs the release build (cmake --install) into a scratch prefix, then builds and runs
#     tests/package/consumer against it with find_package(ambitious CONFIG REQUIRED), with each
#     compiler in CONSUMER_CXX (default: "g++ clang++-16": the package built with g++ is used
#     from clang 16 with no flags of the consumer's own; the options clang 16 needs come with
#     the package's targets, see cmake/Compilers.cmake);
#  2. configures the consumer with ambitious as a subdirectory, and checks that none of
#     ambitious's tests, examples or benchmarks is part of that build;
#  3. configures ambitious itself with each combination of its options.
# Needs `make release` first (it installs what that built).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -d build/release ] || { echo "check-package: build first (make release)" >&2; exit 1; }
cmake --install build/release --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/lib/cmake/ambitious/ambitiousConfig.cmake"
test -f "$work/prefix/include/ambitious/ambitious.hpp"

compilers=${CONSUMER_CXX:-g++ clang++-16}
quiet() { "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; return 1; }; }
# The consumer the documentation shows (examples/consumer), and one with a supervision tree.
consumers=("examples/consumer:hello from ambitious" "tests/package/consumer:the counter says 42")
for cxx in $compilers; do
  for consumer in "${consumers[@]}"; do
    dir=${consumer%%:*} expect=${consumer#*:}
    echo "== $dir against the installed package, $cxx"
    build="$work/$(basename "$(dirname "$dir")")-$cxx"
    quiet cmake -S "$dir" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$work/prefix"
    quiet cmake --build "$build"
    out=$("$build/consumer")
    echo "$out"
    [[ $out == *"$expect"* ]]
  done
done

echo "== ambitious as a subdirectory: its libraries only"
quiet cmake -S tests/package/consumer -B "$work/sub" -G Ninja -DAMBITIOUS_SOURCE_DIR="$root"
targets=$(cmake --build "$work/sub" --target help)
for t in gen_server_test flagship ambitious_bench; do
  if grep -q "^$t:" <<<"$targets"; then echo "check-package: $t is built as a subdirectory" >&2; exit 1; fi
done
grep -q '^ambitious_naming:' <<<"$targets"

echo "== every combination of the options configures"
for tests in ON OFF; do for examples in ON OFF; do for bench in ON OFF; do for mi in ON OFF; do
  quiet cmake -S . -B "$work/options" -G Ninja -DAMBITIOUS_ENABLE_TESTS=$tests \
    -DAMBITIOUS_ENABLE_EXAMPLES=$examples -DAMBITIOUS_ENABLE_BENCH=$bench \
    -DAMBITIOUS_MIMALLOC=$mi
  rm -rf "$work/options"
done; done; done; done
echo "check-package: the package, the subdirectory and the options work"
