/**
 * Inputs of berth-server's API, shared by the dashboard, the CLI and the server's routers,
 * so every boundary validates the same way.
 */
import { z } from "zod";
import {
  ContainerLimitsUpdateSchema,
  ContainerNameSchema,
  ContainerSpecSchema,
  ImageRefSchema,
  SignalSchema,
  LogTimeSchema,
} from "./container";
import { LogGrepSchema } from "./log-grep";
import { StreamInputSchema, TerminalSizeSchema } from "./protocol";

export const UsernameSchema = z
  .string()
  .min(1, "a username is required")
  .max(64)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.@-]*$/, "usernames use letters, digits and _ . @ -");

export const LoginInputSchema = z.object({
  username: UsernameSchema,
  password: z.string().min(1, "a password is required").max(1024),
});

/** The CLI's login: trades a username and password for a named API token. */
export const CliLoginInputSchema = LoginInputSchema.extend({
  tokenName: z.string().min(1).max(128).default("berth-cli"),
});

export const CreateJoinTokenInputSchema = z.object({
  /** Seconds until the token expires; one hour by default, a week at most. */
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
});

/** A node referenced by id or name. */
export const NodeRefSchema = z.string().min(1).max(128);
/** A container referenced by id, id prefix (at least 3 characters) or name. */
export const ContainerRefSchema = z.string().min(1).max(128);

export const RunContainerInputSchema = z.object({
  name: ContainerNameSchema.optional(),
  node: NodeRefSchema.optional(),
  spec: ContainerSpecSchema,
  /** Remove once it exited (`--rm`). */
  autoRemove: z.boolean().default(false),
});
export type RunContainerInput = z.input<typeof RunContainerInputSchema>;

export const ListContainersInputSchema = z.object({
  all: z.boolean().default(true),
  node: NodeRefSchema.optional(),
});

export const ContainerLogsInputSchema = z.object({
  ref: ContainerRefSchema,
  follow: z.boolean().default(false),
  tail: z.number().int().min(0).max(10_000_000).optional(),
  since: LogTimeSchema.optional(),
  until: LogTimeSchema.optional(),
  /** Only lines of this stream. */
  stream: z.enum(["stdout", "stderr"]).optional(),
  /** Only matching lines; the agent searches its files (log-grep.ts). */
  grep: LogGrepSchema.optional(),
  /** Chunks as `{packed}` batches (log-pack.ts: faster for big logs) instead of `{lines}`. */
  packed: z.boolean().optional(),
  /** false (with packed): no times in the batches, for readers that print none. */
  timestamps: z.boolean().optional(),
  /**
   * With packed and `timestamps: false`: chunks as `{text}` batches (log-text.ts: the printed
   * output in runs of one stream), the cheapest form for readers that print the log.
   */
  text: z.boolean().optional(),
});
export type ContainerLogsInput = z.output<typeof ContainerLogsInputSchema>;

/**
 * `docker exec`: `argv` runs in the running container `ref`. With `tty` (-t) it gets a
 * pseudo-terminal of `size`; with `interactive` (-i) its stdin stays open. Either makes the
 * subscription's first chunk a `{sessionId}` for `containers.execInput`.
 */
export const ContainerExecInputSchema = z
  .object({
    ref: ContainerRefSchema,
    argv: z.array(z.string().max(65_536)).min(1, "exec needs a command").max(4096),
    user: z.string().min(1).max(256).optional(),
    workingDir: z.string().max(4096).startsWith("/", "the working dir must be absolute").optional(),
    env: z
      .array(z.string().regex(/^[^=\0]+=/, "env entries are KEY=VALUE"))
      .max(4096)
      .default([]),
    detach: z.boolean().default(false),
    tty: z.boolean().default(false),
    interactive: z.boolean().default(false),
    /** The client terminal's size when the exec starts (tty only). */
    size: TerminalSizeSchema.optional(),
  })
  .refine((p) => !(p.detach && (p.tty || p.interactive)), {
    message: "-d cannot be combined with -i or -t",
    path: ["detach"],
  });
export type ContainerExecInput = z.input<typeof ContainerExecInputSchema>;

/** An id of an interactive exec session (the first chunk of `containers.exec` with -i/-t). */
export const ExecSessionIdSchema = z
  .string()
  .min(16)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "not an exec session id");

/** `containers.execInput`: stdin bytes (base64), EOF, or a new terminal size for a session. */
export const ExecSessionInputSchema = StreamInputSchema.extend({
  sessionId: ExecSessionIdSchema,
}).refine((p) => p.data !== undefined || p.eof === true || p.resize !== undefined, {
  message: "send data, eof or resize",
});
export type ExecSessionInput = z.input<typeof ExecSessionInputSchema>;

export const StopContainerInputSchema = z.object({
  ref: ContainerRefSchema,
  timeoutSeconds: z.number().int().min(0).max(3600).default(10),
});
export const RemoveContainerInputSchema = z.object({
  ref: ContainerRefSchema,
  force: z.boolean().default(false),
});
export const WaitContainerInputSchema = z.object({ ref: ContainerRefSchema });
export const UpdateContainerInputSchema = z.object({
  ref: ContainerRefSchema,
  limits: ContainerLimitsUpdateSchema,
});
export type UpdateContainerInput = z.input<typeof UpdateContainerInputSchema>;
export const ContainerStatsInputSchema = z.object({ ref: ContainerRefSchema });

/** `create`: as `run`, without starting it. */
export const CreateContainerInputSchema = RunContainerInputSchema;
export const StartContainerInputSchema = z.object({ ref: ContainerRefSchema });
export const KillContainerInputSchema = z.object({
  ref: ContainerRefSchema,
  signal: SignalSchema.default("KILL"),
});
export const RestartContainerInputSchema = z.object({
  ref: ContainerRefSchema,
  timeoutSeconds: z.number().int().min(0).max(3600).default(10),
});
export const PauseContainerInputSchema = z.object({ ref: ContainerRefSchema });
export const RenameContainerInputSchema = z.object({
  ref: ContainerRefSchema,
  name: ContainerNameSchema,
});

/** `commit [-c CHANGE]... [-m MSG] [-a AUTHOR] [--pause=false] CONTAINER [REPO[:TAG]]`. */
export const CommitContainerInputSchema = z.object({
  ref: ContainerRefSchema,
  /** The new image's reference; absent: an untagged image (its digest is the answer). */
  image: ImageRefSchema.optional(),
  /** Dockerfile lines `CMD`, `ENTRYPOINT`, `ENV`, `WORKDIR`, as `docker commit --change` takes. */
  changes: z.array(z.string().min(1).max(65_536)).max(64).default([]),
  message: z.string().max(4096).optional(),
  author: z.string().max(512).optional(),
  pause: z.boolean().default(true),
});
