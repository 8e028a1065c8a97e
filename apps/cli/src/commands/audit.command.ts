/**
 * `berth audit ls|verify|export`: the server's audit trail.
 *
 *   berth audit ls [--user U] [--team T] [--action PREFIX] [--target X] [--result R]
 *                  [--since 1h] [--until TIME] [-n N] [--json]
 *   berth audit verify [--json]              exit 1 when the chain is broken (says which seq)
 *   berth audit export --format csv|jsonl [-o FILE] [same filters as ls]
 *   berth audit recordings | replay ID      terminal session recordings (recordings.command.ts)
 *
 * Times: RFC 3339, a date, Unix seconds, or a duration ago (10m, 1h30m), as `berth logs`.
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { type Command } from "commander";
import { AuditExportFormatSchema, AuditResultSchema, type AuditFilter } from "@berth/core";
import type { AuditRow, AuditVerify } from "../api/account-api";
import { withApi, type CliContext } from "../context";
import { CliError, EXIT_FAILURE, UsageError } from "../errors";
import { ago, ellipsis, formatTable } from "../format/docker-format";
import { type GlobalFlags } from "./global-flags";
import { parseLogTime } from "./log-time";
import { registerRecordingCommands } from "./recordings.command";

export interface AuditFilterFlags {
  user?: string;
  team?: string;
  action?: string;
  target?: string;
  result?: string;
  since?: string;
  until?: string;
}

/** The server-side filter for the flags; `now` anchors relative times. */
export function auditFilter(flags: AuditFilterFlags, now: Date): AuditFilter {
  const filter: AuditFilter = {};
  if (flags.user) filter.user = flags.user;
  if (flags.team) filter.team = flags.team;
  if (flags.action) filter.action = flags.action;
  if (flags.target) filter.target = flags.target;
  if (flags.result) {
    const r = AuditResultSchema.safeParse(flags.result);
    if (!r.success)
      throw new UsageError(
        `invalid --result ${JSON.stringify(flags.result)}`,
        "use ok, denied or error",
      );
    filter.result = r.data;
  }
  if (flags.since) filter.from = Date.parse(parseLogTime(flags.since, "--since", now));
  if (flags.until) filter.to = Date.parse(parseLogTime(flags.until, "--until", now));
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to)
    throw new UsageError("--until must not be before --since");
  return filter;
}

export function formatAuditTable(rows: AuditRow[], now: number): string {
  return formatTable(
    ["SEQ", "TIME", "USER", "ACTION", "TARGET", "RESULT", "ADDRESS"],
    rows.map((r) => [
      r.seq === null ? "-" : String(r.seq),
      `${new Date(r.at).toISOString().slice(0, 19)}Z (${ago(r.at, now)})`,
      r.actorName ?? "-",
      r.action,
      ellipsis(r.target ?? "-", 40),
      r.result === "ok" ? "ok" : `${r.result}${r.error ? `: ${ellipsis(r.error, 60)}` : ""}`,
      r.address ?? "-",
    ]),
  );
}

export function formatVerify(v: AuditVerify): string {
  if (v.ok)
    return v.head
      ? `audit chain OK: ${v.checked} records verified, seq ${v.anchor.seq + 1} to ${v.head.seq} (head ${v.head.hash.slice(0, 16)}…)`
      : `audit chain OK: no records after the anchor (seq ${v.anchor.seq})`;
  const bad = v.firstBad!;
  return `audit chain BROKEN at seq ${bad.seq ?? `? (row id ${bad.id ?? "?"})`}: ${bad.reason}: ${bad.detail} (${v.checked} records verified before it)`;
}

function filterOptions(cmd: Command): Command {
  return cmd
    .option("--user <user>", "only this actor (name or id)")
    .option("--team <team>", "only this team id")
    .option("--action <prefix>", "actions starting with this (containers. or auth.login)")
    .option("--target <text>", "targets containing this")
    .option("--result <result>", "ok, denied or error")
    .option("--since <time>", "from this time (RFC 3339, Unix seconds or a duration like 1h)")
    .option("--until <time>", "up to this time (same formats)");
}

export function registerAuditCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const audit = program
    .command("audit")
    .description("Read, verify and export the audit trail")
    .usage("COMMAND");

  filterOptions(
    audit
      .command("ls")
      .alias("list")
      .description("List audit records, newest first")
      .usage("[OPTIONS]"),
  )
    .option("-n, --last <n>", "at most this many records", "50")
    .option("--json", "print a JSON array")
    .action(async (flags: AuditFilterFlags & { last: string; json?: boolean }) => {
      const limit = Number(flags.last);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
        throw new UsageError(`invalid --last ${JSON.stringify(flags.last)}`, "a whole number ≥ 1");
      const filter = auditFilter(flags, new Date(ctx.now()));
      const rows = await withApi(ctx, globals(), {}, async (api) => {
        const out: AuditRow[] = [];
        let cursor: number | null = null;
        do {
          const page = await api.audit.list({
            ...filter,
            limit: Math.min(500, limit - out.length),
            ...(cursor === null ? {} : { cursor }),
          });
          out.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor !== null && out.length < limit);
        return out;
      });
      if (flags.json) ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else ctx.stdout.write(`${formatAuditTable(rows, ctx.now())}\n`);
    });

  audit
    .command("verify")
    .description("Walk the hash chain and report the first changed, removed or inserted record")
    .usage("[OPTIONS]")
    .option("--json", "print the report as JSON")
    .action(async (flags: { json?: boolean }) => {
      const v = await withApi(ctx, globals(), {}, (api) => api.audit.verify());
      if (flags.json) ctx.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
      else (v.ok ? ctx.stdout : ctx.stderr).write(`${formatVerify(v)}\n`);
      if (!v.ok)
        throw new CliError(`the audit chain is broken at seq ${v.firstBad?.seq ?? "?"}`, {
          exitCode: EXIT_FAILURE,
          hint: "restore the database from a backup, or compare with an archive/export to find what changed",
        });
    });

  filterOptions(
    audit
      .command("export")
      .description("Export audit records (oldest first) as CSV or JSON lines")
      .usage("--format csv|jsonl [-o FILE] [OPTIONS]"),
  )
    .option("--format <format>", "csv or jsonl", "jsonl")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .action(async (flags: AuditFilterFlags & { format: string; output?: string }) => {
      const format = AuditExportFormatSchema.safeParse(flags.format);
      if (!format.success)
        throw new UsageError(
          `invalid --format ${JSON.stringify(flags.format)}`,
          "use csv or jsonl",
        );
      const filter = auditFilter(flags, new Date(ctx.now()));
      const file = flags.output ? createWriteStream(flags.output, { mode: 0o600 }) : null;
      try {
        await withApi(ctx, globals(), {}, (api) =>
          api.audit.export(filter, format.data, async (chunk) => {
            if (file) {
              if (!file.write(chunk)) await once(file, "drain");
            } else ctx.stdout.write(Buffer.from(chunk).toString("utf8"));
          }),
        );
      } finally {
        if (file) {
          file.end();
          await once(file, "close");
        }
      }
      if (flags.output) ctx.stderr.write(`wrote ${flags.output}\n`);
    });

  registerRecordingCommands(audit, ctx, globals);
}
