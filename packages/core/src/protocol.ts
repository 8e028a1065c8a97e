/**
 * The agent protocol, version 1: JSON text frames over one WebSocket that the agent dials out.
 *
 *   agent → server: hello, heartbeat, result, event, stream, stream_end, usage, error
 *   server → agent: welcome, command, cancel, stream_input, ack, usage_ack, error
 *
 * Every frame is parsed with these schemas on both sides; a frame that fails is answered with an
 * `error` frame and otherwise ignored. Commands carry an id: the agent remembers recent ids and
 * answers a repeated one with the first result, so delivering a command twice does nothing twice.
 * Events carry a sequence number and stay in the agent's outbox until the server acks them.
 */
import { z } from "zod";
import {
  ContainerLimitsUpdateSchema,
  ContainerSpecSchema,
  ContainerStatsSchema,
  ContainerNetworkSchema,
  ContainerStatusSchema,
  LogLineSchema,
  ContainerNameSchema,
  ImageRefSchema,
  LogTimeSchema,
  SignalSchema,
  VolumeNameSchema,
  VolumeSchema,
} from "./container";
import { ErrorBodySchema } from "./errors";
import { LogGrepSchema } from "./log-grep";
import { PackedLogsSchema } from "./log-pack";
import { LogTextSchema } from "./log-text";
import { StatsHistoryParamsSchema, StatsHistorySchema } from "./stats-history";
import {
  NetworkConnectParamsSchema,
  NetworkCreateParamsSchema,
  NetworkDisconnectParamsSchema,
  NetworkRefParamsSchema,
  NetworkSchema,
} from "./network";
import { ContainerIdSchema } from "./ids";
import { ImageDetailsSchema, ImageRefOrIdSchema, ImageRemovalSchema } from "./image";

/**
 * Image ids (manifest digests) the node's garbage collector must keep although no name points
 * at them: images teams hold by id on a shared node (berth-server's image claims), so one
 * team's rmi or prune never collects another team's untagged image. Older agents ignore it.
 */
const GcKeepSchema = z
  .array(z.string().regex(/^sha256:[0-9a-f]{64}$/))
  .max(100_000)
  .optional();
import {
  ImageBuildChunkSchema,
  ImageBuildParamsSchema,
  ImageChangesSchema,
  ImageSaveChunkSchema,
  ImageUploadChunkSchema,
} from "./image-archive";
import {
  ImagePullAuthSchema,
  ImageTransferChunkSchema,
  RegistryCredentialSchema,
} from "./registry";
import { MAX_USAGE_BATCH, UsageSampleSchema } from "./usage";

export const PROTOCOL_VERSION = 1 as const;
/** Largest frame either side accepts, in bytes. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

export const NodeFactsSchema = z.object({
  hostname: z.string().max(255),
  kernel: z.string().max(255),
  os: z.string().max(255),
  arch: z.string().max(64),
  cpus: z.number().int().positive(),
  memoryBytes: z.number().int().positive(),
  cgroup: z.object({
    version: z.union([z.literal(1), z.literal(2)]),
    /** "hybrid" when v1 controllers sit beside a cgroup2 mount. */
    mode: z.enum(["legacy", "hybrid", "unified"]),
    /** The agent's own cgroup, under which every container group is nested. */
    parent: z.string().max(4096),
  }),
  runtime: z.object({
    name: z.string().max(64),
    version: z.string().max(128),
    path: z.string().max(4096),
  }),
  monitor: z.object({ name: z.string().max(64), version: z.string().max(128) }),
  agentVersion: z.string().max(64),
  /** Every OCI runtime the agent probed at start; `runtime` above is the one it selected. */
  runtimes: z
    .array(
      z.object({
        name: z.string().max(64),
        /** Empty when the binary is missing or does not answer `--version`. */
        version: z.string().max(128),
        path: z.string().max(4096),
        usable: z.boolean(),
        /** Why the runtime cannot run containers on this host (when not usable). */
        reason: z.string().max(1024).optional(),
      }),
    )
    .max(16)
    .optional(),
});
export type NodeFacts = z.infer<typeof NodeFactsSchema>;
export type RuntimeInfo = NonNullable<NodeFacts["runtimes"]>[number];

