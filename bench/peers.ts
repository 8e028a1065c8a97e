/**
 * Peer engines for side-by-side figures: Docker and Podman, as set up by bench/peers-setup.sh
 * (a private dockerd on its own socket and data root; Podman with its own storage, runc and
 * cgroupfs). Nothing is installed or started here; a missing peer is reported with the reason it
 * was skipped. Paths and flags mirror bench/peers-common.sh: change both together.
 *
 * Both peers run containers with `--network none` (a private network namespace with only lo),
 * which is what Berth's containers and the raw runc bundle get: like is compared with like.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const BENCH_RUN = "/run/berth-bench";
const BENCH_LIB = "/var/lib/berth-bench";

/** The private dockerd's socket; BERTH_BENCH_DOCKER_HOST overrides it (a DOCKER_HOST value). */
export const DOCKER_HOST = process.env.BERTH_BENCH_DOCKER_HOST ?? `unix://${BENCH_RUN}/docker.sock`;

export interface Peer {
  name: "docker" | "podman";
  /** argv prefix that reaches this peer's private instance (binary and global flags). */
  cmd: string[];
  /** Flags for `run`: no network, and for Podman cgroups nested under ours and host-safe rlimits. */
  runFlags: string[];
  /** `comm` of the per-container supervisor, the container's parent process. */
  monitor: string;
  /** Extra flags for `rm -f` (Podman waits 10 s for a stop otherwise). */
  rmFlags: string[];
  /** Set when the peer cannot be measured on this host. */
  skip?: string;
}

function firstExisting(paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

function answers(argv: string[]): { ok: boolean; detail: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 10_000,
  });
  const detail = (r.stderr?.toString() || r.error?.message || "").trim().split("\n")[0] ?? "";
  return { ok: r.status === 0, detail };
}

const SETUP_HINT = "run bench/peers-setup.sh";

export function detectDocker(): Peer {
  const base = {
    name: "docker" as const,
    runFlags: ["--network", "none"],
    // comm is cut to 15 characters: containerd-shim-runc-v2 reads "containerd-shim".
    monitor: "containerd-shim",
    rmFlags: [],
  };
  // Debian's client (same release as the engine), not /usr/local/bin's newer one.
  const bin = firstExisting(["/usr/bin/docker"]);
  if (!bin) return { ...base, cmd: ["docker"], skip: `docker.io is not installed (${SETUP_HINT})` };
  const cmd = [bin, "-H", DOCKER_HOST];
  if (DOCKER_HOST.startsWith("unix://") && !existsSync(DOCKER_HOST.slice("unix://".length)))
    return { ...base, cmd, skip: `no engine on ${DOCKER_HOST} (${SETUP_HINT})` };
  const info = answers([...cmd, "info", "--format", "{{.ServerVersion}}"]);
  if (!info.ok)
    return { ...base, cmd, skip: `no engine on ${DOCKER_HOST} (${SETUP_HINT}): ${info.detail}` };
  const img = answers([...cmd, "image", "inspect", "busybox"]);
  if (!img.ok)
    return { ...base, cmd, skip: `the engine has no local busybox image (${SETUP_HINT})` };
  return { ...base, cmd };
}

export function detectPodman(): Peer {
  const base = {
    name: "podman" as const,
    runFlags: [
      "--network",
      "none",
      // conmon stays in the caller's cgroup; the container's cgroups nest under the caller's
      // own group in every hierarchy (a relative parent), never at a hierarchy's root.
      "--cgroups",
      "no-conmon",
      "--cgroup-parent",
      "berth-bench-podman",
      // Podman's defaults (1048576 files, 4194304 processes) exceed this host's hard limits.
      "--ulimit",
      "nofile=1024:1024",
      "--ulimit",
      "nproc=4096:4096",
    ],
    monitor: "conmon",
    rmFlags: ["-t", "0"],
  };
  const bin = firstExisting(["/usr/bin/podman", "/usr/local/bin/podman"]);
  if (!bin) return { ...base, cmd: ["podman"], skip: `podman is not installed (${SETUP_HINT})` };
  const cmd = [
    bin,
    "--root",
    `${BENCH_LIB}/podman/root`,
    "--runroot",
    `${BENCH_RUN}/podman/runroot`,
    "--tmpdir",
    `${BENCH_RUN}/podman/tmp`,
    "--storage-driver",
    "overlay",
    // crun 1.8 refuses this hybrid cgroup layout; runc is what Berth uses here too.
    "--runtime",
    "runc",
    "--runtime-flag",
    `root=${BENCH_RUN}/podman/runc`,
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
  ];
  // Set up means both its storage and its run dir (teardown removes the latter): podman has no
  // daemon, so without this check it would quietly recreate its state after a teardown.
  if (!existsSync(`${BENCH_LIB}/podman/root`) || !existsSync(`${BENCH_RUN}/podman`))
    return { ...base, cmd, skip: `podman is not set up (${SETUP_HINT})` };
  const img = answers([...cmd, "image", "exists", "busybox"]);
  if (!img.ok) return { ...base, cmd, skip: `podman has no local busybox image (${SETUP_HINT})` };
  return { ...base, cmd };
}

/** One line for a bench's header: how each side's containers are networked. */
export const NETWORK_NOTE =
  "network: every side runs without a network, in a private netns with only lo: Berth " +
  "(--network none), raw runc (runc spec's netns), docker/podman (--network none); the " +
  "engine's bridge-vs-none rows are the one exception";
