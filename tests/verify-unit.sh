#!/usr/bin/env bash
# Checks deploy/sse-server.service as systemd would load it (`systemd-analyze verify`).
#
# verify also insists that ExecStart's program exists, and the unit names
# /usr/local/bin/sse-server, where the README installs it. So this checks a copy whose
# ExecStart names the binary given as the argument (the one this tree just built), in a
# folder of its own; nothing else in the unit changes.
# verify exits 0 even on keys and values it ignores, so anything it says is a failure.
set -euo pipefail
binary=$1
[ -x "$binary" ] || { echo "verify-unit: no binary at $binary" >&2; exit 1; }
cd "$(dirname "$0")/.."
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
sed "s|^ExecStart=/usr/local/bin/sse-server |ExecStart=$binary |" \
  deploy/sse-server.service > "$copy/sse-server.service"
if ! grep -q "^ExecStart=$binary " "$copy/sse-server.service"; then
  echo "verify-unit: deploy/sse-server.service has no ExecStart=/usr/local/bin/sse-server line" >&2
  exit 1
fi
said=$(systemd-analyze verify "$copy/sse-server.service" 2>&1) || { echo "$said" >&2; exit 1; }
if [ -n "$said" ]; then
  echo "$said" >&2
  exit 1
fi
echo "deploy/sse-server.service: systemd-analyze verify has nothing to say"
