#!/usr/bin/env bash
# Installs what Berth needs on a Debian 12 host, idempotently:
#   apt: runc, conmon, busybox-static, iptables, iproute2, attr (overlay xattrs: layers, builds)
#        (+ chromium, docker-registry, skopeo, apache2-utils (htpasswd), shellcheck and docker.io
#         with --test: the registry tests; docker.io's services are never started, the
#         test starts its own dockerd on a private socket)
#   npm: the workspace's dependencies (npm ci when node_modules is missing or stale)
# Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

export DEBIAN_FRONTEND=noninteractive
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

pkgs=(runc crun conmon busybox-static iptables iproute2 util-linux ca-certificates attr)
[[ $want_test == 1 ]] && pkgs+=(chromium fonts-liberation docker-registry skopeo apache2-utils docker.io shellcheck)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]} — run as root or install them: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  apt-get update -q >/dev/null
  # No package service starts during the install (docker.io, containerd, docker-registry): a
  # policy-rc.d answering 101, as bench/peers-setup.sh does, unless the host has its own.
  policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
  fi
  rc=0
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [[ $created_policy == 1 ]] && rm -f "$policy"
  ((rc == 0)) || exit "$rc"
  # Installed here: keep docker.io's system daemon off at boot too (tests run their own).
  if [[ " ${missing[*]} " == *" docker.io "* ]] && command -v systemctl >/dev/null; then
    systemctl disable docker.service docker.socket containerd.service >/dev/null 2>&1 || true
  fi
fi
# Debian's docker-registry enables a system service on :5000; the tests start their own
# registries on random loopback ports, so keep the packaged one (started by its own install) off.
if [[ $want_test == 1 && $(id -u) -eq 0 ]] && command -v systemctl >/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

# npm dependencies: reinstall when the lockfile changed since the last install.
stamp=node_modules/.package-lock.json
if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
  log "npm ci (compiles better-sqlite3 from source: about two minutes)"
  npm ci --no-audit --no-fund
fi
log "ready"
