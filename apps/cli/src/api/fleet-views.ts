/** What the server answers for nodes.* (beyond the list), pools.* and joinTokens.* (validated on arrival). */
import { z } from "zod";
import { NodeViewSchema } from "./views";

const LabelsViewSchema = z.record(z.string(), z.string());

export const FleetNodeViewSchema = NodeViewSchema.extend({
  labels: LabelsViewSchema.default({}),
  poolName: z.string().nullable().default(null),
  cordoned: z.boolean().default(false),
  agentVersion: z.string().nullable().default(null),
  capacity: z
    .object({ cpus: z.number().nullable(), memoryBytes: z.number().nullable() })
    .default({ cpus: null, memoryBytes: null }),
  allocation: z
    .looseObject({ cpus: z.number(), memoryBytes: z.number() })
    .default({ cpus: 0, memoryBytes: 0 }),
});
export type FleetNodeView = z.infer<typeof FleetNodeViewSchema>;

export const NodeDetailViewSchema = FleetNodeViewSchema.extend({
  containerList: z.array(
    z.looseObject({ id: z.string(), name: z.string(), image: z.string(), state: z.string() }),
  ),
});
export type NodeDetailView = z.infer<typeof NodeDetailViewSchema>;

export const CordonViewSchema = z.looseObject({ name: z.string(), cordoned: z.boolean() });
export const DrainReportSchema = z.looseObject({
  node: z.string(),
  stopped: z.array(z.looseObject({ id: z.string(), name: z.string() })),
  failed: z.array(z.looseObject({ id: z.string(), name: z.string(), error: z.string() })),
});
export type DrainReport = z.infer<typeof DrainReportSchema>;
export const NodeRemovedSchema = z.looseObject({
  name: z.string(),
  forgottenContainers: z.number(),
});
export const RotatedSchema = z.looseObject({ name: z.string(), rotatedAt: z.number() });

export const PoolViewSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  createdAt: z.number(),
  nodes: z.number(),
  teams: z.array(z.looseObject({ id: z.string(), name: z.string() })),
});
export type PoolView = z.infer<typeof PoolViewSchema>;
export const PoolRemovedSchema = z.looseObject({ name: z.string(), releasedNodes: z.number() });

export const JoinTokenViewSchema = z.looseObject({
  id: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  uses: z.number(),
  maxUses: z.number(),
  poolName: z.string().nullable(),
  labels: LabelsViewSchema,
  status: z.string(),
});
export type JoinTokenView = z.infer<typeof JoinTokenViewSchema>;
