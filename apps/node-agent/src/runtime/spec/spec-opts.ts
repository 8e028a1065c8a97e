/**
 * The OCI spec, built from small composable options (containerd's oci.SpecOpts). Each option
 * changes one concern; `buildSpec` applies them in order to an empty, safe base.
 */
import type { OciMount, OciSpec, SpecOpt } from "./oci-spec";
import type { ContainerLimits } from "@berth/core";
import { limitsToResources, type ResourceOptions } from "./resources";

export type { OciSpec, SpecOpt } from "./oci-spec";

/** Docker's default capability set (moby/oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
] as const;

/** Docker's masked and read-only paths (moby/oci/defaults.go). */
export const DEFAULT_MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
export const DEFAULT_READONLY_PATHS = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/** The open-files limit every container gets; never above the host's hard limit (20000 here). */
export const DEFAULT_NOFILE = 1024;

export type NamespaceType = "pid" | "network" | "uts" | "mount" | "ipc" | "user" | "cgroup";

export function baseSpec(): OciSpec {
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: [],
      cwd: "/",
      capabilities: { bounding: [], effective: [], permitted: [] },
      rlimits: [],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: false },
    mounts: [],
    linux: {
      namespaces: [],
      // Deny every device by default; runc adds the standard ones (null, zero, full, tty, urandom, random).
      resources: { devices: [{ allow: false, access: "rwm" }] },
    },
  };
}

export function buildSpec(...opts: SpecOpt[]): OciSpec {
  const spec = baseSpec();
  for (const o of opts) o(spec);
  return spec;
}

export const withProcess =
  (p: {
    args: string[];
    env: string[];
    cwd?: string;
    uid?: number;
    gid?: number;
    additionalGids?: number[];
    terminal?: boolean;
  }): SpecOpt =>
  (s) => {
    if (p.args.length === 0) throw new Error("withProcess: args must not be empty");
    s.process.args = [...p.args];
    s.process.env = [...p.env];
    s.process.cwd = p.cwd ?? "/";
    s.process.terminal = p.terminal ?? false;
    s.process.user = { uid: p.uid ?? 0, gid: p.gid ?? 0 };
    if (p.additionalGids?.length) s.process.user.additionalGids = [...p.additionalGids];
  };

export const withNamespaces =
  (...types: NamespaceType[]): SpecOpt =>
  (s) => {
    for (const t of types)
      if (!s.linux.namespaces.some((n) => n.type === t)) s.linux.namespaces.push({ type: t });
  };

export const withCapabilities =
  (caps: readonly string[] = DEFAULT_CAPABILITIES): SpecOpt =>
  (s) => {
    const list = [...caps];
    // No inheritable or ambient capabilities, as Docker does since 20.10.
    s.process.capabilities = { bounding: list, effective: [...list], permitted: [...list] };
  };

/**
 * Maps every container limit to `linux.resources` (see resources.ts for Docker's swap rule).
 * Block IO weight is applied only when `opts.blkioWeight` says the kernel has the file.
 */
export const withLimits =
  (l: Partial<ContainerLimits>, opts: ResourceOptions = { blkioWeight: true }): SpecOpt =>
  (s) => {
    s.linux.resources = { ...s.linux.resources, ...limitsToResources(l, opts) };
  };

export const withCgroupsPath =
  (path: string): SpecOpt =>
  (s) => {
    s.linux.cgroupsPath = path;
  };

export const withRootfs =
  (path: string, readonly = false): SpecOpt =>
  (s) => {
    s.root = { path, readonly };
  };

export const withHostname =
  (hostname: string): SpecOpt =>
  (s) => {
    s.hostname = hostname;
  };

export const withRlimits =
  (nofile = DEFAULT_NOFILE): SpecOpt =>
  (s) => {
    s.process.rlimits = s.process.rlimits.filter((r) => r.type !== "RLIMIT_NOFILE");
    s.process.rlimits.push({ type: "RLIMIT_NOFILE", hard: nofile, soft: nofile });
  };

export const withNoNewPrivileges =
  (on = true): SpecOpt =>
  (s) => {
    s.process.noNewPrivileges = on;
  };

/** proc, /dev tmpfs, devpts, shm, mqueue, sysfs (ro), cgroup (ro) — runc's and Docker's defaults. */
export const withDefaultMounts =
  (opts: { shmSizeBytes?: number } = {}): SpecOpt =>
  (s) => {
    const shm = opts.shmSizeBytes ?? 64 * 1024 * 1024;
    const mounts: OciMount[] = [
      {
        destination: "/proc",
        type: "proc",
        source: "proc",
        options: ["nosuid", "noexec", "nodev"],
      },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${shm}`],
      },
      {
        destination: "/dev/mqueue",
        type: "mqueue",
        source: "mqueue",
        options: ["nosuid", "noexec", "nodev"],
      },
      {
        destination: "/sys",
        type: "sysfs",
        source: "sysfs",
        options: ["nosuid", "noexec", "nodev", "ro"],
      },
      {
        destination: "/sys/fs/cgroup",
        type: "cgroup",
        source: "cgroup",
        options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
      },
    ];
    const taken = new Set(s.mounts.map((m) => m.destination));
    s.mounts.push(...mounts.filter((m) => !taken.has(m.destination)));
  };

export const withMaskedPaths =
  (
    masked: readonly string[] = DEFAULT_MASKED_PATHS,
    readonly: readonly string[] = DEFAULT_READONLY_PATHS,
  ): SpecOpt =>
  (s) => {
    s.linux.maskedPaths = [...masked];
    s.linux.readonlyPaths = [...readonly];
  };

export const withAnnotations =
  (a: Record<string, string>): SpecOpt =>
  (s) => {
    s.annotations = { ...s.annotations, ...a };
  };
