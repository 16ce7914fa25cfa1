#!/usr/bin/env bash
# The Debian packages the tests need, installed when missing. With no arguments, all of
# them: Chromium for the browser tests, nginx and openssl for the tests behind a TLS
# proxy, redis-server for the tests of instances sharing a log, nft (package nftables)
# for the tests of clients that vanish, promtool and prometheus (package prometheus) for
# the metrics, systemd-analyze (package systemd) for the unit, prlimit (package util-linux)
# to start the server under a stock shell's open-files limit. With arguments, only those
# (`make test` asks for redis-server, nft, promtool, systemd-analyze and prlimit; `make bench` for
# node too). Each is named by the command it provides, which is also its package's name
# unless `package_of` says otherwise. The packages are told not to start their own
# servers (policy-rc.d): the tests start theirs, on loopback.
set -euo pipefail
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(chromium nginx openssl redis-server nft promtool prometheus systemd-analyze prlimit)
package_of() {
  case "$1" in
    nft) echo nftables ;;
    promtool) echo prometheus ;;
    systemd-analyze) echo systemd ;;
    node) echo nodejs ;;
    prlimit) echo util-linux ;;
    *) echo "$1" ;;
  esac
}
missing=()
for command in "${wanted[@]}"; do
  # nft lives in /usr/sbin, which a user's PATH may lack.
  if command -v "$command" >/dev/null || [ -x "/usr/sbin/$command" ]; then
    continue
  fi
  package=$(package_of "$command")
  # promtool and prometheus come in one package: ask for it once.
  [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
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
