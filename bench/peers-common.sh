# Shared by bench/peers-setup.sh and bench/peers-teardown.sh (sourced, not run).
# Paths and flags of the private Docker and Podman instances the benchmarks compare against.
# bench/peers.ts uses the same values: change both together.

BENCH_RUN=/run/berth-bench
BENCH_LIB=/var/lib/berth-bench

DOCKER_SOCK="$BENCH_RUN/docker.sock"
DOCKER_PIDFILE="$BENCH_RUN/dockerd.pid"
DOCKER_EXEC_ROOT="$BENCH_RUN/docker-exec"
DOCKER_DATA_ROOT="$BENCH_LIB/docker"
DOCKER_LOG="$BENCH_LIB/dockerd.log"
# dockerd's own containerd (dockerd supervises one when no system containerd answers).
CONTAINERD_PIDFILE="$DOCKER_EXEC_ROOT/containerd/containerd.pid"
# Docker's client ignores /usr/local/bin/docker's newer CLI; Debian's matches the engine.
DOCKER_BIN=/usr/bin/docker
DOCKER=("$DOCKER_BIN" -H "unix://$DOCKER_SOCK")

PODMAN_BIN=/usr/bin/podman
# Private storage and state, runc (crun 1.8 refuses this hybrid cgroup layout), cgroupfs, events
# in a file (no journald), runc's state under our run dir.
PODMAN=("$PODMAN_BIN"
  --root "$BENCH_LIB/podman/root"
  --runroot "$BENCH_RUN/podman/runroot"
  --tmpdir "$BENCH_RUN/podman/tmp"
  --storage-driver overlay
  --runtime runc
  --runtime-flag "root=$BENCH_RUN/podman/runc"
  --cgroup-manager cgroupfs
  --events-backend file)
# Flags for `podman run`: no network; container cgroups nested under the caller's own cgroup in
# every hierarchy (relative parent) and conmon left in the caller's cgroup, so nothing is created
# at a hierarchy's root; rlimits this host lets runc set (Podman's defaults, 1048576 open files
# and 4194304 processes, exceed the hard limits and runc fails with "error setting rlimits").
PODMAN_RUN_FLAGS=(--network none --cgroups no-conmon --cgroup-parent berth-bench-podman
  --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
DOCKER_RUN_FLAGS=(--network none)

# Host paths the engines create whatever their roots (dockerd's trust key, containerd's shim
# socket dir, dockerd's plugin dir, runc's default root that podman creates, containers/image's
# blob-info cache). Setup records the ones absent before it ran; teardown removes only those.
HOST_PATHS=(/etc/docker/key.json /run/containerd /run/docker /run/runc /var/lib/containers)
CREATED_PATHS="$BENCH_LIB/created-host-paths"

log() { printf 'peers: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# The pid in a pidfile when that process is alive and its command is $2, else nothing.
live_pid() {
  local file=$1 comm=$2 pid
  [[ -s $file ]] || return 0
  pid=$(tr -dc 0-9 <"$file")
  [[ -n $pid && -r /proc/$pid/comm ]] || return 0
  [[ $(cat "/proc/$pid/comm") == "$comm" ]] && echo "$pid"
  return 0
}

# Mount points at or below $1, deepest first.
mounts_under() {
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo |
    awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}