/** A terminal's size in character cells (exec with a tty). */
export const TerminalSizeSchema = z.object({
  cols: z.number().int().min(1).max(1000),
  rows: z.number().int().min(1).max(1000),
});
export type TerminalSize = z.infer<typeof TerminalSizeSchema>;

/** Largest decoded payload of one `stream_input` frame. */
export const MAX_STREAM_INPUT_BYTES = 64 * 1024;

/** Bytes encoded by a (valid, padded) base64 string. */
function base64Length(b: string): number {
  const pad = b.endsWith("==") ? 2 : b.endsWith("=") ? 1 : 0;
  return (b.length / 4) * 3 - pad;
}

/** Standard base64 of at most MAX_STREAM_INPUT_BYTES bytes. */
export const StreamInputDataSchema = z
  .base64("data must be base64")
  .max(Math.ceil(MAX_STREAM_INPUT_BYTES / 3) * 4)
  .refine((b) => base64Length(b) <= MAX_STREAM_INPUT_BYTES, {
    message: `at most ${MAX_STREAM_INPUT_BYTES} bytes of data`,
  });

/** What one `stream_input` frame (or the API's exec input) carries; applied resize → data → eof. */
export const StreamInputSchema = z.object({
  data: StreamInputDataSchema.optional(),
  /** No more input: closes the process's stdin (a tty gets its EOF character, ^D). */
  eof: z.literal(true).optional(),
  resize: TerminalSizeSchema.optional(),
});
export type StreamInputBody = z.infer<typeof StreamInputSchema>;

/** One decoded input event of an interactive stream, as the engine consumes it. */
export interface StreamInput {
  data?: Uint8Array;
  /** Output bytes the server has consumed (`image.save` flow control). */
  ack?: number;
  eof?: boolean;
  resize?: TerminalSize;
}

/**
 * Where the engine reads an interactive stream's input from: events that arrive before
 * `attach` are kept and handed over, in order, when it is called; `attach` returns a detach.
 */
export interface StreamInputSource {
  attach(sink: (input: StreamInput) => void): () => void;
}

