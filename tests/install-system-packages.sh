#!/usr/bin/env bash
# The Debian packages the tests need, installed when missing. With no arguments, all of
# them: Chromium for the browser tests, nginx and openssl for the tests behind a TLS
# proxy, redis-server for the tests of instances sharing a log. With arguments, only
# those (`make test` asks for redis-server alone). Each package is named after the
# command it provides (`node` comes in Debian's `nodejs`). The packages are told not to start their own servers
# (policy-rc.d): the tests start theirs, on loopback.
set -euo pipefail
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(chromium nginx openssl redis-server)
# The Debian package that provides a command, where the two names differ.
package_of() { case "$1" in node) echo nodejs ;; *) echo "$1" ;; esac; }
missing=()
for command in "${wanted[@]}"; do
  command -v "$command" >/dev/null || missing+=("$(package_of "$command")")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages the tests need: ${missing[*]}" >&2
# As root (CI) directly; otherwise through sudo, which asks for a password.
as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${as_root[@]}" chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ $created_policy -eq 1 ] && "${as_root[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
