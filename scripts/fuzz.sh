#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cpp) into build/fuzz with ASan+UBSan and runs each
# for FUZZ_SECONDS (default 30) from the seed corpus in fuzz/corpus (and fuzz/seeds/<target>).
# Exits non-zero on any finding; the crashing input is left in build/fuzz/artifacts.
#
# clang (14 and 16 in Debian 12) checks __cpp_concepts >= 202002L before it offers libstdc++ 12's
# std::expected, and reports 201907L: we define the macro to the C++20 value. clang 14 also lacks
# conditionally trivial destructors (P0848), which std::expected of a non-trivial type needs, so
# we use clang 16, which implements everything <expected> uses.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
cxx=${FUZZ_CXX:-clang++-16}
out=build/fuzz

if ! command -v "$cxx" >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-16-dev 2>/dev/null |
    grep -q "install ok installed"; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    clang-16 libclang-rt-16-dev zlib1g-dev nettle-dev libgnutls28-dev >/dev/null
fi

flags=(-std=c++2b -O1 -g -fno-omit-frame-pointer -Wno-builtin-macro-redefined
       -Wno-macro-redefined -D__cpp_concepts=202002L -Iinclude -Isrc/core -Isrc/dist
       -fsanitize=address,undefined -fno-sanitize-recover=all)
sources=(src/core/atom.cpp src/core/node.cpp src/core/pid.cpp src/core/port.cpp src/core/ref.cpp
         src/core/term.cpp src/core/term_print.cpp src/core/etf_decode.cpp src/core/etf_encode.cpp
         # dist: the codecs and state machines, which do no I/O (not the carriers)
         src/dist/bytes.cpp src/dist/wire_error.cpp src/dist/epmd_codec.cpp src/dist/node_name.cpp
         src/dist/cookie.cpp src/dist/handshake_codec.cpp src/dist/handshake.cpp
         src/dist/control.cpp src/dist/packet.cpp src/dist/frame_reader.cpp
         # TLS distribution's check of the peer's certificate (GnuTLS parses it)
         src/dist/certificate_names.cpp
         # QUIC's merge of the peer's streams into frames (QuicCarrier's reading)
         src/dist/stream_merger.cpp)

mkdir -p "$out/obj" "$out/artifacts"
objects=()
for src in "${sources[@]}"; do
  obj="$out/obj/$(basename "${src%.cpp}").o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] ||
      [ -n "$(find include src/core src/dist -newer "$obj" -name '*.hpp')" ]; then
    "$cxx" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  fi
  objects+=("$obj")
done

status=0
for target in fuzz/*_fuzz.cpp; do
  name=$(basename "${target%.cpp}")
  "$cxx" "${flags[@]}" -fsanitize=fuzzer "$target" "${objects[@]}" -lz -lnettle -lgnutls -o "$out/$name"
  # The working corpus grows in build/; the committed seeds stay as they are.
  mkdir -p "$out/corpus/$name"
  echo "== $name: ${seconds}s"
  # Seeds: the ETF corpus for every target, and fuzz/seeds/<target> where a target has its own.
  seeds=(fuzz/corpus)
  [ -d "fuzz/seeds/$name" ] && seeds+=("fuzz/seeds/$name")
  if ! "$out/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=0 -artifact_prefix="$out/artifacts/$name-" \
      "$out/corpus/$name" "${seeds[@]}" 2>"$out/$name.log"; then
    tail -n 40 "$out/$name.log"
    echo "== $name: FOUND A BUG (input in $out/artifacts)"
    status=1
  else
    grep -E "^#[0-9]+ +DONE" "$out/$name.log" || tail -n 2 "$out/$name.log"
  fi
done
exit $status