/** Command names and their parameter / result schemas. */
export const CommandSchemas = {
  "container.run": {
    params: z.object({
      containerId: ContainerIdSchema,
      name: ContainerNameSchema,
      spec: ContainerSpecSchema,
      /** Remove the container (bundle, rw layer, cgroup) once it has exited. */
      autoRemove: z.boolean().default(false),
      /** The image is pulled first when the node lacks it, with this credential (if any). */
      pull: ImagePullAuthSchema.optional(),
    }),
    result: ContainerStatusSchema,
  },
  "container.stop": {
    params: z.object({
      containerId: ContainerIdSchema,
      timeoutSeconds: z.number().int().min(0).max(3600).default(10),
    }),
    result: ContainerStatusSchema,
  },
  "container.remove": {
    params: z.object({ containerId: ContainerIdSchema, force: z.boolean().default(false) }),
    result: z.object({ removed: z.boolean() }),
  },
  "container.inspect": {
    params: z.object({ containerId: ContainerIdSchema }),
    result: ContainerStatusSchema,
  },
  /** Changes the limits of a running container (and of its stored spec). */
  "container.update": {
    params: z.object({ containerId: ContainerIdSchema, limits: ContainerLimitsUpdateSchema }),
    result: ContainerStatusSchema,
  },
  /** One sample of a running container's usage. */
  "container.stats": {
    params: z.object({ containerId: ContainerIdSchema }),
    result: ContainerStatsSchema,
  },
  /** A stream command: the agent answers with `stream` frames then `stream_end`. */
  "container.logs": {
    params: z.object({
      containerId: ContainerIdSchema,
      follow: z.boolean().default(false),
      tail: z.number().int().min(0).max(10_000_000).optional(),
      /** Only lines at or after this instant. */
      since: LogTimeSchema.optional(),
      /** Only lines at or before this instant; a follow ends once it has passed. */
      until: LogTimeSchema.optional(),
      /** Only lines of this stream. */
      stream: z.enum(["stdout", "stderr"]).optional(),
      /** Only lines matching (the agent filters while it reads its files). */
      grep: LogGrepSchema.optional(),
      /** Answer with `{packed}` batches (log-pack.ts) instead of `{lines}`. */
      packed: z.boolean().optional(),
      /** false: packed batches without times (the reader prints none). */
      timestamps: z.boolean().optional(),
      /**
       * Flow control (packed only): the agent stays within LOG_FLOW_WINDOW of the weight the
       * server acknowledged with `stream_input {ack}`, so a slow reader slows the agent's read
       * instead of filling the server's memory.
       */
      flow: z.boolean().optional(),
      /**
       * With `packed`, `timestamps: false` and `flow`: answer with `{text}` batches (log-text.ts:
       * the printed output in runs of one stream, flow weight logTextWeight). Older agents
       * ignore it and answer `{packed}`.
       */
      text: z.boolean().optional(),
    }),
    /** `{lines}`, or `{packed}` / `{text}` when asked for. */
    result: z.object({
      lines: z.array(LogLineSchema).optional(),
      packed: PackedLogsSchema.optional(),
      text: LogTextSchema.optional(),
    }),
  },
  /** The last hour of a container's stats (with containerId) or of the node's (without). */
  "stats.history": {
    params: StatsHistoryParamsSchema,
    result: StatsHistorySchema,
  },
  /**
   * A stream command: runs one more process in a running container. `stream` frames carry
   * `{stdout}` / `{stderr}` chunks as UTF-8 text (invalid bytes become U+FFFD); the last one
   * carries `{exitCode}`, then `stream_end`. With `tty` the process gets a pseudo-terminal of
   * `size` and its merged output comes as `{stdout}`; with `interactive` its stdin is fed by
   * `stream_input` frames (data, eof). Resizes go to a tty in `stream_input` frames too.
   */
  "container.exec": {
    params: z
      .object({
        containerId: ContainerIdSchema,
        argv: z.array(z.string().max(65_536)).min(1).max(4096),
        user: z.string().min(1).max(256).optional(),
        workingDir: z.string().max(4096).startsWith("/").optional(),
        env: z
          .array(z.string().regex(/^[^=\0]+=/, "env entries are KEY=VALUE"))
          .max(4096)
          .default([]),
        /** Start it and end the stream at once (no output, no exit code): `docker exec -d`. */
        detach: z.boolean().default(false),
        /** Allocate a pseudo-terminal (`docker exec -t`). */
        tty: z.boolean().optional(),
        /** Keep stdin open, fed by `stream_input` frames (`docker exec -i`). */
        interactive: z.boolean().optional(),
        /** The terminal's initial size (tty only; default 80x24). */
        size: TerminalSizeSchema.optional(),
      })
      .refine((p) => !(p.detach && (p.tty || p.interactive)), {
        message: "detach cannot be combined with tty or interactive",
      }),
    result: z.object({
      stdout: z.string().optional(),
      stderr: z.string().optional(),
      exitCode: z.number().int().min(0).max(255).optional(),
    }),
  },
  /** Prepares a container (rootfs, bundle, record) without starting it: state `created`. */
  "container.create": {
    params: z.object({
      containerId: ContainerIdSchema,
      name: ContainerNameSchema,
      spec: ContainerSpecSchema,
      autoRemove: z.boolean().default(false),
      pull: ImagePullAuthSchema.optional(),
    }),
    result: ContainerStatusSchema,
  },
  /** Starts a created or exited container. */
  "container.start": {
    params: z.object({ containerId: ContainerIdSchema }),
    result: ContainerStatusSchema,
  },
  /** Sends a signal to a running (or paused) container's processes. */
  "container.kill": {
    params: z.object({ containerId: ContainerIdSchema, signal: SignalSchema.default("KILL") }),
    result: ContainerStatusSchema,
  },
  /** Stops (when live) then starts the container again. */
  "container.restart": {
    params: z.object({
      containerId: ContainerIdSchema,
      timeoutSeconds: z.number().int().min(0).max(3600).default(10),
    }),
    result: ContainerStatusSchema,
  },
  /** Freezes every process of a running container (cgroup freezer). */
  "container.pause": {
    params: z.object({ containerId: ContainerIdSchema }),
    result: ContainerStatusSchema,
  },
  "container.unpause": {
    params: z.object({ containerId: ContainerIdSchema }),
    result: ContainerStatusSchema,
  },
  "container.rename": {
    params: z.object({ containerId: ContainerIdSchema, name: ContainerNameSchema }),
    result: ContainerStatusSchema,
  },
  /** `commit`: the container's read-write layer on its image becomes a new image. */
  "container.commit": {
    params: z.object({
      containerId: ContainerIdSchema,
      ref: ImageRefSchema.optional(),
      changes: ImageChangesSchema.optional(),
      comment: z.string().max(4096).optional(),
      author: z.string().max(512).optional(),
      /** Freeze a running container while its layer is read (docker's default). */
      pause: z.boolean().default(true),
    }),
    result: z.object({ digest: z.string(), ref: z.string().nullable() }),
  },
  "image.list": {
    params: z.object({}),
    result: z.object({
      images: z.array(
        z.object({
          ref: z.string(),
          digest: z.string(),
          size: z.number().int().nonnegative(),
          createdAt: z.string(),
        }),
      ),
    }),
  },
  /** `image inspect`: references, config, layers and history of one image. */
  "image.inspect": {
    params: z.object({ ref: ImageRefOrIdSchema }),
    result: ImageDetailsSchema,
  },
  /** `tag SOURCE TARGET`: TARGET names the image SOURCE names. */
  "image.tag": {
    params: z.object({ source: ImageRefOrIdSchema, target: ImageRefSchema }),
    result: z.object({ digest: z.string() }),
  },
  /** `rmi [-f]`: untags, and deletes the image once nothing names or uses it. */
  "image.remove": {
    params: z.object({
      ref: ImageRefOrIdSchema,
      force: z.boolean().default(false),
      keep: GcKeepSchema,
    }),
    result: ImageRemovalSchema,
  },
  /** `image prune [-a]`: the garbage collector (with `all`, untags images no container uses). */
  "image.prune": {
    params: z.object({ all: z.boolean().default(false), keep: GcKeepSchema }),
    result: ImageRemovalSchema.extend({ reclaimedBytes: z.number().int().nonnegative() }),
  },
  /**
   * A stream command: pulls `ref` from its registry into the node's store and tags it. `stream`
   * frames carry `{progress: [...]}` (per blob, throttled), the last one `{digest, ref}`.
   * Plain HTTP only for loopback registries (the agent's client decides, not the command).
   */
  "image.pull": {
    params: z.object({ ref: ImageRefSchema, credential: RegistryCredentialSchema.optional() }),
    result: ImageTransferChunkSchema,
  },
  /** A stream command: pushes the local image `source` as `target`; chunks as `image.pull`. */
  "image.push": {
    params: z.object({
      source: ImageRefOrIdSchema,
      target: ImageRefSchema,
      credential: RegistryCredentialSchema.optional(),
    }),
    result: ImageTransferChunkSchema,
  },
  /** A stream command: `save` — chunks `{data}` carry an OCI layout archive of `refs`. */
  "image.save": {
    params: z.object({ refs: z.array(ImageRefOrIdSchema).min(1).max(256) }),
    result: ImageSaveChunkSchema,
  },
  /**
   * A stream command: `load` — the server sends the archive in `stream_input` frames (data,
   * then eof); the agent answers `{received}` chunks as it consumes them (the server keeps at
   * most IMAGE_UPLOAD_WINDOW_BYTES unacknowledged), then `{loaded}`.
   */
  "image.load": {
    params: z.object({}),
    result: ImageUploadChunkSchema,
  },
  /**
   * A stream command: `build` — the context tar arrives like `image.load`'s archive; chunks carry
   * `{received}`, then `{progress}` lines, then `{built}`.
   */
  "image.build": {
    params: ImageBuildParamsSchema,
    result: ImageBuildChunkSchema,
  },
  /** A stream command: `image import` of a rootfs tar sent like `image.load`'s archive. */
  "image.import": {
    params: z.object({ ref: ImageRefSchema, changes: ImageChangesSchema.optional() }),
    result: ImageUploadChunkSchema,
  },
  /** Creates a named volume on the node (idempotent). */
  "volume.create": {
    params: z.object({ name: VolumeNameSchema }),
    result: VolumeSchema,
  },
  "volume.inspect": {
    params: z.object({ name: VolumeNameSchema }),
    result: VolumeSchema,
  },
  "volume.list": {
    params: z.object({}),
    result: z.object({ volumes: z.array(VolumeSchema) }),
  },
  /** Deletes a volume and its data; refused (conflict) while a container on the node uses it. */
  "volume.remove": {
    params: z.object({ name: VolumeNameSchema }),
    result: z.object({ removed: z.boolean() }),
  },
  /** Creates a bridge network owned by `teamId` (conflict when the name or subnet is taken). */
  "network.create": {
    params: NetworkCreateParamsSchema,
    result: NetworkSchema,
  },
  "network.list": {
    params: z.object({}),
    result: z.object({ networks: z.array(NetworkSchema).max(4096) }),
  },
  "network.inspect": {
    params: NetworkRefParamsSchema,
    result: NetworkSchema,
  },
  /** Refused (conflict) while containers are connected; the default network never goes. */
  "network.remove": {
    params: NetworkRefParamsSchema,
    result: z.object({ removed: z.boolean() }),
  },
  /** Connects a running container (with a network namespace of its own) to one more network. */
  "network.connect": {
    params: NetworkConnectParamsSchema,
    result: ContainerStatusSchema,
  },
  "network.disconnect": {
    params: NetworkDisconnectParamsSchema,
    result: ContainerStatusSchema,
  },
  /** The live network facts (interfaces, published ports) of one or every container. */
  "network.endpoints": {
    params: z.object({ containerId: ContainerIdSchema.optional() }),
    result: z.object({
      containers: z
        .array(z.object({ containerId: ContainerIdSchema, network: ContainerNetworkSchema }))
        .max(100_000),
    }),
  },
  /**
   * Credential rotation: the agent stores `credential` (`<nodeId>.<secret>`) atomically in place
   * of its current one and uses it from its next connection; the server refuses the old one once
   * this is acknowledged.
   */
  "node.rotate_credential": {
    params: z.object({ credential: z.string().min(20).max(512) }),
    result: z.object({ stored: z.literal(true) }),
  },
} as const;

