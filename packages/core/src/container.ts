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

/**
 * Docker's restart policies (`--restart no|on-failure[:N]|always|unless-stopped`), enforced by
 * the agent. `maximumRetryCount` only applies to on-failure (0 = no limit).
 */
export const RestartPolicyNameSchema = z.enum(["no", "on-failure", "always", "unless-stopped"]);
export type RestartPolicyName = z.infer<typeof RestartPolicyNameSchema>;
export const RestartPolicySchema = z
  .object({
    name: RestartPolicyNameSchema.default("no"),
    maximumRetryCount: z.number().int().min(0).max(1_000_000).default(0),
  })
  .refine(
    (p) => p.name === "on-failure" || p.maximumRetryCount === 0,
    "a maximum retry count is only valid with the on-failure restart policy",
  );
export type RestartPolicy = z.infer<typeof RestartPolicySchema>;

/**
 * Docker's HEALTHCHECK: `test` is ["CMD", argv...], ["CMD-SHELL", "shell command"] or ["NONE"]
 * (disabled). The agent runs it in the container every interval; `retries` consecutive
 * failures make it unhealthy; failures during the start period do not count.
 */
export const HealthcheckSchema = z.object({
  test: z
    .array(z.string().max(131_072))
    .min(1)
    .max(4096)
    .refine(
      (t) =>
        (t[0] === "NONE" && t.length === 1) ||
        ((t[0] === "CMD" || t[0] === "CMD-SHELL") && t.length > 1 && t[1] !== ""),
      'a healthcheck test is ["CMD", arg...], ["CMD-SHELL", command] or ["NONE"]',
    ),
  intervalMs: z.number().int().min(1).max(86_400_000).default(30_000),
  timeoutMs: z.number().int().min(1).max(86_400_000).default(30_000),
  retries: z.number().int().min(1).max(1000).default(3),
  startPeriodMs: z.number().int().min(0).max(86_400_000).default(0),
});
export type Healthcheck = z.infer<typeof HealthcheckSchema>;

/**
 * Which namespaces a container shares with the host (`--pid=host`, `--ipc=host|private|shareable`,
 * `--uts=host`). Absent = private. Network, mount and cgroup namespaces are always private.
 */
export const NamespaceOptionsSchema = z.object({
  pid: z.enum(["private", "host"]).default("private"),
  ipc: z.enum(["private", "host", "shareable"]).default("private"),
  uts: z.enum(["private", "host"]).default("private"),
});
export type NamespaceOptions = z.infer<typeof NamespaceOptionsSchema>;

/** A docker volume name: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. */
export const VolumeNameSchema = z
  .string()
  .min(2, "volume names have at least 2 characters")
  .max(128)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "volume names use [a-zA-Z0-9][a-zA-Z0-9_.-]+");

/** A named volume on one node (`<stateDir>/volumes/<name>/_data`). */
export const VolumeSchema = z.object({
  name: VolumeNameSchema,
  mountpoint: z.string().max(4096),
  createdAt: z.string(),
});
export type Volume = z.infer<typeof VolumeSchema>;

/**
 * `-v /host/path:/ctr/path[:ro]` (bind) or `-v name:/ctr/path[:ro]` (named volume, created by the
 * agent on first use). Targets are absolute; bind sources are absolute without `..`.
 */
export const MountSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("bind"),
    source: z
      .string()
      .max(4096)
      .startsWith("/", "bind mount sources must be absolute")
      .refine((s) => !s.split("/").includes(".."), "bind mount sources must not contain .."),
    target: z.string().startsWith("/", "mount targets must be absolute").max(4096),
    readOnly: z.boolean().default(false),
  }),
  z.object({
    type: z.literal("volume"),
    source: VolumeNameSchema,
    target: z.string().startsWith("/", "mount targets must be absolute").max(4096),
    readOnly: z.boolean().default(false),
  }),
]);
export type Mount = z.infer<typeof MountSchema>;

const devicePath = (what: string) =>
  z
    .string()
    .max(4096)
    .startsWith("/dev/", `${what} paths must be absolute paths under /dev/`)
    .refine((s) => !s.split("/").includes(".."), `${what} paths must not contain ..`)
    .refine((s) => !s.includes("\0"), `${what} paths must not contain NUL`)
    .refine((s) => s.replace(/\/+$/, "") !== "/dev", `${what} paths must name a device in /dev`);

