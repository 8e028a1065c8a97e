#!/usr/bin/env bash
# Stops what bench/peers-setup.sh started: removes the private engines' containers, stops the
# dockerd whose pid is in /run/berth-bench/dockerd.pid (and, if it outlives it, that dockerd's
# own containerd, by its pidfile), and unmounts what they left under /run/berth-bench and
# /var/lib/berth-bench. Nothing else is signalled. Images and packages stay.
#
#   bench/peers-teardown.sh [--purge]      --purge also deletes /var/lib/berth-bench (images)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=peers-common.sh
. "$here/peers-common.sh"

[[ $(id -u) == 0 ]] || die "run as root"
purge=
[[ ${1:-} == --purge ]] && purge=1

# Waits up to $2 seconds for pid $1 to exit; fails if it is still there.
wait_gone() {
  local pid=$1 i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ -e /proc/$pid ]] || return 0
    sleep 0.1
  done
  return 1
}

if [[ -x $PODMAN_BIN && -d $BENCH_LIB/podman/root ]]; then
  ids=$("${PODMAN[@]}" ps -aq 2>/dev/null || true)
  if [[ -n $ids ]]; then
    log "podman: removing $(wc -w <<<"$ids") container(s)"
    # shellcheck disable=SC2086
    "${PODMAN[@]}" rm -f -t 0 $ids >/dev/null || log "podman rm failed"
  fi
fi

dockerd=$(live_pid "$DOCKER_PIDFILE" dockerd)
containerd=$(live_pid "$CONTAINERD_PIDFILE" containerd)
if [[ -n $dockerd ]]; then
  ids=$("${DOCKER[@]}" ps -aq 2>/dev/null || true)
  if [[ -n $ids ]]; then
    log "docker: removing $(wc -w <<<"$ids") container(s)"
    # shellcheck disable=SC2086
    "${DOCKER[@]}" rm -f $ids >/dev/null || log "docker rm failed"
  fi
  log "stopping dockerd (pid $dockerd)"
  kill -TERM "$dockerd"
  wait_gone "$dockerd" 30 || die "dockerd (pid $dockerd) still running after 30 s"
else
  log "no dockerd running from $DOCKER_PIDFILE"
fi
if [[ -n $containerd ]] && ! wait_gone "$containerd" 10; then
  log "dockerd's containerd (pid $containerd) outlived it: stopping it"
  kill -TERM "$containerd"
  wait_gone "$containerd" 10 || die "containerd (pid $containerd) still running"
fi

for dir in "$BENCH_RUN" "$BENCH_LIB"; do
  while read -r m; do
    [[ -n $m ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m" || log "could not unmount $m"
  done < <(mounts_under "$dir")
done

# Host paths the engines created outside their roots (recorded by peers-setup.sh).
if [[ -s $CREATED_PATHS ]]; then
  while read -r p; do
    case $p in
      /etc/docker/key.json) rm -f "$p" ;;
      # Only containers/image's blob-info cache lives there.
      /var/lib/containers) [[ ! -d $p ]] || { rm -rf "$p/cache" && rmdir "$p"; } || log "$p is not empty: left" ;;
      /run/*) [[ ! -d $p ]] || find "$p" -depth -type d -empty -delete || log "$p is not empty: left" ;;
    esac
  done <"$CREATED_PATHS"
  rm -f "$CREATED_PATHS"
fi
rm -rf "$BENCH_RUN"
[[ -z $purge ]] || rm -rf "$BENCH_LIB"

# Cgroups the peers' containers used (nested under the caller's own group in each hierarchy,
# see --cgroup-parent in peers-common.sh): empty once the containers are gone.
while read -r mnt; do
  find "$mnt" -maxdepth 5 -depth -type d \( -name berth-bench-docker -o -name berth-bench-podman \) |
    while read -r d; do
      find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || log "cgroup $d is not empty: left"
    done
done < <(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { t = $(i + 1); break }
  if (t == "cgroup" || t == "cgroup2") print $5 }' /proc/self/mountinfo)
log "peers stopped"