export type CommandName = keyof typeof CommandSchemas;
export const CommandNameSchema = z.enum(
  Object.keys(CommandSchemas) as [CommandName, ...CommandName[]],
);
export type CommandParams<N extends CommandName> = z.infer<(typeof CommandSchemas)[N]["params"]>;
export type CommandParamsInput<N extends CommandName> = z.input<
  (typeof CommandSchemas)[N]["params"]
>;
export type CommandResult<N extends CommandName> = z.infer<(typeof CommandSchemas)[N]["result"]>;
/** Commands whose answer is a stream of chunks rather than one result. */
export const STREAM_COMMANDS: ReadonlySet<CommandName> = new Set([
  "container.logs",
  "container.exec",
  "image.pull",
  "image.push",
  "image.save",
  "image.load",
  "image.import",
  "image.build",
]);

export const EventSchemas = {
  "container.started": ContainerStatusSchema,
  "container.exited": ContainerStatusSchema,
  "container.removed": z.object({ id: ContainerIdSchema }),
  /** The health status changed (starting → healthy / unhealthy, …). */
  "container.health_status": ContainerStatusSchema,
  "container.created": ContainerStatusSchema,
  "container.paused": ContainerStatusSchema,
  "container.unpaused": ContainerStatusSchema,
} as const;
export type EventName = keyof typeof EventSchemas;
export const EventNameSchema = z.enum(Object.keys(EventSchemas) as [EventName, ...EventName[]]);
export type EventData<N extends EventName> = z.infer<(typeof EventSchemas)[N]>;

const CommandIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

// ---- agent → server ----
export const HelloFrameSchema = z.object({
  type: z.literal("hello"),
  protocol: z.literal(PROTOCOL_VERSION),
  nodeId: z.string().max(64),
  facts: NodeFactsSchema,
  capabilities: z.array(z.string().max(64)).max(256),
  inventory: z.array(ContainerStatusSchema).max(100_000),
});
/**
 * The node's latest numbers, carried by heartbeats (kept in the server's memory only, for
 * /metrics): containers by state, how long container starts took, the agent's cgroup usage.
 */
export const NodeMetricsSchema = z.object({
  containers: z.record(z.string().max(32), z.number().int().nonnegative()),
  /** Starts (`container.run` / `container.start` / `container.restart`) since the agent started. */
  starts: z
    .object({
      count: z.number().int().nonnegative(),
      sumSeconds: z.number().nonnegative(),
      /** Over the most recent starts (at most 1024). */
      p50Seconds: z.number().nonnegative(),
      p99Seconds: z.number().nonnegative(),
    })
    .optional(),
  /** The agent's cgroup subtree (every container under it). */
  cgroup: z
    .object({
      cpuSeconds: z.number().nonnegative(),
      memoryBytes: z.number().nonnegative(),
    })
    .optional(),
});
export type NodeMetrics = z.infer<typeof NodeMetricsSchema>;
export const HeartbeatFrameSchema = z.object({
  type: z.literal("heartbeat"),
  ts: z.number(),
  metrics: NodeMetricsSchema.optional(),
});
export const ResultFrameSchema = z.discriminatedUnion("ok", [
  z.object({
    type: z.literal("result"),
    id: CommandIdSchema,
    ok: z.literal(true),
    data: z.unknown(),
  }),
  z.object({
    type: z.literal("result"),
    id: CommandIdSchema,
    ok: z.literal(false),
    error: ErrorBodySchema,
  }),
]);
export const EventFrameSchema = z.object({
  type: z.literal("event"),
  seq: z.number().int().positive(),
  name: EventNameSchema,
  at: z.string(),
  data: z.unknown(),
});
export const StreamFrameSchema = z.object({
  type: z.literal("stream"),
  id: CommandIdSchema,
  data: z.unknown(),
});
export const StreamEndFrameSchema = z.object({
  type: z.literal("stream_end"),
  id: CommandIdSchema,
  error: ErrorBodySchema.optional(),
});
export const ErrorFrameSchema = z.object({
  type: z.literal("error"),
  error: ErrorBodySchema,
  /** The command id or frame type the error is about, when known. */
  ref: z.string().max(64).optional(),
});