/**
 * `--device /dev/HOST[:/dev/CONTAINER[:rwm]]`: a host char or block device node created in the
 * container (same major/minor, type and mode as on the host) with a cgroup rule allowing
 * `permissions` (a non-empty subset of r, w, m). `containerPath` defaults to `hostPath`.
 */
export const DeviceMappingSchema = z.object({
  hostPath: devicePath("device"),
  containerPath: devicePath("container device").optional(),
  permissions: z
    .string()
    .regex(/^(?!.*(.).*\1)[rwm]{1,3}$/, "device permissions are a subset of rwm, like rw or r")
    .default("rwm"),
});
export type DeviceMapping = z.infer<typeof DeviceMappingSchema>;

/** Smallest `max-size` of a rotated log: a few records, so every generation holds whole lines. */
export const MIN_LOG_MAX_SIZE = 4096;

/**
 * Log rotation, as docker's json-file `--log-opt max-size=… --log-opt max-file=…`: at most
 * `maxFile` files of about `maxSize` bytes are kept. Absent = no rotation (docker's default).
 * `maxFile` without `maxSize` is refused (docker's rule); `maxSize` alone keeps one file.
 */
export const LogConfigSchema = z
  .object({
    maxSize: z
      .number()
      .int()
      .min(MIN_LOG_MAX_SIZE, "the log max-size must be at least 4 KiB")
      .max(2 ** 40, "the log max-size must be at most 1 TiB")
      .optional(),
    maxFile: z
      .number()
      .int()
      .min(1, "the log max-file must be at least 1")
      .max(100, "the log max-file must be at most 100")
      .optional(),
  })
  .strict()
  .refine(
    (c) => c.maxFile === undefined || c.maxSize !== undefined,
    "the log max-file needs a max-size",
  );
export type LogConfig = z.infer<typeof LogConfigSchema>;

/**
 * `--network`: `bridge` (the host's default network), `none` (loopback only), `host` (the
 * host's network namespace; admin-only on the server), `container:<id|name>` (another
 * container's namespace) or the name of a user-defined network. Absent = `bridge`.
 */
export const NetworkModeSchema = z
  .string()
  .trim()
  .min(1)
  .max(140)
  .regex(
    /^(container:[a-zA-Z0-9][a-zA-Z0-9_.-]*|[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63})$/,
    "--network is bridge, none, host, container:<id|name> or a network name",
  );
export type NetworkMode = z.infer<typeof NetworkModeSchema>;

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** `-p [hostIP:][hostPort:]containerPort[/tcp|udp]` as typed (parsed by the agent). */
export const PortPublishSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(
    /^(\d{1,3}(\.\d{1,3}){3}:)?(\d{1,5}(-\d{1,5})?)?:?\d{1,5}(-\d{1,5})?(\/(tcp|udp|TCP|UDP))?$/,
    "-p is [hostIP:][hostPort:]containerPort[/tcp|udp]",
  );

/** `--add-host name:ip`. */
export const ExtraHostSchema = z.object({
  host: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/, "--add-host names are host names"),
  ip: z.string().regex(IPV4, "--add-host addresses are IPv4 (a.b.c.d)"),
});
export type ExtraHost = z.infer<typeof ExtraHostSchema>;

/** One network interface of a container, as the agent wired it (inspect's NetworkSettings). */
export const ContainerEndpointSchema = z.object({
  network: z.string(),
  networkId: z.string(),
  ifName: z.string(),
  ip: z.string(),
  prefixLen: z.number().int(),
  mac: z.string(),
  gateway: z.string(),
  aliases: z.array(z.string()).default([]),
});
export type ContainerEndpoint = z.infer<typeof ContainerEndpointSchema>;

/** A published port (`0.0.0.0:8080->80/tcp`). */
export const PublishedPortSchema = z.object({
  hostIp: z.string(),
  hostPort: z.number().int(),
  containerPort: z.number().int(),
  protocol: z.enum(["tcp", "udp"]),
});
export type PublishedPort = z.infer<typeof PublishedPortSchema>;

/** A container's network facts (mode, interfaces, published ports). */
export const ContainerNetworkSchema = z.object({
  mode: z.string(),
  endpoints: z.array(ContainerEndpointSchema).default([]),
  ports: z.array(PublishedPortSchema).default([]),
});
export type ContainerNetwork = z.infer<typeof ContainerNetworkSchema>;

