#!/usr/bin/env bash
# Makes the certificates of a test cluster with GnuTLS's certtool (package gnutls-bin): a CA
# (DIR/ca.pem and DIR/ca-key.pem, made once and reused) and, for each node name given, its
# certificate DIR/<node>.pem and private key DIR/<node>-key.pem, signed by that CA.
#   scripts/cluster-certs.sh DIR a@127.0.0.1 b@127.0.0.1
#   scripts/cluster-certs.sh --expired DIR c@127.0.0.1     a certificate whose validity ended
# A node's certificate names it as ambitious checks it (a subject alternative name
# URI:erlang-node:<node>) and names its host as Erlang's TLS client checks it (a DNS name equal to
# the host part, and for an address also an IP address). Keys are ECDSA P-256, unencrypted: keep
# DIR private. For tests and examples; a production cluster's CA lives elsewhere.
set -euo pipefail
expired=0
if [ "${1:-}" = "--expired" ]; then expired=1; shift; fi
if [ $# -lt 2 ]; then
  echo "usage: cluster-certs.sh [--expired] DIR NODE..." >&2
  exit 2
fi
command -v certtool >/dev/null || { echo "cluster-certs.sh: certtool missing (apt-get install gnutls-bin)" >&2; exit 2; }
dir=$1
shift
mkdir -p "$dir"
chmod 700 "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -f "$dir/ca.pem" ]; then
  certtool --generate-privkey --key-type=ecdsa --outfile "$dir/ca-key.pem" 2>/dev/null
  printf 'cn = "ambitious test cluster CA"\nca\ncert_signing_key\nexpiration_days = 3650\n' >"$tmp/ca"
  certtool --generate-self-signed --load-privkey "$dir/ca-key.pem" --template "$tmp/ca" \
    --outfile "$dir/ca.pem" 2>/dev/null
fi
for node in "$@"; do
  case "$node" in
    ?*@?*) ;;
    *) echo "cluster-certs.sh: $node is not a node name (alive@host)" >&2; exit 2 ;;
  esac
  host=${node#*@}
  {
    echo "cn = \"$node\""
    echo "uri = \"erlang-node:$node\""
    echo "dns_name = \"$host\""
    if [[ "$host" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then echo "ip_address = \"$host\""; fi
    echo "tls_www_server"
    echo "tls_www_client"
    echo "signing_key"
    if [ "$expired" = 1 ]; then
      echo 'activation_date = "2020-01-01 00:00:00"'
      echo 'expiration_date = "2021-01-01 00:00:00"'
    else
      echo "expiration_days = 825"
    fi
  } >"$tmp/node"
  certtool --generate-privkey --key-type=ecdsa --outfile "$dir/$node-key.pem" 2>/dev/null
  certtool --generate-certificate --load-privkey "$dir/$node-key.pem" \
    --load-ca-certificate "$dir/ca.pem" --load-ca-privkey "$dir/ca-key.pem" \
    --template "$tmp/node" --outfile "$dir/$node.pem" 2>/dev/null
done