/** Usage samples from the agent's usage spool (core usage.ts), in seq order; acked by `usage_ack`. */
export const UsageFrameSchema = z.object({
  type: z.literal("usage"),
  samples: z.array(UsageSampleSchema).min(1).max(MAX_USAGE_BATCH),
});

export const AgentFrameSchema = z.union([
  UsageFrameSchema,
  HelloFrameSchema,
  HeartbeatFrameSchema,
  ResultFrameSchema,
  EventFrameSchema,
  StreamFrameSchema,
  StreamEndFrameSchema,
  ErrorFrameSchema,
]);
export type AgentFrame = z.infer<typeof AgentFrameSchema>;
export type HelloFrame = z.infer<typeof HelloFrameSchema>;

// ---- server → agent ----
export const WelcomeFrameSchema = z.object({
  type: z.literal("welcome"),
  protocol: z.literal(PROTOCOL_VERSION),
  /** The server's identity; the agent pins it at join time and refuses a different one. */
  serverId: z.string().max(64),
  heartbeatIntervalMs: z.number().int().min(500).max(300_000),
  /** Highest event sequence the server has stored; the agent drops its outbox up to it. */
  ackedSeq: z.number().int().nonnegative(),
  /** Highest usage sample seq the server has stored; the agent drops its usage spool up to it. */
  usageAckedSeq: z.number().int().nonnegative().optional(),
});
export const CommandFrameSchema = z.object({
  type: z.literal("command"),
  id: CommandIdSchema,
  name: CommandNameSchema,
  params: z.unknown(),
});
export const CancelFrameSchema = z.object({ type: z.literal("cancel"), id: CommandIdSchema });
/**
 * Input for a running stream command (`container.exec` with tty or interactive; the archive of
 * `image.load` / `image.import`), routed by the command id; one for an id that is not streaming
 * is ignored.
 */
