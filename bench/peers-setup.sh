#!/usr/bin/env bash
# Sets up Docker and Podman as benchmark peers, isolated from the host. Run on demand (root),
# never by tests or scripts/setup.sh; peers are never dependencies of Berth.
#
#   bench/peers-setup.sh        then run the benches, then   bench/peers-teardown.sh
#
# - installs docker.io and podman from the Debian archive (without recommends), with no service
#   started by the packages (a policy-rc.d answering 101 is in place during the install);
# - starts dockerd by hand on a private socket, data root and exec root, with no bridge, no
#   iptables rules, no IP forwarding or masquerading, cgroupfs driver, and container cgroups
#   nested under the caller's own cgroup; its pid is in /run/berth-bench/dockerd.pid;
# - gives both engines a `busybox:latest` built from the host's static busybox (no registry);
# - checks `run --rm --network none busybox true` in both.
# Idempotent: a second run reuses what is there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=peers-common.sh
. "$here/peers-common.sh"

[[ $(id -u) == 0 ]] || die "run as root"

# --- packages --------------------------------------------------------------------------------
install_packages() {
  local missing=()
  for p in docker.io podman; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  if [[ -d /run/systemd/system ]]; then
    log "systemd is running: the packages' services are held back by policy-rc.d"
  else
    log "no systemd here (pid 1 is $(cat /proc/1/comm)); daemons are started by hand"
  fi
  local policy=/usr/sbin/policy-rc.d created_policy=
  if [[ -e $policy ]]; then
    local rc=0
    "$policy" docker start >/dev/null 2>&1 || rc=$?
    [[ $rc == 101 ]] || die "$policy exists and answers $rc, not 101: services could start on install"
  else
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  log "apt-get install ${missing[*]}"
  local rc=0
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 || rc=$?
  [[ -n $created_policy ]] && rm -f "$policy"
  ((rc == 0)) || die "apt-get install failed ($rc)"
}

# --- dockerd ---------------------------------------------------------------------------------
start_dockerd() {
  local pid
  pid=$(live_pid "$DOCKER_PIDFILE" dockerd)
  if [[ -n $pid ]] && "${DOCKER[@]}" info >/dev/null 2>&1; then
    log "dockerd already running (pid $pid) on $DOCKER_SOCK"
    return 0
  fi
  [[ -z $pid ]] || die "dockerd pid $pid from $DOCKER_PIDFILE does not answer; run peers-teardown.sh"
  mkdir -p "$BENCH_RUN" "$DOCKER_EXEC_ROOT" "$DOCKER_DATA_ROOT"
  # An empty config file of its own: /etc/docker/daemon.json (if any) is not read.
  echo '{}' >"$BENCH_LIB/daemon.json"
  log "starting dockerd on $DOCKER_SOCK (log: $DOCKER_LOG)"
  setsid /usr/sbin/dockerd \
    --config-file "$BENCH_LIB/daemon.json" \
    -H "unix://$DOCKER_SOCK" \
    --data-root "$DOCKER_DATA_ROOT" \
    --exec-root "$DOCKER_EXEC_ROOT" \
    --pidfile "$DOCKER_PIDFILE" \
    --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --userland-proxy=false \
    --exec-opt native.cgroupdriver=cgroupfs \
    --cgroup-parent berth-bench-docker \
    --storage-driver overlay2 \
    --log-level warn \
    </dev/null >>"$DOCKER_LOG" 2>&1 &
  local i
  for ((i = 0; i < 60; i++)); do
    if "${DOCKER[@]}" info >/dev/null 2>&1; then
      log "dockerd $(live_pid "$DOCKER_PIDFILE" dockerd) answers ($("${DOCKER[@]}" version -f '{{.Server.Version}}'))"
      return 0
    fi
    sleep 0.5
  done
  tail -20 "$DOCKER_LOG" >&2 || true
  die "dockerd did not answer on $DOCKER_SOCK within 30 s"
}

# --- busybox image ---------------------------------------------------------------------------
busybox_tar() {
  local out=$1 tmp
  tmp=$(mktemp -d /tmp/berth-bench-busybox.XXXXXX)
  mkdir -p "$tmp"/{bin,dev,etc,home,proc,root,sys,tmp,var}
  chmod 555 "$tmp/proc" "$tmp/sys"
  chmod 700 "$tmp/root"
  chmod 1777 "$tmp/tmp"
  cp /usr/bin/busybox "$tmp/bin/busybox"
  local a
  for a in $(/usr/bin/busybox --list); do
    [[ $a == busybox || ! $a =~ ^[A-Za-z0-9_.[-]+$ ]] || ln -s busybox "$tmp/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$tmp/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/etc/group"
  tar -C "$tmp" --numeric-owner --owner=0 --group=0 -cf "$out" .
  rm -rf "$tmp"
}

import_busybox() {
  if "${DOCKER[@]}" image inspect busybox:latest >/dev/null 2>&1 &&
    "${PODMAN[@]}" image exists busybox:latest; then
    log "docker and podman already have busybox:latest"
    return 0
  fi
  tarball=$(mktemp /tmp/berth-bench-busybox.XXXXXX.tar)
  trap 'rm -f "$tarball"' EXIT
  busybox_tar "$tarball"
  local changes=(-c 'CMD ["sh"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  if "${DOCKER[@]}" image inspect busybox:latest >/dev/null 2>&1; then
    log "docker already has busybox:latest"
  else
    log "docker import busybox:latest"
    "${DOCKER[@]}" import "${changes[@]}" "$tarball" busybox:latest >/dev/null
  fi
  if "${PODMAN[@]}" image exists busybox:latest; then
    log "podman already has busybox:latest"
  else
    log "podman import busybox:latest"
    "${PODMAN[@]}" import "${changes[@]}" "$tarball" docker.io/library/busybox:latest >/dev/null
  fi
  rm -f "$tarball"
}

check() {
  "${DOCKER[@]}" run --rm "${DOCKER_RUN_FLAGS[@]}" busybox true ||
    die "docker run --rm --network none busybox true failed"
  "${PODMAN[@]}" run --rm "${PODMAN_RUN_FLAGS[@]}" busybox true ||
    die "podman run --rm --network none busybox true failed"
  log "docker and podman run busybox (--network none)"
}

# Notes which of HOST_PATHS this setup is about to create, so teardown removes only those.
record_host_paths() {
  mkdir -p "$BENCH_LIB"
  touch "$CREATED_PATHS"
  local p
  for p in "${HOST_PATHS[@]}"; do
    [[ -e $p ]] || grep -qxF "$p" "$CREATED_PATHS" || echo "$p" >>"$CREATED_PATHS"
  done
}

install_packages
record_host_paths
mkdir -p "$BENCH_RUN/podman" "$BENCH_LIB/podman"
start_dockerd
import_busybox
check
log "ready: DOCKER_HOST=unix://$DOCKER_SOCK; stop with bench/peers-teardown.sh"
