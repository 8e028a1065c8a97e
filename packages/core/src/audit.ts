/** The audit trail's API shapes: listing filters, the chain verification report, export formats. */
import { z } from "zod";

export const AUDIT_RESULTS = ["ok", "denied", "error"] as const;
export const AuditResultSchema = z.enum(AUDIT_RESULTS);
export type AuditResult = z.infer<typeof AuditResultSchema>;

/** Filters shared by `audit.list` and the export. Times are epoch milliseconds. */
export const AuditFilterSchema = z.object({
  /** Actor name (exact) or id. */
  user: z.string().min(1).max(128).optional(),
  /** Team id. */
  team: z.string().min(1).max(128).optional(),
  /** Action prefix: `containers.` matches every container action. */
  action: z.string().min(1).max(128).optional(),
  /** Substring of the target. */
  target: z.string().min(1).max(256).optional(),
  result: AuditResultSchema.optional(),
  from: z.number().int().nonnegative().optional(),
  to: z.number().int().nonnegative().optional(),
});
export type AuditFilter = z.infer<typeof AuditFilterSchema>;

export const AuditListInputSchema = AuditFilterSchema.extend({
  /** The `nextCursor` of the previous page (older rows, by id, come next). */
  cursor: z.number().int().positive().nullish(),
  limit: z.number().int().min(1).max(500).default(100),
});
export type AuditListInput = z.input<typeof AuditListInputSchema>;

export const AuditEventViewSchema = z.object({
  id: z.number().int(),
  seq: z.number().int().nullable(),
  at: z.number().int(),
  actorId: z.string().nullable(),
  actorName: z.string().nullable(),
  teamId: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  params: z.unknown(),
  result: AuditResultSchema,
  error: z.string().nullable(),
  address: z.string().nullable(),
  hash: z.string().nullable(),
});
export type AuditEventView = z.infer<typeof AuditEventViewSchema>;

/** Why a chain breaks at a record. */
export const AUDIT_BREAKS = ["changed", "removed", "inserted"] as const;
export type AuditBreak = (typeof AUDIT_BREAKS)[number];

export interface AuditVerifyReport {
  ok: boolean;
  /** Records checked (after the anchor). */
  checked: number;
  /** The chain's start: 0 and the genesis hash, or the last archived record. */
  anchor: { seq: number; hash: string };
  /** The newest record checked. */
  head: { seq: number; hash: string } | null;
  /** The first break, when not ok. */
  firstBad?: { seq: number | null; id: number | null; reason: AuditBreak; detail: string };
}

export const AUDIT_EXPORT_FORMATS = ["csv", "jsonl"] as const;
export const AuditExportFormatSchema = z.enum(AUDIT_EXPORT_FORMATS);
export type AuditExportFormat = z.infer<typeof AuditExportFormatSchema>;

/** The columns of an exported record, in order (csv header). */
export const AUDIT_EXPORT_COLUMNS = [
  "seq",
  "at",
  "actorId",
  "actorName",
  "teamId",
  "action",
  "target",
  "result",
  "error",
  "address",
  "params",
  "prevHash",
  "hash",
] as const;