/** Docker's PORTS column: `0.0.0.0:8080->80/tcp, 127.0.0.1:53->53/udp`. */
export function formatPorts(ports: readonly PublishedPort[]): string {
  return ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(", ");
}

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
  restartPolicy: RestartPolicySchema.default({ name: "no", maximumRetryCount: 0 }),
  /**
   * Overrides the image's HEALTHCHECK; absent = the image's (if any) applies; `{test: ["NONE"]}`
   * (`--no-healthcheck`) disables both.
   */
  healthcheck: HealthcheckSchema.optional(),
  /** Absent = every namespace private. */
  namespaces: NamespaceOptionsSchema.optional(),
  /** Bind mounts and named volumes (`-v`). */
  mounts: z.array(MountSchema).max(64).optional(),
  /**
   * `--userns=auto`: a private user namespace with its own 65536 subordinate ids; `host` (or
   * absent): none.
   */
  userns: z.enum(["auto", "host"]).optional(),
  /** `--device /dev/HOST[:/dev/CTR[:rwm]]`: host devices made available (admin-only on the server). */
  devices: z.array(DeviceMappingSchema).max(64).optional(),
  /** `--log-opt max-size=… --log-opt max-file=…`; absent = the log is never rotated. */
  logConfig: LogConfigSchema.optional(),
  /** `--network`; absent = `bridge`. */
  network: NetworkModeSchema.optional(),
  /** `-p/--publish`, Docker's syntax. */
  ports: z.array(PortPublishSchema).max(64).optional(),
  /** `-P`: publish every port the image EXPOSEs on a random host port. */
  publishAll: z.boolean().optional(),
  /** `--dns`: nameservers of the container's resolv.conf instead of the network's resolver. */
  dns: z.array(z.string().regex(IPV4, "--dns takes IPv4 addresses")).max(3).optional(),
  /** `--add-host name:ip` entries of the container's /etc/hosts. */
  addHosts: z.array(ExtraHostSchema).max(64).optional(),
  /** `--network-alias`: more DNS names of the container on its (user-defined) network. */
  networkAliases: z
    .array(
      z
        .string()
        .max(253)
        .regex(/^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/, "aliases are DNS names"),
    )
    .max(32)
    .optional(),
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

/**
 * A signal as `docker kill -s` takes it: a name with or without `SIG` (any case), or a number.
 * Normalized to the upper-case name with `SIG` (`usr1` → `SIGUSR1`) or the number as a string.
 */
export const SignalSchema = z
  .string()
  .trim()
  .min(1)
  .max(16)
  .regex(/^([A-Za-z][A-Za-z0-9+-]*|[1-9][0-9]?)$/, "a signal is a name (KILL, SIGUSR1) or a number")
  .transform((s) => {
    if (/^[0-9]+$/.test(s)) return s;
    const up = s.toUpperCase();
    return up.startsWith("SIG") ? up : `SIG${up}`;
  });

export const HealthStatusSchema = z.enum(["starting", "healthy", "unhealthy"]);
export type HealthStatus = z.infer<typeof HealthStatusSchema>;

/** A container's health as docker inspect shows it: status, failing streak, last 5 probes. */
export const HealthSchema = z.object({
  status: HealthStatusSchema,
  failingStreak: z.number().int().nonnegative(),
  log: z
    .array(
      z.object({
        start: z.string(),
        end: z.string(),
        exitCode: z.number().int(),
        output: z.string().max(8192),
      }),
    )
    .max(5),
});
export type Health = z.infer<typeof HealthSchema>;

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
  /** How many times the agent restarted it under its restart policy. */
  restartCount: z.number().int().nonnegative().default(0),
  /** null when the container has no healthcheck (or is not running one). */
  health: HealthSchema.nullable().default(null),
  /** Its network (mode, addresses, published ports); absent from agents without networking. */
  network: ContainerNetworkSchema.optional(),
});
export type ContainerStatus = z.infer<typeof ContainerStatusSchema>;

export const LogStreamSchema = z.enum(["stdout", "stderr"]);
export type LogStream = z.infer<typeof LogStreamSchema>;

/** An RFC 3339 instant with an explicit zone, up to nanoseconds (`docker logs --since/--until`). */
export const LogTimeSchema = z
  .string()
  .max(64)
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/,
    "log times are RFC 3339 with a zone, like 2026-01-02T15:04:05.999999999Z",
  );

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
  /** Summed over the container's interfaces (its own view: rx = received). */
  net: z
    .object({
      rxBytes: z.number().nonnegative(),
      txBytes: z.number().nonnegative(),
      rxPackets: z.number().nonnegative(),
      txPackets: z.number().nonnegative(),
    })
    .optional(),
});
export type ContainerStats = z.infer<typeof ContainerStatsSchema>;
