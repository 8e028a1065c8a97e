/**
 * Usage accounting: the samples an agent takes of each container's counters (sent in `usage`
 * frames, acked by `usage_ack`), and the inputs/outputs of the server's usage reports, prices
 * and budgets, shared by the server, the dashboard and the CLI.
 *
 * A sample is cumulative: every counter is the total since the container's process started
 * (its cgroup was created), identified by `epoch` (the start time). A new epoch means the
 * cgroup counters restarted from zero; network counters are the host veth's, which outlive a
 * restart, so the server treats a network counter that went down as a reset instead.
 */
import { z } from "zod";
import { ContainerIdSchema } from "./ids";

const Counter = z.number().nonnegative().finite();

export const UsageSampleSchema = z.object({
  /** Agent-wide sequence number: increases by one per sample, never reused. */
  seq: z.number().int().positive(),
  containerId: ContainerIdSchema,
  /** When the container's process started (ISO time); counters below count from there. */
  epoch: z.string().max(64),
  /** When the counters were read, epoch milliseconds. */
  at: z.number().int().nonnegative(),
  cpuNs: Counter,
  /** Memory in use at `at`. */
  memBytes: Counter,
  /** ∫ memory dt since `epoch`, byte-seconds (trapezoids between the agent's readings). */
  memByteSec: Counter,
  /** The memory limit (the "request" of OpenCost's max(request, usage)); null when unlimited. */
  memLimitBytes: Counter.nullable(),
  pids: z.number().int().nonnegative(),
  blkReadBytes: Counter,
  blkWriteBytes: Counter,
  /** Received / sent by the container, summed over its interfaces (host veth counters). */
  netRxBytes: Counter,
  netTxBytes: Counter,
  /** The last sample of this epoch, taken when the exit was recorded. */
  final: z.boolean().optional(),
});
export type UsageSample = z.infer<typeof UsageSampleSchema>;

/** The most samples one `usage` frame carries (≈ 300 bytes each, well under MAX_FRAME_BYTES). */
export const MAX_USAGE_BATCH = 1000;

// ---------------------------------------------------------------- reports

export const USAGE_GROUP_KEYS = ["team", "user", "node", "pool", "container"] as const;
/** `team|user|node|pool|container` or `label:KEY` (the container's label KEY). */
export const UsageGroupBySchema = z.union([
  z.enum(USAGE_GROUP_KEYS),
  z.string().regex(/^label:[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, "use label:KEY, e.g. label:app"),
]);
export type UsageGroupBy = z.infer<typeof UsageGroupBySchema>;
export const UsageStepSchema = z.enum(["minute", "hour", "day", "month", "total"]);
export type UsageStep = z.infer<typeof UsageStepSchema>;
export const UsageMemoryModeSchema = z.enum(["used", "max-request"]);

export const UsageReportInputSchema = z
  .object({
    /** Team id or name; non-admins may only ask for the team they act in (the default). */
    team: z.string().min(1).max(128).optional(),
    /** Inclusive start, exclusive end, epoch milliseconds. */
    from: z.number().int().nonnegative(),
    to: z.number().int().positive(),
    by: UsageGroupBySchema.default("container"),
    step: UsageStepSchema.default("total"),
    /** Memory billed as used (default) or OpenCost's max(limit, used). */
    memory: UsageMemoryModeSchema.default("used"),
  })
  .refine((r) => r.to > r.from, { message: "`to` must be after `from`" })
  .refine((r) => r.to - r.from <= 400 * 86_400_000, { message: "at most 400 days per report" });
export type UsageReportInput = z.input<typeof UsageReportInputSchema>;

/** Amounts in report units. */
export const UsageAmountsSchema = z.object({
  cpuCoreSeconds: z.number(),
  memoryGbHours: z.number(),
  networkRxGb: z.number(),
  networkTxGb: z.number(),
  blockIoGb: z.number(),
  containerHours: z.number(),
  /** In the price list's currency; 0 when no price is set. */
  cost: z.number(),
});
export type UsageAmounts = z.infer<typeof UsageAmountsSchema>;

export const UsageReportRowSchema = UsageAmountsSchema.extend({
  /** Start of the step (epoch ms); the report's `from` when step is `total`. */
  period: z.number(),
  /** The group's key (an id, or the label value; "" when the container has no such label). */
  key: z.string(),
  /** A readable name for the key (team/user/node/pool/container name). */
  label: z.string(),
});
export type UsageReportRow = z.infer<typeof UsageReportRowSchema>;

export const UsageReportSchema = z.object({
  from: z.number(),
  to: z.number(),
  by: z.string(),
  step: UsageStepSchema,
  memory: UsageMemoryModeSchema,
  currency: z.string(),
  rows: z.array(UsageReportRowSchema),
  totals: UsageAmountsSchema,
});
export type UsageReport = z.infer<typeof UsageReportSchema>;

/** The columns of a report's CSV, in order (the dashboard and the CLI write the same file). */
export const USAGE_CSV_COLUMNS = [
  "period",
  "key",
  "label",
  "cpuCoreSeconds",
  "memoryGbHours",
  "networkRxGb",
  "networkTxGb",
  "blockIoGb",
  "containerHours",
  "cost",
] as const;

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A report as CSV: one line per row, then a `total` line; periods as ISO times. */
export function usageReportToCsv(r: UsageReport): string {
  const lines = [USAGE_CSV_COLUMNS.join(",")];
  const amounts = (a: UsageAmounts) => [
    a.cpuCoreSeconds,
    a.memoryGbHours,
    a.networkRxGb,
    a.networkTxGb,
    a.blockIoGb,
    a.containerHours,
    a.cost,
  ];
  for (const row of r.rows)
    lines.push(
      [new Date(row.period).toISOString(), row.key, row.label, ...amounts(row)]
        .map(csvCell)
        .join(","),
    );
  lines.push(["total", "", "", ...amounts(r.totals)].map(csvCell).join(","));
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------- prices and budgets

export const USAGE_UNITS = [
  "cpu_core_second",
  "memory_gb_hour",
  "network_gb",
  "block_io_gb",
  "container_hour",
] as const;
export const UsageUnitSchema = z.enum(USAGE_UNITS);
export type UsageUnit = z.infer<typeof UsageUnitSchema>;

export const UsagePriceInputSchema = z.object({
  unit: UsageUnitSchema,
  /** Price per unit; 0 removes the price. */
  price: z.number().nonnegative().finite(),
  /** Pool name or id; absent = the default price for every pool. */
  pool: z.string().min(1).max(128).optional(),
});
export type UsagePriceInput = z.infer<typeof UsagePriceInputSchema>;

export const BudgetInputSchema = z.object({
  /** Team id or name; defaults to the team the caller acts in. */
  team: z.string().min(1).max(128).optional(),
  /** Per calendar month (UTC), in the price list's currency. */
  monthlyAmount: z.number().positive().finite(),
  /** Percentages of the amount that raise a notification, e.g. [50, 80, 100]. */
  thresholds: z.array(z.number().int().min(1).max(1000)).min(1).max(10).default([50, 80, 100]),
  /** Called with a JSON POST when a threshold is crossed (http or https). */
  webhookUrl: z
    .string()
    .url()
    .max(2048)
    .refine((u) => /^https?:\/\//.test(u), { message: "the webhook must be http(s)" })
    .nullable()
    .default(null),
});
export type BudgetInput = z.input<typeof BudgetInputSchema>;
