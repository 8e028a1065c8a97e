/**
 * Live stats history: the agent samples every running container and the node itself at a fixed
 * interval and keeps the last hour in memory (a ring buffer per subject), so a chart opened late
 * still has history. Points carry rates already (the agent has consecutive samples), so the
 * dashboard draws them as they are.
 */
import { z } from "zod";
import { ContainerIdSchema } from "./ids";

export const StatsPointSchema = z.object({
  /** When the sample was taken, epoch milliseconds. */
  t: z.number(),
  /** CPU use in % of one CPU (200 = two CPUs busy), over the interval before `t`. */
  cpuPercent: z.number().nonnegative(),
  memoryBytes: z.number().nonnegative(),
  /** null when unlimited (containers) — the node's total memory for nodes. */
  memoryLimitBytes: z.number().nonnegative().nullable(),
  /** Network bytes per second received / sent over the interval. */
  netRxBps: z.number().nonnegative(),
  netTxBps: z.number().nonnegative(),
  /** Block IO bytes per second read / written over the interval. */
  ioReadBps: z.number().nonnegative(),
  ioWriteBps: z.number().nonnegative(),
  /** Processes (containers: the cgroup's pids.current; nodes: every task on the host). */
  pids: z.number().int().nonnegative(),
});
export type StatsPoint = z.infer<typeof StatsPointSchema>;

/** At most an hour at the shortest interval (1 s). */
export const MAX_STATS_POINTS = 3600;

export const StatsHistorySchema = z.object({
  intervalMs: z.number().int().positive(),
  /** Oldest first. */
  points: z.array(StatsPointSchema).max(MAX_STATS_POINTS),
});
export type StatsHistory = z.infer<typeof StatsHistorySchema>;

/** Agent command `stats.history`: a container's history, or the node's without containerId. */
export const StatsHistoryParamsSchema = z.object({
  containerId: ContainerIdSchema.optional(),
  /** Only points taken after this instant (epoch ms): lets a chart fetch just what is new. */
  afterMs: z.number().nonnegative().optional(),
});

export const ContainerStatsHistoryInputSchema = z.object({
  /** A container id, id prefix or name (api.ts ContainerRefSchema; not imported: a cycle). */
  ref: z.string().min(1).max(128),
  afterMs: z.number().nonnegative().optional(),
});
export const NodeStatsHistoryInputSchema = z.object({
  ref: z.string().min(1).max(255),
  afterMs: z.number().nonnegative().optional(),
});
