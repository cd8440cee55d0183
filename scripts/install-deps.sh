#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the benchmarks need, when missing;
# `install-deps.sh docs` installs only what `make docs` needs (Doxygen, kept out of the build's
# list). Idempotent: does nothing when everything is present.
set -eu
case "${1:-build}" in
  build)
    pkgs="g++ cmake make ninja-build libboost1.81-dev libgtest-dev libgmock-dev libbenchmark-dev
          libmimalloc-dev zlib1g-dev nettle-dev libgnutls28-dev gnutls-bin
          libngtcp2-dev libngtcp2-crypto-gnutls-dev clang-format-16 clang-16
          libclang-rt-16-dev erlang-base erlang-ssl" ;;
  docs) pkgs="doxygen" ;;
  *) echo "usage: install-deps.sh [build|docs]" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "# installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ]; then
  $SUDO apt-get update -q >/dev/null
fi
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
