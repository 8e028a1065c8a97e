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
  memoryBytes: z
    .number()
    .int()
    .min(MIN_MEMORY_BYTES, "the memory limit must be at least 6 MiB")
    .max(2 ** 50)
    .optional(),
  pidsLimit: z.number().int().min(1).max(4_194_304).optional(),
});
export type ContainerLimits = z.infer<typeof ContainerLimitsSchema>;

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