export const StreamInputFrameSchema = StreamInputSchema.extend({
  type: z.literal("stream_input"),
  id: CommandIdSchema,
  /** Bytes of the stream's output the server has passed on (`image.save` flow control). */
  ack: z.number().int().nonnegative().optional(),
});
export type StreamInputFrame = z.infer<typeof StreamInputFrameSchema>;
export const AckFrameSchema = z.object({
  type: z.literal("ack"),
  seq: z.number().int().nonnegative(),
});

/** The server stored every usage sample up to `seq`. */
export const UsageAckFrameSchema = z.object({
  type: z.literal("usage_ack"),
  seq: z.number().int().nonnegative(),
});

export const ServerFrameSchema = z.union([
  UsageAckFrameSchema,
  WelcomeFrameSchema,
  CommandFrameSchema,
  CancelFrameSchema,
  StreamInputFrameSchema,
  AckFrameSchema,
  ErrorFrameSchema,
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;
export type CommandFrame = z.infer<typeof CommandFrameSchema>;

export type ParsedFrame<T> =
  { ok: true; frame: T } | { ok: false; error: { kind: "invalid_input"; message: string } };

function parseWith<T>(schema: z.ZodType<T>, raw: unknown): ParsedFrame<T> {
  let value: unknown = raw;
  if (typeof raw === "string") {
    if (raw.length > MAX_FRAME_BYTES) {
      return {
        ok: false,
        error: { kind: "invalid_input", message: `frame larger than ${MAX_FRAME_BYTES} bytes` },
      };
    }
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, error: { kind: "invalid_input", message: "frame is not valid JSON" } };
    }
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    return {
      ok: false,
      error: { kind: "invalid_input", message: `invalid frame: ${z.prettifyError(r.error)}` },
    };
  }
  return { ok: true, frame: r.data };
}

export const parseAgentFrame = (raw: unknown) => parseWith(AgentFrameSchema, raw);
export const parseServerFrame = (raw: unknown) => parseWith(ServerFrameSchema, raw);

/** Validates a command's params against its schema. */
export function parseCommandParams<N extends CommandName>(name: N, params: unknown) {
  return CommandSchemas[name].params.safeParse(params) as z.ZodSafeParseResult<CommandParams<N>>;
}
export function parseEventData<N extends EventName>(name: N, data: unknown) {
  return EventSchemas[name].safeParse(data) as z.ZodSafeParseResult<EventData<N>>;
}

/** Join: the one HTTP call an agent makes before it has a credential. */
export const JoinRequestSchema = z.object({
  token: z.string().min(10).max(256),
  hostname: z.string().min(1).max(255),
});
export const JoinResponseSchema = z.object({
  nodeId: z.string(),
  nodeName: z.string(),
  /** `<nodeId>.<secret>`, sent as a Bearer token on the WebSocket upgrade. */
  credential: z.string(),
  serverId: z.string(),
});
export type JoinResponse = z.infer<typeof JoinResponseSchema>;
