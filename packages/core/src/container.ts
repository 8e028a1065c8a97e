/**
 * Containers: the spec a user asks for, its lifecycle states, and the inputs of the API
 * that creates and lists them. Shared by the server, the agent and the CLI.
 */
import { z } from "zod";
import { ContainerIdSchema } from "./ids";

/** Docker's container-name rule. */
export const ContainerNameSchema = z
  .string()
  .min(2, "container names have at least 2 characters")
  .max(128)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "container names use [a-zA-Z0-9][a-zA-Z0-9_.-]+");

/** An image reference as typed by a user: `busybox`, `busybox:latest`, `host:5000/team/app:tag`, `name@sha256:…`. */
export const ImageRefSchema = z
  .string()
  .min(1, "an image is required")
  .max(512)
  .regex(
    /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    "invalid image reference",
  );

/** Environment variables as `KEY=value`. */
export const EnvVarSchema = z
  .string()
  .max(32_768)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*=/s, "environment variables are KEY=value");

/** Smallest memory limit runc accepts on every cgroup version. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

export const ContainerLimitsSchema = z.object({
  /** Hard memory limit; page cache counts against it (`-m`). */
  memoryBytes: z
    .number()
    .int()
    .min(MIN_MEMORY_BYTES, "the memory limit must be at least 6 MiB")
    .max(2 ** 50)
    .optional(),
  /** Soft limit the kernel reclaims towards under pressure (`--memory-reservation`). */
  memoryReservationBytes: z
    .number()
    .int()
    .min(0)
    .max(2 ** 50)
    .optional(),
  /** Memory + swap (`--memory-swap`); -1 = unlimited swap. Requires memoryBytes. */
  memorySwapBytes: z
    .number()
    .int()
    .min(-1)
    .max(2 ** 50)
    .optional(),
  pidsLimit: z.number().int().min(1).max(4_194_304).optional(),
  /** Relative CPU weight, cgroup v1 shares 2–262144 (`--cpu-shares`); mapped to cpu.weight on v2. */
  cpuShares: z.number().int().min(2).max(262_144).optional(),
  /** CPU quota in billionths of a CPU (`--cpus 1.5` → 1.5e9). */
  nanoCpus: z.number().int().min(1_000_000).max(1_000_000_000_000).optional(),
  /** CPUs the container may run on, `0-2,4` (`--cpuset-cpus`). */
  cpusetCpus: z
    .string()
    .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, "cpusets look like 0-2,4")
    .optional(),
  /** Memory nodes, same syntax (`--cpuset-mems`). */
  cpusetMems: z
    .string()
    .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, "cpusets look like 0-1")
    .optional(),
  /** Block IO weight 10–1000 (`--blkio-weight`), where the kernel has the controller. */
  blkioWeight: z.number().int().min(10).max(1000).optional(),
});
export type ContainerLimits = z.infer<typeof ContainerLimitsSchema>;

/** Linux capabilities by name, without the CAP_ prefix; `ALL` in add/drop lists. */
export const CapabilitySchema = z
  .string()
  .transform((c) => c.toUpperCase().replace(/^CAP_/, ""))
  .pipe(z.string().regex(/^(ALL|[A-Z_]{2,32})$/, "capabilities look like NET_ADMIN or ALL"));

/** A seccomp profile in the OCI runtime spec's `linux.seccomp` shape (validated loosely here; runc checks the rest). */
export const SeccompProfileSchema = z
  .object({
    defaultAction: z.string().regex(/^SCMP_ACT_[A-Z_]+$/),
    defaultErrnoRet: z.number().int().optional(),
    architectures: z.array(z.string()).optional(),
    syscalls: z
      .array(
        z
          .object({
            names: z.array(z.string().max(64)).min(1),
            action: z.string().regex(/^SCMP_ACT_[A-Z_]+$/),
          })
          .loose(),
      )
      .max(4096)
      .optional(),
  })
  .loose();
export type SeccompProfile = z.infer<typeof SeccompProfileSchema>;

export const SecurityOptionsSchema = z.object({
  capAdd: z.array(CapabilitySchema).max(64).default([]),
  capDrop: z.array(CapabilitySchema).max(64).default([]),
  /** Every capability, every device, no seccomp, no masked paths: an explicit, flagged choice. */
  privileged: z.boolean().default(false),
  noNewPrivileges: z.boolean().default(true),
  /** `default` (Berth's allowlist), `unconfined`, or a profile (`--security-opt seccomp=<file>`). */
  seccomp: z
    .union([z.literal("default"), z.literal("unconfined"), SeccompProfileSchema])
    .default("default"),
  /** Mount the root filesystem read-only (`--read-only`). */
  readOnlyRootfs: z.boolean().default(false),
});
export type SecurityOptions = z.infer<typeof SecurityOptionsSchema>;

