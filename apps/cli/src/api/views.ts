/**
 * What berth-server answers (docs/API.md), validated at the CLI's edge so a mismatched server
 * version fails with a clear message instead of printing `undefined`. Objects are loose: fields
 * the CLI does not use pass through untouched (`inspect` and `--json` print them).
 */
import {
  ContainerStateSchema,
  HealthSchema as ContainerHealthSchema,
  LogLineSchema,
  PackedLogsSchema,
  LogTextSchema,
  NodeFactsSchema,
} from "@berth/core";
import { z } from "zod";

const EpochMsSchema = z.number();

export const ContainerViewSchema = z.looseObject({
  id: z.string(),
  shortId: z.string(),
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()).nullable(),
  state: ContainerStateSchema,
  exitCode: z.number().int().nullable(),
  oomKilled: z.boolean().default(false),
  error: z.string().nullable().default(null),
  nodeId: z.string(),
  nodeName: z.string(),
  createdAt: EpochMsSchema,
  startedAt: EpochMsSchema.nullable(),
  finishedAt: EpochMsSchema.nullable(),
  autoRemove: z.boolean().default(false),
  restartCount: z.number().int().default(0),
  health: ContainerHealthSchema.nullable().default(null),
});
export type ContainerView = z.infer<typeof ContainerViewSchema>;

export const NodeViewSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(["online", "offline"]),
  facts: NodeFactsSchema.nullable(),
  lastSeenAt: EpochMsSchema.nullable(),
  createdAt: EpochMsSchema,
  containers: z.object({ running: z.number().int(), total: z.number().int() }),
});
export type NodeView = z.infer<typeof NodeViewSchema>;

export const CliLoginResultSchema = z.object({
  token: z.string().min(1),
  user: z.looseObject({ id: z.string(), username: z.string(), isAdmin: z.boolean() }),
});

export const JoinTokenCreatedSchema = z.looseObject({
  id: z.string(),
  token: z.string().min(1),
  expiresAt: EpochMsSchema,
  command: z.string(),
});
export type JoinTokenCreated = z.infer<typeof JoinTokenCreatedSchema>;

export const WaitResultSchema = z.looseObject({
  exitCode: z.number().int().nullable(),
  state: ContainerStateSchema,
});
export type WaitResult = z.infer<typeof WaitResultSchema>;

export const RemoveResultSchema = z.looseObject({ id: z.string(), removed: z.literal(true) });

/**
 * A `containers.logs` chunk: `{lines}`, or `{packed}` (core log-pack.ts) / `{text}` (core
 * log-text.ts) as the CLI asks.
 */
export const LogChunkSchema = z.union([
  z.object({ text: LogTextSchema }),
  z.object({ lines: z.array(LogLineSchema) }),
  z.object({ packed: PackedLogsSchema }),
]);
export type LogChunk = z.infer<typeof LogChunkSchema>;

export const ImageViewSchema = z.looseObject({
  nodeId: z.string(),
  nodeName: z.string(),
  ref: z.string(),
  digest: z.string(),
  size: z.number().nonnegative(),
  /** Epoch ms per the API's convention; an RFC 3339 string is accepted too. */
  createdAt: z.union([z.number(), z.string()]),
  /** Teams holding the image (older servers: absent). */
  teams: z.array(z.string()).optional(),
  /** The node's built-in base image, every team's. */
  system: z.boolean().optional(),
  /** "fleet" when an administrator lists every team's images. */
  scope: z.enum(["team", "fleet"]).optional(),
});
export type ImageView = z.infer<typeof ImageViewSchema>;

export const HealthSchema = z.looseObject({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  db: z.string(),
  agentsConnected: z.number(),
  uptimeSeconds: z.number(),
});
export type Health = z.infer<typeof HealthSchema>;
