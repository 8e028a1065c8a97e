/**
 * GET /api/audit/export?format=csv|jsonl[&user=…][&team=…][&action=…][&target=…][&result=…]
 *     [&from=ms][&to=ms]
 *
 * Streams the matching audit rows, oldest first, as CSV (header row, RFC 4180 quoting, params as
 * JSON) or JSON lines. Authentication as tRPC (session cookie or `Bearer berth_…`), permission
 * `audit.read`; non-administrators get their team's rows only. The export itself is audited
 * (`audit.export`), refusals included.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AUDIT_EXPORT_COLUMNS,
  AuditExportFormatSchema,
  AuditFilterSchema,
  DomainError,
  toErrorBody,
  type AuditExportFormat,
} from "@berth/core";
import type { AuditEvent } from "@berth/db";
import { z } from "zod";
import { buildContext, requestInfo, type ContextDeps } from "../../context";
import { HTTP_STATUS_BY_KIND } from "../../errors";
import { sendJson } from "../../http-json";
import { requirePermission } from "../../trpc";

export const AUDIT_EXPORT_PATH = "/api/audit/export";

const ExportQuerySchema = AuditFilterSchema.extend({
  format: AuditExportFormatSchema.default("jsonl"),
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
});

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function exportRecord(r: AuditEvent): Record<(typeof AUDIT_EXPORT_COLUMNS)[number], unknown> {
  return {
    seq: r.seq,
    at: r.at.toISOString(),
    actorId: r.actorId,
    actorName: r.actorName,
    teamId: r.teamId,
    action: r.action,
    target: r.target,
    result: r.result,
    error: r.error,
    address: r.address,
    params: r.params,
    prevHash: r.prevHash,
    hash: r.hash,
  };
}

/** The export's lines for `format`. */
export function* exportLines(
  rows: Iterable<AuditEvent>,
  format: AuditExportFormat,
): Generator<string> {
  if (format === "csv") yield `${AUDIT_EXPORT_COLUMNS.join(",")}\r\n`;
  for (const r of rows) {
    const rec = exportRecord(r);
    yield format === "csv"
      ? `${AUDIT_EXPORT_COLUMNS.map((c) => csvCell(rec[c])).join(",")}\r\n`
      : `${JSON.stringify(rec)}\n`;
  }
}

export interface AuditExportRouteDeps extends ContextDeps {
  onError?: ((message: string) => void) | undefined;
}

export function createAuditExportRoute(deps: AuditExportRouteDeps) {
  const { services } = deps;
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://berth.invalid");
    const ctx = buildContext(deps, requestInfo(req, res));
    const query = Object.fromEntries(url.searchParams.entries());
    const audit = (result: "ok" | "denied" | "error", error: string | null) =>
      services.audit.record({
        actorId: ctx.user?.id ?? null,
        actorName: ctx.user?.username ?? null,
        teamId: ctx.actor?.teamId ?? null,
        action: "audit.export",
        target: null,
        params: query,
        result,
        error,
        address: ctx.address,
      });
    try {
      if (req.method !== "GET") {
        res.setHeader("allow", "GET");
        sendJson(res, 405, { error: { kind: "invalid_input", message: "use GET" } });
        return;
      }
      requirePermission(ctx, "audit.read");
      const parsed = ExportQuerySchema.safeParse(query);
      if (!parsed.success)
        throw new DomainError(
          "invalid_input",
          `invalid export query: ${z.prettifyError(parsed.error)}`,
        );
      const { format, ...filter } = parsed.data;
      const rows = services.audit.rows(filter, {
        isAdmin: ctx.user!.isAdmin,
        teamId: ctx.actor!.teamId,
      });
      audit("ok", null);
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      res.writeHead(200, {
        "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
        "content-disposition": `attachment; filename="berth-audit-${stamp}.${format}"`,
        "cache-control": "no-store",
      });
      await pipeline(Readable.from(exportLines(rows, format)), res);
    } catch (e) {
      const err = toErrorBody(e);
      if (err.kind === "internal") deps.onError?.(`audit export: ${err.message}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      audit(
        err.kind === "unauthenticated" || err.kind === "forbidden" ? "denied" : "error",
        err.message,
      );
      sendJson(res, HTTP_STATUS_BY_KIND[err.kind], {
        error: { kind: err.kind, message: err.message },
      });
    }
  };
}
