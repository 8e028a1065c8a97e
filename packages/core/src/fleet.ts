/**
 * Fleet management inputs shared by the server's routers, the dashboard and the CLI: node labels,
 * pools, join tokens with presets, cordon / drain / remove.
 */
import { z } from "zod";
import { NodeRefSchema } from "./api";

/** Label keys like Kubernetes': `[prefix/]name`, letters, digits, `-`, `_`, `.`. */
export const LabelKeySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/,
    "label keys use letters, digits, - _ . and an optional prefix/ (e.g. zone, berth.io/gpu)",
  );
export const LabelValueSchema = z
  .string()
  .max(256)
  .regex(/^[^\0\n\r]*$/, "label values are one line");
export const LabelsSchema = z
  .record(LabelKeySchema, LabelValueSchema)
  .refine((l) => Object.keys(l).length <= 64, { message: "at most 64 labels" });
export type Labels = z.infer<typeof LabelsSchema>;

/** `k=v` (set) or `k-` (remove), as `berth node label` takes them. */
export function parseLabelArgs(args: readonly string[]): { set: Labels; remove: string[] } {
  const set: Labels = {};
  const remove: string[] = [];
  for (const a of args) {
    const eq = a.indexOf("=");
    if (eq < 0 && a.endsWith("-")) {
      remove.push(LabelKeySchema.parse(a.slice(0, -1)));
      continue;
    }
    if (eq <= 0) throw new Error(`invalid label ${JSON.stringify(a)}: use key=value or key-`);
    set[LabelKeySchema.parse(a.slice(0, eq))] = LabelValueSchema.parse(a.slice(eq + 1));
  }
  return { set, remove };
}

export const PoolNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, "pool names use lowercase letters, digits and _ . -");
/** A pool by id or name. */
export const PoolRefSchema = z.string().min(1).max(128);
/** A team by id or name (same shape as permissions-api's TeamRefSchema). */
const PoolTeamRefSchema = z.string().min(1).max(128);

export const CreatePoolInputSchema = z.object({ name: PoolNameSchema });
export const PoolRefInputSchema = z.object({ ref: PoolRefSchema });
export const PoolGrantInputSchema = z.object({ ref: PoolRefSchema, team: PoolTeamRefSchema });

export const FleetJoinTokenInputSchema = z.object({
  /** Seconds until the token expires; one hour by default, a week at most. */
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
  /** How many nodes may join with it. */
  maxUses: z.number().int().min(1).max(100_000).default(1),
  /** The pool the joining nodes go to. */
  pool: PoolRefSchema.optional(),
  /** Labels the joining nodes get. */
  labels: LabelsSchema.default({}),
});
export type FleetJoinTokenInput = z.input<typeof FleetJoinTokenInputSchema>;
export const JoinTokenRefInputSchema = z.object({ id: z.string().min(1).max(64) });

export const NodeRefInputSchema = z.object({ ref: NodeRefSchema });
export const NodeSetLabelsInputSchema = z.object({
  ref: NodeRefSchema,
  /** Labels to add or change. */
  set: LabelsSchema.default({}),
  /** Keys to remove. */
  remove: z.array(LabelKeySchema).max(64).default([]),
});
export const NodeSetPoolInputSchema = z.object({
  ref: NodeRefSchema,
  /** null takes the node out of its pool. */
  pool: PoolRefSchema.nullable(),
});
export const NodeDrainInputSchema = z.object({
  ref: NodeRefSchema,
  /** Seconds each container gets to stop before it is killed. */
  timeoutSeconds: z.number().int().min(0).max(3600).default(10),
});
export const NodeRemoveInputSchema = z.object({
  ref: NodeRefSchema,
  /** Remove even while its agent is connected (it is disconnected and its credential refused). */
  force: z.boolean().default(false),
});