/** `--tmpfs /run:rw,size=64m` → { target: "/run", options: "rw,size=64m" }. */
export const TmpfsMountSchema = z.object({
  target: z.string().startsWith("/", "tmpfs targets must be absolute").max(4096),
  options: z
    .string()
    .max(1024)
    .regex(/^[a-z0-9=,._-]*$/i, "tmpfs options look like rw,size=64m,mode=1777")
    .default(""),
});

/** What a user asks for. The agent resolves it against the image's config. */
export const ContainerSpecSchema = z.object({
  image: ImageRefSchema,
  /** Overrides the image's CMD. */
  command: z.array(z.string().max(131_072)).max(4096).optional(),
  /** Overrides the image's ENTRYPOINT. */
  entrypoint: z.array(z.string().max(131_072)).max(4096).optional(),
  env: z.array(EnvVarSchema).max(4096).default([]),
  workingDir: z
    .string()
    .startsWith("/", "the working directory must be absolute")
    .max(4096)
    .optional(),
  user: z.string().max(256).optional(),
  hostname: z
    .string()
    .max(63)
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]*$/)
    .optional(),
  tty: z.boolean().default(false),
  limits: ContainerLimitsSchema.default({}),
  security: SecurityOptionsSchema.default({
    capAdd: [],
    capDrop: [],
    privileged: false,
    noNewPrivileges: true,
    seccomp: "default",
    readOnlyRootfs: false,
  }),
  tmpfs: z.array(TmpfsMountSchema).max(64).default([]),
  labels: z.record(z.string().max(256), z.string().max(4096)).default({}),
});
export type ContainerSpec = z.infer<typeof ContainerSpecSchema>;
export type ContainerSpecInput = z.input<typeof ContainerSpecSchema>;

/**
 * Lifecycle states, as Docker names them. `creating` is the server's view before the agent
 * confirmed; `removing` while the agent tears it down.
 */
export const ContainerStateSchema = z.enum([
  "creating",
  "created",
  "running",
  "paused",
  "stopping",
  "exited",
  "removing",
  "dead",
]);
export type ContainerState = z.infer<typeof ContainerStateSchema>;

/** What the agent knows of one of its containers; sent in `hello` and in lifecycle events. */
export const ContainerStatusSchema = z.object({
  id: ContainerIdSchema,
  name: z.string(),
  state: ContainerStateSchema,
  pid: z.number().int().nonnegative().nullable(),
  exitCode: z.number().int().nullable(),
  oomKilled: z.boolean().default(false),
  error: z.string().max(16_384).nullable().default(null),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type ContainerStatus = z.infer<typeof ContainerStatusSchema>;

export const LogStreamSchema = z.enum(["stdout", "stderr"]);
export type LogStream = z.infer<typeof LogStreamSchema>;

export const LogLineSchema = z.object({
  /** RFC 3339 with nanoseconds, as conmon writes it. */
  ts: z.string(),
  stream: LogStreamSchema,
  line: z.string(),
  /** false when the line was split by the monitor (a partial line). */
  full: z.boolean().default(true),
});
export type LogLine = z.infer<typeof LogLineSchema>;

/** A partial set of limits applied to a running container (`berth update`). At least one. */
export const ContainerLimitsUpdateSchema = ContainerLimitsSchema.refine(
  (l) => Object.values(l).some((v) => v !== undefined),
  "give at least one limit to update",
);
export type ContainerLimitsUpdate = z.infer<typeof ContainerLimitsUpdateSchema>;

/**
 * One sample of a container's usage, read from its cgroup files. CPU % is computed from two
 * samples as docker does: (Δcpu.totalNs / Δcpu.systemNs) × onlineCpus × 100.
 */
export const ContainerStatsSchema = z.object({
  id: ContainerIdSchema,
  name: z.string(),
  /** When the sample was taken, epoch milliseconds. */
  takenAt: z.number(),
  cpu: z.object({
    /** CPU time used by the container, nanoseconds, since it started. */
    totalNs: z.number().nonnegative(),
    /** The host's total CPU time (all CPUs, every state, from /proc/stat), nanoseconds. */
    systemNs: z.number().nonnegative(),
    /** CPUs the host has online. */
    onlineCpus: z.number().int().positive(),
  }),
  memory: z.object({
    usageBytes: z.number().nonnegative(),
    /** null when unlimited. */
    limitBytes: z.number().nonnegative().nullable(),
    /** Page cache (v1 memory.stat total_cache, v2 file). */
    cacheBytes: z.number().nonnegative(),
  }),
  pids: z.object({
    current: z.number().int().nonnegative(),
    /** null when unlimited. */
    limit: z.number().int().nonnegative().nullable(),
  }),
  blkio: z.object({
    readBytes: z.number().nonnegative(),
    writeBytes: z.number().nonnegative(),
  }),
});
export type ContainerStats = z.infer<typeof ContainerStatsSchema>;
